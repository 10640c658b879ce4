#!/usr/bin/env node
// Asks a running tserve over gRPC (inference.GRPCInferenceService) whether it is live and ready, and runs one
// ModelInfer on the iris model (FP32 [1, 4] in raw_input_contents). Prints a JSON summary; exits 1 on any failure.
// Usage: node scripts/grpc-probe.mjs HOST:PORT [MODEL=iris] [--timeout_ms=10000]
// Used by scripts/test-image.sh; needs only @grpc/grpc-js and @grpc/proto-loader from the workspace.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const timeoutMs = Number(process.argv.find((a) => a.startsWith("--timeout_ms="))?.split("=")[1] ?? 10_000);
const [target, model = "iris"] = args;
if (!target) {
  console.error("usage: node scripts/grpc-probe.mjs HOST:PORT [MODEL]");
  process.exit(2);
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const protoPath = [
  join(root, "packages/server/src/protocol/grpc/inference.proto"),
  join(root, "src/protocol/grpc/inference.proto"),
].find((p) => existsSync(p));
if (!protoPath) throw new Error("inference.proto not found under packages/server/src or src");
const definition = protoLoader.loadSync(protoPath, { keepCase: true, longs: String, enums: String, defaults: true });
const { inference } = grpc.loadPackageDefinition(definition);
const client = new inference.GRPCInferenceService(target, grpc.credentials.createInsecure());

const call = (method, request) =>
  new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + timeoutMs }, (err, reply) => (err ? reject(err) : resolve(reply)));
  });

try {
  const live = await call("ServerLive", {});
  const ready = await call("ServerReady", {});
  const modelReady = await call("ModelReady", { name: model });
  if (!live.live || !ready.ready || !modelReady.ready) {
    throw new Error(`not ready: live=${live.live} ready=${ready.ready} model_ready=${modelReady.ready}`);
  }
  const meta = await call("ModelMetadata", { name: model });
  const input = meta.inputs[0];
  const row = new Float32Array([6.8, 2.8, 4.8, 1.4]);
  const reply = await call("ModelInfer", {
    model_name: model,
    id: "grpc-probe",
    inputs: [{ name: input.name, datatype: "FP32", shape: [1, 4] }],
    raw_input_contents: [Buffer.from(row.buffer)],
  });
  const out = reply.outputs[0];
  const raw = reply.raw_output_contents[0];
  const values = Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)));
  const sum = values.reduce((a, b) => a + b, 0);
  if (out.datatype !== "FP32" || out.shape.map(Number).join(",") !== "1,3" || Math.abs(sum - 1) > 1e-4) {
    throw new Error(`unexpected answer: ${JSON.stringify({ output: out, values })}`);
  }
  console.log(JSON.stringify({ ok: true, target, model, id: reply.id, output: out.name, shape: out.shape.map(Number), values }));
  client.close();
} catch (err) {
  console.log(JSON.stringify({ ok: false, target, model, error: `${err.code !== undefined ? `${grpc.status[err.code]}: ` : ""}${err.details ?? err.message}` }));
  client.close();
  process.exit(1);
}
