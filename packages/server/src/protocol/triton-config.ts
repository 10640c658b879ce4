import type { Datatype, TensorMetadata } from "../tensor/index.ts";

/**
 * Triton's model configuration extension (`GET /v2/models/{m}[/versions/{v}]/config`, gRPC ModelConfig): a model's
 * settings as Triton's ModelConfig (model_config.proto), in the JSON Triton prints for it (protobuf JSON with the
 * proto field names, every scalar and list printed even when it has its default, 64-bit integers as numbers). The
 * same object is the gRPC ModelConfig message: its keys are the .proto's field names.
 */

/** What a model's configuration is made of: its metadata and its model-settings.json. */
export interface TritonConfigSource {
  name: string;
  platform: string;
  /** tserve's runtime (`runtime` in model-settings.json), when known. */
  runtime?: string;
  /** The model's inputs and outputs with their full shapes (-1: variable), as its metadata gives them. */
  inputs: readonly TensorMetadata[];
  outputs: readonly TensorMetadata[];
  /** Adaptive batching (tserve's maxBatchSize; > 1 turns it on). */
  maxBatchSize?: number;
  preferredBatchSizes?: readonly number[];
  maxQueueDelayMicroseconds?: number;
  maxQueueSize?: number;
  instanceCount?: number;
  versionPolicy?: { latest: { numVersions: number } } | { all: Record<string, never> } | { specific: { versions: number[] } };
  /** Output name -> its label file (Triton's label_filename). */
  labelFilenames?: Readonly<Record<string, string>>;
  /** model-settings.json `parameters`; each value becomes a string_value (JSON for non-strings). */
  parameters?: Readonly<Record<string, unknown>>;
  modelFile?: string;
}

/** The queue bound tserve's runtimes apply when model-settings.json gives no maxQueueSize. */
export const DEFAULT_MAX_QUEUE_SIZE = 1024;

/** Triton's backend names for tserve's runtimes (tserve's own name otherwise). */
const BACKENDS: Record<string, string> = { onnx: "onnxruntime" };

/** A V2 datatype as Triton's DataType enum name (BYTES is TYPE_STRING). */
export function tritonDataType(datatype: Datatype | string): string {
  return datatype === "BYTES" ? "TYPE_STRING" : `TYPE_${datatype}`;
}

/** A Triton DataType enum name back to the V2 datatype. */
export function datatypeOfTritonType(type: string): string {
  return type === "TYPE_STRING" ? "BYTES" : type.replace(/^TYPE_/, "");
}

function backendOf(source: TritonConfigSource): string {
  if (source.runtime) return BACKENDS[source.runtime] ?? source.runtime;
  return source.platform.startsWith("onnx") ? "onnxruntime" : "";
}

function versionPolicy(policy: TritonConfigSource["versionPolicy"]): Record<string, unknown> {
  if (!policy || "latest" in policy) return { latest: { num_versions: policy && "latest" in policy ? policy.latest.numVersions : 1 } };
  if ("all" in policy) return { all: {} };
  return { specific: { versions: [...policy.specific.versions] } };
}

/** The model batches in Triton's sense: tserve batches it, so every tensor's first dimension is the batch. */
export function tritonMaxBatchSize(maxBatchSize: number | undefined): number {
  return (maxBatchSize ?? 0) > 1 ? maxBatchSize! : 0;
}

/** Triton's ModelConfig for a model, as JSON (and as the gRPC message). */
export function tritonModelConfig(source: TritonConfigSource): Record<string, unknown> {
  const maxBatchSize = tritonMaxBatchSize(source.maxBatchSize);
  // With max_batch_size > 0 the config's dims leave out the batch dimension (Triton's rule).
  const dims = (shape: readonly number[]) => (maxBatchSize > 0 ? shape.slice(1) : [...shape]);
  const config: Record<string, unknown> = {
    name: source.name,
    platform: source.platform,
    backend: backendOf(source),
    runtime: "",
    version_policy: versionPolicy(source.versionPolicy),
    max_batch_size: maxBatchSize,
    input: source.inputs.map((t) => ({
      name: t.name,
      data_type: tritonDataType(t.datatype),
      format: "FORMAT_NONE",
      dims: dims(t.shape),
      is_shape_tensor: false,
      allow_ragged_batch: false,
      optional: false,
      is_non_linear_format_io: false,
    })),
    output: source.outputs.map((t) => ({
      name: t.name,
      data_type: tritonDataType(t.datatype),
      dims: dims(t.shape),
      label_filename: source.labelFilenames?.[t.name] ?? "",
      is_shape_tensor: false,
      is_non_linear_format_io: false,
    })),
    batch_input: [],
    batch_output: [],
  };
  if (maxBatchSize > 0) {
    config.dynamic_batching = {
      preferred_batch_size: [...(source.preferredBatchSizes ?? [])],
      max_queue_delay_microseconds: source.maxQueueDelayMicroseconds ?? 0,
      preserve_ordering: false,
      priority_levels: 0,
      default_priority_level: 0,
      default_queue_policy: {
        timeout_action: "REJECT",
        default_timeout_microseconds: 0,
        allow_timeout_override: false,
        max_queue_size: source.maxQueueSize ?? DEFAULT_MAX_QUEUE_SIZE,
      },
      priority_queue_policy: {},
    };
  }
  config.instance_group = [
    {
      name: source.name,
      kind: "KIND_CPU",
      count: Math.max(1, source.instanceCount ?? 1),
      gpus: [],
      secondary_devices: [],
      profile: [],
      passive: false,
      host_policy: "",
    },
  ];
  config.default_model_filename = source.modelFile ?? "";
  config.cc_model_filenames = {};
  config.metric_tags = {};
  const parameters: Record<string, { string_value: string }> = {};
  for (const [k, v] of Object.entries(source.parameters ?? {})) {
    parameters[k] = { string_value: typeof v === "string" ? v : JSON.stringify(v) };
  }
  config.parameters = parameters;
  config.model_warmup = [];
  config.model_transaction_policy = { decoupled: false };
  return config;
}
