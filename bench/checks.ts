/**
 * Response validation for the pre-flight check: a scenario is only load-tested once its endpoint answered
 * 200 with the expected shape, so we never benchmark error responses.
 */

export interface CapturedResponse {
  status: number;
  headers: Headers;
  body: Buffer;
}

export type CheckResult = { ok: true; values: number[][]; note?: string } | { ok: false; error: string };

export type ResponseCheck = (res: CapturedResponse) => CheckResult;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fail(error: string): CheckResult {
  return { ok: false, error };
}

function snippet(body: Buffer): string {
  const text = body.subarray(0, 300).toString("utf8");
  return body.length > 300 ? `${text}...` : text;
}

function parseJson(body: Buffer): Json | undefined {
  try {
    return JSON.parse(body.toString("utf8")) as Json;
  } catch {
    return undefined;
  }
}

function flatten(value: Json): Json[] {
  return Array.isArray(value) ? value.flatMap((v) => flatten(v)) : [value];
}

/**
 * Checks rows x cols of finite numbers; a row sum far from 1 is only a note (the model may not end in softmax),
 * and not even that when `softmax` is false (logits).
 */
function asMatrix(value: Json | undefined, rows: number, cols: number, softmax = true): CheckResult {
  if (!Array.isArray(value) || value.length !== rows)
    return fail(`expected ${rows} rows, got ${JSON.stringify(value)}`);
  const out: number[][] = [];
  for (const row of value) {
    if (!Array.isArray(row) || row.length !== cols) return fail(`expected rows of ${cols}, got ${JSON.stringify(row)}`);
    if (!row.every((v) => typeof v === "number" && Number.isFinite(v)))
      return fail(`non-numeric row ${JSON.stringify(row)}`);
    out.push(row as number[]);
  }
  const offSum = softmax && out.some((row) => Math.abs(row.reduce((a, b) => a + b, 0) - 1) > 1e-3);
  return { ok: true, values: out, note: offSum ? "rows do not sum to 1" : undefined };
}

function reshape(flat: readonly number[], rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, (_, r) => flat.slice(r * cols, (r + 1) * cols));
}

function statusProblem(res: CapturedResponse): CheckResult | null {
  return res.status === 200 ? null : fail(`HTTP ${res.status}: ${snippet(res.body)}`);
}

/** KServe V1: {"predictions": [[p0,p1,p2],[p0,p1,p2]]} */
export function checkV1Predictions(rows: number, cols: number): ResponseCheck {
  return (res) => {
    const bad = statusProblem(res);
    if (bad) return bad;
    const json = parseJson(res.body);
    if (!isObject(json)) return fail(`response is not a JSON object: ${snippet(res.body)}`);
    return asMatrix(json.predictions, rows, cols);
  };
}

function findOutput(json: Json | undefined, name: string): { [key: string]: Json } | string {
  if (!isObject(json) || !Array.isArray(json.outputs)) return "response has no outputs[]";
  const output = json.outputs.find((o) => isObject(o) && o.name === name);
  if (!isObject(output)) return `no output named ${name}`;
  const shape = output.shape;
  if (!Array.isArray(shape)) return `output ${name} has no shape`;
  return output;
}

function checkShape(output: { [key: string]: Json }, rows: number, cols: number): string | null {
  const shape = output.shape as Json[];
  if (shape.length !== 2 || shape[0] !== rows || shape[1] !== cols) {
    return `expected shape [${rows},${cols}], got ${JSON.stringify(shape)}`;
  }
  if (output.datatype !== "FP32") return `expected datatype FP32, got ${JSON.stringify(output.datatype)}`;
  return null;
}

/** Open Inference Protocol V2 JSON: outputs[name].data, flat (or nested) FP32. */
export function checkV2Json(outputName: string, rows: number, cols: number, softmax = true): ResponseCheck {
  return (res) => {
    const bad = statusProblem(res);
    if (bad) return bad;
    const output = findOutput(parseJson(res.body), outputName);
    if (typeof output === "string") return fail(`${output}: ${snippet(res.body)}`);
    const shapeError = checkShape(output, rows, cols);
    if (shapeError) return fail(shapeError);
    if (output.data === undefined) return fail(`output ${outputName} has no data: ${snippet(res.body)}`);
    const flat = flatten(output.data);
    if (flat.length !== rows * cols || !flat.every((v) => typeof v === "number")) {
      return fail(`output ${outputName} data is not ${rows * cols} numbers`);
    }
    return asMatrix(reshape(flat as number[], rows, cols), rows, cols, softmax);
  };
}

/**
 * Triton binary tensor extension: JSON header of Inference-Header-Content-Length bytes, then the raw
 * little-endian tensors of every output whose parameters carry binary_data_size, in outputs[] order.
 */
export function checkV2Binary(outputName: string, rows: number, cols: number, softmax = true): ResponseCheck {
  return (res) => {
    const bad = statusProblem(res);
    if (bad) return bad;
    const headerLength = res.headers.get("inference-header-content-length");
    if (headerLength === null) {
      return fail(`no Inference-Header-Content-Length header (binary output not honoured): ${snippet(res.body)}`);
    }
    const jsonLength = Number(headerLength);
    if (!Number.isInteger(jsonLength) || jsonLength < 0 || jsonLength > res.body.length) {
      return fail(`bad Inference-Header-Content-Length ${headerLength} for a ${res.body.length}-byte body`);
    }
    const json = parseJson(res.body.subarray(0, jsonLength));
    const output = findOutput(json, outputName);
    if (typeof output === "string") return fail(`${output}: ${snippet(res.body.subarray(0, jsonLength))}`);
    const shapeError = checkShape(output, rows, cols);
    if (shapeError) return fail(shapeError);

    // Locate this output's bytes: binary outputs are concatenated in outputs[] order.
    let offset = jsonLength;
    let size = -1;
    for (const o of isObject(json) && Array.isArray(json.outputs) ? json.outputs : []) {
      const params = isObject(o) ? o.parameters : undefined;
      const bytes = isObject(params) ? params.binary_data_size : undefined;
      if (typeof bytes !== "number") continue;
      if (o === output) {
        size = bytes;
        break;
      }
      offset += bytes;
    }
    if (size < 0) return fail(`output ${outputName} has no parameters.binary_data_size (returned as JSON?)`);
    if (size !== rows * cols * 4) return fail(`binary_data_size ${size}, expected ${rows * cols * 4}`);
    if (offset + size > res.body.length)
      return fail(`body too short: need ${offset + size} bytes, got ${res.body.length}`);
    const view = new DataView(res.body.buffer, res.body.byteOffset + offset, size);
    const flat = Array.from({ length: rows * cols }, (_, i) => view.getFloat32(i * 4, true));
    return asMatrix(reshape(flat, rows, cols), rows, cols, softmax);
  };
}

/**
 * The iris transformer fixture (test/fixtures/modules/iris-transformer.ts):
 * {"predictions": ["versicolor", ...], "probabilities": [[p0,p1,p2], ...]}; the labels must be the argmax.
 */
export function checkTransformerLabels(labels: readonly string[], rows: number): ResponseCheck {
  return (res) => {
    const bad = statusProblem(res);
    if (bad) return bad;
    const json = parseJson(res.body);
    if (!isObject(json)) return fail(`response is not a JSON object: ${snippet(res.body)}`);
    const predictions = json.predictions;
    if (!Array.isArray(predictions) || predictions.length !== rows) {
      return fail(`expected ${rows} labels in predictions, got ${snippet(res.body)}`);
    }
    const matrix = asMatrix(json.probabilities, rows, labels.length);
    if (!matrix.ok) return fail(`probabilities: ${matrix.error}`);
    for (const [r, row] of matrix.values.entries()) {
      const expected = labels[row.indexOf(Math.max(...row))];
      if (predictions[r] !== expected) {
        return fail(`row ${r}: label ${JSON.stringify(predictions[r])}, expected ${expected} (argmax of ${row})`);
      }
    }
    return matrix;
  };
}

/** Largest absolute element-wise difference between two equally shaped matrices (Infinity if shapes differ). */
export function maxAbsDiff(a: number[][], b: number[][]): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let max = 0;
  for (let r = 0; r < a.length; r++) {
    if (a[r].length !== b[r].length) return Number.POSITIVE_INFINITY;
    for (let c = 0; c < a[r].length; c++) max = Math.max(max, Math.abs(a[r][c] - b[r][c]));
  }
  return max;
}
