export { decodeInferRequest, decodeInferRequestJson, decodeParameters, decodeShape } from "./decode.ts";
export { type EncodedBody, encodeInferResponse, encodeModelMetadata } from "./encode.ts";
