export { decodeB64Values, decodeBase64, isB64Object } from "./b64.ts";
export {
  classifyResults,
  type Example,
  type ExamplesCall,
  examplesCall,
  examplesResults,
  type ExamplesMethod,
  type ExamplesOptions,
  type ExamplesPlan,
  type ExamplesRequest,
  examplesToInferRequest,
  type Feature,
  parseExamplesRequest,
  planExamples,
  regressResults,
} from "./examples.ts";
export { markNonFinite, NonFiniteNumber, parseV1Json, stringifyV1 } from "./json.ts";
export { checkSignatureName, modelMetadataToTfServing, PREDICT_METHOD, SERVING_DEFAULT, tfDtype } from "./signature.ts";
export { type ModelVersionStatus, modelVersionStatus } from "./status.ts";
export { tensorsToV1, tensorValue, type V1Format, type V1Request, v1Result, v1ToInferRequest, v1ToInferRequestSteps } from "./tensors.ts";
export * from "./schema.ts";
