import { InferenceError, InvalidInput } from "../../errors/index.ts";
import {
  type Datatype,
  elementBudget,
  formatShape,
  type Tensor,
  type TensorLimits,
  type TensorMetadata,
  toFlatValues,
} from "../../tensor/index.ts";
import { isPlainObject } from "../json.ts";
import { type InferRequest, markInferRequest } from "../types.ts";
import { decodeBase64, isB64Object } from "./b64.ts";
import { markNonFinite, NonFiniteNumber } from "./json.ts";
import { checkSignatureName } from "./signature.ts";

/**
 * TF Serving's `:classify` and `:regress` (`util/json_tensor.cc`, `apis/classification.proto`): a body of
 * tf.Example-like objects, mapped onto a model with one float input [N, F] (or [N]) and answered under "results".
 */
export type ExamplesMethod = "classify" | "regress";

/** A feature's values: numbers (TF's float_list / int64_list, told apart by nothing in JS) or bytes. */
export interface Feature {
  kind: "number" | "bytes" | "empty";
  values: (number | Uint8Array)[];
}

export type Example = Record<string, Feature>;

export interface ExamplesRequest {
  method: ExamplesMethod;
  /** Each example with the context's features merged in. */
  examples: Example[];
}

/** Decodes a classify/regress body; every malformed body is a 400 with TF Serving's message. */
export function parseExamplesRequest(body: unknown, method: ExamplesMethod): ExamplesRequest {
  if (!isPlainObject(body)) {
    throw new InvalidInput(`Is not object: the request body must be a JSON object with 'examples', got ${jsonType(body)}`);
  }
  checkSignatureName(body);
  let context: Example = {};
  if ("context" in body) context = toExample(body.context, "'context'");
  if (!("examples" in body)) {
    throw new InvalidInput(`When method is ${method}, key 'examples' is expected and was not found`);
  }
  const list = body.examples;
  if (!Array.isArray(list)) throw new InvalidInput("Expecting 'examples' value to be a list/array");
  if (list.length === 0) throw new InvalidInput("'examples' value is an empty array");
  const examples = list.map((raw, i) => {
    const example = toExample(raw, `examples[${i}]`);
    for (const name of Object.keys(example)) {
      if (name in context) {
        throw new InvalidInput(
          `Feature: ${name} of examples[${i}] also appears in 'context'; features in 'context' must not appear in examples`,
        );
      }
    }
    return { ...context, ...example };
  });
  return { method, examples };
}

function toExample(raw: unknown, where: string): Example {
  if (!isPlainObject(raw)) throw new InvalidInput(`Example must be JSON object but got JSON ${jsonType(raw)} (${where})`);
  const out: Example = {};
  for (const [name, content] of Object.entries(raw)) {
    const feature: Feature = { kind: "empty", values: [] };
    for (const v of Array.isArray(content) ? content : [content]) addValue(feature, name, v);
    out[name] = feature;
  }
  return out;
}

function addValue(feature: Feature, name: string, v: unknown): void {
  let kind: Feature["kind"];
  let value: number | Uint8Array;
  if (typeof v === "number") [kind, value] = ["number", v];
  else if (typeof v === "boolean") [kind, value] = ["number", v ? 1 : 0];
  else if (typeof v === "string") [kind, value] = ["bytes", new TextEncoder().encode(v)];
  else if (isB64Object(v)) [kind, value] = ["bytes", decodeBase64(v.b64)];
  else throw new InvalidInput(`Feature: ${name} has element with unexpected JSON type: ${jsonType(v)}`);
  if (feature.kind !== "empty" && feature.kind !== kind) {
    throw new InvalidInput(
      `Unexpected element type in feature: ${name} expecting type: ${feature.kind === "number" ? "float" : "bytes"}`,
    );
  }
  feature.kind = kind;
  feature.values.push(value);
}

/** What the model-settings.json of a model may say about its examples. */
export interface ExamplesOptions {
  /** Feature names, in the order of the input's columns. */
  features?: readonly string[];
  /** Class names for the columns of the classification output; "0".."C-1" otherwise. */
  classLabels?: readonly string[];
}

/** How examples become the model's one input, and which output answers. */
export interface ExamplesPlan {
  method: ExamplesMethod;
  model: string;
  input: TensorMetadata;
  /** Columns per example; undefined when the input's dimension is dynamic and no feature names fix it. */
  width?: number;
  features?: readonly string[];
  output: TensorMetadata;
  classLabels?: readonly string[];
}

const FLOAT_TYPES: ReadonlySet<Datatype> = new Set<Datatype>(["FP16", "BF16", "FP32", "FP64"]);

function describeTensors(list: readonly TensorMetadata[]): string {
  return list.length === 0 ? "none" : list.map((m) => `${m.name} (${m.datatype} ${formatShape(m.shape)})`).join(", ");
}

/**
 * Decides whether a model fits `:classify` / `:regress`, from its metadata (a 400 explaining why not otherwise):
 * - one input, FP32 or FP64, of shape [N, F] (or [N]: one value per example);
 * - classify: a float output [N, C] (a name with "prob" or "score" wins when there are several);
 *   regress: a float output [N] or [N, 1].
 */
export function planExamples(
  meta: { name: string; inputs: readonly TensorMetadata[]; outputs: readonly TensorMetadata[] },
  options: ExamplesOptions,
  method: ExamplesMethod,
): ExamplesPlan {
  const unfit = (why: string): never => {
    throw new InvalidInput(`Model ${meta.name} cannot serve :${method}: ${why}`);
  };
  if (meta.inputs.length !== 1) {
    unfit(`it needs exactly one float input [N, F], and the model's inputs are: ${describeTensors(meta.inputs)}`);
  }
  const input = meta.inputs[0];
  if (input.datatype !== "FP32" && input.datatype !== "FP64") {
    unfit(`its input ${describeTensors([input])} is not FP32 or FP64`);
  }
  if (input.shape.length !== 1 && input.shape.length !== 2) {
    unfit(`its input ${describeTensors([input])} is not [N, F] or [N]`);
  }
  let width: number | undefined = input.shape.length === 1 ? 1 : input.shape[1] >= 0 ? input.shape[1] : undefined;
  const features = options.features;
  if (features) {
    if (width !== undefined && width !== features.length) {
      unfit(`model-settings.json 'features' names ${features.length} features, but input '${input.name}' has ${width}`);
    }
    width = features.length;
  }
  const floats = meta.outputs.filter((o) => FLOAT_TYPES.has(o.datatype));
  let output: TensorMetadata | undefined;
  if (method === "classify") {
    const candidates = floats.filter((o) => o.shape.length === 2);
    output = candidates.find((o) => /prob|score/i.test(o.name)) ?? candidates[0];
    if (!output) {
      unfit(`it needs a float output [N, C] of class scores, and the model's outputs are: ${describeTensors(meta.outputs)}`);
    }
    const classes = output!.shape[1];
    if (options.classLabels && classes >= 0 && classes !== options.classLabels.length) {
      unfit(`model-settings.json 'classLabels' has ${options.classLabels.length} labels, but output '${output!.name}' has ${classes} classes`);
    }
  } else {
    output = floats.find((o) => o.shape.length === 1 || (o.shape.length === 2 && o.shape[1] === 1));
    output ??= floats.find((o) => o.shape.length === 2 && o.shape[1] === -1);
    if (!output) {
      unfit(`it needs a float output [N] or [N, 1], and the model's outputs are: ${describeTensors(meta.outputs)}`);
    }
  }
  return { method, model: meta.name, input, width, features, output: output!, classLabels: options.classLabels };
}

/**
 * Examples -> the model's input tensor [N, F] (or [N]). With `features`, column j is feature features[j], a single
 * number; without, each example carries one feature named like the input, holding its F numbers.
 */
export function examplesToInferRequest(
  request: ExamplesRequest,
  plan: ExamplesPlan,
  limits?: Partial<TensorLimits>,
): InferRequest {
  const n = request.examples.length;
  let width = plan.width;
  const rows = request.examples.map((example, i) => {
    const row = plan.features ? namedColumns(example, i, plan.features) : inputColumns(example, i, plan.input.name);
    width ??= row.length;
    if (row.length !== width) {
      throw new InvalidInput(
        `Feature: ${plan.input.name} of examples[${i}] has ${row.length} values, expecting ${width} (input '${plan.input.name}' ${formatShape(plan.input.shape)})`,
      );
    }
    return row;
  });
  const shape = plan.input.shape.length === 1 ? [n] : [n, width!];
  elementBudget(limits).shape([n, width!], `Input '${plan.input.name}'`);
  const data = plan.input.datatype === "FP64" ? new Float64Array(n * width!) : new Float32Array(n * width!);
  rows.forEach((row, i) => data.set(row, i * width!));
  return markInferRequest({
    inputs: [{ name: plan.input.name, datatype: plan.input.datatype, shape, data }],
    outputs: [{ name: plan.output.name }],
  });
}

function numbers(feature: Feature, name: string, i: number): number[] {
  if (feature.kind === "bytes") {
    throw new InvalidInput(`Feature: ${name} of examples[${i}] holds bytes; the model's input is numeric`);
  }
  return feature.values as number[];
}

function namedColumns(example: Example, i: number, features: readonly string[]): number[] {
  for (const name of Object.keys(example)) {
    if (!features.includes(name)) {
      throw new InvalidInput(
        `examples[${i}] has feature '${name}', which is not one of the model's features (${features.join(", ")})`,
      );
    }
  }
  return features.map((name) => {
    const feature = example[name];
    if (!feature) throw new InvalidInput(`examples[${i}] is missing feature '${name}' (features: ${features.join(", ")})`);
    const values = numbers(feature, name, i);
    if (values.length !== 1) {
      throw new InvalidInput(`Feature: ${name} of examples[${i}] must hold one number, got ${values.length} values`);
    }
    return values[0];
  });
}

function inputColumns(example: Example, i: number, input: string): number[] {
  const names = Object.keys(example);
  const feature = example[input];
  if (!feature || names.length !== 1) {
    throw new InvalidInput(
      `examples[${i}] must hold exactly one feature, '${input}', with the input's values (got ${names.map((n) => `'${n}'`).join(", ") || "none"}); ` +
        `to send one feature per column, list their names in model-settings.json 'features'`,
    );
  }
  return numbers(feature, input, i);
}

/** The answering output, checked against the number of examples (a model that answers otherwise is a 500). */
function answer(outputs: readonly Tensor[], plan: ExamplesPlan, n: number): Tensor {
  const t = outputs.find((o) => o.name === plan.output.name);
  if (!t) throw new InferenceError(`Model ${plan.model} did not return output '${plan.output.name}'`);
  if (t.shape[0] !== n) {
    throw new InferenceError(
      `Model ${plan.model} returned output '${t.name}' with shape ${formatShape(t.shape)} for ${n} examples`,
    );
  }
  return t;
}

function scalar(v: number, flag: { nonFinite: boolean }): number | NonFiniteNumber {
  if (Number.isFinite(v)) return v;
  flag.nonFinite = true;
  return new NonFiniteNumber(v);
}

/** `{"results": [[[label, score], …] per example]}` from the class-score output [N, C]. */
export function classifyResults(outputs: readonly Tensor[], plan: ExamplesPlan, n: number): Record<string, unknown> {
  const t = answer(outputs, plan, n);
  const classes = t.shape[1];
  if (t.shape.length !== 2) {
    throw new InferenceError(`Model ${plan.model} returned output '${t.name}' with shape ${formatShape(t.shape)}, not [N, C]`);
  }
  const labels = plan.classLabels ?? Array.from({ length: classes }, (_, c) => String(c));
  if (labels.length !== classes) {
    throw new InvalidInput(
      `model-settings.json 'classLabels' has ${labels.length} labels, but output '${t.name}' has ${classes} classes`,
    );
  }
  const flat = toFlatValues(t.data, t.datatype) as number[];
  const flag = { nonFinite: false };
  const results = Array.from({ length: n }, (_, i) =>
    labels.map((label, c) => [label, scalar(flat[i * classes + c], flag)]),
  );
  const body = { results };
  return flag.nonFinite ? markNonFinite(body) : body;
}

/** `{"results": [value, …]}` from the output [N] or [N, 1]. */
export function regressResults(outputs: readonly Tensor[], plan: ExamplesPlan, n: number): Record<string, unknown> {
  const t = answer(outputs, plan, n);
  if (!(t.shape.length === 1 || (t.shape.length === 2 && t.shape[1] === 1))) {
    throw new InferenceError(
      `Model ${plan.model} returned output '${t.name}' with shape ${formatShape(t.shape)}, not [N] or [N, 1]`,
    );
  }
  const flat = toFlatValues(t.data, t.datatype) as number[];
  const flag = { nonFinite: false };
  const body = { results: flat.map((v) => scalar(v, flag)) };
  return flag.nonFinite ? markNonFinite(body) : body;
}

function jsonType(v: unknown): string {
  if (v === null) return "Null";
  if (Array.isArray(v)) return "Array";
  if (typeof v === "object") return "Object";
  if (typeof v === "boolean") return v ? "True" : "False";
  return typeof v === "number" ? "Number" : typeof v === "string" ? "String" : typeof v;
}

/** One `:classify` / `:regress` call: the V2 request the examples became, and how to read the model's answer. */
export interface ExamplesCall {
  plan: ExamplesPlan;
  /** How many examples were sent (rows expected back). */
  count: number;
  request: InferRequest;
}

/**
 * Decodes a parsed classify/regress body into the model's V2 request, given the model's metadata and its
 * model-settings.json options (a 400 when the model does not fit, see `planExamples`).
 */
export function examplesCall(
  parsed: ExamplesRequest,
  meta: { name: string; inputs: readonly TensorMetadata[]; outputs: readonly TensorMetadata[] },
  options: ExamplesOptions,
  limits?: Partial<TensorLimits>,
): ExamplesCall {
  const plan = planExamples(meta, options, parsed.method);
  return { plan, count: parsed.examples.length, request: examplesToInferRequest(parsed, plan, limits) };
}

/** The model's outputs as TF Serving's `{"results": …}` for the call's method. */
export function examplesResults(call: ExamplesCall, outputs: readonly Tensor[]): Record<string, unknown> {
  return call.plan.method === "classify"
    ? classifyResults(outputs, call.plan, call.count)
    : regressResults(outputs, call.plan, call.count);
}
