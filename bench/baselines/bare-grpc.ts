/**
 * Baseline C: the cheapest honest gRPC "model server" @grpc/grpc-js can be.
 *
 * A bare grpc-js server for inference.GRPCInferenceService, built the way tserve builds its own (the same
 * .proto through @grpc/proto-loader and loadPackageDefinition, so requests are decoded and responses
 * encoded by the same protobuf code). ModelInfer decodes the request, checks that it carries one raw
 * tensor per input, and answers with a canned ModelInferResponse of the right size: the model's FP32
 * output [batch, classes] in raw_output_contents. Anything tserve's gRPC endpoint costs on top of this is
 * request validation, tensor handling, inference and tserve's own bookkeeping.
 *
 * Run as a child process: node --import tsx bench/baselines/bare-grpc.ts --port <port> [--host 127.0.0.1]
 */
import * as grpc from "@grpc/grpc-js";
import { pathToFileURL } from "node:url";
import { type InferRequestMessage, type InferResponseMessage, packageDefinition } from "../grpc-proto.ts";

/** The models the benchmark sends, and the output each answers with. */
export const CANNED_OUTPUTS: Record<string, { name: string; classes: number }> = {
  iris: { name: "probabilities", classes: 3 },
  classifier: { name: "logits", classes: 10 },
};

const cache = new Map<string, InferResponseMessage>();

/** The canned answer for `model` with `batch` rows (built once per model and batch size). */
function cannedResponse(model: string, batch: number): InferResponseMessage | undefined {
  const spec = CANNED_OUTPUTS[model];
  if (!spec) return undefined;
  const key = `${model}/${batch}`;
  let response = cache.get(key);
  if (!response) {
    const data = Buffer.alloc(batch * spec.classes * 4);
    for (let i = 0; i < batch * spec.classes; i++) data.writeFloatLE(1 / spec.classes, i * 4);
    response = {
      model_name: model,
      model_version: "1",
      outputs: [{ name: spec.name, datatype: "FP32", shape: [batch, spec.classes] }],
      raw_output_contents: [data],
    };
    cache.set(key, response);
  }
  return response;
}

type Unary = grpc.handleUnaryCall<any, any>;

const modelInfer: grpc.handleUnaryCall<InferRequestMessage, InferResponseMessage> = (call, callback) => {
  const msg = call.request;
  const inputs = msg.inputs ?? [];
  const raw = msg.raw_input_contents ?? [];
  if (inputs.length === 0 || raw.length !== inputs.length) {
    callback({ code: grpc.status.INVALID_ARGUMENT, details: "expected one raw_input_contents entry per input" });
    return;
  }
  const batch = Number(inputs[0].shape?.[0] ?? 1);
  const response = cannedResponse(msg.model_name ?? "", batch);
  if (!response) {
    callback({ code: grpc.status.NOT_FOUND, details: `Model with name ${msg.model_name} does not exist.` });
    return;
  }
  callback(null, response);
};

export function createBareGrpcServer(): grpc.Server {
  // tserve's limits (64 MiB each way), so large tensors are accepted by both.
  const server = new grpc.Server({
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
    "grpc.max_send_message_length": 64 * 1024 * 1024,
  });
  const loaded = grpc.loadPackageDefinition(packageDefinition()) as unknown as {
    inference: { GRPCInferenceService: { service: grpc.ServiceDefinition } };
  };
  const handlers: Record<string, Unary> = {
    ServerLive: (_call, callback) => callback(null, { live: true }),
    ServerReady: (_call, callback) => callback(null, { ready: true }),
    ModelReady: (call, callback) =>
      callback(null, { ready: Object.hasOwn(CANNED_OUTPUTS, (call.request as { name?: string }).name ?? "") }),
    ModelInfer: modelInfer as Unary,
  };
  server.addService(loaded.inference.GRPCInferenceService.service, handlers);
  return server;
}

function argValue(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

function main(): void {
  const args = process.argv.slice(2);
  const port = Number(argValue(args, "--port") ?? process.env.PORT ?? "0");
  const host = argValue(args, "--host") ?? "127.0.0.1";
  const server = createBareGrpcServer();
  server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
    if (err) {
      console.error(`bare gRPC baseline could not bind ${host}:${port}: ${err.message}`);
      process.exit(1);
    }
    console.log(`bare gRPC baseline listening on ${host}:${bound}`);
  });
  const shutdown = (): void => {
    server.tryShutdown(() => process.exit(0));
    setTimeout(() => {
      server.forceShutdown();
      process.exit(0);
    }, 1_000).unref();
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
