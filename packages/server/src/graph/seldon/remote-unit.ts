import { createDispatcher, type Dispatcher, NetworkError, send, TimeoutError } from "../../net/index.ts";
import { SeldonError } from "../../protocol/seldon/index.ts";
import type { SeldonFeedback, SeldonMessage, SeldonStatus } from "../../protocol/seldon/index.ts";
import type { SeldonCallContext, SeldonUnit } from "./unit.ts";

/** Request headers a remote step receives from the incoming request: tracing and credentials. */
export const FORWARDED_HEADERS: readonly string[] = ["x-request-id", "traceparent", "tracestate", "b3", "authorization"];

/** FORWARDED_HEADERS, every `x-b3-*` header and any `extra` names, from a request's headers. */
export function forwardedHeaders(
  headers: Record<string, string | string[] | undefined>,
  extra: readonly string[] = [],
): Record<string, string> {
  const wanted = new Set([...FORWARDED_HEADERS, ...extra.map((h) => h.toLowerCase())]);
  const out: Record<string, string> = {};
  for (const [raw, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const name = raw.toLowerCase();
    if (wanted.has(name) || name.startsWith("x-b3-")) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

export interface RemoteSeldonUnitOptions {
  /** Per-call limit, in milliseconds (default 60 s); past it the call fails with 504. */
  timeoutMs?: number;
  /** Header names to forward beside FORWARDED_HEADERS. */
  forwardHeaders?: readonly string[];
}

const DEFAULT_TIMEOUT_MS = 60_000;
const BODY_SNIPPET = 200;

/** Network failures that mean "nobody is serving there" rather than "it broke mid-call". */
const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

interface RawReply {
  status: number;
  text: string;
}

/**
 * A graph node served by a Seldon Core v1 microservice elsewhere: each method is one REST call (POST /predict,
 * /transform-input, /transform-output, /route, /aggregate, /send-feedback; GET /health/status, /metadata) over
 * pooled keep-alive connections. Failures become SeldonErrors carrying the status to answer with.
 */
export class RemoteSeldonUnit implements SeldonUnit {
  readonly name: string;
  /** `http://host:port` */
  readonly baseUrl: string;
  private readonly url: URL;
  private pool?: Dispatcher;
  private readonly timeoutMs: number;
  private readonly extraHeaders: readonly string[];

  constructor(name: string, endpoint: { host: string; port: number } | string, options: RemoteSeldonUnitOptions = {}) {
    this.name = name;
    const base =
      typeof endpoint === "string"
        ? endpoint
        : `http://${endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
    this.url = new URL(base);
    if (this.url.protocol !== "http:" && this.url.protocol !== "https:") {
      throw new TypeError(`Seldon microservice '${name}': ${base} is not an http:// or https:// URL`);
    }
    this.baseUrl = this.url.origin;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.extraHeaders = options.forwardHeaders ?? [];
  }

  predict(msg: SeldonMessage, ctx: SeldonCallContext): Promise<SeldonMessage> {
    return this.post("/predict", msg, ctx, msg.meta?.puid);
  }

  transformInput(msg: SeldonMessage, ctx: SeldonCallContext): Promise<SeldonMessage> {
    return this.post("/transform-input", msg, ctx, msg.meta?.puid);
  }

  transformOutput(msg: SeldonMessage, ctx: SeldonCallContext): Promise<SeldonMessage> {
    return this.post("/transform-output", msg, ctx, msg.meta?.puid);
  }

  route(msg: SeldonMessage, ctx: SeldonCallContext): Promise<SeldonMessage> {
    return this.post("/route", msg, ctx, msg.meta?.puid);
  }

  aggregate(msgs: SeldonMessage[], ctx: SeldonCallContext): Promise<SeldonMessage> {
    return this.post("/aggregate", { seldonMessages: msgs }, ctx, msgs[0]?.meta?.puid);
  }

  sendFeedback(feedback: SeldonFeedback, ctx: SeldonCallContext): Promise<SeldonMessage> {
    return this.post("/send-feedback", feedback, ctx, feedback.response?.meta?.puid ?? feedback.request?.meta?.puid);
  }

  async healthy(): Promise<boolean> {
    try {
      const reply = await this.send("GET", "/health/status", undefined, {});
      return reply.status >= 200 && reply.status < 300;
    } catch {
      return false;
    }
  }

  async metadata(): Promise<unknown> {
    return this.parse("/metadata", await this.send("GET", "/metadata", undefined, {}));
  }

  /** Drops this unit's kept-alive connections (a later call opens new ones). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy().catch(() => {});
  }

  private async post(path: string, body: unknown, ctx: SeldonCallContext, puid: string | undefined): Promise<SeldonMessage> {
    const headers = forwardedHeaders(ctx.headers, this.extraHeaders);
    // Seldon's executor names the prediction in a header too; components log it.
    if (puid) headers["seldon-puid"] = puid;
    const reply = await this.send("POST", path, Buffer.from(JSON.stringify(body)), headers);
    const json = this.parse(path, reply);
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw new SeldonError(`${this.label(path)} answered with JSON that is not a SeldonMessage object`, 502, "MICROSERVICE_INTERNAL_ERROR");
    }
    return json as SeldonMessage;
  }

  private label(path: string): string {
    return `Seldon microservice '${this.name}' at ${this.url.host}${path}`;
  }

  /** JSON of a 2xx reply; any other reply becomes the SeldonError it describes. */
  private parse(path: string, reply: RawReply): unknown {
    let json: unknown;
    let parsed = false;
    try {
      json = reply.text === "" ? undefined : JSON.parse(reply.text);
      parsed = json !== undefined;
    } catch {
      parsed = false;
    }
    if (reply.status >= 200 && reply.status < 300) {
      if (!parsed) {
        throw new SeldonError(`${this.label(path)} answered with a body that is not JSON: ${snippet(reply.text)}`, 502, "MICROSERVICE_INTERNAL_ERROR");
      }
      return json;
    }
    const status = reply.status >= 400 && reply.status <= 599 ? reply.status : 502;
    const seldon = parsed ? seldonStatus(json) : undefined;
    if (seldon) {
      const info = seldon.info ?? (seldon as { message?: string }).message ?? `${this.label(path)} answered HTTP ${reply.status}`;
      const reason = seldon.reason ?? (status >= 500 ? "MICROSERVICE_INTERNAL_ERROR" : "MICROSERVICE_BAD_DATA");
      throw new SeldonError(info, status, reason);
    }
    throw new SeldonError(
      `${this.label(path)} answered HTTP ${reply.status}${reply.text ? `: ${snippet(reply.text)}` : ""}`,
      status,
      "MICROSERVICE_INTERNAL_ERROR",
    );
  }

  private async send(method: "GET" | "POST", path: string, body: Buffer | undefined, headers: Record<string, string>): Promise<RawReply> {
    const requestHeaders: Record<string, string> = { accept: "application/json", ...headers };
    if (body) {
      requestHeaders["content-type"] = "application/json";
      requestHeaders["content-length"] = String(body.byteLength);
    }
    try {
      // One deadline for the whole exchange, connection to last byte.
      const reply = await send({ method, url: new URL(path, this.url), headers: requestHeaders, body, timeoutMs: this.timeoutMs, dispatcher: this.connections() });
      return { status: reply.status, text: reply.body.toString("utf8") };
    } catch (err) {
      throw this.networkError(path, err as Error, this.timeoutMs);
    }
  }

  /** Its own pool, so that close() drops exactly this unit's connections. */
  private connections(): Dispatcher {
    this.pool ??= createDispatcher({ maxConnectionsPerOrigin: 256 });
    return this.pool;
  }

  private networkError(path: string, err: Error, timeoutMs: number): SeldonError {
    if (err instanceof TimeoutError) {
      return new SeldonError(`${this.label(path)} did not answer within ${timeoutMs / 1000} s`, 504, "MICROSERVICE_INTERNAL_ERROR");
    }
    const code = err instanceof NetworkError ? err.code : "";
    if (UNREACHABLE.has(code)) {
      const what = code === "ECONNREFUSED" ? "refused the connection" : `is unreachable (${code})`;
      return new SeldonError(`Seldon microservice '${this.name}' at ${this.url.host} ${what}`, 503, "MICROSERVICE_INTERNAL_ERROR", { cause: err });
    }
    return new SeldonError(`${this.label(path)} failed: ${err.message}`, 502, "MICROSERVICE_INTERNAL_ERROR", { cause: err });
  }
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > BODY_SNIPPET ? `${flat.slice(0, BODY_SNIPPET)}…` : flat;
}

/** The `status` object of a Seldon error body (`{"status":{"info":…,"reason":…}}`), if the body is one. */
function seldonStatus(json: unknown): (SeldonStatus & { message?: string }) | undefined {
  if (typeof json !== "object" || json === null) return undefined;
  const status = (json as { status?: unknown }).status;
  if (typeof status !== "object" || status === null) return undefined;
  const s = status as Record<string, unknown>;
  const info = typeof s.info === "string" && s.info !== "" ? s.info : undefined;
  const message = typeof s.message === "string" && s.message !== "" ? s.message : undefined;
  const reason = typeof s.reason === "string" && s.reason !== "" ? s.reason : undefined;
  if (info === undefined && message === undefined && reason === undefined) return undefined;
  const out: SeldonStatus & { message?: string } = {};
  if (info !== undefined) out.info = info;
  if (message !== undefined) out.message = message;
  if (reason !== undefined) out.reason = reason;
  return out;
}
