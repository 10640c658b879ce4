/**
 * Writes test/fixtures/peers/triton/: the exact requests Triton's Python client (tritonclient 2.x, `tritonclient.http`
 * and `tritonclient.grpc`) sends for the calls the Triton-extension tests replay. Built by hand from tritonclient's
 * source (client repo, src/python/library/tritonclient/{http,grpc}/): the same JSON keys in the same order, as
 * rapidjson's compact `dumps` writes them, binary tensors appended as `InferInput.set_data_from_numpy` does, and
 * protobuf messages field by field in field-number order (as the Python protobuf runtime serialises them). No
 * Python and no tserve code is involved, so the fixtures do not merely echo our own codecs.
 *   npx tsx scripts/gen_triton_peer_fixtures.ts
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const OUT = join(dirname(fileURLToPath(import.meta.url)), "..", "test", "fixtures", "peers", "triton");

// --- protobuf wire format, just what these messages need ---

function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const tag = (field: number, wire: number) => varint(BigInt((field << 3) | wire));
const lenDelimited = (field: number, bytes: Uint8Array | number[]) => [...tag(field, 2), ...varint(BigInt(bytes.length)), ...bytes];
const str = (field: number, s: string) => lenDelimited(field, [...Buffer.from(s, "utf8")]);
const int = (field: number, n: number | bigint) => [...tag(field, 0), ...varint(BigInt(n))];
const bool = (field: number, b: boolean) => [...tag(field, 0), b ? 1 : 0];
const packedInt64 = (field: number, values: number[]) => lenDelimited(field, values.flatMap((v) => varint(BigInt(v))));
const message = (...parts: number[][]) => parts.flat();

/** InferParameter: oneof bool_param=1, int64_param=2, string_param=3, double_param=4, uint64_param=5. */
type Param = { bool: boolean } | { int64: number } | { string: string } | { uint64: number };
function inferParameter(p: Param): number[] {
  if ("bool" in p) return bool(1, p.bool);
  if ("int64" in p) return int(2, p.int64);
  if ("string" in p) return str(3, p.string);
  return int(5, p.uint64);
}
/** A map<string, M> field: one entry message {key=1, value=2} per key, in insertion order. */
const mapField = (field: number, entries: [string, number[]][]) =>
  entries.flatMap(([k, v]) => lenDelimited(field, message(str(1, k), lenDelimited(2, v))));

interface GrpcInput {
  name: string;
  datatype: string;
  shape: number[];
  raw: Uint8Array;
}

/** tritonclient.grpc `_get_inference_request`: model_name=1, model_version=2 ("" is not written), inputs=5, outputs=6, raw=7, parameters=4. */
function modelInferRequest(options: {
  model: string;
  inputs: GrpcInput[];
  outputs?: { name: string; parameters?: [string, Param][] }[];
  parameters?: [string, Param][];
}): Uint8Array {
  const parts: number[][] = [str(1, options.model)];
  if (options.parameters) parts.push(mapField(4, options.parameters.map(([k, p]) => [k, inferParameter(p)])));
  for (const i of options.inputs) parts.push(lenDelimited(5, message(str(1, i.name), str(2, i.datatype), packedInt64(3, i.shape))));
  for (const o of options.outputs ?? []) {
    const fields = [str(1, o.name)];
    if (o.parameters) fields.push(mapField(2, o.parameters.map(([k, p]) => [k, inferParameter(p)])));
    parts.push(lenDelimited(6, message(...fields)));
  }
  for (const i of options.inputs) parts.push(lenDelimited(7, i.raw));
  return Uint8Array.from(message(...parts));
}

// --- the tensors: numpy arrays as tritonclient sends them ---

/** `np.array(rows, dtype=np.float32).tobytes()`: little-endian float32. */
function float32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
/** What `[v.item() for v in arr.flatten()]` gives for a float32 array: each value widened to a Python float. */
const float32Items = (values: number[]) => Array.from(Float32Array.from(values));

const IRIS_ROWS = [6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6];

// --- REST: the JSON header (rapidjson.dumps is compact; `parameters` is added last), then the binary blobs ---

interface HttpFixture {
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  /** The body file beside the manifest (absent: no body). */
  body?: string;
}

function restInfer(header: unknown, blobs: Uint8Array[] = []): { body: Buffer; headers: Record<string, string> } {
  const json = Buffer.from(JSON.stringify(header));
  if (blobs.length === 0) return { body: json, headers: {} };
  // `infer()` sets Inference-Header-Content-Length only when binary data follows the JSON.
  return { body: Buffer.concat([json, ...blobs]), headers: { "Inference-Header-Content-Length": String(json.byteLength) } };
}

const files = new Map<string, Uint8Array>();
const http: Record<string, HttpFixture> = {};
const grpc: Record<string, { method: string; body: string }> = {};

function addHttp(name: string, method: "GET" | "POST", path: string, body?: { body: Buffer; headers: Record<string, string> }): void {
  const fixture: HttpFixture = { method, path, headers: body?.headers ?? {} };
  if (body) {
    fixture.body = `${name}.bin`;
    files.set(fixture.body, body.body);
  }
  http[name] = fixture;
}

function addGrpc(name: string, method: string, bytes: Uint8Array): void {
  grpc[name] = { method, body: `${name}.bin` };
  files.set(`${name}.bin`, bytes);
}

// InferInput("input", [2, 4], "FP32").set_data_from_numpy(rows) and InferRequestedOutput("probabilities", class_count=2).
addHttp(
  "http-infer-classification-binary",
  "POST",
  "/v2/models/iris/infer",
  restInfer(
    {
      inputs: [{ name: "input", shape: [2, 4], datatype: "FP32", parameters: { binary_data_size: 32 } }],
      outputs: [{ name: "probabilities", parameters: { classification: 2, binary_data: true } }],
    },
    [float32Bytes(IRIS_ROWS)],
  ),
);
// The same with binary_data=False on both sides: the input as JSON data, the classes as JSON strings.
addHttp(
  "http-infer-classification-json",
  "POST",
  "/v2/models/iris/infer",
  restInfer({
    inputs: [{ name: "input", shape: [2, 4], datatype: "FP32", data: float32Items(IRIS_ROWS) }],
    outputs: [{ name: "probabilities", parameters: { classification: 3, binary_data: false } }],
  }),
);
// infer(..., sequence_id=42, sequence_start=True) with no outputs: binary_data_output is added.
addHttp(
  "http-infer-sequence",
  "POST",
  "/v2/models/iris/infer",
  restInfer(
    {
      inputs: [{ name: "input", shape: [2, 4], datatype: "FP32", parameters: { binary_data_size: 32 } }],
      parameters: { sequence_id: 42, sequence_start: true, sequence_end: false, binary_data_output: true },
    },
    [float32Bytes(IRIS_ROWS)],
  ),
);
// infer(..., priority=1).
addHttp(
  "http-infer-priority",
  "POST",
  "/v2/models/iris/infer",
  restInfer(
    {
      inputs: [{ name: "input", shape: [2, 4], datatype: "FP32", parameters: { binary_data_size: 32 } }],
      parameters: { priority: 1, binary_data_output: true },
    },
    [float32Bytes(IRIS_ROWS)],
  ),
);
// infer("slow", ..., timeout=1000): 1 ms.
addHttp(
  "http-infer-timeout",
  "POST",
  "/v2/models/slow/infer",
  restInfer(
    {
      inputs: [{ name: "x", shape: [1, 1], datatype: "FP32", parameters: { binary_data_size: 4 } }],
      parameters: { timeout: 1000, binary_data_output: true },
    },
    [float32Bytes([1])],
  ),
);
// load_model("iris", config='{"max_batch_size": 16}'): the body is json.dumps({"parameters": {"config": config}}).
addHttp("http-load-config", "POST", "/v2/repository/models/iris/load", {
  body: Buffer.from(JSON.stringify({ parameters: { config: '{"max_batch_size": 16}' } })),
  headers: {},
});
addHttp("http-model-config", "GET", "/v2/models/iris/config");
addHttp("http-model-config-version", "GET", "/v2/models/scale/versions/2/config");
addHttp("http-statistics-all", "GET", "/v2/models/stats");
addHttp("http-statistics-model", "GET", "/v2/models/iris/stats");
addHttp("http-statistics-version", "GET", "/v2/models/scale/versions/2/stats");

// gRPC: get_model_config("iris"), get_inference_statistics(), get_inference_statistics("scale", "2").
addGrpc("grpc-model-config", "ModelConfig", Uint8Array.from(str(1, "iris")));
addGrpc("grpc-statistics-all", "ModelStatistics", new Uint8Array(0));
addGrpc("grpc-statistics-version", "ModelStatistics", Uint8Array.from(message(str(1, "scale"), str(2, "2"))));
const irisInput: GrpcInput = { name: "input", datatype: "FP32", shape: [2, 4], raw: float32Bytes(IRIS_ROWS) };
// InferRequestedOutput("probabilities", class_count=2): parameters["classification"].int64_param = 2.
addGrpc(
  "grpc-infer-classification",
  "ModelInfer",
  modelInferRequest({ model: "iris", inputs: [irisInput], outputs: [{ name: "probabilities", parameters: [["classification", { int64: 2 }]] }] }),
);
// sequence_id=42, sequence_start=True: int64_param, then both bools (sequence_end False is written: a oneof member is present).
addGrpc(
  "grpc-infer-sequence",
  "ModelInfer",
  modelInferRequest({
    model: "iris",
    inputs: [irisInput],
    parameters: [
      ["sequence_id", { int64: 42 }],
      ["sequence_start", { bool: true }],
      ["sequence_end", { bool: false }],
    ],
  }),
);
// priority=1: uint64_param.
addGrpc("grpc-infer-priority", "ModelInfer", modelInferRequest({ model: "iris", inputs: [irisInput], parameters: [["priority", { uint64: 1 }]] }));
// infer("slow", ..., timeout=1000): int64_param.
addGrpc(
  "grpc-infer-timeout",
  "ModelInfer",
  modelInferRequest({
    model: "slow",
    inputs: [{ name: "x", datatype: "FP32", shape: [1, 1], raw: float32Bytes([1]) }],
    parameters: [["timeout", { int64: 1000 }]],
  }),
);
// load_model("iris", config=...): RepositoryModelLoadRequest{model_name=2, parameters=3 {"config": string_param}}.
addGrpc(
  "grpc-load-config",
  "RepositoryModelLoad",
  Uint8Array.from(message(str(2, "iris"), mapField(3, [["config", str(3, '{"max_batch_size": 16}')]]))),
);
// A request for a model that does not exist, with no inputs (what a client sends before it has data).
addGrpc("grpc-infer-unknown-model", "ModelInfer", Uint8Array.from(str(1, "nope")));

await mkdir(OUT, { recursive: true });
for (const [name, bytes] of files) await writeFile(join(OUT, name), bytes);
await writeFile(join(OUT, "requests.json"), `${JSON.stringify({ http, grpc }, null, 2)}\n`);
process.stdout.write(`wrote ${files.size + 1} files to ${OUT}\n`);
