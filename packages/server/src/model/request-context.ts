import type { Span } from "../net/index.ts";
import type { TensorLimits } from "../tensor/index.ts";

export type Protocol = "v1" | "v2" | "grpc-v2";

/** What a model hook knows about the request besides its payload. */
export interface RequestContext {
  /** Request headers, lower-cased names. */
  headers: Record<string, string | string[] | undefined>;
  /** The wire protocol the request came in on. */
  protocol: Protocol;
  /** `x-request-id` when the client sent one. */
  requestId?: string;
  /** Headers a hook wants added to the response. */
  responseHeaders: Record<string, string>;
  /** What one request may declare (`--max_tensor_elements`), for a model that decodes a raw body itself. */
  limits?: Readonly<TensorLimits>;
  /**
   * The current span when tracing is on (the request's server span; the DataPlane sets each stage's own while that
   * stage runs): outbound calls make client spans below it. Undefined when tracing is off.
   */
  span?: Span;
}
