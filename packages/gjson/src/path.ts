/**
 * Path components. A path is read one component at a time, against an object (a key, maybe with
 * wildcards and escapes) or against an array (an index, `#`, `#.rest`, or a query). A component ends at
 * `.` (the rest applies inside the value) or `|` (the rest applies to the value as a whole); a `.` that is
 * followed by a modifier, `[` or `{` behaves as a `|`.
 */
import { modifierExists } from "./modifiers.ts";
import { parseQuery, type Query } from "./query.ts";
import { leadingValueLength } from "./scanner.ts";

/** How a component hands over to the rest of the path. */
interface StepTail {
  /** The component's own text (for keys, with escapes removed). */
  part: string;
  /** More components follow a `.`, to be applied inside the matched value. */
  more: boolean;
  rest: string;
  /** A `|` (or pipe-like `.`) follows: `pipe` applies to the whole matched value. */
  piped: boolean;
  pipe: string;
}

export interface KeyStep extends StepTail {
  /** The key holds unescaped `*` or `?`. */
  wild: boolean;
}

export interface IndexStep extends StepTail {
  /** The component holds `#`: a count, a mapping (`#.rest`) or a query; never a plain index. */
  hash: boolean;
  /** For `#.rest`: the path mapped over every element. */
  mapPath?: string;
  /** For `#(…)` / `#(…)#`: the query (empty when its brackets never close). */
  query?: Query & { all: boolean };
}

/** Whether the text after a `.` makes that dot act as a pipe: a known modifier, `[` or `{`. */
export function dotActsAsPipe(after: string): boolean {
  const c = after[0];
  if (c === "@") {
    let i = 1;
    while (i < after.length && after[i] !== "." && after[i] !== "|" && after[i] !== ":") i++;
    return modifierExists(after.slice(1, i));
  }
  return c === "[" || c === "{";
}

function endAtDot(step: StepTail, path: string, i: number, allowPipe: boolean): void {
  if (allowPipe && i < path.length - 1 && dotActsAsPipe(path.slice(i + 1))) {
    step.piped = true;
    step.pipe = path.slice(i + 1);
  } else {
    step.more = true;
    step.rest = path.slice(i + 1);
  }
}

/** Reads the component at the start of `path` as an object key. */
export function parseKeyStep(path: string): KeyStep {
  const step: KeyStep = { part: path, more: false, rest: "", piped: false, pipe: "", wild: false };
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === "|") {
      step.part = path.slice(0, i);
      step.piped = true;
      step.pipe = path.slice(i + 1);
      return step;
    }
    if (c === ".") {
      step.part = path.slice(0, i);
      endAtDot(step, path, i, true);
      return step;
    }
    if (c === "*" || c === "?") {
      step.wild = true;
      continue;
    }
    if (c === "\\") return parseEscapedKey(step, path, i);
  }
  return step;
}

/** The slower reading once a `\` is seen: escapes are removed from the key's text. */
function parseEscapedKey(step: KeyStep, path: string, i: number): KeyStep {
  let part = path.slice(0, i);
  i++;
  if (i < path.length) {
    part += path[i];
    for (i++; i < path.length; i++) {
      const c = path[i];
      if (c === "\\") {
        i++;
        if (i < path.length) part += path[i];
        continue;
      }
      if (c === ".") {
        step.part = part;
        endAtDot(step, path, i, true);
        return step;
      }
      if (c === "|") {
        step.part = part;
        step.piped = true;
        step.pipe = path.slice(i + 1);
        return step;
      }
      if (c === "*" || c === "?") step.wild = true;
      part += c;
    }
  }
  step.part = part;
  return step;
}

/** Reads the component at the start of `path` as an array selector. */
export function parseIndexStep(path: string): IndexStep {
  const step: IndexStep = { part: path, more: false, rest: "", piped: false, pipe: "", hash: false };
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === "|") {
      step.part = path.slice(0, i);
      step.piped = true;
      step.pipe = path.slice(i + 1);
      return step;
    }
    if (c === ".") {
      step.part = path.slice(0, i);
      // After a `#` the dot always maps: `#.@reverse` reverses each element.
      endAtDot(step, path, i, !step.hash);
      return step;
    }
    if (c !== "#") continue;
    step.hash = true;
    if (i !== 0 || path.length < 2) continue;
    if (path[1] === ".") {
      step.mapPath = path.slice(2);
    } else if (path[1] === "[" || path[1] === "(") {
      const parsed = parseQuery(path);
      if (!parsed) {
        // An unbalanced query: the whole text is the component, matching by existence.
        step.query = { path: "", op: "", value: "", all: false };
        return step;
      }
      step.query = { path: parsed.path, op: parsed.op, value: parsed.value, all: path[parsed.end] === "#" };
      i = parsed.end - 1;
    }
  }
  return step;
}

/**
 * Splits the path at its first top-level `|`, for the rest of a `#.` mapping or a query, so that the
 * pipe applies to the built array rather than to each element. Undefined when there is no such pipe.
 */
export function splitPipe(path: string): [string, string] | undefined {
  if (path.indexOf("|") < 0) return undefined;
  if (path[0] === "{") {
    const inner = leadingValueLength(path.slice(1));
    if (inner < path.length - 1) {
      const left = path.slice(0, inner + 1);
      if (path[inner + 1] === "|") return [left, path.slice(inner + 2)];
    }
    return undefined;
  }
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === "\\") {
      i++;
    } else if (c === ".") {
      if (i === path.length - 1) return undefined;
      if (path[i + 1] !== "#") continue;
      i += 2;
      if (i === path.length) return undefined;
      if (path[i] !== "[" && path[i] !== "(") continue;
      i = skipBracketed(path, i);
    } else if (c === "|") {
      return [path.slice(0, i), path.slice(i + 1)];
    }
  }
  return undefined;
}

/** From an opening `[` or `(` at `open`, the index just past its close (strings and escapes skipped). */
function skipBracketed(path: string, open: number): number {
  const close = path[open] === "[" ? "]" : ")";
  let depth = 1;
  let i = open + 1;
  for (; i < path.length; i++) {
    const c = path[i];
    if (c === "\\") {
      i++;
    } else if (c === close) {
      depth--;
      if (depth === 0) return i;
    } else if (c === '"') {
      for (i++; i < path.length; i++) {
        if (path[i] === "\\") i++;
        else if (path[i] === '"') break;
      }
    }
  }
  return i;
}
