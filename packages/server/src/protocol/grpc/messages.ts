/** The OIP gRPC messages as @grpc/proto-loader presents them (see PROTO_OPTIONS in definition.ts). */

/** 64-bit integers arrive as decimal strings; numbers are accepted when sending. */
export type Int64 = string | number;

export interface InferParameterMessage {
  parameter_choice?: "bool_param" | "int64_param" | "string_param" | "double_param" | "uint64_param";
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  double_param?: number;
  uint64_param?: Int64;
}

export interface InferTensorContentsMessage {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: Int64[];
  uint_contents?: number[];
  uint64_contents?: Int64[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

export interface InferTensorMessage {
  name?: string;
  datatype?: string;
  shape?: Int64[];
  parameters?: Record<string, InferParameterMessage>;
  contents?: InferTensorContentsMessage;
}

export interface RequestedOutputMessage {
  name?: string;
  parameters?: Record<string, InferParameterMessage>;
}

export interface ModelInferRequestMessage {
  model_name?: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, InferParameterMessage>;
  inputs?: InferTensorMessage[];
  outputs?: RequestedOutputMessage[];
  raw_input_contents?: Uint8Array[];
}

export interface ModelInferResponseMessage {
  model_name?: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, InferParameterMessage>;
  outputs?: InferTensorMessage[];
  raw_output_contents?: Uint8Array[];
}

export interface ModelStreamInferResponseMessage {
  error_message?: string;
  infer_response?: ModelInferResponseMessage;
}

export interface TensorMetadataMessage {
  name: string;
  datatype: string;
  shape: Int64[];
}

export interface ModelMetadataResponseMessage {
  name: string;
  versions?: string[];
  platform: string;
  inputs: TensorMetadataMessage[];
  outputs: TensorMetadataMessage[];
  properties?: Record<string, string>;
}

export interface ModelRepositoryParameterMessage {
  parameter_choice?: "bool_param" | "int64_param" | "string_param" | "bytes_param";
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  bytes_param?: Uint8Array;
}

export interface RepositoryIndexResponseMessage {
  models: { name: string; version: string; state: string; reason: string }[];
}

/** Triton's ModelConfigRequest / ModelStatisticsRequest: a model name and version ("" for any, or all). */
export interface ModelNameVersionMessage {
  name?: string;
  version?: string;
}

/** Triton's ModelConfigResponse: the ModelConfig with model_config.proto's field names (see protocol/triton-config.ts). */
export interface ModelConfigResponseMessage {
  config?: Record<string, unknown>;
}

/** Triton's ModelStatisticsResponse (see protocol/triton-stats.ts for the fields of each entry). */
export interface ModelStatisticsResponseMessage {
  model_stats?: Record<string, unknown>[];
}
