import { readFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { InvalidInput } from "../errors/index.ts";
import type { TensorMetadata } from "../tensor/index.ts";
import { schemaProblem } from "./schema-errors.ts";
import { ModelSettingsSchema, modelSettingsSchema, type ModelSettingsSchemaOptions } from "./settings-schema.ts";

export type VersionPolicy =
  | { latest: { numVersions: number } }
  | { all: Record<string, never> }
  | { specific: { versions: number[] } };

/** The optional `model-settings.json` beside a model (MLServer's idea; Triton's version policy). */
export interface ModelSettings {
  name?: string;
  /**
   * A registered runtime's name (src/runtime/builtin.ts): `onnx`, `module`, `seldon` (a Seldon-style component),
   * `openbayes` (a predictor class), `custom` (run start.sh and proxy to it) … Absent: recognised from the files.
   */
  runtime?: string;
  /** The file to load, relative to the version folder (`model.onnx`, `model.ts`). */
  modelFile?: string;
  versionPolicy?: VersionPolicy;
  inputs?: TensorMetadata[];
  outputs?: TensorMetadata[];
  /**
   * Class labels per output name, for Triton's classification extension (`"score:index:label"`): an output's
   * `labels` inline, or the lines of its `labelFilename` (Triton's label_filename), read when the folder is read.
   */
  labels?: Record<string, string[]>;
  /** The label file each output names (`labelFilename` / `label_filename`), relative to the model folder. */
  labelFilenames?: Record<string, string>;
  parameters?: Record<string, unknown>;
  // TF Serving dialect (V1 routes): version labels, and how :classify / :regress examples map onto the model.
  /** `{"stable": 1, "canary": 2}`: TF Serving's version_labels, for `/v1/models/{m}/labels/{label}`. */
  versionLabels?: Record<string, number>;
  /** Feature names in the order of the input's columns, for :classify / :regress examples. */
  features?: string[];
  /** Class names for the columns of the :classify score output ("0".."C-1" when absent). */
  classLabels?: string[];
  // The execution engine (src/engine): threads, adaptive batching and the bounded queue.
  /** Copies of the model run at once, each on its own thread (Triton's instance_group count; MLServer's parallel_workers). */
  instanceCount?: number;
  /** Adaptive batching: the most rows one run takes (Triton's max_batch_size; MLServer's max_batch_size); 0/1: off. */
  maxBatchSize?: number;
  /** Batch sizes sent as soon as they can be formed (Triton's preferred_batch_size). */
  preferredBatchSizes?: number[];
  /** How long a request may wait for others to join its batch, in µs (Triton's; MLServer's max_batch_time in seconds). */
  maxQueueDelayMicroseconds?: number;
  /** The most requests waiting for a run before new ones are refused with 503 / UNAVAILABLE (0: no limit). */
  maxQueueSize?: number;
  /** Payload logging for this model (KServe's InferenceService `logger: {url, mode}`); overrides --logger_url / --logger_mode. */
  logger?: { url?: string; mode?: "all" | "request" | "response" };
}

export const SETTINGS_FILE = "model-settings.json";

export async function readModelSettings(dir: string, options: ParseSettingsOptions = {}): Promise<ModelSettings> {
  const settings = await readSettingsFile(dir, options);
  for (const [output, file] of Object.entries(settings.labelFilenames ?? {})) {
    let text: string;
    try {
      text = await readFile(join(dir, file), "utf8");
    } catch (err) {
      throw new InvalidInput(`${join(dir, SETTINGS_FILE)}: output '${output}' names the label file ${file}, which cannot be read: ${(err as Error).message}`);
    }
    // Triton reads it line by line (getline): a final newline adds no label.
    const lines = text.split("\n").map((l) => l.replace(/\r$/, ""));
    if (text.endsWith("\n")) lines.pop();
    (settings.labels ??= {})[output] = lines;
  }
  return settings;
}

async function readSettingsFile(dir: string, options: ParseSettingsOptions): Promise<ModelSettings> {
  let text: string;
  try {
    text = await readFile(join(dir, SETTINGS_FILE), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InvalidInput(`${join(dir, SETTINGS_FILE)} is not valid JSON: ${(err as Error).message}`);
  }
  return parseModelSettings(raw, join(dir, SETTINGS_FILE), options);
}

export type ParseSettingsOptions = ModelSettingsSchemaOptions;

/**
 * Validates settings against the model-settings.json schema (unknown keys and wrong types are errors naming the
 * key), accepting camelCase or snake_case keys, then applies the rules a schema cannot say: defaults, aliases,
 * label names, distinct features.
 */
export function parseModelSettings(raw: unknown, where = SETTINGS_FILE, options: ParseSettingsOptions = {}): ModelSettings {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new InvalidInput(`${where} must be an object`);
  const fail = (msg: string): never => {
    throw new InvalidInput(`${where}: ${msg}`);
  };
  const problem = schemaProblem(options.runtimes ? modelSettingsSchema(options) : ModelSettingsSchema, raw);
  if (problem) fail(problem);
  // From here on the types are the schema's.
  const r = raw as Record<string, any>;
  const out: ModelSettings = {};
  if (r.name !== undefined) out.name = r.name;
  if (r.runtime !== undefined) out.runtime = r.runtime;
  const file = r.modelFile ?? r.model_file;
  if (file !== undefined) out.modelFile = file;
  const policy = r.versionPolicy ?? r.version_policy;
  if (policy !== undefined) out.versionPolicy = parsePolicy(policy, fail);
  if (r.inputs !== undefined) out.inputs = tensorList(r.inputs);
  if (r.outputs !== undefined) {
    out.outputs = tensorList(r.outputs);
    parseOutputLabels(r.outputs, out, fail);
  }
  if (r.parameters !== undefined) out.parameters = r.parameters;
  parseTfServingSettings(r, out, fail);
  parseEngineSettings(r, out, fail);
  if (r.logger !== undefined) out.logger = { ...r.logger };
  return out;
}

/** The engine's keys, Triton's names first, then snake_case and MLServer's (`parallel_workers`, `max_batch_time` in s). */
function parseEngineSettings(r: Record<string, any>, out: ModelSettings, fail: (m: string) => never): void {
  const instances = r.instanceCount ?? r.instance_count ?? r.parallel_workers;
  if (instances !== undefined) out.instanceCount = instances;
  const maxBatch = r.maxBatchSize ?? r.max_batch_size;
  if (maxBatch !== undefined) out.maxBatchSize = maxBatch;
  const preferred: number[] | undefined = r.preferredBatchSizes ?? r.preferred_batch_sizes;
  if (preferred !== undefined) {
    const limit = out.maxBatchSize ?? 0;
    const over = preferred.find((n) => n > limit);
    if (over !== undefined) fail(`preferredBatchSizes: ${over} is larger than maxBatchSize (${limit})`);
    out.preferredBatchSizes = [...preferred].sort((a, b) => a - b);
  }
  const delay = r.maxQueueDelayMicroseconds ?? r.max_queue_delay_microseconds;
  if (delay !== undefined) out.maxQueueDelayMicroseconds = delay;
  else if (r.max_batch_time !== undefined) out.maxQueueDelayMicroseconds = Math.round(r.max_batch_time * 1e6);
  const queue = r.maxQueueSize ?? r.max_queue_size;
  if (queue !== undefined) out.maxQueueSize = queue;
}

/** The TF Serving keys: versionLabels / version_labels, features, classLabels / class_labels. */
function parseTfServingSettings(r: Record<string, any>, out: ModelSettings, fail: (m: string) => never): void {
  const labels: Record<string, number | string> | undefined = r.versionLabels ?? r.version_labels;
  if (labels !== undefined) {
    out.versionLabels = {};
    for (const [label, v] of Object.entries(labels)) {
      if (!/^[^/:]+$/.test(label)) fail(`versionLabels: label ${JSON.stringify(label)} may not be empty or contain '/' or ':'`);
      const version = Number(v);
      if (!Number.isInteger(version) || version < 1) {
        fail(`versionLabels.${label} must be a version number (a positive integer), got ${JSON.stringify(v)}`);
      }
      out.versionLabels[label] = version;
    }
  }
  if (r.features !== undefined) {
    const features: string[] = r.features;
    if (features.length === 0 || new Set(features).size !== features.length || features.includes("")) {
      fail("'features' must list distinct, non-empty feature names");
    }
    out.features = features;
  }
  const classLabels = r.classLabels ?? r.class_labels;
  if (classLabels !== undefined) out.classLabels = classLabels;
}

function parsePolicy(o: Record<string, any>, fail: (m: string) => never): VersionPolicy {
  if (o.latest !== undefined) return { latest: { numVersions: o.latest?.numVersions ?? o.latest?.num_versions ?? 1 } };
  if (o.all !== undefined) return { all: {} };
  if (o.specific !== undefined) return { specific: { versions: o.specific.versions } };
  return fail("versionPolicy must be one of {latest: {numVersions}}, {all: {}}, {specific: {versions}}");
}

/** Each output's class labels: inline `labels`, or a `labelFilename` inside the model folder (read by readModelSettings). */
function parseOutputLabels(outputs: Record<string, any>[], out: ModelSettings, fail: (m: string) => never): void {
  for (const o of outputs) {
    const file: string | undefined = o.labelFilename ?? o.label_filename;
    if (file !== undefined && o.labels !== undefined) fail(`output '${o.name}' sets both labels and labelFilename; use one`);
    if (o.labels !== undefined) (out.labels ??= {})[o.name] = o.labels;
    if (file === undefined) continue;
    if (isAbsolute(file) || file.split(/[\\/]/).includes("..")) {
      fail(`output '${o.name}': labelFilename ${JSON.stringify(file)} must be a path inside the model folder`);
    }
    (out.labelFilenames ??= {})[o.name] = file;
  }
}

/** Inputs and outputs as tserve keeps them (MLServer's per-tensor `parameters` are dropped). */
function tensorList(list: TensorMetadata[]): TensorMetadata[] {
  return list.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape }));
}

/** Applies a version policy to the version numbers found on disk (default: the latest one). */
export function selectVersions(available: number[], policy: VersionPolicy | undefined): number[] {
  const sorted = [...available].sort((a, b) => a - b);
  if (!policy || "latest" in policy) {
    const n = policy && "latest" in policy ? policy.latest.numVersions : 1;
    return sorted.slice(-n);
  }
  if ("all" in policy) return sorted;
  return sorted.filter((v) => policy.specific.versions.includes(v));
}
