/**
 * Number conversions with the reference engine's rules: its numbers are parsed and printed the way Go's
 * `strconv` does it, which differs from JavaScript's `Number()` in the corners (hex, "inf", blanks, "0b1").
 */

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEX_FLOAT = /^([+-]?)0[xX]((?:[0-9a-fA-F_]*)(?:\.[0-9a-fA-F_]*)?)[pP]([+-]?[0-9_]+)$/;

/** Parses like Go's `strconv.ParseFloat(s, 64)`, keeping its value on error: 0, or ±Inf when out of range. */
export function parseGoFloat(s: string): number {
  if (s.length === 0) return 0;
  if (DECIMAL.test(s)) return Number(s);
  const special = parseSpecial(s);
  if (special !== undefined) return special;
  return parseHexFloat(s);
}

function parseSpecial(s: string): number | undefined {
  let body = s;
  let sign = 1;
  const first = s[0];
  if (first === "+" || first === "-") {
    sign = first === "-" ? -1 : 1;
    body = s.slice(1);
    // A sign is only accepted in front of an infinity, never in front of "nan".
    const lower = body.toLowerCase();
    return lower === "inf" || lower === "infinity" ? sign * Infinity : undefined;
  }
  const lower = body.toLowerCase();
  if (lower === "inf" || lower === "infinity") return Infinity;
  if (lower === "nan") return NaN;
  return undefined;
}

function parseHexFloat(s: string): number {
  const m = HEX_FLOAT.exec(s);
  if (!m) return 0;
  const [, sign, mantissaText, expText] = m;
  if (!validUnderscores(mantissaText) || !/^[+-]?\d+(?:_\d+)*$/.test(expText)) return 0;
  const mantissa = mantissaText.replace(/_/g, "");
  const dot = mantissa.indexOf(".");
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  if (digits.length === 0) return 0;
  const fractionDigits = dot < 0 ? 0 : mantissa.length - dot - 1;
  let value = 0;
  for (const d of digits) value = value * 16 + parseInt(d, 16);
  const exp = Number(expText.replace(/_/g, "")) - 4 * fractionDigits;
  const out = value * Math.pow(2, exp);
  return sign === "-" ? -out : out;
}

function validUnderscores(text: string): boolean {
  // Go allows an underscore only between digits (or right after the base prefix).
  return !/__|_\.|\._|_$/.test(text);
}

/** Prints like Go's `strconv.FormatFloat(n, 'f', -1, 64)`: the shortest exact digits, never an exponent. */
export function formatGoFloat(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  if (n === 0) return Object.is(n, -0) ? "-0" : "0";
  const text = String(n);
  const e = text.indexOf("e");
  if (e < 0) return text;
  const negative = text[0] === "-";
  const mantissa = text.slice(negative ? 1 : 0, e);
  const exp = Number(text.slice(e + 1));
  const dot = mantissa.indexOf(".");
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  const pointAt = (dot < 0 ? mantissa.length : dot) + exp;
  let out: string;
  if (pointAt <= 0) out = "0." + "0".repeat(-pointAt) + digits;
  else if (pointAt >= digits.length) out = digits + "0".repeat(pointAt - digits.length);
  else out = digits.slice(0, pointAt) + "." + digits.slice(pointAt);
  return negative ? "-" + out : out;
}

/**
 * Reads an array index like the reference's unsigned parser: digits only, wrapping at 64 bits.
 * Returns -1 when the text is not an index (or is too large to ever match a position).
 */
export function parseIndex(s: string): number {
  if (s.length === 0) return -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  if (s.length <= 15) return Number(s);
  const wrapped = BigInt.asIntN(64, BigInt(s));
  return wrapped >= 0n && wrapped <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(wrapped) : -1;
}
