/**
 * Strict JSON validation (RFC 8259 grammar): one value, optional surrounding whitespace, nothing else.
 */

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

class Validator {
  constructor(private readonly s: string) {}

  private skipSpace(i: number): number {
    while (i < this.s.length && isSpace(this.s.charCodeAt(i))) i++;
    return i;
  }

  /** Index just past a valid value starting at or after `i`, or -1. */
  value(i: number): number {
    i = this.skipSpace(i);
    const s = this.s;
    switch (s[i]) {
      case "{": return this.object(i + 1);
      case "[": return this.array(i + 1);
      case '"': return this.string(i + 1);
      case "t": return s.startsWith("true", i) ? i + 4 : -1;
      case "f": return s.startsWith("false", i) ? i + 5 : -1;
      case "n": return s.startsWith("null", i) ? i + 4 : -1;
      default: return this.number(i);
    }
  }

  private object(i: number): number {
    i = this.skipSpace(i);
    if (this.s[i] === "}") return i + 1;
    for (;;) {
      if (this.s[i] !== '"') return -1;
      i = this.string(i + 1);
      if (i < 0) return -1;
      i = this.skipSpace(i);
      if (this.s[i] !== ":") return -1;
      i = this.value(i + 1);
      if (i < 0) return -1;
      i = this.skipSpace(i);
      if (this.s[i] === "}") return i + 1;
      if (this.s[i] !== ",") return -1;
      i = this.skipSpace(i + 1);
    }
  }

  private array(i: number): number {
    i = this.skipSpace(i);
    if (this.s[i] === "]") return i + 1;
    for (;;) {
      i = this.value(i);
      if (i < 0) return -1;
      i = this.skipSpace(i);
      if (this.s[i] === "]") return i + 1;
      if (this.s[i] !== ",") return -1;
      i++;
    }
  }

  private string(i: number): number {
    const s = this.s;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20) return -1;
      if (c === 0x22) return i + 1;
      if (c !== 0x5c) continue;
      i++;
      switch (s[i]) {
        case '"': case "\\": case "/": case "b": case "f": case "n": case "r": case "t":
          break;
        case "u":
          for (let k = 1; k <= 4; k++) if (!isHex(s.charCodeAt(i + k))) return -1;
          i += 4;
          break;
        default:
          return -1;
      }
    }
    return -1;
  }

  private number(i: number): number {
    const s = this.s;
    if (s[i] === "-") i++;
    if (s[i] === "0") i++;
    else if (isDigit(s.charCodeAt(i))) while (isDigit(s.charCodeAt(i))) i++;
    else return -1;
    if (s[i] === ".") {
      i++;
      if (!isDigit(s.charCodeAt(i))) return -1;
      while (isDigit(s.charCodeAt(i))) i++;
    }
    if (s[i] === "e" || s[i] === "E") {
      i++;
      if (s[i] === "+" || s[i] === "-") i++;
      if (!isDigit(s.charCodeAt(i))) return -1;
      while (isDigit(s.charCodeAt(i))) i++;
    }
    return i;
  }

  whole(): boolean {
    const end = this.value(0);
    return end >= 0 && this.skipSpace(end) === this.s.length;
  }
}

/** Whether the text is exactly one well-formed JSON value. */
export function valid(json: string): boolean {
  return new Validator(json).whole();
}
