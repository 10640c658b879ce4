export { decodeInferRequest, decodeInferRequestJson, decodeParameters, decodeShape } from "./decode.ts";
export { type EncodedBody, encodeInferResponse, encodeModelMetadata } from "./encode.ts";
export {
  checkTensor,
  describeData,
  type EncodedRequest,
  type EncodeInferRequestOptions,
  encodeInferRequest,
} from "./request-encode.ts";
export { decodeInferResponse, decodeInferResponseJson } from "./response-decode.ts";
export {
  type ClassificationContext,
  classificationCount,
  classify,
  classifyOutputs,
  formatFixed6,
  MAX_CLASSIFICATION_ELEMENTS,
} from "./classification.ts";
export { checkLoadParameters, type TritonRequestOptions, tritonRequestOptions } from "./triton-parameters.ts";
export * from "./schema.ts";
