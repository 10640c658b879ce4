/**
 * Seldon Core v1 model metadata (`GET /metadata`): assembled from defaults, the model's `initMetadata()` and the
 * `MODEL_METADATA` environment variable, then checked against Seldon's schema. Invalid metadata is not an
 * error at startup: `/metadata` answers 500 MICROSERVICE_BAD_METADATA while predictions keep working.
 */
import { parse as parseYaml } from "yaml";
import { type Datatype, DATATYPES as V2_DATATYPES } from "../../tensor/index.ts";

/** Seldon's schema takes the V2 datatypes except BF16. */
export const SELDON_TENSOR_DATATYPES = V2_DATATYPES.filter((d): d is Exclude<Datatype, "BF16"> => d !== "BF16");

export type SeldonTensorDatatype = (typeof SELDON_TENSOR_DATATYPES)[number];

/** `{messagetype: "tensor" | "ndarray" | "tftensor", schema?: {names?, shape?}}` */
export interface SeldonArrayIO {
  messagetype: "tensor" | "ndarray" | "tftensor";
  schema?: { names?: string[]; shape?: number[] };
}

/** `{messagetype: "jsonData", schema?}`, or any other (custom) messagetype with an optional schema object. */
export interface SeldonSchemaIO {
  messagetype: string;
  schema?: Record<string, unknown>;
}

export interface SeldonStrIO {
  messagetype: "strData";
}

export interface SeldonBinIO {
  messagetype: "binData";
}

/** A V2 (Open Inference Protocol) tensor description; as in Seldon's schema, every field is optional. */
export interface SeldonTensorIO {
  name?: string;
  datatype?: SeldonTensorDatatype;
  shape?: number[];
}

export type SeldonMetadataIO = SeldonArrayIO | SeldonStrIO | SeldonBinIO | SeldonSchemaIO | SeldonTensorIO;

export interface SeldonModelMetadata {
  name?: string;
  versions?: string[];
  platform?: string;
  inputs?: SeldonMetadataIO[];
  outputs?: SeldonMetadataIO[];
  custom?: Record<string, string>;
}

export type SeldonMetadataResult = { ok: true; value: SeldonModelMetadata } | { ok: false; error: string };

const TOP_LEVEL_KEYS = new Set(["name", "versions", "platform", "inputs", "outputs", "custom"]);
const ARRAY_TYPES = new Set(["tensor", "ndarray", "tftensor"]);
const DATATYPES = new Set<string>(SELDON_TENSOR_DATATYPES);

/**
 * Keys `buildSeldonMetadata` uses to carry a source it could not read; they are not in the schema, so the
 * document is invalid, and the validator reports the stored reason.
 */
const SOURCE_ERROR_KEYS = new Set(["MODEL_METADATA", "initMetadata"]);

class Invalid extends Error {}

function invalid(path: string, problem: string): never {
  throw new Invalid(`${path} ${problem}`);
}

/** A JSON/YAML mapping (not an array, Date or other class instance). */
function isMapping(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `${typeof value} ${JSON.stringify(value)}`;
}

function onlyKeys(obj: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) invalid(path, `has unexpected property "${key}" (allowed: ${allowed.join(", ")})`);
  }
}

function mapping(value: unknown, path: string): Record<string, unknown> {
  if (!isMapping(value)) invalid(path, `must be an object, got ${describe(value)}`);
  return value;
}

function string(value: unknown, path: string): void {
  if (typeof value !== "string") invalid(path, `must be a string, got ${describe(value)}`);
}

function stringList(value: unknown, path: string): void {
  if (!Array.isArray(value)) invalid(path, `must be a list of strings, got ${describe(value)}`);
  value.forEach((v, i) => string(v, `${path}[${i}]`));
}

function integerList(value: unknown, path: string): void {
  if (!Array.isArray(value)) invalid(path, `must be a list of integers, got ${describe(value)}`);
  value.forEach((v, i) => {
    if (typeof v !== "number" || !Number.isInteger(v)) invalid(`${path}[${i}]`, `must be an integer, got ${describe(v)}`);
  });
}

/** One inputs/outputs item: a Seldon message description (has `messagetype`) or a V2 tensor (has not). */
function checkIO(value: unknown, path: string): void {
  const item = mapping(value, path);
  if (!Object.hasOwn(item, "messagetype")) {
    onlyKeys(item, ["name", "datatype", "shape"], path);
    if (item.name !== undefined) string(item.name, `${path}.name`);
    if (item.datatype !== undefined && (typeof item.datatype !== "string" || !DATATYPES.has(item.datatype))) {
      invalid(`${path}.datatype`, `must be one of ${SELDON_TENSOR_DATATYPES.join(", ")}, got ${describe(item.datatype)}`);
    }
    if (item.shape !== undefined) integerList(item.shape, `${path}.shape`);
    return;
  }
  const type = item.messagetype;
  string(type, `${path}.messagetype`);
  if (type === "strData" || type === "binData") {
    onlyKeys(item, ["messagetype"], path);
    return;
  }
  onlyKeys(item, ["messagetype", "schema"], path);
  if (item.schema === undefined) return;
  const schema = mapping(item.schema, `${path}.schema`);
  if (ARRAY_TYPES.has(type as string)) {
    onlyKeys(schema, ["names", "shape"], `${path}.schema`);
    if (schema.names !== undefined) stringList(schema.names, `${path}.schema.names`);
    if (schema.shape !== undefined) integerList(schema.shape, `${path}.schema.shape`);
  }
}

function checkDocument(doc: unknown): SeldonModelMetadata {
  const meta = mapping(doc, "metadata");
  for (const key of Object.keys(meta)) {
    if (TOP_LEVEL_KEYS.has(key)) continue;
    if (SOURCE_ERROR_KEYS.has(key) && typeof meta[key] === "string") throw new Invalid(`${key}: ${meta[key] as string}`);
    invalid("metadata", `has unexpected property "${key}" (allowed: ${[...TOP_LEVEL_KEYS].join(", ")})`);
  }
  if (meta.name !== undefined) string(meta.name, "metadata.name");
  if (meta.platform !== undefined) string(meta.platform, "metadata.platform");
  if (meta.versions !== undefined) stringList(meta.versions, "metadata.versions");
  for (const key of ["inputs", "outputs"] as const) {
    const list = meta[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) invalid(`metadata.${key}`, `must be a list, got ${describe(list)}`);
    list.forEach((item, i) => checkIO(item, `metadata.${key}[${i}]`));
  }
  if (meta.custom !== undefined) {
    for (const [k, v] of Object.entries(mapping(meta.custom, "metadata.custom"))) string(v, `metadata.custom.${k}`);
  }
  return meta as SeldonModelMetadata;
}

/**
 * Checks a metadata document against Seldon's schema (no properties beyond name, versions, platform, inputs,
 * outputs, custom). Returns the same document typed, or the first problem found.
 */
export function validateSeldonMetadata(doc: unknown): SeldonMetadataResult {
  try {
    return { ok: true, value: checkDocument(doc) };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, error: err.message };
    throw err;
  }
}

function readEnv(text: string): Record<string, unknown> | string {
  let parsed: unknown;
  try {
    // YAML is a superset of JSON, so one parser reads both forms of MODEL_METADATA.
    parsed = parseYaml(text, { logLevel: "error" });
  } catch (err) {
    return `not valid YAML or JSON (${(err as Error).message.split("\n")[0]})`;
  }
  if (!isMapping(parsed)) return `must be a YAML or JSON mapping, got ${describe(parsed)}`;
  return parsed;
}

/**
 * The metadata document Seldon serves: defaults (name, versions, platform "", inputs [], outputs [], custom {}),
 * overridden per top-level key by the model's `initMetadata()` result, then by `MODEL_METADATA` (YAML or JSON).
 * A source that is not a mapping does not throw: it makes the result fail `validateSeldonMetadata`.
 */
export function buildSeldonMetadata(opts: {
  fromModel?: unknown;
  env?: string;
  defaults: { name: string; versions: string[] };
}): unknown {
  // A Map then fromEntries: a "__proto__" key in a source stays a plain (and invalid) property.
  const doc = new Map<string, unknown>([
    ["name", opts.defaults.name],
    ["versions", [...opts.defaults.versions]],
    ["platform", ""],
    ["inputs", []],
    ["outputs", []],
    ["custom", {}],
  ]);
  const merge = (source: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(source)) doc.set(k, v);
  };
  if (opts.fromModel !== undefined && opts.fromModel !== null) {
    if (isMapping(opts.fromModel)) merge(opts.fromModel);
    else doc.set("initMetadata", `must return an object, got ${describe(opts.fromModel)}`);
  }
  if (opts.env !== undefined && opts.env.trim() !== "") {
    const env = readEnv(opts.env);
    if (typeof env === "string") doc.set("MODEL_METADATA", env);
    else merge(env);
  }
  return Object.fromEntries(doc);
}
