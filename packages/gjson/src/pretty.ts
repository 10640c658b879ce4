/**
 * Re-formatting raw JSON: `prettyJSON` (one member per line, short arrays kept on one line, optional key
 * sorting, indent and line prefix) and `uglyJSON` (all insignificant whitespace removed). Both work on the
 * text as it is, without validating it, and treat malformed input the way the reference formatter does.
 */
import { parseGoFloat } from "./go-number.ts";

export interface PrettyOptions {
  /** Arrays that fit within this many columns stay on one line. Default 80. */
  width: number;
  /** Text put at the start of every line. Default "". */
  prefix: string;
  /** One level of indentation. Default two spaces. */
  indent: string;
  /** Sort object members by key. Default false. */
  sortKeys: boolean;
}

export const DEFAULT_PRETTY: Readonly<PrettyOptions> = { width: 80, prefix: "", indent: "  ", sortKeys: false };

/** A member's place: its key in the source, and its line(s) in the output. */
interface Member {
  keyStart: number;
  keyEnd: number;
  outStart: number;
  outEnd: number;
}

interface Step {
  i: number;
  ok: boolean;
}

function typeRank(v: string): number {
  if (v.length === 0) return 0;
  switch (v[0]) {
    case '"': return 3;
    case "f": return 1;
    case "t": return 4;
    case "n": return 0;
    case "[": case "{": return 5;
    default: return 2;
  }
}

function stringContent(v: string): string {
  for (let i = 1; i < v.length; i++) {
    if (v[i] === "\\") {
      try {
        const s: unknown = JSON.parse(v);
        return typeof s === "string" ? s : "";
      } catch {
        return "";
      }
    }
    if (v[i] === '"') return v.slice(1, i);
  }
  return "";
}

function less(a: string, b: string): boolean {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra < rb;
  if (ra === 3) return byCodePoint(stringContent(a), stringContent(b)) < 0;
  if (ra === 2) return parseGoFloat(a) < parseGoFloat(b);
  return byCodePoint(a, b) < 0;
}

function byCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/** NaN and infinities (`NaN`, `nan`, `Inf`, `+Inf`, …) are copied as numbers. */
function startsSpecialNumber(json: string, i: number): boolean {
  const c = json[i];
  return c === "i" || c === "I" || c === "+" || c === "N" || (c === "n" && i + 1 < json.length && json[i + 1] !== "u");
}

class PrettyWriter {
  out = "";
  /** Where the current output line starts (used to measure the room left for a one-line array). */
  lineStart = 0;

  constructor(
    private readonly json: string,
    private readonly opts: PrettyOptions,
  ) {}

  private newline(): void {
    this.lineStart = this.out.length;
    // A separator's trailing space becomes the line break.
    if (this.out.endsWith(" ")) this.out = this.out.slice(0, -1) + "\n";
    else this.out += "\n";
  }

  private tabs(count: number): void {
    this.out += this.opts.prefix + this.opts.indent.repeat(count);
  }

  value(i: number, pretty: boolean, depth: number, room: number): Step {
    const json = this.json;
    for (; i < json.length; i++) {
      const c = json[i];
      if (json.charCodeAt(i) <= 0x20) continue;
      if (c === '"') return this.string(i);
      if ((c >= "0" && c <= "9") || c === "-" || startsSpecialNumber(json, i)) return this.number(i);
      if (c === "{") return this.container(i, "{", "}", pretty, depth, room);
      if (c === "[") return this.container(i, "[", "]", pretty, depth, room);
      if (c === "t") {
        this.out += "true";
        return { i: i + 4, ok: true };
      }
      if (c === "f") {
        this.out += "false";
        return { i: i + 5, ok: true };
      }
      if (c === "n") {
        this.out += "null";
        return { i: i + 4, ok: true };
      }
    }
    return { i, ok: true };
  }

  private string(start: number): Step {
    const json = this.json;
    let i = start + 1;
    for (; i < json.length; i++) {
      if (json[i] !== '"') continue;
      let backslashes = 0;
      for (let j = i - 1; j > start && json[j] === "\\"; j--) backslashes++;
      if (backslashes % 2 === 1) continue;
      i++;
      break;
    }
    this.out += json.slice(start, i);
    return { i, ok: true };
  }

  private number(start: number): Step {
    const json = this.json;
    let i = start + 1;
    for (; i < json.length; i++) {
      const c = json[i];
      if (json.charCodeAt(i) <= 0x20 || c === "," || c === ":" || c === "]" || c === "}") break;
    }
    this.out += json.slice(start, i);
    return { i, ok: true };
  }

  private container(i: number, open: string, close: string, pretty: boolean, depth: number, room: number): Step {
    const { json, opts } = this;
    if (opts.width > 0) {
      if (pretty && open === "[" && room === -1) {
        // First try the whole array on one line, within the room left on this line.
        const fit = opts.width - (this.out.length - this.lineStart);
        if (fit > 3) {
          const mark = this.out.length;
          const attempt = this.container(i, "[", "]", false, 0, fit);
          if (attempt.ok && this.out.length - mark <= fit) return { i: attempt.i, ok: true };
          this.out = this.out.slice(0, mark);
        }
      } else if (room !== -1 && open === "{") {
        // Objects never go on one line.
        return { i, ok: false };
      }
    }
    const sorting = open === "{" && opts.sortKeys;
    const members: Member[] = [];
    this.out += open;
    let count = 0;
    for (i++; i < json.length; i++) {
      const c = json[i];
      if (json.charCodeAt(i) <= 0x20) continue;
      if (c === close) {
        if (pretty) {
          if (sorting) this.sortMembers(members);
          if (count > 0) this.newline();
          if (!this.out.endsWith(open)) this.tabs(depth);
        }
        this.out += close;
        return { i: i + 1, ok: open !== "{" };
      }
      if (open !== "[" && c !== '"') continue;
      if (count > 0) {
        this.out += ",";
        if (opts.width !== -1 && open === "[") this.out += " ";
      }
      const member: Member = { keyStart: 0, keyEnd: 0, outStart: 0, outEnd: 0 };
      if (pretty) {
        this.newline();
        if (sorting) {
          member.keyStart = i;
          member.outStart = this.out.length;
        }
        this.tabs(depth + 1);
      }
      if (open === "{") {
        i = this.string(i).i;
        if (sorting) member.keyEnd = i;
        this.out += pretty ? ": " : ":";
      }
      const step = this.value(i, pretty, depth + 1, room);
      i = step.i;
      if (room !== -1 && !step.ok) return { i, ok: false };
      if (pretty && sorting) {
        member.outEnd = this.out.length;
        if (member.keyStart > member.keyEnd || member.outStart > member.outEnd) break;
        members.push(member);
      }
      i--;
      count++;
    }
    return { i, ok: open !== "{" };
  }

  private sortMembers(members: Member[]): void {
    if (members.length === 0) return;
    const { json } = this;
    const key = (m: Member) => json.slice(m.keyStart, m.keyEnd);
    const valueOf = (m: Member) => {
      const k = key(m);
      let v = this.out.slice(m.outStart, m.outEnd).trim();
      if (v.length >= k.length + 1) v = v.slice(k.length + 1).trim();
      return v;
    };
    const texts = members.map((m) => this.out.slice(m.outStart, m.outEnd));
    const order = members.map((_, n) => n);
    order.sort((a, b) => {
      const ka = key(members[a]);
      const kb = key(members[b]);
      if (less(ka, kb)) return -1;
      if (less(kb, ka)) return 1;
      const va = valueOf(members[a]);
      const vb = valueOf(members[b]);
      if (less(va, vb)) return -1;
      if (less(vb, va)) return 1;
      return 0;
    });
    const start = members[0].outStart;
    this.out = this.out.slice(0, start) + order.map((n) => texts[n]).join(",\n");
  }
}

/** Formats JSON for people: one member per line, arrays on one line when they fit. Ends with a newline. */
export function prettyJSON(json: string, options: Partial<PrettyOptions> = {}): string {
  const opts = { ...DEFAULT_PRETTY, ...options };
  const writer = new PrettyWriter(json, opts);
  writer.out = opts.prefix;
  writer.value(0, true, 0, -1);
  return writer.out.length > 0 ? writer.out + "\n" : "";
}

/** Removes every character at or below a space outside strings. */
export function uglyJSON(json: string): string {
  let out = "";
  for (let i = 0; i < json.length; i++) {
    if (json.charCodeAt(i) <= 0x20) continue;
    if (json[i] !== '"') {
      out += json[i];
      continue;
    }
    const start = i;
    for (i++; i < json.length; i++) {
      if (json[i] !== '"') continue;
      let backslashes = 0;
      for (let j = i - 1; json[j] === "\\"; j--) backslashes++;
      if (backslashes % 2 === 0) break;
    }
    out += json.slice(start, i + 1);
  }
  return out;
}
