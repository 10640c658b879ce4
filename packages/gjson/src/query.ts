/**
 * Array queries, `#(path op value)` and the legacy `#[…]`: splitting the query text into its parts and
 * testing an element against it. Comparisons are typed by the element: strings compare by code point,
 * numbers as floats, booleans with true > false; `%`/`!%` are wildcard matches; `~` operands test truthiness.
 */
import { parseGoFloat } from "./go-number.ts";
import { unescapeJSON } from "./json-string.ts";
import { matchPattern } from "./match.ts";
import { EMPTY, FALSE_RESULT, TRUE_RESULT, type Result } from "./result.ts";

export interface Query {
  /** The sub-path read from each element (may be empty for scalar elements). */
  path: string;
  /** `=`, `!=`, `<`, `<=`, `>`, `>=`, `%`, `!%`, or "" for an existence test. */
  op: string;
  /** The right-hand operand with quotes removed and escapes decoded. */
  value: string;
}

export interface ParsedQuery extends Query {
  /** Index just past the closing bracket. */
  end: number;
}

function trimBlank(text: string): string {
  let a = 0;
  let b = text.length;
  while (a < b && text.charCodeAt(a) <= 0x20) a++;
  while (b > a && text.charCodeAt(b - 1) <= 0x20) b--;
  return text.slice(a, b);
}

/** Splits `#(…)` at the start of `text`; undefined when the brackets never balance. */
export function parseQuery(text: string): ParsedQuery | undefined {
  if (text.length < 2 || text[0] !== "#" || (text[1] !== "(" && text[1] !== "[")) return undefined;
  let i = 2;
  let opStart = 0;
  let depth = 1;
  let escaped = false;
  for (; i < text.length; i++) {
    const c = text[i];
    if (depth === 1 && opStart === 0 && (c === "!" || c === "=" || c === "<" || c === ">" || c === "%")) {
      opStart = i;
      continue;
    }
    if (c === "\\") {
      i++;
    } else if (c === "[" || c === "(") {
      depth++;
    } else if (c === "]" || c === ")") {
      depth--;
      if (depth === 0) break;
    } else if (c === '"') {
      for (i++; i < text.length; i++) {
        if (text[i] === "\\") {
          escaped = true;
          i++;
        } else if (text[i] === '"') {
          break;
        }
      }
    }
  }
  if (depth > 0) return undefined;
  let path: string;
  let op = "";
  let value = "";
  if (opStart > 0) {
    path = trimBlank(text.slice(2, opStart));
    const tail = trimBlank(text.slice(opStart, i));
    let size = 1;
    let from = 0;
    if (tail.length === 1) size = 1;
    else if (tail[0] === "!" && (tail[1] === "=" || tail[1] === "%")) size = 2;
    else if ((tail[0] === "<" || tail[0] === ">") && tail[1] === "=") size = 2;
    else if (tail[0] === "=" && tail[1] === "=") from = 1;
    else if (tail[0] !== "<" && tail[0] !== ">" && tail[0] !== "=" && tail[0] !== "%") size = 0;
    op = tail.slice(from, from + size);
    value = trimBlank(tail.slice(from + size));
  } else {
    path = trimBlank(text.slice(2, i));
  }
  if (value.length >= 2 && value[0] === '"' && value[value.length - 1] === '"') {
    value = value.slice(1, -1);
    if (escaped) value = unescapeJSON(value);
  }
  return { path, op, value, end: i + 1 };
}

function compareText(a: string, b: string): number {
  // Byte order of UTF-8 is code point order; UTF-16 order differs above the BMP.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

const FALSE_WORDS = new Set(["0", "f", "false"]);

/** False-ish: missing, null, false, zero, or a string that reads as false ("0", "f", "false", any case). */
function isFalsy(value: Result): boolean {
  switch (value.type) {
    case "Null":
    case "False":
      return true;
    case "Number":
      return value.num === 0;
    case "String":
      return FALSE_WORDS.has(value.str.toLowerCase());
    default:
      return false;
  }
}

/** Whether an element's value (found at the query's sub-path) satisfies the query. */
export function queryMatches(query: Query, found: Result): boolean {
  let operand = query.value;
  let value = found;
  if (operand[0] === "~") {
    let truth: boolean | undefined;
    switch (operand.slice(1)) {
      case "*": truth = value.exists; break;
      case "null": truth = value.type === "Null"; break;
      case "true": truth = value.bool; break;
      case "false": truth = isFalsy(value); break;
    }
    if (truth === undefined) {
      operand = "";
      value = EMPTY;
    } else {
      operand = "true";
      value = truth ? TRUE_RESULT : FALSE_RESULT;
    }
  }
  if (!value.exists) return false;
  if (query.op === "") return true;
  switch (value.type) {
    case "String": {
      const order = compareText(value.str, operand);
      switch (query.op) {
        case "=": return order === 0;
        case "!=": return order !== 0;
        case "<": return order < 0;
        case "<=": return order <= 0;
        case ">": return order > 0;
        case ">=": return order >= 0;
        case "%": return matchPattern(value.str, operand);
        case "!%": return !matchPattern(value.str, operand);
      }
      return false;
    }
    case "Number": {
      const n = parseGoFloat(operand);
      switch (query.op) {
        case "=": return value.num === n;
        case "!=": return value.num !== n;
        case "<": return value.num < n;
        case "<=": return value.num <= n;
        case ">": return value.num > n;
        case ">=": return value.num >= n;
      }
      return false;
    }
    case "True":
      switch (query.op) {
        case "=": return operand === "true";
        case "!=": return operand !== "true";
        case ">": return operand === "false";
        case ">=": return true;
      }
      return false;
    case "False":
      switch (query.op) {
        case "=": return operand === "false";
        case "!=": return operand !== "false";
        case "<": return operand === "true";
        case "<=": return true;
      }
      return false;
    default:
      return false;
  }
}
