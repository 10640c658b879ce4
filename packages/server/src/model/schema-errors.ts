import { Kind, type TSchema } from "@sinclair/typebox";
import { type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import { Value } from "@sinclair/typebox/value";

// Turns TypeBox's errors into one sentence a person can act on: the key by its path, what it must be, and for a
// misspelt key the nearest real one (a JSON Schema validator only says "Unexpected property").

/** The keywords read here, on any TypeBox schema. */
interface SchemaNode {
  anyOf: TSchema[];
  properties: Record<string, TSchema>;
  patternProperties: Record<string, TSchema>;
  items: TSchema;
  const: unknown;
  minimum?: number;
  minLength?: number;
  minItems?: number;
  expected?: string;
}
const node = (s: TSchema): SchemaNode => s as unknown as SchemaNode;

export interface SchemaProblemOptions {
  /** What a key of the document is called in the message (default `setting`: `/x is not a setting`). */
  noun?: string;
  /** Report only unknown keys (a caller whose own checks word the type errors). */
  unknownKeysOnly?: boolean;
}

/**
 * The first problem with `value` against `schema`, or undefined when it conforms. Unknown keys come first
 * (`/versionPolcy is not a setting; did you mean versionPolicy?`), then wrong types naming the key
 * (`'features' must be a list of strings, got "a"`). `prefix` is the pointer of `value` in its document.
 */
export function schemaProblem(schema: TSchema, value: unknown, prefix = "", options: SchemaProblemOptions = {}): string | undefined {
  const noun = options.noun ?? "setting";
  const errors = leafErrors(Value.Errors(schema, value), schema, value);
  if (errors.length === 0) return undefined;
  const unknown = errors.find((e) => e.type === ValueErrorType.ObjectAdditionalProperties);
  if (options.unknownKeysOnly && !unknown) return undefined;
  const e = unknown ?? errors.find((e) => e.type === ValueErrorType.ObjectRequiredProperty) ?? errors[0];
  const segments = pointerSegments(e.path);
  const pointer = prefix + e.path;
  if (e.type === ValueErrorType.ObjectAdditionalProperties) {
    const known = Object.keys((e.schema as { properties?: object }).properties ?? {});
    const key = segments[segments.length - 1];
    const suggestion = closest(key, known);
    if (suggestion) return `${pointer} is not a ${noun}; did you mean ${suggestion}?`;
    return `${pointer} is not a ${noun}${known.length > 0 ? ` (the ${noun}s here: ${known.join(", ")})` : ""}`;
  }
  const prefixSegments = pointerSegments(prefix);
  if (e.type === ValueErrorType.ObjectRequiredProperty) {
    const key = segments[segments.length - 1];
    return `${displayPath([...prefixSegments, ...segments.slice(0, -1)])} needs a '${key}'`;
  }
  // A wrong element of a list of plain values reads better as the whole list being wrong.
  let at = segments;
  let schemaAt = e.schema;
  let valueAt = e.value;
  const parent = segments.length > 0 ? lookup(schema, segments.slice(0, -1)) : undefined;
  if (parent?.[Kind] === "Array" && isPlain(e.schema)) {
    at = segments.slice(0, -1);
    schemaAt = parent;
    valueAt = valueAtPath(value, at);
  }
  return `${displayPath([...prefixSegments, ...at])} must be ${expected(schemaAt)}, got ${preview(valueAt)}`;
}

/** Expands union errors into the errors of the branch that fits the value's shape (an object into the object branch). */
function leafErrors(errors: Iterable<ValueError>, root: TSchema, value: unknown): ValueError[] {
  const out: ValueError[] = [];
  for (const e of errors) {
    if (e.type === ValueErrorType.Union && e.errors.length > 0) {
      const variants = node(e.schema).anyOf;
      const shape = kindOfValue(e.value);
      const matching = variants.map((v, i) => (kindOfSchema(v) === shape ? i : -1)).filter((i) => i >= 0);
      if (matching.length === 1 && shape !== "other") {
        out.push(...leafErrors(e.errors[matching[0]], root, value));
        continue;
      }
    }
    out.push(e);
  }
  return out;
}

function kindOfValue(v: unknown): "object" | "array" | "other" {
  return Array.isArray(v) ? "array" : typeof v === "object" && v !== null ? "object" : "other";
}

function kindOfSchema(s: TSchema): "object" | "array" | "other" {
  return s[Kind] === "Array" ? "array" : s[Kind] === "Object" || s[Kind] === "Record" ? "object" : "other";
}

function isPlain(s: TSchema): boolean {
  return ["String", "Integer", "Number", "Boolean", "Literal"].includes(s[Kind] as string);
}

/** The schema at a path of keys, through objects, records, arrays and unions. */
function lookup(schema: TSchema | undefined, segments: string[]): TSchema | undefined {
  if (!schema || segments.length === 0) return schema;
  const [head, ...rest] = segments;
  switch (schema[Kind]) {
    case "Object":
      return lookup(node(schema).properties[head], rest);
    case "Record":
      return lookup(Object.values(node(schema).patternProperties)[0], rest);
    case "Array":
      return lookup(node(schema).items, rest);
    case "Union":
      for (const variant of node(schema).anyOf) {
        const found = lookup(variant, segments);
        if (found) return found;
      }
      return undefined;
    default:
      return undefined;
  }
}

function valueAtPath(value: unknown, segments: string[]): unknown {
  let v = value;
  for (const s of segments) v = (v as Record<string, unknown> | undefined)?.[s];
  return v;
}

function pointerSegments(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** `['features']` -> `'features'`, `['inputs', '0', 'shape']` -> `inputs[0].shape`. */
function displayPath(segments: string[]): string {
  if (segments.length === 1) return `'${segments[0]}'`;
  return segments.map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`)).join("");
}

/** What a schema accepts, in words: its `expected` annotation, else derived from its type. */
export function expected(schema: TSchema): string {
  const s = node(schema);
  if (typeof s.expected === "string") return s.expected;
  switch (schema[Kind]) {
    case "String":
      return s.minLength ? "a non-empty string" : "a string";
    case "Integer":
      return s.minimum === undefined ? "an integer" : `an integer >= ${s.minimum}`;
    case "Number":
      return s.minimum === undefined ? "a number" : `a number >= ${s.minimum}`;
    case "Boolean":
      return "true or false";
    case "Null":
      return "null";
    case "Literal":
      return JSON.stringify(s.const);
    case "Object":
    case "Record":
      return "an object";
    case "Array": {
      const items = s.items;
      const noun =
        items[Kind] === "String"
          ? "strings"
          : items[Kind] === "Integer"
            ? node(items).minimum === 1
              ? "positive integers"
              : "integers"
            : items[Kind] === "Number"
              ? "numbers"
              : "objects";
      return `${s.minItems ? "a non-empty list" : "a list"} of ${noun}`;
    }
    case "Union": {
      const variants = s.anyOf;
      if (variants.every((v) => v[Kind] === "Literal")) {
        return `one of ${variants.map((v) => JSON.stringify(node(v).const)).join(", ")}`;
      }
      return variants.map(expected).join(" or ");
    }
    default:
      return "something else";
  }
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The known key nearest to a misspelt one: same letters ignoring case and `_`, else within a small edit distance. */
export function closest(key: string, known: readonly string[]): string | undefined {
  const fold = (s: string) => s.toLowerCase().replace(/[_-]/g, "");
  const same = known.find((k) => fold(k) === fold(key));
  if (same) return same;
  let best: string | undefined;
  let bestDistance = Infinity;
  let bestTie = Infinity;
  for (const k of known) {
    const d = levenshtein(fold(key), fold(k));
    // Between equally near keys, the one spelt in the same style (class_lables -> class_labels).
    const tie = levenshtein(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance || (d === bestDistance && tie < bestTie)) {
      best = k;
      bestDistance = d;
      bestTie = tie;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

export function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
