/**
 * Shared fast-check arbitraries for the fuzz suite: valid example requests mutated (fields dropped, replaced,
 * duplicated, retyped; hostile numbers, shapes, strings, nesting, base64), bytes mutated (truncation, invalid UTF-8,
 * random insertions), hostile path segments and hostile headers.
 */
import fc from "fast-check";

/** JSON text placed verbatim where a value would go: literals JSON.stringify cannot write (NaN, deep nesting…). */
export class RawJson {
  constructor(readonly text: string) {}
}

const nest = (depth: number, open = "[", close = "]") => `${open.repeat(depth)}${close.repeat(depth)}`;

export const rawJson: fc.Arbitrary<RawJson> = fc.oneof(
  fc.constantFrom(
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    "-0",
    "123456789012345678901234567890",
    '"\\ud800"',
    '"\\udfff\\ud800"',
    '"\\u0000"',
    '{"a":1,"a":[2]}',
    '{"__proto__":{"polluted":1}}',
    '{"constructor":{"prototype":{"polluted":1}}}',
  ).map((t) => new RawJson(t)),
  fc.integer({ min: 2, max: 20_000 }).map((d) => new RawJson(nest(d))),
  fc.integer({ min: 2, max: 5_000 }).map((d) => new RawJson(`${'{"a":'.repeat(d)}1${"}".repeat(d)}`)),
);

/** Writes JSON like JSON.stringify, but with RawJson values spliced in as they are. */
export function toJson(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : toJson(v))).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value)) if (v !== undefined) parts.push(`${JSON.stringify(k)}:${toJson(v)}`);
    return `{${parts.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "utf8"));

/** Numbers that break assumptions: sizes, signs, precision, float edge cases. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, -1, 1.5, 0.5, 1e308, -1e308, 2 ** 31, 2 ** 32, 2 ** 53 + 2, -(2 ** 63), 1e21, 5e-324, 1e9, 65_536),
  fc.integer(),
  fc.double(),
);

/** A shape: negative, huge, fractional, non-numeric dimensions. */
export const hostileShape: fc.Arbitrary<unknown[]> = fc.array(
  fc.oneof(
    fc.integer({ min: -3, max: 8 }),
    fc.constantFrom(1e9, 2 ** 31, 2 ** 32, 2 ** 53, 1e300, -1, 0, 1.5, "2", null, "-1"),
  ),
  { maxLength: 8 },
);

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("", " ", "NaN", "Infinity", "%25", "%E0%A4%A", "\u0000", "\uD800", "💥", "../../etc/passwd", "FP32", "BYTES", "INT64", "FP16", "BF16", "UINT8", "BOOL", "__proto__", "constructor"),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.integer({ min: 1, max: 200_000 }).map((n) => "x".repeat(n)),
);

/** Any value a hostile client might put in a field. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileNumber },
  { weight: 3, arbitrary: hostileString },
  { weight: 2, arbitrary: hostileShape },
  { weight: 2, arbitrary: rawJson },
  {
    weight: 2,
    arbitrary: fc.constantFrom(null, true, false, [], {}, [[]], [null], [[1, 2], [3]], { b64: "%%%" }, { b64: "AAA" }, { b64: "" }, { b64: 5 }, { b64: "aGVsbG8=" }, { b64: "=" }),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 50_000 }).map((n) => new Array<number>(n).fill(1)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 2_000 }).map((n) => new Array<string>(n).fill("ab")) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

type Path = (string | number)[];

function paths(value: unknown, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (out.length > 400) return out;
  if (Array.isArray(value)) value.slice(0, 8).forEach((v, i) => paths(v, [...at, i], out));
  else if (value !== null && typeof value === "object" && !(value instanceof RawJson)) {
    for (const [k, v] of Object.entries(value)) paths(v, [...at, k], out);
  }
  return out;
}

function getAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const k of path) v = (v as Record<string | number, unknown>)[k];
  return v;
}

export type JsonMutation =
  | { op: "delete" | "duplicate" | "retype" | "wrap"; pick: number }
  | { op: "replace"; pick: number; value: unknown }
  | { op: "add"; pick: number; key: string; value: unknown };

export const jsonMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("duplicate" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("retype" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("wrap" as const), pick: fc.nat() }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant("replace" as const), pick: fc.nat(), value: hostileValue }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("add" as const),
      pick: fc.nat(),
      key: fc.oneof(fc.constantFrom("parameters", "binary_data_size", "shape", "datatype", "data", "b64", "__proto__", "meta", "names"), fc.string({ maxLength: 8 })),
      value: hostileValue,
    }),
  },
);

function retype(v: unknown): unknown {
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return v.length === 0 ? 0 : [v];
  if (typeof v === "boolean") return v ? 1 : "true";
  if (Array.isArray(v)) return Object.fromEntries(v.map((x, i) => [String(i), x]));
  if (v !== null && typeof v === "object") return Object.values(v);
  return {};
}

/** Applies mutations in order to a copy of `valid`. */
export function applyMutations(valid: unknown, mutations: JsonMutation[]): unknown {
  let root: unknown = structuredClone(valid);
  for (const m of mutations) {
    const all = paths(root);
    const path = all[m.pick % all.length];
    const replace = (v: unknown) => {
      if (path.length === 0) {
        root = v;
        return;
      }
      const parent = getAt(root, path.slice(0, -1)) as Record<string | number, unknown>;
      parent[path[path.length - 1]] = v;
    };
    const current = getAt(root, path);
    switch (m.op) {
      case "delete": {
        if (path.length === 0) root = undefined;
        else {
          const parent = getAt(root, path.slice(0, -1));
          const key = path[path.length - 1];
          if (Array.isArray(parent)) parent.splice(key as number, 1);
          else delete (parent as Record<string, unknown>)[key as string];
        }
        break;
      }
      case "duplicate":
        if (Array.isArray(current)) current.push(structuredClone(current[0]), ...current.map((x) => structuredClone(x)));
        else replace([current, current]);
        break;
      case "retype":
        replace(retype(current));
        break;
      case "wrap":
        replace([current]);
        break;
      case "replace":
        replace(m.value);
        break;
      case "add":
        if (current !== null && typeof current === "object" && !Array.isArray(current) && !(current instanceof RawJson)) {
          (current as Record<string, unknown>)[m.key] = m.value;
        } else if (Array.isArray(current)) current.push(m.value);
        else replace({ [m.key]: m.value });
        break;
    }
  }
  return root;
}

/** A valid example with one to three mutations (zero now and then: the valid example itself). */
export function mutatedJson(valid: unknown): fc.Arbitrary<unknown> {
  return fc.array(jsonMutation, { minLength: 0, maxLength: 3 }).map((ms) => applyMutations(valid, ms));
}

/** Byte sequences that are not valid UTF-8, plus bytes that matter to parsers. */
const nastyBytes: fc.Arbitrary<number[]> = fc.oneof(
  fc.constantFrom<number[]>([0xc3, 0x28], [0xff], [0xfe, 0xff], [0xed, 0xa0, 0x80], [0xe0, 0xa4], [0xf0, 0x9f, 0x92], [0xc0, 0xaf], [0x00], [0x22], [0x5c], [0x7b], [0x5d], [0x2c], [0x0d, 0x0a, 0x0d, 0x0a], [0x2d, 0x2d]),
  fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 }),
);

export type ByteMutation =
  | { op: "truncate" | "flip" | "cut"; at: number; n: number }
  | { op: "insert"; at: number; bytes: number[] }
  | { op: "repeat"; at: number; n: number };

const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ op: fc.constantFrom("truncate" as const, "flip" as const, "cut" as const), at: fc.nat(), n: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), bytes: nastyBytes }),
  fc.record({ op: fc.constant("repeat" as const), at: fc.nat(), n: fc.integer({ min: 1, max: 64 }) }),
);

export function applyByteMutations(bytes: Uint8Array, mutations: ByteMutation[]): Uint8Array {
  let b = Buffer.from(bytes);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    switch (m.op) {
      case "truncate":
        b = b.subarray(0, at);
        break;
      case "flip":
        if (at < b.length) b = Buffer.concat([b.subarray(0, at), Buffer.from([b[at] ^ (1 << m.n % 8)]), b.subarray(at + 1)]);
        break;
      case "cut":
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
        break;
      case "insert":
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
        break;
      case "repeat":
        b = Buffer.concat([b.subarray(0, at + m.n), b.subarray(at)]);
        break;
    }
  }
  return new Uint8Array(b);
}

export function mutatedBytes(bytes: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.array(byteMutation, { minLength: 1, maxLength: 4 }).map((ms) => applyByteMutations(bytes, ms));
}

export const randomBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 256 }),
  fc.constantFrom(new Uint8Array(0), utf8("null"), utf8("[]"), utf8("{}"), utf8('""'), utf8("0"), utf8("{"), utf8("\ufeff{}")),
);

/** Bodies for a JSON route: mostly a mutated valid example, sometimes also byte-mutated, sometimes random bytes. */
export function jsonBody(valid: unknown): fc.Arbitrary<Uint8Array> {
  const text = mutatedJson(valid).map((v) => utf8(v === undefined ? "" : toJson(v)));
  return fc.oneof(
    { weight: 7, arbitrary: text },
    { weight: 2, arbitrary: text.chain(mutatedBytes) },
    { weight: 1, arbitrary: randomBytes },
  );
}

/** A path segment: a valid name, or hostile percent-encodings, dot segments, very long or unicode names. */
export function segment(valid: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...valid) },
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        "%25",
        "%E0%A4%A",
        "%",
        "%zz",
        "%00",
        "..",
        ".",
        "%2e%2e",
        "%2F",
        "a%2Fb",
        "%C0%AF",
        "%FF",
        "%u0041",
        ";",
        ":",
        "%3A",
        "~",
        "%20",
        "\u00e9",
        "%F0%9F%92%A5",
        "%25E0%25A4%25A",
        "%2525",
        "%5C",
        "__proto__",
        "constructor",
        "0",
        "-1",
        "1e3",
        "99999999999999999999",
      ),
    },
    { weight: 1, arbitrary: fc.integer({ min: 200, max: 20_000 }).map((n) => "m".repeat(n)) },
    { weight: 2, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...valid), fc.constantFrom("%25", "%", "%E0%A4%A", "/..", "%00", "\u00ff")).map(([a, b]) => a + b) },
  );
}

/** Content types a client might send, right, wrong and malformed. */
export function contentType(right: string[]): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...right) },
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        undefined,
        "",
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/json; charset=latin1",
        "text/plain",
        "application/octet-stream",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "application/msgpack",
        "application/x-msgpack",
        "*/*",
        "a/b/c;;;=",
        "application/json;;",
        "application/json; boundary=\"",
      ),
    },
  );
}

export const accept: fc.Arbitrary<string | undefined> = fc.constantFrom(
  undefined,
  "*/*",
  "application/json",
  "application/msgpack",
  "text/html",
  "image/png",
  "application/json;q=0, */*;q=0",
  ";;;",
);

/** The binary-extension header: absent, right, and wrong in every way a number can be. */
export function headerLength(right: number): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(String(right)) },
    {
      weight: 4,
      arbitrary: fc.constantFrom(undefined, "-1", "0", "abc", "1e3", "99999999999999999999", "12.5", " 5", "0x10", "", "NaN", String(right + 1), String(right - 1), String(right * 1000)),
    },
    { weight: 1, arbitrary: fc.nat({ max: right + 64 }).map(String) },
  );
}

/** Extra headers of the kind tserve reads or forwards. */
export const extraHeaders: fc.Arbitrary<Record<string, string>> = fc
  .array(
    fc.tuple(
      fc.constantFrom("x-request-id", "traceparent", "authorization", "x-b3-traceid", "ce-id", "ce-type", "content-encoding", "transfer-encoding-x", "x-forwarded-for", "seldon-puid"),
      fc.oneof(fc.constantFrom("", "Bearer ", "Bearer x", "gzip", "deflate", "00-zz-zz-01", "%25"), fc.string({ unit: fc.constantFrom(..."abcXYZ019-_ =;,/"), maxLength: 40 }), fc.integer({ min: 100, max: 8000 }).map((n) => "h".repeat(n))),
    ),
    { maxLength: 3 },
  )
  .map((pairs) => Object.fromEntries(pairs));

/** Builds a headers object without undefined entries. */
export function headersOf(entries: Record<string, string | undefined>, extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = { ...extra };
  for (const [k, v] of Object.entries(entries)) if (v !== undefined) out[k] = v;
  return out;
}

export interface FormPart {
  name: string;
  filename?: string;
  type?: string;
  value: Uint8Array;
}

/** A multipart/form-data body (the boundary is returned for the content-type). */
export function multipart(parts: FormPart[], boundary = "fuzzBoundary7MA4YWxk"): { body: Uint8Array; type: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename === undefined ? "" : `; filename="${p.filename}"`}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ""}\r\n`));
    chunks.push(Buffer.from(p.value), Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: new Uint8Array(Buffer.concat(chunks)), type: `multipart/form-data; boundary=${boundary}` };
}
