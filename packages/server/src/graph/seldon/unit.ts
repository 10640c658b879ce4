import type { SeldonFeedback, SeldonMessage } from "../../protocol/seldon/index.ts";

/** What a Seldon graph step knows about the incoming request. */
export interface SeldonCallContext {
  /** Incoming request headers (lower-cased names); remote units forward the tracing ones. */
  headers: Record<string, string | string[] | undefined>;
}

/**
 * One Seldon graph node's component: a local component (in-process) or a remote microservice speaking the
 * Seldon REST protocol. Methods resolve to the component's SeldonMessage and reject with a SeldonError
 * (or another TServeError) carrying the HTTP status to answer with.
 */
export interface SeldonUnit {
  readonly name: string;
  predict(msg: SeldonMessage, ctx: SeldonCallContext): Promise<SeldonMessage>;
  transformInput(msg: SeldonMessage, ctx: SeldonCallContext): Promise<SeldonMessage>;
  transformOutput(msg: SeldonMessage, ctx: SeldonCallContext): Promise<SeldonMessage>;
  /** The router's choice as a message whose data holds [[route]]. */
  route(msg: SeldonMessage, ctx: SeldonCallContext): Promise<SeldonMessage>;
  aggregate(msgs: SeldonMessage[], ctx: SeldonCallContext): Promise<SeldonMessage>;
  sendFeedback(feedback: SeldonFeedback, ctx: SeldonCallContext): Promise<SeldonMessage>;
  /** Liveness of the component (Seldon's /health/status succeeds). */
  healthy(): Promise<boolean>;
  /** The component's /metadata document. */
  metadata(): Promise<unknown>;
  close?(): Promise<void>;
}
