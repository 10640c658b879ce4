/**
 * Seldon Core v1's prediction payloads (proto/prediction.proto) as they appear in REST JSON.
 * Every field is optional on the wire; codecs validate shapes before anyone reads them.
 */

export type MetricType = "COUNTER" | "GAUGE" | "TIMER";

/** A custom metric: COUNTER adds, GAUGE sets, TIMER observes milliseconds. */
export interface SeldonMetric {
  key: string;
  type: MetricType;
  value: number;
  tags?: Record<string, string>;
}

export interface SeldonMeta {
  puid?: string;
  tags?: Record<string, unknown>;
  /** Graph node name -> the child index its router chose (-1 all, -2 none). */
  routing?: Record<string, number>;
  /** Graph node name -> image (or runtime) that handled the request. */
  requestPath?: Record<string, string>;
  metrics?: SeldonMetric[];
}

export interface SeldonStatus {
  code?: number;
  info?: string;
  reason?: string;
  /** "SUCCESS" | "FAILURE" in proto JSON; the Python wrapper writes 0 / 1. */
  status?: "SUCCESS" | "FAILURE" | number;
}

/**
 * TensorFlow's TensorProto in proto3 JSON (only the fields Seldon users send). Requests may spell fields either way:
 * the .proto's snake_case or the lowerCamelCase json_format.MessageToJson writes (and Seldon's clients send); answers
 * use lowerCamelCase, with int64 sizes and values as decimal strings, as Seldon's Python wrapper writes them.
 */
export interface TfTensor {
  dtype: string;
  tensor_shape?: { dim?: { size: number | string }[] };
  tensorShape?: { dim?: { size: number | string }[] };
  /** The values as raw little-endian bytes, base64 (what tensorflow's make_tensor_proto writes for >1 value). */
  tensor_content?: string;
  tensorContent?: string;
  float_val?: (number | string)[];
  floatVal?: (number | string)[];
  double_val?: (number | string)[];
  doubleVal?: (number | string)[];
  int_val?: number[];
  intVal?: number[];
  int64_val?: (number | string)[];
  int64Val?: (number | string)[];
  bool_val?: boolean[];
  boolVal?: boolean[];
  string_val?: string[];
  stringVal?: string[];
}

export interface DefaultData {
  names?: string[];
  tensor?: { shape: number[]; values: number[] };
  ndarray?: unknown[];
  tftensor?: TfTensor;
}

export interface SeldonMessage {
  status?: SeldonStatus;
  meta?: SeldonMeta;
  data?: DefaultData;
  /** base64 in JSON. */
  binData?: string;
  strData?: string;
  jsonData?: unknown;
}

export interface SeldonMessageList {
  seldonMessages: SeldonMessage[];
}

export interface SeldonFeedback {
  request?: SeldonMessage;
  response?: SeldonMessage;
  reward?: number;
  truth?: SeldonMessage;
}

/** Which payload field a message carried: responses mirror it. */
export type PayloadKind = "tensor" | "ndarray" | "tftensor" | "strData" | "binData" | "jsonData" | "none";
