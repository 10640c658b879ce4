/**
 * The built-in modifiers: `@reverse @ugly @pretty @this @valid @flatten @join @keys @values @tostr
 * @fromstr @group @dig`. Each takes the current JSON text and its argument text and returns new JSON text.
 */
import { quoteJSON } from "./json-string.ts";
import { parse } from "./parse.ts";
import { prettyJSON, uglyJSON, type PrettyOptions } from "./pretty.ts";
import type { PathEngine, Result } from "./result.ts";
import { valid } from "./valid.ts";

export type Modifier = (json: string, arg: string) => string;

/** A modifier as the engine runs it: also handed the engine's `get`, for those that run paths (`@dig`). */
export type EngineModifier = (json: string, arg: string, get: PathEngine) => string;

/** Reads `{"name": value, …}` options from a modifier argument. */
function eachOption(arg: string, read: (name: string, value: Result) => void): void {
  if (arg === "") return;
  parse(arg).forEach((key, value) => {
    read(key.str, value);
  });
}

function integerOf(value: Result): number {
  if (value.type === "String") {
    const m = /^[+-]?\d+$/.exec(value.str);
    return m ? Number(value.str) : 0;
  }
  return Number.isFinite(value.num) ? Math.trunc(value.num) : 0;
}

function pretty(json: string, arg: string): string {
  if (arg === "") return prettyJSON(json);
  const opts: Partial<PrettyOptions> = {};
  eachOption(arg, (name, value) => {
    if (name === "sortKeys") opts.sortKeys = value.bool;
    else if (name === "indent") opts.indent = value.str;
    else if (name === "prefix") opts.prefix = value.str;
    else if (name === "width") opts.width = integerOf(value);
  });
  return prettyJSON(json, opts);
}

function reverse(json: string): string {
  const value = parse(json);
  if (value.isArray()) {
    const items: string[] = [];
    value.forEach((_, item) => {
      items.push(item.raw);
    });
    return "[" + items.reverse().join(",") + "]";
  }
  if (value.isObject()) {
    const members: string[] = [];
    value.forEach((key, item) => {
      members.push(key.raw + ":" + item.raw);
    });
    return "{" + members.reverse().join(",") + "}";
  }
  return json;
}

/** Drops a container's brackets (after trimming blanks), keeping its inside. */
function unwrap(json: string): string {
  const text = json.replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, "");
  if (text.length >= 2 && (text[0] === "[" || text[0] === "{")) return text.slice(1, -1);
  return text;
}

function flatten(json: string, arg: string): string {
  const value = parse(json);
  if (!value.isArray()) return json;
  let deep = false;
  eachOption(arg, (name, option) => {
    if (name === "deep") deep = option.bool;
  });
  const parts: string[] = [];
  value.forEach((_, item) => {
    let raw = item.raw;
    if (item.isArray()) raw = unwrap(deep ? flatten(item.raw, arg) : item.raw);
    raw = raw.trim();
    if (raw.length > 0) parts.push(raw);
  });
  return "[" + parts.join(",") + "]";
}

function join(json: string, arg: string): string {
  const value = parse(json);
  if (!value.isArray()) return json;
  let preserve = false;
  eachOption(arg, (name, option) => {
    if (name === "preserve") preserve = option.bool;
  });
  if (preserve) {
    const parts: string[] = [];
    value.forEach((_, item) => {
      if (item.isObject()) parts.push(unwrap(item.raw));
    });
    return "{" + parts.join(",") + "}";
  }
  // Later members win, but each key keeps the place of its first appearance.
  const keys: Result[] = [];
  const values = new Map<string, string>();
  value.forEach((_, item) => {
    if (!item.isObject()) return;
    item.forEach((key, member) => {
      if (!values.has(key.str)) keys.push(key);
      values.set(key.str, member.raw);
    });
  });
  return "{" + keys.map((key) => key.raw + ":" + values.get(key.str)!).join(",") + "}";
}

function keys(json: string): string {
  const value = parse(json);
  if (!value.exists) return "[]";
  const isObject = value.isObject();
  const out: string[] = [];
  value.forEach((key) => {
    out.push(isObject ? key.raw : "null");
  });
  return "[" + out.join(",") + "]";
}

function values(json: string): string {
  const value = parse(json);
  if (!value.exists) return "[]";
  if (value.isArray()) return json;
  const out: string[] = [];
  value.forEach((_, item) => {
    out.push(item.raw);
  });
  return "[" + out.join(",") + "]";
}

function fromString(json: string): string {
  return valid(json) ? parse(json).str : "";
}

/** Turns `{"a":[1,2],"b":[3]}` into `[{"a":1,"b":3},{"a":2}]`. */
function group(json: string): string {
  const value = parse(json);
  if (!value.isObject()) return "";
  const rows: string[][] = [];
  value.forEach((key, column) => {
    if (!column.isArray()) return;
    let n = 0;
    column.forEach((_, cell) => {
      if (n === rows.length) rows.push([]);
      rows[n].push(key.raw + ":" + cell.raw);
      n++;
    });
  });
  return "[" + rows.map((row) => "{" + row.join(",") + "}").join(",") + "]";
}

/** Every value found by the path in any object or array, searching depth first. */
function dig(json: string, arg: string, get: PathEngine): string {
  const found: string[] = [];
  const visit = (text: string) => {
    const hit = get(text, arg);
    if (hit.exists) found.push(hit.raw);
    parse(text).forEach((_, child) => {
      if (child.type === "JSON") visit(child.raw);
    });
  };
  visit(json);
  return "[" + found.join(",") + "]";
}

export const BUILTIN_MODIFIERS: Readonly<Record<string, EngineModifier>> = {
  pretty,
  ugly: (json) => uglyJSON(json),
  reverse: (json) => reverse(json),
  this: (json) => json,
  valid: (json) => (valid(json) ? json : ""),
  flatten,
  join,
  keys: (json) => keys(json),
  values: (json) => values(json),
  tostr: (json) => quoteJSON(json),
  fromstr: (json) => fromString(json),
  group: (json) => group(json),
  dig,
};
