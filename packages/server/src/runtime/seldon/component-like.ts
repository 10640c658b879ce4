/** What a user's Seldon component class may define: Seldon's methods, in camelCase or Seldon's own snake_case. */
import type { SeldonFeedback, SeldonMessage, SeldonMeta } from "../../protocol/seldon/index.ts";

/** A user's Seldon component: any object with some of these methods (camelCase, or Seldon's snake_case). */
export interface SeldonComponentLike {
  predict?(X: any, names: string[], meta: SeldonMeta): unknown;
  predictRaw?(msg: SeldonMessage): unknown;
  transformInput?(X: any, names: string[], meta: SeldonMeta): unknown;
  transformInputRaw?(msg: SeldonMessage): unknown;
  transformOutput?(X: any, names: string[], meta: SeldonMeta): unknown;
  transformOutputRaw?(msg: SeldonMessage): unknown;
  route?(X: any, names: string[], meta: SeldonMeta): unknown;
  routeRaw?(msg: SeldonMessage): unknown;
  aggregate?(Xs: any[], namesList: string[][]): unknown;
  aggregateRaw?(msgs: SeldonMessage[]): unknown;
  sendFeedback?(features: any, names: string[], reward: number, truth: any, routing: number | undefined): unknown;
  sendFeedbackRaw?(feedback: SeldonFeedback): unknown;
  /**
   * Seldon's deprecated per-transport hooks, used as Seldon uses them. `*Rest` gets the request JSON (a SeldonMessage;
   * for aggregate the message list) on REST and in-process calls, and its answer is sent as it is; `*Grpc` gets the
   * decoded protobuf message on gRPC (as @grpc/grpc-js holds it: ndarray a ListValue `{values: [...]}`, tags Values)
   * and answers the protobuf message to send. They come before `*Raw`, which comes before the plain method.
   * Feedback is Seldon's exception: `sendFeedbackRest` (the feedback JSON), else `sendFeedbackGrpc` (the protobuf
   * Feedback), on either transport, answering a SeldonMessage in JSON form or nothing (`{}`).
   */
  predictRest?(request: SeldonMessage): unknown;
  predictGrpc?(request: unknown): unknown;
  transformInputRest?(request: SeldonMessage): unknown;
  transformInputGrpc?(request: unknown): unknown;
  transformOutputRest?(request: SeldonMessage): unknown;
  transformOutputGrpc?(request: unknown): unknown;
  routeRest?(request: SeldonMessage): unknown;
  routeGrpc?(request: unknown): unknown;
  aggregateRest?(request: { seldonMessages: SeldonMessage[] }): unknown;
  aggregateGrpc?(request: unknown): unknown;
  sendFeedbackRest?(feedback: SeldonFeedback): unknown;
  sendFeedbackGrpc?(feedback: unknown): unknown;
  metrics?(): unknown;
  tags?(): Record<string, unknown> | undefined;
  classNames?: string[] | (() => string[]);
  healthStatus?(): unknown;
  healthStatusRaw?(): unknown;
  initMetadata?(): unknown;
  load?(): unknown;
  unload?(): unknown;
}

/** camelCase method name -> Seldon's snake_case spelling, which a class may use instead. */
export const ALIASES: Readonly<Record<string, string>> = {
  predictRaw: "predict_raw",
  transformInput: "transform_input",
  transformInputRaw: "transform_input_raw",
  transformOutput: "transform_output",
  transformOutputRaw: "transform_output_raw",
  routeRaw: "route_raw",
  aggregateRaw: "aggregate_raw",
  sendFeedback: "send_feedback",
  sendFeedbackRaw: "send_feedback_raw",
  predictRest: "predict_rest",
  predictGrpc: "predict_grpc",
  transformInputRest: "transform_input_rest",
  transformInputGrpc: "transform_input_grpc",
  transformOutputRest: "transform_output_rest",
  transformOutputGrpc: "transform_output_grpc",
  routeRest: "route_rest",
  routeGrpc: "route_grpc",
  aggregateRest: "aggregate_rest",
  aggregateGrpc: "aggregate_grpc",
  sendFeedbackRest: "send_feedback_rest",
  sendFeedbackGrpc: "send_feedback_grpc",
  classNames: "class_names",
  healthStatus: "health_status",
  healthStatusRaw: "health_status_raw",
  initMetadata: "init_metadata",
};
