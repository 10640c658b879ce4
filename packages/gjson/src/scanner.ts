/**
 * Scanning raw JSON text without building values: where a string, a container, a literal or a number ends.
 * These scanners are deliberately forgiving, as the reference engine's are: they find ends, they do not
 * validate, so malformed documents give the same partial answers the reference gives. Turning what they
 * find into `Result`s is `result.ts`'s job, so this module stays a leaf.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Where a string ends. `start` is just past the opening quote; `end` is just past the closing quote. */
export interface StringScan {
  end: number;
  /** The string holds at least one backslash escape. */
  escaped: boolean;
  /** A closing quote was found (otherwise `end` is the document's length). */
  closed: boolean;
}

export function scanString(json: string, start: number): StringScan {
  let escaped = false;
  for (let i = start; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) return { end: i + 1, escaped, closed: true };
    if (c === BACKSLASH) {
      escaped = true;
      i++;
    }
  }
  return { end: json.length, escaped, closed: false };
}

/**
 * Where the container opening at `open` ends: just past its matching bracket, or the document's end.
 * All bracket kinds, `()` included, count towards one depth, as in the reference.
 */
export function containerEnd(json: string, open: number): number {
  let depth = 1;
  for (let i = open + 1; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) {
      i = scanString(json, i + 1).end - 1;
    } else if (c === 0x7b || c === 0x5b || c === 0x28) {
      depth++;
    } else if (c === 0x7d || c === 0x5d || c === 0x29) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return json.length;
}

/** Where a literal (`true`, `nul`, …) ends: at the first character that is not a lowercase letter. */
export function literalEnd(json: string, start: number): number {
  let i = start + 1;
  while (i < json.length) {
    const c = json.charCodeAt(i);
    if (c < 0x61 || c > 0x7a) break;
    i++;
  }
  return i;
}

/** Where a number ends: at whitespace, `,`, `]` or `}`. */
export function numberEnd(json: string, start: number): number {
  let i = start + 1;
  while (i < json.length) {
    const c = json.charCodeAt(i);
    if (c <= 0x20 || c === 0x2c || c === 0x5d || c === 0x7d) break;
    i++;
  }
  return i;
}

/** What a value starting with this character is, as the path walker sees it. */
export type ValueKind = "string" | "container" | "literal" | "number" | "none";

export function valueKindAt(json: string, i: number): ValueKind {
  switch (json[i]) {
    case '"':
      return "string";
    case "{":
    case "[":
      return "container";
    case "n":
      // "nan" and friends are numbers, "null" (or anything starting "nu") is a literal.
      return i + 1 < json.length && json[i + 1] !== "u" ? "number" : "literal";
    case "t":
    case "f":
      return "literal";
    case "+": case "-": case "i": case "I": case "N":
    case "0": case "1": case "2": case "3": case "4": case "5": case "6": case "7": case "8": case "9":
      return "number";
    default:
      return "none";
  }
}

/**
 * The length of the value leading `text` as path syntax sees it (modifier arguments, selectors):
 * a string when it starts with a quote, otherwise a bracketed run whose first character opens it.
 * Runs to the end of the text when nothing closes.
 */
export function leadingValueLength(text: string): number {
  let depth = text[0] === '"' ? 0 : 1;
  for (let i = depth; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = scanString(text, i + 1);
      if (depth === 0) return end.end;
      i = end.end - 1;
    } else if (c === 0x7b || c === 0x5b || c === 0x28) {
      depth++;
    } else if (c === 0x7d || c === 0x5d || c === 0x29) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return text.length;
}
