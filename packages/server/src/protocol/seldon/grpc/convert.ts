/**
 * Seldon's protobuf messages (as @grpc/proto-loader hands them over with SELDON_PROTO_OPTIONS) to and from the
 * REST-JSON shapes the Seldon component works with — which is what proto3's JSON mapping gives: Value/ListValue/
 * Struct as plain JSON, bytes as base64, enums by name, int64 as strings. Pure: no I/O.
 */
import { isPlainObject } from "../../json.ts";
import { SeldonError } from "../errors.ts";
import type { DefaultData, SeldonFeedback, SeldonMessage, SeldonMeta, SeldonMetric, SeldonStatus, TfTensor } from "../types.ts";

// ---- the protobuf side (loose: proto-loader objects in, plain objects out to protobufjs' fromObject) ----

export interface ProtoValue {
  nullValue?: string | number;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: ProtoStruct;
  listValue?: ProtoListValue;
  kind?: string;
}
export interface ProtoStruct {
  fields?: Record<string, ProtoValue>;
}
export interface ProtoListValue {
  values?: ProtoValue[];
}
export interface ProtoAny {
  type_url?: string;
  value?: Uint8Array | string;
}
export interface ProtoTensorProto {
  dtype?: string | number;
  tensor_shape?: { dim?: { size?: string | number; name?: string }[]; unknown_rank?: boolean };
  version_number?: number;
  tensor_content?: Uint8Array | string;
  float_val?: number[];
  double_val?: number[];
  int_val?: number[];
  string_val?: (Uint8Array | string)[];
  int64_val?: (string | number)[];
  bool_val?: boolean[];
}
export interface ProtoDefaultData {
  names?: string[];
  tensor?: { shape?: number[]; values?: number[] };
  ndarray?: ProtoListValue;
  tftensor?: ProtoTensorProto;
  data_oneof?: string;
}
export interface ProtoMetric {
  key?: string;
  type?: string | number;
  value?: number;
  tags?: Record<string, string>;
}
export interface ProtoMeta {
  puid?: string;
  tags?: Record<string, ProtoValue>;
  routing?: Record<string, number>;
  requestPath?: Record<string, string>;
  metrics?: ProtoMetric[];
}
export interface ProtoStatus {
  code?: number;
  info?: string;
  reason?: string;
  status?: string | number;
}
export interface ProtoSeldonMessage {
  status?: ProtoStatus;
  meta?: ProtoMeta;
  data?: ProtoDefaultData;
  binData?: Uint8Array | string;
  strData?: string;
  jsonData?: ProtoValue;
  customData?: ProtoAny;
  data_oneof?: string;
}
export interface ProtoSeldonMessageList {
  seldonMessages?: ProtoSeldonMessage[];
}
export interface ProtoFeedback {
  request?: ProtoSeldonMessage;
  response?: ProtoSeldonMessage;
  reward?: number;
  truth?: ProtoSeldonMessage;
}

/** A message's `customData` (google.protobuf.Any) in REST-JSON form: the type URL and base64 bytes. */
export interface CustomData {
  type_url: string;
  value: string;
}

// ---- google.protobuf.Value <-> JSON ----

const isRecord = isPlainObject;

/**
 * True when `x` is already what JSON.parse(JSON.stringify(x)) would give (plain objects and arrays, finite
 * numbers, strings, booleans, null): then the answer is encoded as it is, without a JSON round trip.
 */
function isJsonData(x: unknown): boolean {
  if (x === null || typeof x === "string" || typeof x === "boolean") return true;
  if (typeof x === "number") return Number.isFinite(x) && !Object.is(x, -0);
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) if (!isJsonData(x[i])) return false;
    return true;
  }
  if (typeof x !== "object") return false;
  const proto = Object.getPrototypeOf(x);
  if ((proto !== Object.prototype && proto !== null) || typeof (x as { toJSON?: unknown }).toJSON === "function") return false;
  for (const key in x) if (!isJsonData((x as Record<string, unknown>)[key])) return false;
  return true;
}
const has = (o: object, k: string) => (o as Record<string, unknown>)[k] !== undefined && (o as Record<string, unknown>)[k] !== null;

/** A google.protobuf.Value as plain JSON (an unset Value is null, as proto3 JSON has it). */
export function valueToJson(v: ProtoValue | undefined | null): unknown {
  if (!v) return null;
  if (has(v, "numberValue")) return v.numberValue;
  if (has(v, "stringValue")) return v.stringValue;
  if (has(v, "boolValue")) return v.boolValue;
  if (has(v, "structValue")) return structToJson(v.structValue);
  if (has(v, "listValue")) return listToJson(v.listValue);
  return null;
}

export function structToJson(s: ProtoStruct | undefined | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = valueToJson(v);
  return out;
}

export function listToJson(l: ProtoListValue | undefined | null): unknown[] {
  return (l?.values ?? []).map(valueToJson);
}

/** Plain JSON as a google.protobuf.Value (bigints become numbers; anything else not JSON becomes null). */
export function jsonToValue(x: unknown): ProtoValue {
  if (x === null || x === undefined) return { nullValue: "NULL_VALUE" };
  if (typeof x === "number") return Number.isFinite(x) ? { numberValue: x } : { nullValue: "NULL_VALUE" };
  if (typeof x === "bigint") return { numberValue: Number(x) };
  if (typeof x === "string") return { stringValue: x };
  if (typeof x === "boolean") return { boolValue: x };
  if (Array.isArray(x)) return { listValue: jsonToList(x) };
  if (isRecord(x)) return { structValue: jsonToStruct(x) };
  return { nullValue: "NULL_VALUE" };
}

export function jsonToList(x: unknown[]): ProtoListValue {
  return { values: x.map(jsonToValue) };
}

export function jsonToStruct(x: Record<string, unknown>): ProtoStruct {
  const fields: Record<string, ProtoValue> = {};
  for (const [k, v] of Object.entries(x)) if (v !== undefined) fields[k] = jsonToValue(v);
  return { fields };
}

// ---- small helpers ----

/** The shortest decimal that is the same float32: a proto `float` 0.1 reads back as 0.1, not 0.10000000149. */
export function float32ToNumber(v: number): number {
  if (!Number.isFinite(v) || Number.isInteger(v)) return v;
  const f = Math.fround(v);
  for (let p = 1; p <= 9; p++) {
    const candidate = Number(f.toPrecision(p));
    if (Math.fround(candidate) === f) return candidate;
  }
  return f;
}

const toBase64 = (b: Uint8Array | string | undefined): string =>
  b === undefined ? "" : typeof b === "string" ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");

const fromBase64 = (s: unknown, path: string): Buffer => {
  if (typeof s !== "string") throw new SeldonError(`${path} must be a base64 string, got ${typeof s}`, 500, "MICROSERVICE_INTERNAL_ERROR");
  return Buffer.from(s, "base64");
};

const nonEmpty = <T extends object>(o: T | undefined): T | undefined => (o && Object.keys(o).length > 0 ? o : undefined);

// ---- proto -> REST JSON (requests coming in) ----

function decodeTfTensor(t: ProtoTensorProto): TfTensor {
  const out: TfTensor = { dtype: String(t.dtype ?? "DT_INVALID") };
  if (t.tensor_shape) {
    out.tensor_shape = { dim: (t.tensor_shape.dim ?? []).map((d) => ({ size: d.size ?? "0", ...(d.name ? { name: d.name } : {}) })) };
  }
  if (t.float_val?.length) out.float_val = t.float_val.map(float32ToNumber);
  if (t.double_val?.length) out.double_val = t.double_val;
  if (t.int_val?.length) out.int_val = t.int_val;
  if (t.int64_val?.length) out.int64_val = t.int64_val.map(String);
  if (t.bool_val?.length) out.bool_val = t.bool_val;
  if (t.string_val?.length) out.string_val = t.string_val.map(toBase64);
  const rest = out as TfTensor & { tensor_content?: string; version_number?: number };
  if (t.tensor_content !== undefined && toBase64(t.tensor_content) !== "") rest.tensor_content = toBase64(t.tensor_content);
  if (t.version_number) rest.version_number = t.version_number;
  return out;
}

function decodeData(d: ProtoDefaultData): DefaultData {
  // names is always there, as in Seldon's REST answers (proto cannot tell [] from absent).
  const out: DefaultData = { names: [...(d.names ?? [])] };
  if (d.tensor) out.tensor = { shape: [...(d.tensor.shape ?? [])], values: [...(d.tensor.values ?? [])] };
  else if (d.ndarray) out.ndarray = listToJson(d.ndarray);
  else if (d.tftensor) out.tftensor = decodeTfTensor(d.tftensor);
  return out;
}

function decodeMetric(m: ProtoMetric): SeldonMetric {
  const out: SeldonMetric = { key: m.key ?? "", type: String(m.type ?? "COUNTER") as SeldonMetric["type"], value: float32ToNumber(m.value ?? 0) };
  if (nonEmpty(m.tags)) out.tags = { ...m.tags };
  return out;
}

function decodeMeta(m: ProtoMeta): SeldonMeta {
  const out: SeldonMeta = {};
  if (m.puid) out.puid = m.puid;
  if (nonEmpty(m.tags)) out.tags = Object.fromEntries(Object.entries(m.tags!).map(([k, v]) => [k, valueToJson(v)]));
  if (nonEmpty(m.routing)) out.routing = { ...m.routing };
  if (nonEmpty(m.requestPath)) out.requestPath = { ...m.requestPath };
  if (m.metrics?.length) out.metrics = m.metrics.map(decodeMetric);
  return out;
}

function decodeStatus(s: ProtoStatus): SeldonStatus {
  const out: SeldonStatus = {};
  if (s.code !== undefined) out.code = s.code;
  if (s.info) out.info = s.info;
  if (s.reason) out.reason = s.reason;
  if (s.status !== undefined) out.status = s.status === 1 || s.status === "FAILURE" ? "FAILURE" : "SUCCESS";
  return out;
}

/** A received seldon.protos.SeldonMessage in Seldon's REST-JSON form. */
export function decodeSeldonMessage(m: ProtoSeldonMessage | undefined | null): SeldonMessage {
  const out: SeldonMessage & { customData?: CustomData } = {};
  if (!m) return out;
  if (m.status) out.status = decodeStatus(m.status);
  if (m.meta) out.meta = decodeMeta(m.meta);
  if (m.data) out.data = decodeData(m.data);
  else if (m.binData !== undefined) out.binData = toBase64(m.binData);
  else if (m.strData !== undefined) out.strData = m.strData;
  else if (m.jsonData !== undefined) out.jsonData = valueToJson(m.jsonData);
  else if (m.customData !== undefined) out.customData = { type_url: m.customData.type_url ?? "", value: toBase64(m.customData.value) };
  return out;
}

export function decodeSeldonMessageList(l: ProtoSeldonMessageList | undefined | null): { seldonMessages: SeldonMessage[] } {
  return { seldonMessages: (l?.seldonMessages ?? []).map(decodeSeldonMessage) };
}

export function decodeFeedback(f: ProtoFeedback | undefined | null): SeldonFeedback {
  const out: SeldonFeedback = {};
  if (!f) return out;
  if (f.request) out.request = decodeSeldonMessage(f.request);
  if (f.response) out.response = decodeSeldonMessage(f.response);
  if (f.reward !== undefined) out.reward = float32ToNumber(f.reward);
  if (f.truth) out.truth = decodeSeldonMessage(f.truth);
  return out;
}

// ---- REST JSON -> proto (answers going out) ----

/** `tensorShape` -> `tensor_shape`: proto3 JSON's lowerCamelCase field names as the .proto spells them. */
const snakeCase = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** An object's fields under their .proto names; a field spelled both ways keeps the .proto spelling's value. */
function protoFieldNames(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const name = snakeCase(k);
    if (name === k || !Object.hasOwn(o, name)) out[name] = v;
  }
  return out;
}

function encodeTfTensor(tensor: Record<string, unknown>): ProtoTensorProto {
  // Answers spell TensorProto's fields as MessageToJson does (tensorShape, floatVal); protobufjs wants the .proto's.
  const t = protoFieldNames(tensor);
  if (isRecord(t.tensor_shape)) t.tensor_shape = protoFieldNames(t.tensor_shape);
  const out: ProtoTensorProto = { ...(t as ProtoTensorProto) };
  if (Array.isArray(t.string_val)) out.string_val = t.string_val.map((s, i) => fromBase64(s, `data.tftensor.string_val[${i}]`));
  if (t.tensor_content !== undefined) out.tensor_content = fromBase64(t.tensor_content, "data.tftensor.tensor_content");
  return out;
}

function encodeData(d: Record<string, unknown>): ProtoDefaultData {
  const out: ProtoDefaultData = {};
  if (Array.isArray(d.names)) out.names = d.names.map(String);
  if (isRecord(d.tensor)) {
    const shape = Array.isArray(d.tensor.shape) ? d.tensor.shape.map(Number) : [];
    const values = Array.isArray(d.tensor.values) ? d.tensor.values.map(Number) : [];
    out.tensor = { shape, values };
  } else if (Array.isArray(d.ndarray)) out.ndarray = jsonToList(d.ndarray);
  else if (isRecord(d.tftensor)) out.tftensor = encodeTfTensor(d.tftensor);
  return out;
}

function encodeMeta(m: Record<string, unknown>): ProtoMeta {
  const out: ProtoMeta = {};
  if (m.puid !== undefined && m.puid !== null) out.puid = String(m.puid);
  if (isRecord(m.tags)) out.tags = Object.fromEntries(Object.entries(m.tags).map(([k, v]) => [k, jsonToValue(v)]));
  if (isRecord(m.routing)) out.routing = Object.fromEntries(Object.entries(m.routing).map(([k, v]) => [k, Math.trunc(Number(v))]));
  if (isRecord(m.requestPath)) out.requestPath = Object.fromEntries(Object.entries(m.requestPath).map(([k, v]) => [k, String(v)]));
  if (Array.isArray(m.metrics)) {
    out.metrics = m.metrics.filter(isRecord).map((x) => ({
      key: String(x.key ?? ""),
      type: String(x.type ?? "COUNTER"),
      value: Number(x.value ?? 0),
      ...(isRecord(x.tags) ? { tags: Object.fromEntries(Object.entries(x.tags).map(([k, v]) => [k, String(v)])) } : {}),
    }));
  }
  return out;
}

function encodeStatus(s: Record<string, unknown>): ProtoStatus {
  const out: ProtoStatus = {};
  if (typeof s.code === "number") out.code = Math.trunc(s.code);
  if (s.info !== undefined && s.info !== null) out.info = typeof s.info === "string" ? s.info : JSON.stringify(s.info);
  if (s.reason !== undefined && s.reason !== null) out.reason = String(s.reason);
  if (s.status !== undefined) out.status = s.status === 1 || s.status === "FAILURE" ? "FAILURE" : "SUCCESS";
  return out;
}

const PROTO_MESSAGE = Symbol.for("tserve.seldon.protoMessage");

/**
 * Marks an answer as a seldon.protos.SeldonMessage already (what Seldon's deprecated `*_grpc` hooks return), so that
 * encodeSeldonMessage sends it unchanged. A frozen object is copied first.
 */
export function asProtoMessage<T extends object>(message: T): T {
  const target = Object.isExtensible(message) ? message : { ...message };
  Object.defineProperty(target, PROTO_MESSAGE, { value: true, enumerable: false, configurable: true });
  return target;
}

function isProtoMessage(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[PROTO_MESSAGE] === true;
}

/**
 * A REST-JSON SeldonMessage as a seldon.protos.SeldonMessage, reading exactly as the REST routes' JSON would,
 * whatever a component returned (NDArrays, typed arrays, toJSON). One marked by asProtoMessage passes unchanged.
 */
export function encodeSeldonMessage(msg: SeldonMessage | unknown): ProtoSeldonMessage {
  if (isProtoMessage(msg)) return msg as ProtoSeldonMessage;
  if (isRecord(msg) && isJsonData(msg)) return encodePlain(msg);
  // NDArrays, typed arrays, toJSON() … (a *Raw method's answer): read them as the REST routes' JSON would.
  const text = JSON.stringify(msg);
  const m: unknown = text === undefined ? {} : JSON.parse(text);
  if (!isRecord(m)) throw new SeldonError(`A Seldon answer must be a JSON object, got ${text}`, 500, "MICROSERVICE_INTERNAL_ERROR");
  return encodePlain(m);
}

function encodePlain(m: Record<string, unknown>): ProtoSeldonMessage {
  const out: ProtoSeldonMessage = {};
  if (isRecord(m.status)) out.status = encodeStatus(m.status);
  if (isRecord(m.meta)) out.meta = encodeMeta(m.meta);
  if (isRecord(m.data)) out.data = encodeData(m.data);
  else if (m.binData !== undefined && m.binData !== null) out.binData = fromBase64(m.binData, "binData");
  else if (typeof m.strData === "string") out.strData = m.strData;
  else if (m.jsonData !== undefined) out.jsonData = jsonToValue(m.jsonData);
  else if (isRecord(m.customData)) out.customData = { type_url: String(m.customData.type_url ?? ""), value: fromBase64(m.customData.value ?? "", "customData.value") };
  return out;
}

export function encodeSeldonMessageList(list: { seldonMessages: SeldonMessage[] } | SeldonMessage[]): ProtoSeldonMessageList {
  const msgs = Array.isArray(list) ? list : list.seldonMessages;
  return { seldonMessages: msgs.map(encodeSeldonMessage) };
}

export function encodeFeedback(f: SeldonFeedback): ProtoFeedback {
  const out: ProtoFeedback = {};
  if (f.request) out.request = encodeSeldonMessage(f.request);
  if (f.response) out.response = encodeSeldonMessage(f.response);
  if (typeof f.reward === "number") out.reward = f.reward;
  if (f.truth) out.truth = encodeSeldonMessage(f.truth);
  return out;
}
