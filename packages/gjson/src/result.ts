/**
 * A query's answer: the raw JSON text it came from plus typed views of it (string, number, boolean).
 * Views follow the reference engine: numbers print as their raw text when it is a plain integer,
 * strings convert to numbers and booleans the way Go's strconv reads them. Also here: building results from
 * the raw values the scanner finds.
 */
import { formatGoFloat, parseGoFloat } from "./go-number.ts";
import { unescapeJSON } from "./json-string.ts";
import { containerEnd, literalEnd, numberEnd, scanString, valueKindAt, type StringScan } from "./scanner.ts";

export type ResultType = "Null" | "False" | "Number" | "String" | "True" | "JSON";

/** A JavaScript value built from a result: what `JSON.parse` would give, read leniently. */
export type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };

/**
 * Runs a path against JSON text: the engine's `get`. It is handed in by `get.ts` when the engine loads
 * (`setPathEngine`), so that results, modifiers and multipaths can run further paths without importing it.
 */
export type PathEngine = (json: string, path: string) => Result;

let engine: PathEngine = () => {
  throw new Error("GJSON: the path engine is not loaded (import get from the gjson index)");
};

/** Installs the engine `Result.get` runs; `get.ts` calls it once, as it loads. */
export function setPathEngine(get: PathEngine): void {
  engine = get;
}

const TRUE_WORDS = new Set(["1", "t", "true"]);

function numberText(raw: string, num: number): string {
  if (raw.length === 0) return formatGoFloat(num);
  let i = raw[0] === "-" ? 1 : 0;
  for (; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c < 48 || c > 57) return formatGoFloat(num);
  }
  return raw;
}

export class Result {
  readonly type: ResultType;
  /** The raw JSON text (for built answers, the JSON the engine built). Empty when nothing was found. */
  readonly raw: string;
  /** The string view: strings unescaped, numbers as text, JSON as its raw text, `true`/`false`, or "". */
  readonly str: string;
  /** The number, for Number results (as the reference reports it); 0 for every other type. */
  readonly num: number;
  /** The boolean view: true, non-zero numbers, strings such as "true", "T" or "1". */
  readonly bool: boolean;
  /** Whether the path matched anything. */
  readonly exists: boolean;

  /** `text` is the unescaped content for strings; `num` the parsed value for numbers. */
  constructor(type: ResultType = "Null", raw = "", text = "", num = 0) {
    this.type = type;
    this.raw = raw;
    switch (type) {
      case "String":
        this.str = text;
        this.num = 0;
        this.bool = TRUE_WORDS.has(text.toLowerCase());
        break;
      case "Number":
        this.str = numberText(raw, num);
        this.num = num;
        this.bool = num !== 0;
        break;
      case "True":
        this.str = "true";
        this.num = 0;
        this.bool = true;
        break;
      case "False":
        this.str = "false";
        this.num = 0;
        this.bool = false;
        break;
      case "JSON":
        this.str = raw;
        this.num = 0;
        this.bool = false;
        break;
      default:
        this.str = "";
        this.num = 0;
        this.bool = false;
    }
    this.exists = type !== "Null" || raw.length > 0;
  }

  /** The numeric view with string conversion: numeric strings parse, true is 1, anything else 0. */
  float(): number {
    if (this.type === "String") return parseGoFloat(this.str);
    if (this.type === "True") return 1;
    return this.num;
  }

  /** Runs a further path against this result's raw JSON. */
  get(path: string): Result {
    return engine(this.raw, path);
  }

  isArray(): boolean {
    return this.type === "JSON" && this.raw[0] === "[";
  }

  isObject(): boolean {
    return this.type === "JSON" && this.raw[0] === "{";
  }

  /**
   * Visits each element (key is a Number result holding the index) or member (key is a String result).
   * A scalar is visited once with an empty key. Returning `false` stops the walk.
   */
  forEach(visit: (key: Result, value: Result) => boolean | void): void {
    if (!this.exists) return;
    if (this.type !== "JSON") {
      visit(EMPTY, this);
      return;
    }
    const json = this.raw;
    let i = 0;
    let isObject = false;
    for (; i < json.length; i++) {
      if (json[i] === "{") {
        isObject = true;
        i++;
        break;
      }
      if (json[i] === "[") {
        i++;
        break;
      }
      if (json.charCodeAt(i) > 0x20) return;
    }
    let index = -1;
    let key: Result = EMPTY;
    for (; i < json.length; i++) {
      if (isObject) {
        if (json[i] !== '"') continue;
        const scan = scanString(json, i + 1);
        if (!scan.closed) return;
        key = stringResult(json, i, scan);
        i = scan.end;
      } else {
        index++;
        key = new Result("Number", String(index), "", index);
      }
      while (i < json.length && (json.charCodeAt(i) <= 0x20 || json[i] === "," || json[i] === ":")) i++;
      const found = readValue(json, i);
      if (!found) return;
      // The loop's step then skips the character right after the value (normally a separator).
      i = found.end;
      if (visit(key, found.value) === false) return;
    }
  }

  /** The elements of an array; a scalar or object as a one-element list; nothing for a missing value. */
  array(): Result[] {
    if (this.type === "Null") return [];
    if (!this.isArray()) return [this];
    const out: Result[] = [];
    this.forEach((_, value) => {
      out.push(value);
    });
    return out;
  }

  /** The members of an object by (unescaped) key; empty for anything else. */
  map(): Map<string, Result> {
    const out = new Map<string, Result>();
    if (!this.isObject()) return out;
    this.forEach((key, value) => {
      out.set(key.str, value);
    });
    return out;
  }

  /** The plain JavaScript value: objects, arrays, strings, numbers, booleans or null. */
  value(): JSONValue {
    switch (this.type) {
      case "String":
        return this.str;
      case "Number":
        return this.num;
      case "True":
        return true;
      case "False":
        return false;
      case "JSON":
        if (this.isArray()) return this.array().map((item) => item.value());
        if (this.isObject()) {
          const out: { [key: string]: JSONValue } = {};
          for (const [key, item] of this.map()) out[key] = item.value();
          return out;
        }
        return null;
      default:
        return null;
    }
  }

  toString(): string {
    return this.str;
  }
}

/** The answer for "nothing found". */
export const EMPTY = new Result();

/** Bare booleans, as `~` query operands produce them. */
export const TRUE_RESULT = new Result("True");
export const FALSE_RESULT = new Result("False");

/** Builds the result of a string whose raw text runs from `open` (its quote) to `scan.end`. */
export function stringResult(json: string, open: number, scan: StringScan): Result {
  const raw = json.slice(open, scan.end);
  const inner = raw.slice(1, scan.closed ? -1 : undefined);
  return new Result("String", raw, scan.escaped ? unescapeJSON(inner) : inner);
}

export function literalResult(raw: string): Result {
  const type = raw[0] === "t" ? "True" : raw[0] === "f" ? "False" : "Null";
  return new Result(type, raw);
}

export function numberResult(raw: string): Result {
  return new Result("Number", raw, "", parseGoFloat(raw));
}

/** A value found by `readValue`, with the index just past it. */
export interface ValueScan {
  end: number;
  value: Result;
}

/**
 * Reads the next value at or after `i`, skipping anything that cannot start one (separators, garbage).
 * Returns undefined when the document ends first or a string is left open.
 */
export function readValue(json: string, i: number): ValueScan | undefined {
  for (; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c <= 0x20) continue;
    switch (valueKindAt(json, i)) {
      case "container": {
        const end = containerEnd(json, i);
        return { end, value: new Result("JSON", json.slice(i, end)) };
      }
      case "string": {
        const scan = scanString(json, i + 1);
        if (!scan.closed) return undefined;
        return { end: scan.end, value: stringResult(json, i, scan) };
      }
      case "literal": {
        const end = literalEnd(json, i);
        return { end, value: literalResult(json.slice(i, end)) };
      }
      case "number": {
        const end = numberEnd(json, i);
        return { end, value: numberResult(json.slice(i, end)) };
      }
      default:
        break;
    }
  }
  return undefined;
}
