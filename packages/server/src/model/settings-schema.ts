import { type TObject, type TSchema, Type } from "@sinclair/typebox";
import { DATATYPES } from "../tensor/index.ts";

// The shape of model-settings.json as JSON Schema (TypeBox): the source of truth for which keys exist and their
// types. settings.ts checks a file against it, then applies the rules a schema says poorly (defaults, aliases).

/** One input or output: MLServer's MetadataTensor (its `parameters` are accepted and not used). */
export const TensorMetadataSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    datatype: Type.Union(DATATYPES.map((d) => Type.Literal(d))),
    shape: Type.Array(Type.Integer({ minimum: -1 }), { expected: "a list of integers (-1 for a variable dimension)" }),
    parameters: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: false },
);

const labelFile = Type.String({
  minLength: 1,
  description: "Triton's label_filename: a text file in the model folder, one class label per line (line i labels index i)",
});

/** An output: a tensor, with the class labels Triton's classification extension prints beside each index. */
export const OutputMetadataSchema = Type.Object(
  {
    ...TensorMetadataSchema.properties,
    labelFilename: Type.Optional(labelFile),
    label_filename: Type.Optional(labelFile),
    labels: Type.Optional(Type.Array(Type.String(), { description: "class labels inline: labels[i] labels index i" })),
  },
  { additionalProperties: false },
);

const numVersions = Type.Integer({ minimum: 1 });

/** Triton's version policy: which numbered version folders are served (default: the latest one). */
export const VersionPolicySchema = Type.Object(
  {
    latest: Type.Optional(
      Type.Union([
        Type.Object({ numVersions: Type.Optional(numVersions), num_versions: Type.Optional(numVersions) }, { additionalProperties: false }),
        Type.Null(),
      ]),
    ),
    all: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: false }), Type.Boolean(), Type.Null()])),
    specific: Type.Optional(
      Type.Object(
        {
          versions: Type.Array(Type.Integer({ minimum: 1 }), {
minItems: 1 }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  {
    additionalProperties: false,
    expected: "one of {latest: {numVersions}}, {all: {}}, {specific: {versions}}",
  },
);

const versionLabels = Type.Record(
  Type.String(),
  Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: "^\\d+$" })], {
    expected: "a version number (a positive integer)",
  }),
  { description: "TF Serving's version_labels: {\"stable\": 1, \"canary\": 2}" },
);
const instanceCount = Type.Integer({
  minimum: 0,
  description: "how many copies of the model run at once, each on its own thread (ONNX; default 1); 0 runs it on the event loop",
});
const maxBatchSize = Type.Integer({
  minimum: 0,
  description: "adaptive batching: the most rows (first-dimension entries) one run takes; 0 or 1: no batching (default)",
});
const preferredBatchSizes = Type.Array(Type.Integer({ minimum: 1 }), { description: "batch sizes sent as soon as they can be formed" });
const queueDelay = Type.Integer({ minimum: 0, description: "how long a request may wait for others to join its batch, in µs (default 0)" });
const maxQueueSize = Type.Integer({
  minimum: 0,
  description: "the most requests waiting for a run; more are refused at once with 503 + Retry-After / UNAVAILABLE (default 1024; 0: no limit)",
});
/** KServe's InferenceService `logger: {url, mode}`: this model's payload log sink (server/payload-log.ts). */
export const LoggerSettingsSchema = Type.Object(
  {
    url: Type.Optional(Type.String({ pattern: "^https?://", description: "where this model's request and response CloudEvents are POSTed (default: --logger_url)" })),
    mode: Type.Optional(
      Type.Union([Type.Literal("all"), Type.Literal("request"), Type.Literal("response")], {
        description: "what is logged: all (default: --logger_mode), request or response",
      }),
    ),
  },
  { additionalProperties: false, description: "payload logging for this model, as KServe's InferenceService logger" },
);
const stringList = (description: string) => Type.Array(Type.String(), { description });

export interface ModelSettingsSchemaOptions {
  /** The names `runtime` may take (a runtime registry's names); any non-empty string when absent. */
  runtimes?: readonly string[];
}

/**
 * The schema of model-settings.json. snake_case aliases (MLServer's spelling) are accepted beside the camelCase
 * keys; every other key is an error.
 */
export function modelSettingsSchema(options: ModelSettingsSchemaOptions = {}): TObject {
  const runtime: TSchema = options.runtimes
    ? Type.Union(
        options.runtimes.map((r) => Type.Literal(r)),
        { description: "the runtime that serves the model (default: recognised from the files present)" },
      )
    : Type.String({ minLength: 1, description: "the runtime that serves the model (default: recognised from the files present)" });
  return Type.Object(
    {
      name: Type.Optional(Type.String({ minLength: 1, description: "the name the model is served under (default: the folder's)" })),
      runtime: Type.Optional(runtime),
      modelFile: Type.Optional(Type.String({ description: "the file to load, relative to the version folder" })),
      model_file: Type.Optional(Type.String()),
      versionPolicy: Type.Optional(VersionPolicySchema),
      version_policy: Type.Optional(VersionPolicySchema),
      inputs: Type.Optional(Type.Array(TensorMetadataSchema)),
      outputs: Type.Optional(Type.Array(OutputMetadataSchema)),
      parameters: Type.Optional(Type.Object({}, { additionalProperties: true, description: "given to the runtime (a module's constructor options, an ONNX session's settings …)" })),
      // The execution engine: threads, adaptive batching, the bounded queue (Triton's names; MLServer's as aliases).
      instanceCount: Type.Optional(instanceCount),
      instance_count: Type.Optional(instanceCount),
      parallel_workers: Type.Optional(instanceCount),
      maxBatchSize: Type.Optional(maxBatchSize),
      max_batch_size: Type.Optional(maxBatchSize),
      preferredBatchSizes: Type.Optional(preferredBatchSizes),
      preferred_batch_sizes: Type.Optional(preferredBatchSizes),
      maxQueueDelayMicroseconds: Type.Optional(queueDelay),
      max_queue_delay_microseconds: Type.Optional(queueDelay),
      max_batch_time: Type.Optional(Type.Number({ minimum: 0, description: "MLServer's name: the longest a request waits for a batch, in seconds" })),
      maxQueueSize: Type.Optional(maxQueueSize),
      max_queue_size: Type.Optional(maxQueueSize),
      versionLabels: Type.Optional(versionLabels),
      version_labels: Type.Optional(versionLabels),
      features: Type.Optional(stringList("feature names in the order of the input's columns")),
      classLabels: Type.Optional(stringList("class names for the columns of the :classify scores")),
      class_labels: Type.Optional(stringList("class names for the columns of the :classify scores")),
      logger: Type.Optional(LoggerSettingsSchema),
    },
    { additionalProperties: false, title: "model-settings.json", description: "tserve's settings for one model folder" },
  );
}

/** model-settings.json with any runtime name (the registry checks the name when it loads the model). */
export const ModelSettingsSchema = modelSettingsSchema();
