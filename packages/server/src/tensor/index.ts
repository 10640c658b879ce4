export { dataFromBytes, dataToBytes } from "./binary.ts";
export {
  decodeBytesElements,
  encodeBytesElements,
  exactUtf8,
  fromUtf8,
  isWellFormedText,
  serializedBytesLength,
  utf8,
} from "./bytes.ts";
export {
  allocate,
  byteSize,
  DATATYPES,
  type Datatype,
  INTEGER_RANGE,
  isBigIntDatatype,
  isDatatype,
  isFloatDatatype,
  type NumericDatatype,
  storageFor,
  type TypedArray,
} from "./datatype.ts";
export { bf16ToNumber, halfToNumber, numberToBf16, numberToHalf } from "./half.ts";
export {
  flatten,
  flattenRectangular,
  fromFlatValues,
  InexactIntegerError,
  inferShape,
  isNumericDatatype,
  nest,
  TensorValueError,
  toFlatValues,
  toJsonValues,
  toNested,
  writeFlatValues,
  writeRow,
} from "./nested.ts";
export {
  elementCount,
  formatShape,
  isBytesData,
  type Parameters,
  shapeMatches,
  type Tensor,
  type TensorData,
  type TensorMetadata,
} from "./tensor.ts";
export {
  BYTES_ELEMENT_WEIGHT,
  DEFAULT_MAX_TENSOR_ELEMENTS,
  ElementBudget,
  elementBudget,
  MAX_TENSOR_ELEMENTS_FLAG,
  resolveTensorLimits,
  type TensorLimits,
} from "./limits.ts";
