import type { TensorLimits } from "../../tensor/index.ts";
import { decodeJsonBody } from "./body.ts";

/** One predict call as the transport hands it over: no sockets, just what the request said. */
export interface PredictInput {
  method: string;
  /** Path and query as received (`/?top=2`). */
  url: string;
  /** Request headers, lower-cased names (Node's form). */
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
  /** Bounds on what a MessagePack body may declare (default DEFAULT_MAX_TENSOR_ELEMENTS). */
  limits?: Partial<TensorLimits>;
}

/**
 * What `predict` receives: destructure the names you need (`predict({ json, params })`). Each is computed on
 * first use, so a predictor that reads only `data` never parses the body.
 */
export interface PredictArgs {
  /** The body parsed as JSON or MessagePack by Content-Type; reading it throws a 400 for any other body. */
  readonly json: any;
  /** Like `json`, but a body that is neither arrives as its raw bytes (a Buffer). */
  readonly payload: any;
  /** The raw body, always a Buffer (empty when there is none). */
  readonly data: Buffer;
  /** The query string (`?top=2` -> `{ top: "2" }`; a repeated key keeps its first value, as Flask's `args`). */
  readonly params: Record<string, string>;
  /** `params` under OpenBayes's other name. */
  readonly args: Record<string, string>;
  /** Request headers, lower-cased names; repeated headers joined with ", ". */
  readonly headers: Record<string, string>;
  /** The whole request as a web-standard `Request` (Hono style): `await request.json()`, `request.headers.get(…)`. */
  readonly request: Request;
}

/** The names `predict` may ask for. */
export const PREDICT_ARGUMENTS = ["json", "payload", "data", "params", "args", "headers", "request"] as const;

/** Hop-by-hop headers a web Request must not be built with. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te", "trailer"]);

function lazy<T>(compute: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = compute();
      done = true;
    }
    return value;
  };
}

function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(", ") : v;
}

/** Builds `predict`'s argument object: lazy, memoised getters over one request. */
export function createPredictArgs(input: PredictInput): PredictArgs {
  const body = input.body;
  const data = lazy(() => (Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)));
  const contentType = headerText(input.headers["content-type"]);
  // A JSON/MessagePack error is thrown again on every read, so a predictor that catches it keeps seeing it.
  const json = lazy((): { ok: true; value: unknown } | { ok: false; error: unknown } => {
    try {
      return { ok: true, value: decodeJsonBody(data(), contentType, input.limits) };
    } catch (error) {
      return { ok: false, error };
    }
  });
  const payload = lazy(() => {
    const parsed = json();
    return parsed.ok ? parsed.value : data();
  });
  const params = lazy(() => {
    const query = input.url.includes("?") ? input.url.slice(input.url.indexOf("?") + 1) : "";
    const out: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(query)) if (!(k in out)) out[k] = v;
    return out;
  });
  const headers = lazy(() => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(input.headers)) {
      const text = headerText(v);
      if (text !== undefined) out[k.toLowerCase()] = text;
    }
    return out;
  });
  const request = lazy(() => {
    const init: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers())) if (!HOP_BY_HOP.has(k)) init[k] = v;
    let url: URL;
    try {
      url = new URL(input.url, `http://${init.host ?? "localhost"}`);
    } catch {
      url = new URL(input.url, "http://localhost");
    }
    const method = input.method.toUpperCase();
    const hasBody = method !== "GET" && method !== "HEAD";
    return new Request(url, { method, headers: init, body: hasBody ? data() : undefined });
  });
  return Object.freeze({
    get json() {
      const parsed = json();
      if (!parsed.ok) throw parsed.error;
      return parsed.value;
    },
    get payload() {
      return payload();
    },
    get data() {
      return data();
    },
    get params() {
      return params();
    },
    get args() {
      return params();
    },
    get headers() {
      return headers();
    },
    get request() {
      return request();
    },
  });
}
