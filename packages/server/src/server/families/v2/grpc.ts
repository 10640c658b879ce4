import * as grpcJs from "@grpc/grpc-js";
import { InvalidInput, toTServeError, Unsupported } from "../../../errors/index.ts";
import type { DataPlane, RequestContext } from "../../../model/index.ts";
import { encodeModelStatistics, grpc, v2 } from "../../../protocol/index.ts";
import { boundedStatusDetails } from "../../../protocol/grpc/status.ts";
import { guardDeserializers, isUndecodable } from "../../grpc-decode.ts";
import type { Logger } from "../../logger.ts";
import { type ModelControlAction, ModelControl } from "../../model-control.ts";
import { classifyResponse, modelConfig } from "./triton.ts";

export interface InferenceServiceOptions {
  dataplane: DataPlane;
  logger: Logger;
  /** Who may call RepositoryModelLoad / RepositoryModelUnload (default: nobody, `--model_control_mode none`). */
  modelControl?: ModelControl;
}

type Unary<Req, Res> = (call: grpcJs.ServerUnaryCall<Req, Res>) => Res | Promise<Res>;

/**
 * Our errors leave as gRPC statuses with the same message REST would give, bounded: the message travels in the
 * trailers, and one that quotes a huge model name or shape would be too large for HTTP/2 to deliver at all.
 */
function toStatus(err: unknown, logger: Logger): Partial<grpcJs.StatusObject> {
  const e = toTServeError(err);
  const code = grpc.grpcStatusOf(e);
  const details = boundedStatusDetails(e.message);
  if (code === grpc.GrpcStatus.INTERNAL) logger.log("error", `gRPC call failed: ${details}`);
  return { code, details };
}

function unary<Req, Res>(fn: Unary<Req, Res>, logger: Logger): grpcJs.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    let result: Res | Promise<Res>;
    try {
      result = fn(call);
    } catch (err) {
      callback(toStatus(err, logger));
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (r) => callback(null, r),
        (err) => callback(toStatus(err, logger)),
      );
    } else {
      callback(null, result);
    }
  };
}

function contextOf(metadata: grpcJs.Metadata): RequestContext {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata.getMap())) headers[k] = typeof v === "string" ? v : Buffer.from(v).toString();
  return { headers, protocol: "grpc-v2", requestId: headers["x-request-id"], responseHeaders: {} };
}

/** `inference.GRPCInferenceService`: the same DataPlane as REST, behind the OIP gRPC messages. */
export function addInferenceService(server: grpcJs.Server, options: InferenceServiceOptions): void {
  const { dataplane, logger } = options;
  const control = options.modelControl ?? new ModelControl({ mode: "none" });
  /** The same check as REST's load/unload, with the token from `authorization: Bearer …` metadata. */
  const authorize = (action: ModelControlAction, metadata: grpcJs.Metadata) => {
    const value = metadata.get("authorization")[0];
    control.authorize(action, value === undefined ? undefined : value.toString());
  };
  const definition = grpcJs.loadPackageDefinition(grpc.inferencePackageDefinition()) as unknown as {
    inference: { GRPCInferenceService: { service: grpcJs.ServiceDefinition } };
  };

  const infer = async (msg: grpc.ModelInferRequestMessage, metadata: grpcJs.Metadata) => {
    // The model first, as Triton and KServe do: an unknown model is NOT_FOUND whatever the request holds.
    if (msg.model_name) dataplane.resolveVersion(msg.model_name, msg.model_version || undefined);
    const { modelName, modelVersion, request } = grpc.decodeModelInferRequest(msg, dataplane.limits);
    const options = v2.tritonRequestOptions(request);
    const response = await dataplane.infer(modelName, modelVersion, request, contextOf(metadata), options);
    return grpc.encodeModelInferResponse(await classifyResponse(dataplane, modelName, request, response));
  };

  const handlers: grpcJs.UntypedServiceImplementation = {
    ServerLive: unary(() => ({ live: dataplane.live() }), logger),
    ServerReady: unary(async () => ({ ready: await dataplane.ready() }), logger),
    ModelReady: unary<{ name: string; version?: string }, { ready: boolean }>(async (call) => {
      if (!call.request.name) throw new InvalidInput("name is required");
      return { ready: await dataplane.modelReady(call.request.name, call.request.version || undefined) };
    }, logger),
    ServerMetadata: unary(() => dataplane.serverMetadata(), logger),
    ModelMetadata: unary<{ name: string; version?: string }, grpc.ModelMetadataResponseMessage>(async (call) => {
      if (!call.request.name) throw new InvalidInput("name is required");
      return grpc.encodeModelMetadata(await dataplane.modelMetadata(call.request.name, call.request.version || undefined));
    }, logger),
    ModelInfer: unary<grpc.ModelInferRequestMessage, grpc.ModelInferResponseMessage>(
      (call) => infer(call.request, call.metadata),
      logger,
    ),
    // Triton's semantics: one response per request, in order; a failed request answers with error_message
    // and the stream carries on.
    ModelStreamInfer: (call: grpcJs.ServerDuplexStream<grpc.ModelInferRequestMessage, grpc.ModelStreamInferResponseMessage>) => {
      let chain = Promise.resolve();
      call.on("data", (msg: grpc.ModelInferRequestMessage) => {
        chain = chain.then(async () => {
          try {
            if (isUndecodable(msg)) throw new InvalidInput(msg.message);
            call.write({ infer_response: await infer(msg, call.metadata) });
          } catch (err) {
            call.write({ error_message: toTServeError(err).message });
          }
        });
      });
      call.on("end", () => {
        chain.then(() => call.end());
      });
      call.on("error", () => {
        // The client went away; nothing is left to answer.
      });
    },
    ModelConfig: unary<grpc.ModelNameVersionMessage, grpc.ModelConfigResponseMessage>(async (call) => {
      if (!call.request.name) throw new InvalidInput("name is required");
      return { config: await modelConfig(dataplane, call.request.name, call.request.version || undefined) };
    }, logger),
    ModelStatistics: unary<grpc.ModelNameVersionMessage, grpc.ModelStatisticsResponseMessage>(
      (call) => encodeModelStatistics(dataplane.statistics(call.request.name || undefined, call.request.version || undefined)),
      logger,
    ),
    RepositoryIndex: unary<{ repository_name?: string; ready?: boolean }, grpc.RepositoryIndexResponseMessage>((call) => {
      const models = dataplane.index(call.request.ready === true);
      return { models: models.map((m) => ({ name: m.name, version: m.version ?? "", state: m.state, reason: m.reason })) };
    }, logger),
    RepositoryModelLoad: unary<{ repository_name?: string; model_name?: string; parameters?: Record<string, unknown> }, object>(async (call) => {
      authorize("load", call.metadata);
      if (call.request.repository_name) throw new Unsupported("Named repositories are not supported; leave repository_name empty");
      if (!call.request.model_name) throw new InvalidInput("model_name is required");
      v2.checkLoadParameters(call.request.parameters);
      await dataplane.load(call.request.model_name);
      return {};
    }, logger),
    RepositoryModelUnload: unary<{ repository_name?: string; model_name?: string }, object>(async (call) => {
      authorize("unload", call.metadata);
      if (call.request.repository_name) throw new Unsupported("Named repositories are not supported; leave repository_name empty");
      if (!call.request.model_name) throw new InvalidInput("model_name is required");
      await dataplane.unload(call.request.model_name);
      return {};
    }, logger),
  };
  // Bytes that are not a valid request message answer INVALID_ARGUMENT (grpc-js alone would say INTERNAL).
  server.addService(...guardDeserializers(definition.inference.GRPCInferenceService.service, handlers));
}
