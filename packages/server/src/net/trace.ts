/**
 * Tracing as the layers see it: a Span that makes children and carries W3C trace context. The span flows explicitly
 * (RequestContext.span, graph calls' parameters), never through AsyncLocalStorage (its promise hooks cost ~15 % of
 * the requests per second here). When tracing is off there is no span at all: every hook is `span?.…`.
 */

export type SpanKind = "internal" | "server" | "client";
export type AttributeValue = string | number | boolean;

export interface SpanContext {
  /** 32 lower-case hex digits. */
  traceId: string;
  /** 16 lower-case hex digits. */
  spanId: string;
  sampled: boolean;
  /** The caller's W3C `tracestate`, passed on unchanged. */
  traceState?: string;
}

export interface Span {
  readonly context: SpanContext;
  /** A span below this one (same trace); unsampled spans give unsampled children that are never exported. */
  child(name: string, kind?: SpanKind, attributes?: Record<string, AttributeValue>): Span;
  set(key: string, value: AttributeValue | undefined): void;
  /** Renames the span (a server span learns its route after it started). */
  rename(name: string): void;
  /** Marks the span failed (OTLP status ERROR). */
  fail(message?: string): void;
  /** Ends the span (later calls are ignored); a sampled span is then queued for export. */
  end(): void;
}

/** Makes spans; the server's tracer exports them over OTLP/HTTP. */
export interface Tracer {
  /** A new span: a child of `parent` (a caller's trace context) or the root of a new trace. */
  start(name: string, kind: SpanKind, parent: SpanContext | undefined, attributes?: Record<string, AttributeValue>): Span;
  /** Exports what is queued and stops the export timer. */
  shutdown(): Promise<void>;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

/** W3C trace context from `traceparent` (+ `tracestate`); undefined when absent or malformed. */
export function parseTraceparent(
  traceparent: string | string[] | undefined,
  tracestate?: string | string[] | undefined,
): SpanContext | undefined {
  if (typeof traceparent !== "string") return undefined;
  const m = TRACEPARENT.exec(traceparent.trim().toLowerCase());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  const state = Array.isArray(tracestate) ? tracestate.join(",") : tracestate;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1, ...(state ? { traceState: state } : {}) };
}

/** The `traceparent` that makes a callee's spans children of `span`. */
export function formatTraceparent(ctx: SpanContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? "01" : "00"}`;
}

/** Sets `traceparent` (and `tracestate` when known) on outbound headers to continue the trace below `span`. */
export function injectTrace(headers: Record<string, string>, span: Span): Record<string, string> {
  headers.traceparent = formatTraceparent(span.context);
  if (span.context.traceState) headers.tracestate = span.context.traceState;
  else delete headers.tracestate;
  return headers;
}
