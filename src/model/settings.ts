import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { InvalidInput } from "../errors/index.ts";
import { isDatatype, type TensorMetadata } from "../tensor/index.ts";

export type VersionPolicy =
  | { latest: { numVersions: number } }
  | { all: Record<string, never> }
  | { specific: { versions: number[] } };

/** The optional `model-settings.json` beside a model (MLServer's idea; Triton's version policy). */
export interface ModelSettings {
  name?: string;
  /** `seldon`: the module is a Seldon-style component (predict(X, names, meta), route, aggregate …). */
  // OpenBayes: `openbayes` = a predictor class (predictor.ts), `custom` = run start.sh and proxy to it.
  runtime?: "onnx" | "module" | "seldon" | "openbayes" | "custom";
  /** The file to load, relative to the version folder (`model.onnx`, `model.ts`). */
  modelFile?: string;
  versionPolicy?: VersionPolicy;
  inputs?: TensorMetadata[];
  outputs?: TensorMetadata[];
  parameters?: Record<string, unknown>;
  // TF Serving dialect (V1 routes): version labels, and how :classify / :regress examples map onto the model.
  /** `{"stable": 1, "canary": 2}`: TF Serving's version_labels, for `/v1/models/{m}/labels/{label}`. */
  versionLabels?: Record<string, number>;
  /** Feature names in the order of the input's columns, for :classify / :regress examples. */
  features?: string[];
  /** Class names for the columns of the :classify score output ("0".."C-1" when absent). */
  classLabels?: string[];
}

export const SETTINGS_FILE = "model-settings.json";

export async function readModelSettings(dir: string): Promise<ModelSettings> {
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
  return parseModelSettings(raw, join(dir, SETTINGS_FILE));
}

/** Validates settings, accepting camelCase or snake_case keys. */
export function parseModelSettings(raw: unknown, where = SETTINGS_FILE): ModelSettings {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new InvalidInput(`${where} must be an object`);
  const r = raw as Record<string, unknown>;
  const out: ModelSettings = {};
  const fail = (msg: string): never => {
    throw new InvalidInput(`${where}: ${msg}`);
  };
  if (r.name !== undefined) out.name = typeof r.name === "string" && r.name ? r.name : fail("'name' must be a string");
  if (r.runtime !== undefined) {
    if (r.runtime !== "onnx" && r.runtime !== "module" && r.runtime !== "seldon" && r.runtime !== "openbayes" && r.runtime !== "custom")
      fail(`'runtime' must be "onnx", "module", "seldon", "openbayes" or "custom", got ${JSON.stringify(r.runtime)}`);
    out.runtime = r.runtime as NonNullable<ModelSettings["runtime"]>;
  }
  const file = r.modelFile ?? r.model_file;
  if (file !== undefined) out.modelFile = typeof file === "string" ? file : fail("'modelFile' must be a string");
  const policy = r.versionPolicy ?? r.version_policy;
  if (policy !== undefined) out.versionPolicy = parsePolicy(policy, fail);
  if (r.inputs !== undefined) out.inputs = parseTensorList(r.inputs, "inputs", fail);
  if (r.outputs !== undefined) out.outputs = parseTensorList(r.outputs, "outputs", fail);
  if (r.parameters !== undefined) {
    if (typeof r.parameters !== "object" || r.parameters === null) fail("'parameters' must be an object");
    out.parameters = r.parameters as Record<string, unknown>;
  }
  parseTfServingSettings(r, out, fail);
  return out;
}

/** The TF Serving keys: versionLabels / version_labels, features, classLabels / class_labels. */
function parseTfServingSettings(r: Record<string, unknown>, out: ModelSettings, fail: (m: string) => never): void {
  const labels = r.versionLabels ?? r.version_labels;
  if (labels !== undefined) {
    if (typeof labels !== "object" || labels === null || Array.isArray(labels)) fail("'versionLabels' must be an object");
    out.versionLabels = {};
    for (const [label, v] of Object.entries(labels as Record<string, unknown>)) {
      const version = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
      if (!/^[^/:]+$/.test(label)) fail(`versionLabels: label ${JSON.stringify(label)} may not be empty or contain '/' or ':'`);
      if (!Number.isInteger(version) || (version as number) < 1) {
        fail(`versionLabels.${label} must be a version number (a positive integer), got ${JSON.stringify(v)}`);
      }
      out.versionLabels[label] = version as number;
    }
  }
  const stringList = (v: unknown, key: string): string[] => {
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) fail(`'${key}' must be a list of strings`);
    return v as string[];
  };
  if (r.features !== undefined) {
    const features = stringList(r.features, "features");
    if (features.length === 0 || new Set(features).size !== features.length || features.includes("")) {
      fail("'features' must list distinct, non-empty feature names");
    }
    out.features = features;
  }
  const classLabels = r.classLabels ?? r.class_labels;
  if (classLabels !== undefined) out.classLabels = stringList(classLabels, "classLabels");
}

function parsePolicy(p: unknown, fail: (m: string) => never): VersionPolicy {
  const o = p as Record<string, any>;
  if (typeof o !== "object" || o === null) return fail("'versionPolicy' must be an object");
  if (o.latest !== undefined) {
    const n = o.latest?.numVersions ?? o.latest?.num_versions ?? 1;
    if (!Number.isInteger(n) || n < 1) fail("versionPolicy.latest.numVersions must be an integer >= 1");
    return { latest: { numVersions: n } };
  }
  if (o.all !== undefined) return { all: {} };
  if (o.specific !== undefined) {
    const v = o.specific?.versions;
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => Number.isInteger(x) && x > 0)) {
      fail("versionPolicy.specific.versions must be a non-empty list of positive integers");
    }
    return { specific: { versions: v } };
  }
  return fail("versionPolicy must be one of {latest: {numVersions}}, {all: {}}, {specific: {versions}}");
}

function parseTensorList(v: unknown, key: string, fail: (m: string) => never): TensorMetadata[] {
  if (!Array.isArray(v)) fail(`'${key}' must be a list`);
  return (v as unknown[]).map((t, i) => {
    const o = t as Record<string, unknown>;
    if (typeof o?.name !== "string") fail(`${key}[${i}] needs a 'name'`);
    if (!isDatatype(o.datatype)) fail(`${key}[${i}] has unknown datatype ${JSON.stringify(o.datatype)}`);
    if (!Array.isArray(o.shape) || !o.shape.every((d) => Number.isInteger(d) && d >= -1)) {
      fail(`${key}[${i}] needs a 'shape' of integers (-1 for a variable dimension)`);
    }
    return { name: o.name as string, datatype: o.datatype as TensorMetadata["datatype"], shape: o.shape as number[] };
  });
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
