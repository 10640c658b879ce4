/**
 * Wildcard matching for keys and `%` queries: `*` matches any run of characters, `?` exactly one,
 * and `\` makes the next pattern character literal. Characters are Unicode code points.
 * Like the reference, the work is bounded: a pattern too costly for its subject counts as no match.
 */

const COMPLEXITY_LIMIT = 10_000;

type Outcome = "match" | "none" | "stop";

class Matcher {
  private steps = 0;
  private readonly budget: number;

  constructor(
    private readonly s: number[],
    private readonly p: number[],
    subjectBytes: number,
  ) {
    this.budget = subjectBytes * COMPLEXITY_LIMIT;
  }

  /** Matches s[si, se) against p[pi, pe). */
  run(si: number, se: number, pi: number, pe: number): Outcome {
    if (this.steps > this.budget) return "stop";
    this.steps++;
    const { s, p } = this;
    while (pi < pe) {
      let star = false;
      const pc = p[pi];
      if (pc === 0x3f /* ? */) {
        if (si >= se) return "none";
      } else if (pc === 0x2a /* * */) {
        while (pi + 1 < pe && p[pi + 1] === 0x2a) pi++;
        if (pi + 1 === pe) return "match";
        // Literal characters at the pattern's end must match the subject's end.
        const trimmed = this.trimSuffix(si, se, pi, pe);
        if (!trimmed) return "none";
        se = trimmed[0];
        pe = trimmed[1];
        if (pi + 1 === pe) return "match";
        const inner = this.run(si, se, pi + 1, pe);
        if (inner !== "none") return inner;
        if (si >= se) return "none";
        star = true;
      } else {
        if (si >= se) return "none";
        let want = pc;
        if (want === 0x5c /* \ */) {
          pi++;
          if (pi >= pe) return "none";
          want = p[pi];
        }
        if (s[si] !== want) return "none";
      }
      si++;
      if (!star) pi++;
    }
    return si >= se ? "match" : "none";
  }

  /** Strips matching non-wildcard characters off both ends; undefined when they differ. */
  private trimSuffix(si: number, se: number, pi: number, pe: number): [number, number] | undefined {
    const { s, p } = this;
    while (se > si && pe - pi > 1) {
      const pc = p[pe - 1];
      let width = 1;
      let backslashes = 0;
      while (pe - 2 - backslashes >= pi && p[pe - 2 - backslashes] === 0x5c) backslashes++;
      const escaped = backslashes % 2 === 1;
      if (escaped) width = 2;
      if (pc === 0x2a && !escaped) break;
      if (!((pc === 0x3f && !escaped) || pc === s[se - 1])) return undefined;
      se--;
      pe -= width;
    }
    return [se, pe];
  }
}

function codePoints(text: string): number[] {
  const out: number[] = [];
  for (const ch of text) out.push(ch.codePointAt(0)!);
  return out;
}

function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Whether `subject` matches the wildcard `pattern`. */
export function matchPattern(subject: string, pattern: string): boolean {
  if (pattern === "*") return true;
  if (pattern.indexOf("*") < 0 && pattern.indexOf("?") < 0 && pattern.indexOf("\\") < 0) return subject === pattern;
  const s = codePoints(subject);
  const p = codePoints(pattern);
  return new Matcher(s, p, utf8Length(subject)).run(0, s.length, 0, p.length) === "match";
}
