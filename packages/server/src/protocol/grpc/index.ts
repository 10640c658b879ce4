export {
  decodeModelInferRequest,
  decodeModelInferResponse,
  decodeModelMetadata,
  decodeParameters,
  encodeModelInferRequest,
  encodeModelInferResponse,
  encodeModelMetadata,
  encodeParameters,
} from "./convert.ts";
export { inferencePackageDefinition, PROTO_OPTIONS, PROTO_PATH, SERVICE_NAME } from "./definition.ts";
export type * from "./messages.ts";
export { GrpcStatus, grpcStatusOf, httpStatusOfGrpc } from "./status.ts";
