import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { FastifyRequest } from "fastify";
import { OtlpTracer, parseTraceparent, type Sampler, type Span, type Tracer } from "../net/index.ts";

const SPAN = Symbol("tserve.span");
const NAMED = Symbol("tserve.spanNamed");
type TracedRequest = IncomingMessage & { [SPAN]?: Span; [NAMED]?: true };

/**
 * The request's server span, named after the route the first time it is asked for (a route handler asks); undefined
 * when tracing is off (registerTracing never ran).
 */
export function requestSpan(request: FastifyRequest): Span | undefined {
  const raw = request.raw as TracedRequest;
  const span = raw[SPAN];
  if (span && !raw[NAMED]) {
    raw[NAMED] = true;
    const route = request.routeOptions.url;
    if (route) {
      span.rename(`${request.method} ${route}`);
      span.set("http.route", route);
    }
  }
  return span;
}

/**
 * One server span per HTTP request, joined to the caller's `traceparent`/`tracestate`, ended with the answer's status.
 * Node's own `request` event and the response's `finish`, not Fastify hooks: a hook pair cost ~10 % of iris's
 * requests per second. Only registered when tracing is on: off, the server runs exactly as without tracing.
 */
export function registerTracing(server: Server, tracer: Tracer): void {
  server.prependListener("request", (req: IncomingMessage, res: ServerResponse) => {
    const h = req.headers;
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const method = req.method ?? "GET";
    const span = tracer.start(method, "server", parseTraceparent(h.traceparent, h.tracestate), {
      "http.request.method": method,
      "url.path": q < 0 ? url : url.slice(0, q),
    });
    (req as TracedRequest)[SPAN] = span;
    res.once("finish", () => {
      // echoRequestIds set it on the response (the caller's x-request-id, else a generated one).
      const id = res.getHeader("x-request-id");
      if (typeof id === "string") span.set("tserve.request.id", id);
      span.set("http.response.status_code", res.statusCode);
      if (res.statusCode >= 500) span.fail();
      span.end();
    });
  });
}

type Env = Record<string, string | undefined>;

/**
 * The tracer the standard OTEL_* variables ask for, or undefined (tracing off, the default). On when
 * OTEL_TRACES_EXPORTER is `otlp`, or when it is unset and an OTLP endpoint is; `none` turns it off whatever else is set.
 */
export function tracerFromEnv(env: Env, onError?: (err: unknown) => void): OtlpTracer | undefined {
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return undefined;
  const endpoint = tracesEndpoint(env);
  if (exporter === "none" || (exporter !== "otlp" && (exporter || !endpoint))) return undefined;
  const resourceAttributes = parseList(env.OTEL_RESOURCE_ATTRIBUTES);
  return new OtlpTracer({
    endpoint: endpoint ?? "http://localhost:4318/v1/traces",
    headers: parseList(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS),
    serviceName: env.OTEL_SERVICE_NAME || resourceAttributes["service.name"] || "tserve",
    resourceAttributes,
    sampler: samplerFromEnv(env.OTEL_TRACES_SAMPLER, env.OTEL_TRACES_SAMPLER_ARG),
    maxQueueSize: int(env.OTEL_BSP_MAX_QUEUE_SIZE),
    maxExportBatchSize: int(env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE),
    scheduleDelayMs: int(env.OTEL_BSP_SCHEDULE_DELAY),
    exportTimeoutMs: int(env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? env.OTEL_BSP_EXPORT_TIMEOUT),
    onError,
  });
}

/** OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
function tracesEndpoint(env: Env): string | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? `${base.replace(/\/+$/, "")}/v1/traces` : undefined;
}

export function samplerFromEnv(name: string | undefined, arg: string | undefined): Sampler {
  const parsed = arg === undefined || arg.trim() === "" ? NaN : Number(arg);
  const ratio = Number.isFinite(parsed) ? Math.min(1, Math.max(0, parsed)) : 1;
  switch (name?.trim().toLowerCase()) {
    case "always_on":
      return { parentBased: false, ratio: 1 };
    case "always_off":
      return { parentBased: false, ratio: 0 };
    case "traceidratio":
      return { parentBased: false, ratio };
    case "parentbased_always_off":
      return { parentBased: true, ratio: 0 };
    case "parentbased_traceidratio":
      return { parentBased: true, ratio };
    default: // parentbased_always_on, the specification's default
      return { parentBased: true, ratio: 1 };
  }
}

/** `k1=v1,k2=v2` (percent-encoded values), as OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS are written. */
function parseList(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of value?.split(",") ?? []) {
    const eq = item.indexOf("=");
    if (eq <= 0) continue;
    const key = item.slice(0, eq).trim();
    let v = item.slice(eq + 1).trim();
    try {
      v = decodeURIComponent(v);
    } catch {
      // kept as written
    }
    if (key) out[key] = v;
  }
  return out;
}

function int(value: string | undefined): number | undefined {
  const n = value === undefined ? NaN : Number(value);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}
