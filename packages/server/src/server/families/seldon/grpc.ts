import * as grpcJs from "@grpc/grpc-js";
import { InvalidInput } from "../../../errors/index.ts";
import type { DataPlane, Model, Stage } from "../../../model/index.ts";
import { parseFeedback, parseMessageList, parseSeldonMessage, type SeldonMessage } from "../../../protocol/seldon/index.ts";
import {
  decodeFeedback,
  decodeSeldonMessage,
  decodeSeldonMessageList,
  encodeSeldonMessage,
  type ProtoFeedback,
  type ProtoSeldonMessage,
  type ProtoSeldonMessageList,
  SELDON_SERVICES,
  type SeldonServiceName,
  seldonGrpcError,
  seldonPackageDefinition,
} from "../../../protocol/seldon/grpc/index.ts";
import { isSeldonComponent, type SeldonComponent } from "../../../runtime/index.ts";
import { boundedStatusDetails } from "../../../protocol/grpc/status.ts";
import { guardDeserializers } from "../../grpc-decode.ts";
import type { Logger } from "../../logger.ts";

export interface SeldonGrpcOptions {
  dataplane: DataPlane;
  /** The served component's model name (read per call, so it may be decided after the services are added). */
  modelName: () => string;
  logger: Logger;
}

/** How a call reached the component: here over gRPC, with the protobuf request for Seldon's deprecated `*_grpc` hooks. */
type SeldonVia = NonNullable<Parameters<SeldonComponent["seldonPredict"]>[1]>;

/** `via` carries the protobuf request as received. */
type Handler<Req> = (component: SeldonComponent, request: Req, via: SeldonVia) => Promise<SeldonMessage>;

/**
 * Seldon Core's microservice gRPC API (seldon.protos Generic, Model, Router, Transformer, OutputTransformer,
 * Combiner, Seldon) on an existing gRPC server: decode → the same SeldonComponent call and DataPlane stage as
 * the REST routes → encode. Errors leave with the status REST would give, mapped to a gRPC code.
 */
export function addSeldonGrpcServices(server: grpcJs.Server, options: SeldonGrpcOptions): void {
  const { dataplane, logger } = options;
  const definition = grpcJs.loadPackageDefinition(seldonPackageDefinition()) as unknown as {
    seldon: { protos: Record<SeldonServiceName, { service: grpcJs.ServiceDefinition }> };
  };

  const component = (model: Model): SeldonComponent => {
    if (!isSeldonComponent(model)) {
      throw new InvalidInput(`Model ${model.name} is not a Seldon component; serve a component class with --seldon`);
    }
    return model;
  };

  const unary =
    <P, Req>(method: string, stage: Stage, decode: (p: P) => Req, fn: Handler<Req>): grpcJs.handleUnaryCall<P, ProtoSeldonMessage> =>
    (call, callback) => {
      const run = async () => {
        // Decoded inside invoke, as REST parses inside it: a bad request counts as a failed call in the metrics.
        const via: SeldonVia = { transport: "grpc", request: call.request };
        const answer = await dataplane.invoke(options.modelName(), undefined, stage, (m) => fn(component(m), decode(call.request), via));
        return encodeSeldonMessage(answer);
      };
      run().then(
        (answer) => callback(null, answer),
        (err) => {
          const e = seldonGrpcError(err);
          // Bounded: the message travels in the trailers, which must stay small enough for HTTP/2 to deliver.
          const details = boundedStatusDetails(e.details);
          if (e.code === grpcJs.status.INTERNAL || e.httpStatus >= 500) {
            logger.log("error", `Seldon gRPC ${method} -> ${e.httpStatus}: ${details}`);
            if (err instanceof Error && err.stack) logger.log("debug", err.stack);
          }
          const metadata = new grpcJs.Metadata();
          if (e.reason) metadata.set("seldon-reason", e.reason);
          callback({ code: e.code, details, metadata });
        },
      );
    };

  // The same checks as REST, --max_tensor_elements included: a one-value TensorProto is not broadcast past it.
  const { limits } = dataplane;
  const message = (p: ProtoSeldonMessage) => parseSeldonMessage(decodeSeldonMessage(p), limits);
  const list = (p: ProtoSeldonMessageList) => parseMessageList(decodeSeldonMessageList(p), limits);
  const feedback = (p: ProtoFeedback) => parseFeedback(decodeFeedback(p), limits);

  const predict = (name: string) => unary(name, "predict", message, (c, m, via) => c.seldonPredict(m, via));
  const sendFeedback = (name: string) => unary(name, "predict", feedback, (c, f, via) => c.seldonSendFeedback(f, via));
  const transformInput = (name: string) => unary(name, "preprocess", message, (c, m, via) => c.seldonTransformInput(m, via));
  const transformOutput = (name: string) => unary(name, "postprocess", message, (c, m, via) => c.seldonTransformOutput(m, via));
  const route = (name: string) => unary(name, "predict", message, (c, m, via) => c.seldonRoute(m, via));
  const aggregate = (name: string) => unary(name, "predict", list, (c, l, via) => c.seldonAggregate(l, via));

  const implementations: Record<SeldonServiceName, grpcJs.UntypedServiceImplementation> = {
    Generic: {
      TransformInput: transformInput("Generic.TransformInput"),
      TransformOutput: transformOutput("Generic.TransformOutput"),
      Route: route("Generic.Route"),
      Aggregate: aggregate("Generic.Aggregate"),
      SendFeedback: sendFeedback("Generic.SendFeedback"),
    },
    Model: { Predict: predict("Model.Predict"), SendFeedback: sendFeedback("Model.SendFeedback") },
    Router: { Route: route("Router.Route"), SendFeedback: sendFeedback("Router.SendFeedback") },
    Transformer: { TransformInput: transformInput("Transformer.TransformInput") },
    OutputTransformer: { TransformOutput: transformOutput("OutputTransformer.TransformOutput") },
    Combiner: { Aggregate: aggregate("Combiner.Aggregate") },
    Seldon: { Predict: predict("Seldon.Predict"), SendFeedback: sendFeedback("Seldon.SendFeedback") },
  };
  // Bytes that are not a valid request message answer INVALID_ARGUMENT (grpc-js alone would say INTERNAL).
  for (const name of SELDON_SERVICES) server.addService(...guardDeserializers(definition.seldon.protos[name].service, implementations[name]));
}
