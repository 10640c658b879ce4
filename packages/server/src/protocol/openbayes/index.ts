export { createPredictArgs, PREDICT_ARGUMENTS, type PredictArgs, type PredictInput } from "./arguments.ts";
export { decodeJsonBody, decodePayload } from "./body.ts";
export { bytesContentType, type EncodedAnswer, encodeAnswer, encodeJson, encodeMsgpack } from "./encode.ts";
export { isServingError, type OpenBayesErrorReply, openBayesErrorReply, ServingError } from "./errors.ts";
export { isJsonType, isMsgpackType, JSON_TYPE, mediaType, MSGPACK_TYPES } from "./media.ts";
export { type AnswerFormat, type Negotiated, negotiateAnswer } from "./negotiate.ts";
