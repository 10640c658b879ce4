export {
  arrayData,
  buildMeta,
  buildResponse,
  dataToArray,
  isSeldonResponse,
  messageNames,
  messagePayload,
  payloadKind,
  type ResponseParts,
  SeldonResponse,
} from "./codec.ts";
export { type SeldonErrorReply, SeldonError, type SeldonReason, seldonErrorReply, seldonStatusBody } from "./errors.ts";
export { buildSeldonMetadata, type SeldonModelMetadata, validateSeldonMetadata } from "./metadata.ts";
export { badMetric, LABEL_NAME, METRIC_NAME, metricTypeOf, validateMetrics } from "./metrics.ts";
export { decodeSeldonRequest, parseFeedback, parseMessageList, parseSeldonMessage } from "./request.ts";
export { parseMultipart } from "./multipart.ts";
export { isNDArray, NDArray, type NDArrayData, type NDArrayDtype } from "./ndarray.ts";
export { parseSeldonParameters, type SeldonParameter } from "./parameters.ts";
export { arrayToTfTensor, readTfTensor, tfTensorToArray } from "./tftensor.ts";
export type * from "./types.ts";
export { SELDON_SCHEMAS } from "./schema.ts";
