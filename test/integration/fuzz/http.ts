/** Raw HTTP for the fuzz suite: any path bytes, any headers, any body, one connection per request. */
import { request as httpRequest } from "node:http";

export type ErrorShape =
  /** `{"error": "<message>"}` (KServe V1, OIP V2, TF Serving, OpenBayes, repository). */
  | "error"
  /** Seldon's `{"status": {"status": 1, "info", "code", "reason"}}`. */
  | "seldon"
  /** KServe's router: `{"error": "...", "cause"?: "..."}`. */
  | "graph"
  /** Either `{"error"}` or Seldon's status (a Seldon server's unknown paths take the common not-found body). */
  | "error-or-seldon"
  /** Not checked (e.g. /metrics). */
  | "any";

export interface HttpCase {
  /** A label naming the route family and operation: failures are grouped by it. */
  route: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  shape: ErrorShape;
  /** Statuses >= 500 this route may answer legitimately (e.g. 503 before a model is ready). */
  allow5xx?: number[];
  /** A mutation request without credentials: anything but 4xx is a failure. */
  mustRefuse?: boolean;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A healthy server answers in milliseconds; past this a request counts as unanswered. */
export const REQUEST_TIMEOUT_MS = Number(process.env.FUZZ_TIMEOUT_MS ?? 5_000);

/** Sends a case; rejects on a transport error (reset, refused, timeout). */
export function send(base: { port: number }, c: HttpCase): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    let req;
    try {
      req = httpRequest(
        {
          host: "127.0.0.1",
          port: base.port,
          method: c.method,
          path: c.path,
          headers: c.body === undefined ? c.headers : { ...c.headers, "content-length": String(c.body.byteLength) },
          agent: false,
          timeout: REQUEST_TIMEOUT_MS,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (d: Buffer) => chunks.push(d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on("error", reject);
        },
      );
    } catch (err) {
      // Node refused to send it (a path or header it will not put on the wire): not the server's business.
      reject(Object.assign(err as Error, { clientSide: true }));
      return;
    }
    req.on("timeout", () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on("error", reject);
    if (c.body !== undefined) req.end(c.body);
    else req.end();
  });
}

/** The problem with an answer to a client's mistake, or undefined when it is acceptable. */
export function judge(c: HttpCase, a: HttpAnswer): string | undefined {
  const text = a.body.toString("utf8");
  if (c.mustRefuse && (a.status < 400 || a.status >= 500)) return `unauthenticated mutation answered ${a.status}`;
  if (a.status >= 500) {
    const allowed = c.allow5xx?.includes(a.status) || (a.status === 501 && /not (be )?(supported|implement)|does not (support|implement)|unsupported|not available/i.test(text));
    if (!allowed) return `answered ${a.status}`;
  }
  if (a.status >= 400 && c.method !== "HEAD") return badErrorBody(c.shape, a, text);
  return undefined;
}

function badErrorBody(shape: ErrorShape, a: HttpAnswer, text: string): string | undefined {
  if (shape === "any") return undefined;
  if (shape === "error-or-seldon") {
    const asError = badErrorBody("error", a, text);
    return asError === undefined ? undefined : badErrorBody("seldon", a, text) && asError;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return `${a.status} with a non-JSON error body`;
  }
  const o = json as Record<string, unknown>;
  if (typeof o !== "object" || o === null || Array.isArray(o)) return `${a.status} with a non-object error body`;
  if (shape === "error" || shape === "graph") {
    if (typeof o.error !== "string" || o.error.length === 0) return `${a.status} error body without an "error" string`;
    const extra = Object.keys(o).filter((k) => k !== "error" && !(shape === "graph" && k === "cause"));
    if (extra.length > 0) return `${a.status} error body with extra keys ${extra.join(",")}`;
    return undefined;
  }
  const s = o.status as Record<string, unknown> | undefined;
  if (typeof s !== "object" || s === null) return `${a.status} Seldon error body without a "status" object`;
  if (s.status !== 1 || typeof s.info !== "string" || typeof s.reason !== "string" || typeof s.code !== "number") {
    return `${a.status} Seldon error body with a malformed status ${JSON.stringify(s).slice(0, 120)}`;
  }
  return undefined;
}

/** A readable, bounded rendering of a case for failure reports. */
export function describeCase(c: HttpCase): string {
  const headers = Object.entries(c.headers)
    .map(([k, v]) => `${k}: ${clip(v, 120)}`)
    .join("; ");
  return `${c.method} ${clip(c.path, 300)}${headers ? ` [${headers}]` : ""}${c.body ? ` body(${c.body.byteLength}B)=${renderBytes(c.body)}` : ""}`;
}

export function renderBytes(b: Uint8Array, max = 400): string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const text = buf.toString("utf8");
  const printable = !text.includes("\uFFFD") && !/[\x00-\x08\x0e-\x1f]/.test(text);
  return printable ? JSON.stringify(clip(text, max)) : `hex:${clip(buf.toString("hex"), max * 2)}`;
}

export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}…(+${s.length - max})`;
}
