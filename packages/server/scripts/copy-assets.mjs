// After `tsc`: copies the files the build does not emit (worker threads' plain-JS entry points, .proto files) from
// src/ into dist/ at the same relative paths, since the code finds them next to itself (import.meta.url).
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const assets = [
  "protocol/grpc/inference.proto",
  "runtime/onnx/session-worker.mjs",
  "runtime/module/model-worker.mjs",
  "runtime/module/resolve-tserve.mjs",
  "server/json-worker.mjs",
  "protocol/seldon/grpc/prediction.proto",
  "protocol/seldon/grpc/tensorflow/core/framework/tensor.proto",
];
for (const file of assets) {
  mkdirSync(dirname(join(root, "dist", file)), { recursive: true });
  copyFileSync(join(root, "src", file), join(root, "dist", file));
}
