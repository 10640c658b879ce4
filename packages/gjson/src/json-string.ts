/**
 * JSON string text: decoding the inside of a raw string, and encoding a value as a JSON string.
 * Both follow the reference engine, which is lenient when decoding (it stops at the first bad escape)
 * and HTML-safe when encoding (`<`, `>` and `&` become `\u003c`, `\u003e`, `\u0026`).
 */

const HEX = "0123456789abcdef";

function hex4(text: string, at: number): number {
  if (at + 4 > text.length) return 0;
  let value = 0;
  for (let k = at; k < at + 4; k++) {
    const d = HEX.indexOf(text[k].toLowerCase());
    if (d < 0) return 0;
    value = value * 16 + d;
  }
  return value;
}

function isSurrogate(code: number): boolean {
  return code >= 0xd800 && code < 0xe000;
}

/** Decodes the text between a string's quotes; a control character or an unknown escape ends the text. */
export function unescapeJSON(text: string): string {
  if (text.indexOf("\\") < 0 && !/[\x00-\x1f]/.test(text)) return text;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20) return out;
    if (c !== 0x5c) {
      out += text[i];
      continue;
    }
    i++;
    if (i >= text.length) return out;
    switch (text[i]) {
      case "\\": out += "\\"; break;
      case "/": out += "/"; break;
      case "b": out += "\b"; break;
      case "f": out += "\f"; break;
      case "n": out += "\n"; break;
      case "r": out += "\r"; break;
      case "t": out += "\t"; break;
      case '"': out += '"'; break;
      case "u": {
        if (i + 5 > text.length) return out;
        let code = hex4(text, i + 1);
        i += 5;
        if (isSurrogate(code) && text.length - i >= 6 && text[i] === "\\" && text[i + 1] === "u") {
          // A surrogate consumes the next escape, paired or not.
          const low = hex4(text, i + 2);
          code = code < 0xdc00 && low >= 0xdc00 && low < 0xe000 ? 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00) : 0xfffd;
          i += 6;
        }
        out += isSurrogate(code) ? "\ufffd" : String.fromCodePoint(code);
        i--;
        break;
      }
      default:
        return out;
    }
  }
  return out;
}

function escapeUnit(code: number): string {
  return "\\u" + HEX[(code >> 12) & 15] + HEX[(code >> 8) & 15] + HEX[(code >> 4) & 15] + HEX[code & 15];
}

/** Encodes text as a JSON string literal, the way the reference engine's `AppendJSONString` does. */
export function quoteJSON(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20) {
      switch (c) {
        case 0x08: out += "\\b"; break;
        case 0x0c: out += "\\f"; break;
        case 0x0a: out += "\\n"; break;
        case 0x0d: out += "\\r"; break;
        case 0x09: out += "\\t"; break;
        default: out += escapeUnit(c);
      }
    } else if (c === 0x3c || c === 0x3e || c === 0x26) {
      out += escapeUnit(c);
    } else if (c === 0x5c) {
      out += "\\\\";
    } else if (c === 0x22) {
      out += '\\"';
    } else if (c === 0x2028 || c === 0x2029) {
      out += escapeUnit(c);
    } else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      out += text[i] + text[i + 1];
      i++;
    } else if (isSurrogate(c)) {
      // A lone surrogate is what invalid UTF-8 becomes here: the replacement character, escaped.
      out += "\\ufffd";
    } else {
      out += text[i];
    }
  }
  return out + '"';
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code < 0xe000;
}
