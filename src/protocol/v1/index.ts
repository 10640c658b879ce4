export { tensorsToV1, type V1Format, type V1Request, v1ToInferRequest } from "./tensors.ts";
