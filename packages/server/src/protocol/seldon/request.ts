/**
 * Seldon Core v1 REST requests: where the JSON comes from (Seldon's `flask_utils.get_request`) and whether it is
 * a well-formed SeldonMessage, Feedback or message list. Every problem is a 400 `MICROSERVICE_BAD_DATA`.
 */
import { Buffer } from "node:buffer";
import { ElementBudget, type TensorLimits } from "../../tensor/index.ts";
import { chargeSeldon, SeldonError } from "./errors.ts";
import { metricTypeOf } from "./metrics.ts";
import { parseHeaderParams, parseMultipart } from "./multipart.ts";
import { markTfTensorChecked, readTfTensor } from "./tftensor.ts";
import type { DefaultData, SeldonFeedback, SeldonMessage, SeldonMeta } from "./types.ts";

export interface SeldonHttpRequest {
  method: string;
  contentType?: string;
  body: Uint8Array;
  query: Record<string, string | string[] | undefined>;
}

const lenientUtf8 = new TextDecoder("utf-8");
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function parseJsonText(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SeldonError(`Invalid JSON in ${where}: ${(err as Error).message}`);
  }
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Seldon's multipart rule: form fields are JSON, except `strData` which stays text; a `binData` file becomes
 * base64; other files are UTF-8 text. As with Flask's `form.get`, the first part of a name wins, and files
 * override fields of the same name.
 */
function decodeMultipart(body: Uint8Array, contentType: string): Record<string, unknown> {
  const fields = new Map<string, unknown>();
  const files = new Map<string, string>();
  for (const part of parseMultipart(body, contentType)) {
    if (part.filename === undefined) {
      if (fields.has(part.name)) continue;
      const text = lenientUtf8.decode(part.data);
      fields.set(part.name, part.name === "strData" ? text : parseJsonText(text, `form field "${part.name}"`));
    } else {
      if (files.has(part.name)) continue;
      if (part.name === "binData") {
        files.set(part.name, Buffer.from(part.data.buffer, part.data.byteOffset, part.data.byteLength).toString("base64"));
        continue;
      }
      try {
        files.set(part.name, strictUtf8.decode(part.data));
      } catch {
        throw new SeldonError(`File "${part.name}" is not UTF-8 text; send binary content as a file named "binData".`);
      }
    }
  }
  for (const [name, text] of files) fields.set(name, text);
  // fromEntries defines own properties, so a field named "__proto__" cannot touch the prototype.
  return Object.fromEntries(fields);
}

/**
 * The request's JSON, found the way Seldon's Python wrapper finds it: (1) a multipart/form-data body, (2) a
 * `json` field in an `application/x-www-form-urlencoded` body or in the query string, (3) the body as JSON.
 */
export function decodeSeldonRequest(input: SeldonHttpRequest): unknown {
  const mediaType = input.contentType === undefined ? "" : parseHeaderParams(input.contentType).value;
  if (mediaType === "multipart/form-data") return decodeMultipart(input.body, input.contentType!);

  let formUrlEncoded = false;
  if (mediaType === "application/x-www-form-urlencoded") {
    formUrlEncoded = true;
    const field = new URLSearchParams(lenientUtf8.decode(input.body)).get("json");
    if (field) return nonNull(parseJsonText(field, 'form field "json"'));
  }
  const fromQuery = firstValue(input.query.json);
  if (fromQuery) return nonNull(parseJsonText(fromQuery, 'query parameter "json"'));

  const text = lenientUtf8.decode(input.body);
  if (text.trim() === "") throw new SeldonError("Can't find JSON in data");
  if (formUrlEncoded) {
    // `curl -d '{…}'` labels a JSON body as a form: accept it when it parses, else say what was expected.
    try {
      return nonNull(JSON.parse(text));
    } catch {
      throw new SeldonError("Can't find JSON in data: a form-encoded request needs a json= field");
    }
  }
  return nonNull(parseJsonText(text, "request body"));
}

function nonNull(value: unknown): unknown {
  if (value === null) throw new SeldonError("Invalid Data Format - empty json");
  return value;
}

// ---- validation -------------------------------------------------------------------------------------------

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

function fail(path: string, problem: string): never {
  throw new SeldonError(`Invalid request data type: ${path} ${problem}`);
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

function checkRecord(value: unknown, path: string): Record<string, unknown> {
  if (!isRecord(value)) fail(path, `must be an object, got ${describe(value)}`);
  return value;
}

function checkStringArray(value: unknown, path: string): void {
  if (!Array.isArray(value)) fail(path, `must be an array of strings, got ${describe(value)}`);
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== "string") fail(`${path}[${i}]`, `must be a string, got ${describe(value[i])}`);
  }
}

function checkStringMap(value: unknown, path: string): void {
  const map = checkRecord(value, path);
  for (const [k, v] of Object.entries(map)) {
    if (typeof v !== "string") fail(`${path}.${k}`, `must be a string, got ${describe(v)}`);
  }
}

// Standard alphabet with padding, as Python's base64.b64decode expects; line breaks (as `base64` wraps) are allowed.
// A plain character class (no repeated group) keeps the check linear on multi-megabyte payloads.
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function isBase64(text: string): boolean {
  const compact = /\s/.test(text) ? text.replace(/\s+/g, "") : text;
  return compact.length % 4 === 0 && BASE64.test(compact);
}

function checkTensor(value: unknown, path: string, budget: ElementBudget): void {
  const tensor = checkRecord(value, path);
  const { shape, values } = tensor;
  if (shape === undefined) fail(`${path}.shape`, "is required");
  if (values === undefined) fail(`${path}.values`, "is required");
  if (!Array.isArray(shape)) fail(`${path}.shape`, `must be an array of non-negative integers, got ${describe(shape)}`);
  let size = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0) {
      fail(`${path}.shape[${i}]`, `must be a non-negative integer, got ${JSON.stringify(d) ?? describe(d)}`);
    }
    size *= d;
  }
  // Before values are compared with the shape: [1000000000, 0] needs no values but would nest a billion rows.
  chargeSeldon(() => budget.shape(shape, `${path}.shape`));
  if (!Array.isArray(values)) fail(`${path}.values`, `must be an array of numbers, got ${describe(values)}`);
  for (let i = 0; i < values.length; i++) {
    if (typeof values[i] !== "number") fail(`${path}.values[${i}]`, `must be a number, got ${describe(values[i])}`);
  }
  if (size !== values.length) {
    fail(path, `has shape [${shape.join(", ")}], which needs ${size} values, but has ${values.length}`);
  }
}

/** The scalars in a nested ndarray (counted without recursion: the nesting may be deeper than the stack). */
function countLeaves(value: unknown[]): number {
  let count = 0;
  const stack: unknown[][] = [value];
  while (stack.length > 0) {
    for (const v of stack.pop()!) {
      if (Array.isArray(v)) stack.push(v);
      else count++;
    }
  }
  return count;
}

/** A TensorProto: well-formed fields, as many values as its shape (or one, repeated), within the budget. */
function checkTfTensor(value: unknown, path: string, budget: ElementBudget): void {
  const tensor = checkRecord(value, path);
  const { shape, values, fromContent } = readTfTensor(tensor, path);
  const size = chargeSeldon(() => budget.shape(shape, path));
  if (fromContent && values.length !== size) {
    fail(`${path}.tensor_content`, `holds ${values.length} value${values.length === 1 ? "" : "s"}, but shape [${shape.join(", ")}] needs ${size}`);
  }
  if (values.length !== size && !(values.length === 1 && size > 1)) {
    fail(path, `has shape [${shape.join(", ")}], which needs ${size} values (or one, repeated), but has ${values.length}`);
  }
  markTfTensorChecked(tensor, budget.limit);
}

function checkData(value: unknown, path: string, budget: ElementBudget): DefaultData {
  const data = checkRecord(value, path);
  if (data.names !== undefined) checkStringArray(data.names, `${path}.names`);
  const kinds = (["tensor", "ndarray", "tftensor"] as const).filter((k) => data[k] !== undefined);
  if (kinds.length > 1) fail(path, `must hold only one of tensor, ndarray, tftensor, got ${kinds.join(" and ")}`);
  if (data.tensor !== undefined) checkTensor(data.tensor, `${path}.tensor`, budget);
  if (data.ndarray !== undefined) {
    if (!Array.isArray(data.ndarray)) fail(`${path}.ndarray`, `must be an array, got ${describe(data.ndarray)}`);
    const ndarray = data.ndarray;
    chargeSeldon(() => budget.elements(countLeaves(ndarray), `${path}.ndarray`));
  }
  if (data.tftensor !== undefined) checkTfTensor(data.tftensor, `${path}.tftensor`, budget);
  return data as DefaultData;
}

function checkMeta(value: unknown, path: string): SeldonMeta {
  const meta = checkRecord(value, path);
  if (meta.puid !== undefined && typeof meta.puid !== "string") fail(`${path}.puid`, `must be a string, got ${describe(meta.puid)}`);
  if (meta.tags !== undefined) checkRecord(meta.tags, `${path}.tags`);
  if (meta.routing !== undefined) {
    for (const [k, v] of Object.entries(checkRecord(meta.routing, `${path}.routing`))) {
      if (typeof v !== "number" || !Number.isInteger(v)) fail(`${path}.routing.${k}`, `must be an integer, got ${JSON.stringify(v) ?? describe(v)}`);
    }
  }
  if (meta.requestPath !== undefined) checkStringMap(meta.requestPath, `${path}.requestPath`);
  if (meta.metrics !== undefined) {
    const metrics = meta.metrics;
    if (!Array.isArray(metrics)) fail(`${path}.metrics`, `must be an array, got ${describe(metrics)}`);
    metrics.forEach((m, i) => {
      const at = `${path}.metrics[${i}]`;
      const metric = checkRecord(m, at);
      if (typeof metric.key !== "string") fail(`${at}.key`, `must be a string, got ${describe(metric.key)}`);
      const type = metricTypeOf(metric.type);
      if (!type) fail(`${at}.type`, `must be COUNTER, GAUGE or TIMER, got ${JSON.stringify(metric.type) ?? describe(metric.type)}`);
      // Normal form from here on: a missing type is COUNTER and a missing value 0 (proto3 JSON leaves both out).
      if (metric.type !== type) metric.type = type;
      if (metric.value === undefined || metric.value === null) metric.value = 0;
      if (typeof metric.value !== "number") fail(`${at}.value`, `must be a number, got ${describe(metric.value)}`);
      if (metric.tags !== undefined) checkStringMap(metric.tags, `${at}.tags`);
    });
  }
  return meta as SeldonMeta;
}

const PAYLOADS = ["data", "binData", "strData", "jsonData"] as const;

function checkMessage(value: unknown, path: string, budget: ElementBudget): SeldonMessage {
  if (!isRecord(value)) fail(path === "" ? "the message" : path, `must be a JSON object, got ${describe(value)}`);
  const present = PAYLOADS.filter((k) => value[k] !== undefined);
  if (present.length > 1) {
    fail(path === "" ? "the message" : path, `must carry only one of data, binData, strData, jsonData, got ${present.join(" and ")}`);
  }
  if (value.status !== undefined) checkRecord(value.status, join(path, "status"));
  if (value.meta !== undefined) checkMeta(value.meta, join(path, "meta"));
  if (value.data !== undefined) checkData(value.data, join(path, "data"), budget);
  if (value.strData !== undefined && typeof value.strData !== "string") {
    fail(join(path, "strData"), `must be a string, got ${describe(value.strData)}`);
  }
  if (value.binData !== undefined) {
    if (typeof value.binData !== "string") fail(join(path, "binData"), `must be a base64 string, got ${describe(value.binData)}`);
    if (!isBase64(value.binData)) fail(join(path, "binData"), "is not valid base64");
  }
  return value as SeldonMessage;
}

/**
 * Checks that a decoded request is a SeldonMessage: an object with at most one of data / binData / strData /
 * jsonData (none means empty data), a well-formed `data` (one of tensor, ndarray, tftensor) and `meta`.
 * Returns the same object, typed (its meta.metrics in normal form: a type and a value on each, as proto3 JSON's
 * omitted defaults mean); throws a 400 `SeldonError` naming the offending field. Its tensor may declare at
 * most `limits.maxTensorElements` elements (default DEFAULT_MAX_TENSOR_ELEMENTS), a one-value tftensor included.
 */
export function parseSeldonMessage(value: unknown, limits?: Partial<TensorLimits>): SeldonMessage {
  return checkMessage(value, "", new ElementBudget(limits));
}

/** Checks a `/send-feedback` body: `request`, `response` and `truth` are messages and `reward` a number, when present. */
export function parseFeedback(value: unknown, limits?: Partial<TensorLimits>): SeldonFeedback {
  if (!isRecord(value)) fail("the feedback", `must be a JSON object, got ${describe(value)}`);
  const budget = new ElementBudget(limits);
  for (const key of ["request", "response", "truth"] as const) {
    if (value[key] !== undefined) checkMessage(value[key], key, budget);
  }
  if (value.reward !== undefined && (typeof value.reward !== "number" || !Number.isFinite(value.reward))) {
    fail("reward", `must be a number, got ${describe(value.reward)}`);
  }
  return value as SeldonFeedback;
}

/** Checks an `/aggregate` body: `{"seldonMessages": [...]}` or a bare list, with at least one message. */
export function parseMessageList(value: unknown, limits?: Partial<TensorLimits>): SeldonMessage[] {
  let list: unknown;
  if (Array.isArray(value)) list = value;
  else if (isRecord(value) && value.seldonMessages !== undefined) list = value.seldonMessages;
  else fail("the aggregate request", 'must be {"seldonMessages": [...]} or a list of messages');
  if (!Array.isArray(list)) fail("seldonMessages", `must be an array, got ${describe(list)}`);
  if (list.length === 0) fail("seldonMessages", "is empty; aggregate needs at least one message");
  // One budget for the whole list: a thousand one-value tftensors may not each claim the limit.
  const budget = new ElementBudget(limits);
  return list.map((m, i) => checkMessage(m, `seldonMessages[${i}]`, budget));
}
