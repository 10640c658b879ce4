/**
 * Reading what a predictor asks for from its source text (OpenBayes reads Python signatures by name; in
 * JavaScript the names a parameter destructures are the closest thing): `predict({ json, params })`.
 */

/** The text between a function's first `(` and its matching `)`, or undefined. */
function parameterList(source: string): string | undefined {
  const start = source.indexOf("(");
  if (start < 0) return undefined;
  let depth = 0;
  for (let i = start; i < source.length; i++) {
    const ch = source[i];
    if (ch === '"' || ch === "'" || ch === "`") {
      const end = source.indexOf(ch, i + 1);
      if (end < 0) return undefined;
      i = end;
    } else if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") {
      depth--;
      if (depth === 0) return ch === ")" ? source.slice(start + 1, i) : undefined;
    }
  }
  return undefined;
}

/** Splits at commas that are not nested in brackets or strings. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"' || ch === "'" || ch === "`") {
      const end = text.indexOf(ch, i + 1);
      i = end < 0 ? text.length : end;
    } else if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") depth--;
    else if (ch === "," && depth === 0) {
      parts.push(text.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(text.slice(from));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

export interface Destructured {
  /** The property names taken from the first parameter. */
  names: string[];
  /** `...rest`: the function takes whatever there is. */
  rest: boolean;
}

/**
 * The names a function destructures from its first parameter: `predict({ json, params: p = {} })` ->
 * `json`, `params`. Undefined when the first parameter is not an object pattern or the source is unreadable.
 */
export function destructuredNames(fn: unknown): Destructured | undefined {
  if (typeof fn !== "function") return undefined;
  let source: string;
  try {
    source = Function.prototype.toString.call(fn);
  } catch {
    return undefined;
  }
  source = source.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/[^\n]*/g, " ");
  const list = parameterList(source);
  if (list === undefined) return undefined;
  const first = splitTopLevel(list)[0];
  if (!first?.startsWith("{")) return undefined;
  const close = first.lastIndexOf("}");
  if (close < 0) return undefined;
  const names: string[] = [];
  let rest = false;
  for (const entry of splitTopLevel(first.slice(1, close))) {
    if (entry.startsWith("...")) {
      rest = true;
      continue;
    }
    const m = /^([A-Za-z_$][\w$]*)\s*(?:[:=]|$)/.exec(entry);
    if (!m) return undefined;
    names.push(m[1]);
  }
  return { names, rest };
}

/** Whether a class (or a class it extends) mentions `onnx` anywhere: then its session is created before it is built. */
export function mentionsOnnx(cls: unknown): boolean {
  for (let c: unknown = cls; typeof c === "function" && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    let source = "";
    try {
      source = Function.prototype.toString.call(c);
    } catch {
      // A native or bound function: nothing to read.
    }
    if (/\bonnx\b/.test(source)) return true;
  }
  return false;
}
