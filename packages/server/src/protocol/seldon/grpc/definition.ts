import { fileURLToPath } from "node:url";
import { loadSync, type Options } from "@grpc/proto-loader";
import { PROTO_OPTIONS } from "../../grpc/index.ts";

/** The folder holding prediction.proto and the TensorFlow subset it imports; the build copies both files. */
export const SELDON_PROTO_DIR = fileURLToPath(new URL(".", import.meta.url));
export const SELDON_PROTO_FILE = "prediction.proto";
/** The .proto files below SELDON_PROTO_DIR, for the build's copy step. */
export const SELDON_PROTO_FILES = ["prediction.proto", "tensorflow/core/framework/tensor.proto"] as const;

/**
 * How Seldon's protobuf values appear in JS: the OIP service's options (field names as in the .proto — binData,
 * requestPath, tensor_shape, the spelling of Seldon's REST JSON — enums by name, 64-bit integers as strings,
 * bytes as Buffers, each oneof's set member named), except that unset message fields stay absent.
 */
export const SELDON_PROTO_OPTIONS: Options = { ...PROTO_OPTIONS, objects: false, includeDirs: [SELDON_PROTO_DIR] };

/** The package's fully-qualified service names, as Seldon's wrapper serves them. */
export const SELDON_SERVICES = ["Generic", "Model", "Router", "Transformer", "OutputTransformer", "Combiner", "Seldon"] as const;
export type SeldonServiceName = (typeof SELDON_SERVICES)[number];
export const SELDON_PACKAGE = "seldon.protos";

let cached: ReturnType<typeof loadSync> | undefined;

/** The parsed package definition, for @grpc/grpc-js's loadPackageDefinition. */
export function seldonPackageDefinition(): ReturnType<typeof loadSync> {
  cached ??= loadSync(SELDON_PROTO_FILE, SELDON_PROTO_OPTIONS);
  return cached;
}
