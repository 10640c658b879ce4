/**
 * Outbound HTTP for Node-side callers (graph steps, Seldon units, storage downloads, the custom-server proxy,
 * the REST client on Node): pooled keep-alive connections (undici), per-call deadlines, TLS options, and the one
 * retry policy. A leaf like errors/: it imports nothing of ours.
 */
export { closeSharedDispatchers, createDispatcher, type Dispatcher, type DispatcherOptions, sharedDispatcher, type TlsOptions } from "./dispatcher.ts";
export { abortError, NetworkError, TimeoutError, type TimeoutPhase } from "./errors.ts";
export { backoffDelay, isTransientFailure, retry, type RetryPolicy, TRANSIENT_CODES, TRANSIENT_STATUSES } from "./retry.ts";
export { type IncomingHeaders, open, type OutgoingHeaders, type Reply, send, type SendOptions } from "./send.ts";
export { OtlpTracer, type OtlpTracerOptions, type Sampler } from "./otlp-tracer.ts";
export {
  type AttributeValue,
  formatTraceparent,
  injectTrace,
  parseTraceparent,
  type Span,
  type SpanContext,
  type SpanKind,
  type Tracer,
} from "./trace.ts";
