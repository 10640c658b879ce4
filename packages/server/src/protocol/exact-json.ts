/**
 * JSON integers beyond ±2^53, read exactly. `JSON.parse` rounds such a literal to the nearest double (and Node 20's
 * reviver cannot see the source text), so an INT64 value such as 9223372036854775807 would arrive as
 * 9223372036854775808. Scanning every body for long integer literals would cost the common float path about a
 * quarter of its parse time, so nothing happens up front: each parse only remembers its source here, and a tensor
 * codec that meets a 64-bit element beyond 2^53 (InexactIntegerError) asks for the exact reading with `exactJson`.
 * That reading is the same document with every integer literal beyond ±2^53 as a bigint (which the tensor layer
 * writes exactly into INT64/UINT64 storage and reads as the number JSON.parse would give for any other datatype).
 */

interface Source {
  source: Uint8Array | string;
  /** The exact reading once asked for; null when the source holds no integer literal beyond ±2^53. */
  exact?: unknown;
}

const sources = new WeakMap<object, Source>();

/** Web Crypto (a global on Node too), not node:crypto: the REST client's response decoder reaches this module in browsers. */
function randomHex(bytes: number): string {
  const random = globalThis.crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("");
}
const decoder = new TextDecoder("utf-8", { fatal: false });

/** Remembers the JSON text `value` was parsed from (only objects and arrays are remembered; they are the roots). */
export function rememberJsonSource(value: unknown, source: Uint8Array | string): void {
  if (typeof value !== "object" || value === null) return;
  // A WeakMap entry costs ~0.5 µs, a measurable share of a small request: a small body is remembered only when it
  // has a run of 16 digits, which any integer beyond ±2^53 (9007199254740992) needs.
  if (source.length < SCAN_BELOW && !hasDigitRun(source)) return;
  sources.set(value, { source });
}

const SCAN_BELOW = 4096;
const DIGIT_RUN = 16;

function hasDigitRun(source: Uint8Array | string): boolean {
  let run = 0;
  for (let i = 0; i < source.length; i++) {
    const c = typeof source === "string" ? source.charCodeAt(i) : source[i];
    if (c >= 48 && c <= 57) {
      if (++run >= DIGIT_RUN) return true;
    } else run = 0;
  }
  return false;
}

/**
 * The exact reading of a parsed document (see the module comment), or undefined when its source is not known or
 * holds no integer literal beyond ±2^53 (so reading it again would change nothing). Read once, then cached.
 */
export function exactJson(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return undefined;
  const entry = sources.get(value);
  if (!entry) return undefined;
  if (entry.exact === undefined) {
    const text = typeof entry.source === "string" ? entry.source : decoder.decode(entry.source);
    entry.exact = parseJsonExact(text) ?? null;
  }
  return entry.exact ?? undefined;
}

/**
 * Parses JSON text with integer literals beyond ±2^53 as bigints and TF Serving's bare NaN / Infinity / -Infinity
 * (and Inf / -Inf) tokens as numbers (they cannot occur in text JSON.parse accepted, so this reads a V1 body and a
 * V2 body alike). Undefined when the text has no such integer literal, or does not parse.
 */
export function parseJsonExact(text: string): unknown {
  const rewritten = rewriteJsonLiterals(text, { bigIntegers: true, nonFinite: true });
  if (!rewritten?.bigIntegers) return undefined;
  try {
    return parseRewritten(rewritten);
  } catch {
    return undefined;
  }
}

/**
 * JSON.parse of rewritten text, then each sentinel string replaced by its value. A walk with its own stack rather
 * than a reviver: a reviver is called for every value and costs several times the parse (1M values: ~1 s).
 */
export function parseRewritten(rewritten: RewrittenJson): unknown {
  const holder: unknown[] = [JSON.parse(rewritten.text)];
  const stack: (unknown[] | Record<string, unknown>)[] = [holder];
  const { revive, sentinel } = rewritten;
  const lead = sentinel.charCodeAt(0);
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const v = node[i];
        if (typeof v === "string") {
          if (v.charCodeAt(0) === lead) node[i] = revive(v);
        } else if (typeof v === "object" && v !== null) stack.push(v as Record<string, unknown>);
      }
    } else {
      for (const k of Object.keys(node)) {
        const v = node[k];
        if (typeof v === "string") {
          if (v.charCodeAt(0) === lead) node[k] = revive(v);
        } else if (typeof v === "object" && v !== null) stack.push(v as Record<string, unknown>);
      }
    }
  }
  return holder[0];
}

export interface RewrittenJson {
  /** The text with each rewritten literal replaced by a sentinel string. */
  text: string;
  /** The prefix of every sentinel string (it starts with a NUL character). */
  sentinel: string;
  /** A sentinel string -> the value it stands for (a bigint or a non-finite number); any other string as it is. */
  revive: (s: string) => unknown;
  /** Whether any integer literal was rewritten. */
  bigIntegers: boolean;
}

const NON_FINITE = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

/**
 * One token at a time, left to right: a whole string (so nothing inside one is ever taken for a literal), a bare
 * non-finite token, or an integer literal of 16 or more digits that is not part of a float (not after a digit, '.',
 * an exponent's 'e' or sign; not before '.', 'e' or another digit). Text between matches holds no string start, so
 * every match begins outside a string.
 */
const LITERALS = /"(?:[^"\\]|\\.)*"|(-?Infinity|-?Inf|NaN)(?![A-Za-z0-9_])|(?<![\d.eE+-])-?\d{16,}(?![\d.eE])/g;

/**
 * Replaces literals outside strings by sentinel strings (a random prefix no client can guess): bare non-finite tokens
 * (`nonFinite`) and integer literals beyond ±2^53 (`bigIntegers`). Undefined when nothing was replaced.
 */
export function rewriteJsonLiterals(
  text: string,
  options: { bigIntegers?: boolean; nonFinite?: boolean },
): RewrittenJson | undefined {
  const sentinel = `\u0000${randomHex(6)}:`;
  const quotedSentinel = JSON.stringify(sentinel).slice(1, -1);
  let replaced = false;
  let bigIntegers = false;
  const out = text.replace(LITERALS, (match: string, token: string | undefined) => {
    if (match.charCodeAt(0) === 0x22 /* " */) return match;
    if (token !== undefined) {
      if (!options.nonFinite) return match;
      replaced = true;
      return `"${quotedSentinel}n${nonFiniteIndex(token)}"`;
    }
    // 16 digits may still be safe (up to 9007199254740991); 17 or more never are.
    if (!options.bigIntegers || Number.isSafeInteger(Number(match))) return match;
    replaced = bigIntegers = true;
    return `"${quotedSentinel}i${match}"`;
  });
  if (!replaced) return undefined;
  return {
    text: out,
    bigIntegers,
    sentinel,
    revive: (s) => {
      if (s.length <= sentinel.length || !s.startsWith(sentinel)) return s;
      const kind = s.charCodeAt(sentinel.length);
      const rest = s.slice(sentinel.length + 1);
      if (kind === 0x69 /* i */) return BigInt(rest);
      if (kind === 0x6e /* n */ && rest.length === 1) return NON_FINITE[Number(rest)];
      return s;
    },
  };
}

function nonFiniteIndex(token: string): number {
  return token === "NaN" ? 0 : token.startsWith("-") ? 2 : 1;
}
