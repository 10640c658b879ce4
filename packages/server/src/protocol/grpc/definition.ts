import { fileURLToPath } from "node:url";
import { loadSync, type Options } from "@grpc/proto-loader";

/** The .proto beside this file; shipped with the package (the build copies it). */
export const PROTO_PATH = fileURLToPath(new URL("./inference.proto", import.meta.url));

/**
 * How protobuf values appear in JS: field names as in the .proto, 64-bit integers as strings (so INT64 data
 * stays exact), bytes as Buffers that view the received message, empty repeated fields as [].
 */
export const PROTO_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: false,
  arrays: true,
  objects: true,
  oneofs: true,
};

export const SERVICE_NAME = "inference.GRPCInferenceService";

let cached: ReturnType<typeof loadSync> | undefined;

/** The parsed package definition, for @grpc/grpc-js's loadPackageDefinition. */
export function inferencePackageDefinition(): ReturnType<typeof loadSync> {
  cached ??= loadSync(PROTO_PATH, PROTO_OPTIONS);
  return cached;
}
