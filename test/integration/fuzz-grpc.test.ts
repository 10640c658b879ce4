/**
 * Fuzz: gRPC. The Open Inference Protocol service (every unary method) and Seldon's services (Model, Router,
 * Transformer, OutputTransformer, Combiner, Generic, Seldon), each on a real CLI in a child process. Well-typed
 * messages with hostile values (huge shapes, mismatched datatypes, wrong content lengths) and raw or mutated
 * protobuf bytes: a client mistake never gets INTERNAL/UNKNOWN/UNAVAILABLE or a hang, the process never dies, and
 * known-good calls still succeed afterwards. See fuzz/runner.ts for FUZZ_SEED / FUZZ_RUNS.
 */
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import { inferencePackageDefinition } from "../../packages/server/src/protocol/grpc/index.ts";
import { seldonPackageDefinition } from "../../packages/server/src/protocol/seldon/grpc/index.ts";
import { mutatedBytes, mutatedJson } from "./fuzz/arbitraries.ts";
import { type GrpcCase, GrpcTarget, serializer } from "./fuzz/grpc.ts";
import { finish } from "./fuzz/finish.ts";
import { ROOT, ServerProcess } from "./fuzz/server.ts";

const F = join(ROOT, "test", "fixtures");
const OIP = "inference.GRPCInferenceService";

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const f32 = (v: number[]) => b64(new Uint8Array(Float32Array.from(v).buffer));
const IRIS_ROW = [6.8, 2.8, 4.8, 1.4];

/** Valid requests of every unary OIP method. */
const OIP_MESSAGES: [method: string, message: unknown, mustRefuse?: boolean][] = [
  ["ServerLive", {}],
  ["ServerReady", {}],
  ["ServerMetadata", {}],
  ["ModelReady", { name: "iris", version: "1" }],
  ["ModelMetadata", { name: "scale", version: "2" }],
  ["ModelInfer", { model_name: "iris", id: "t", inputs: [{ name: "input", datatype: "FP32", shape: ["2", "4"], contents: { fp32_contents: [...IRIS_ROW, ...IRIS_ROW] } }], outputs: [{ name: "probabilities" }] }],
  ["ModelInfer", { model_name: "iris", inputs: [{ name: "input", datatype: "FP32", shape: ["1", "4"] }], raw_input_contents: [f32(IRIS_ROW)] }],
  [
    "ModelInfer",
    {
      model_name: "types",
      inputs: [
        { name: "i64", datatype: "INT64", shape: ["2"] },
        { name: "i32", datatype: "INT32", shape: ["1"] },
        { name: "u8", datatype: "UINT8", shape: ["1"] },
        { name: "f64", datatype: "FP64", shape: ["1"] },
        { name: "flag", datatype: "BOOL", shape: ["1"] },
        { name: "f16", datatype: "FP16", shape: ["1"] },
        { name: "text", datatype: "BYTES", shape: ["2"] },
      ],
      raw_input_contents: [
        b64(new Uint8Array(BigInt64Array.from([1n, -2n]).buffer)),
        b64(new Uint8Array(Int32Array.from([3]).buffer)),
        b64(Uint8Array.from([200])),
        b64(new Uint8Array(Float64Array.from([0.5]).buffer)),
        b64(Uint8Array.from([1])),
        b64(Uint8Array.from([0x00, 0x3c])),
        b64(Uint8Array.from([1, 0, 0, 0, 0x61, 2, 0, 0, 0, 0x62, 0x63])),
      ],
    },
  ],
  [
    "ModelInfer",
    {
      model_name: "mixed",
      inputs: [
        { name: "x", datatype: "FP32", shape: ["1", "2"], contents: { fp32_contents: [1, 2] } },
        { name: "text", datatype: "BYTES", shape: ["1"], contents: { bytes_contents: [b64(Buffer.from("hi"))] } },
      ],
    },
  ],
  [
    "ModelInfer",
    {
      model_name: "scale",
      model_version: "2",
      inputs: [{ name: "x", datatype: "FP32", shape: ["3"], contents: { fp32_contents: [1, 2, 3] }, parameters: { p: { bool_param: true } } }],
      parameters: { binary_data_output: { bool_param: true }, n: { int64_param: "5" }, s: { string_param: "x" } },
    },
  ],
  ["RepositoryIndex", { repository_name: "", ready: true }],
  ["RepositoryModelLoad", { repository_name: "", model_name: "victim", parameters: { config: { string_param: "{}" } } }, true],
  ["RepositoryModelUnload", { repository_name: "", model_name: "victim" }, true],
];

// ---- Seldon: google.protobuf.Value by hand, so the messages are built from the .proto alone ----
type PValue = Record<string, unknown>;
function value(x: unknown): PValue {
  if (x === null || x === undefined) return { null_value: "NULL_VALUE" };
  if (typeof x === "number") return { number_value: x };
  if (typeof x === "string") return { string_value: x };
  if (typeof x === "boolean") return { bool_value: x };
  if (Array.isArray(x)) return { list_value: { values: x.map(value) } };
  return { struct_value: { fields: Object.fromEntries(Object.entries(x as object).map(([k, v]) => [k, value(v)])) } };
}

const SELDON_MESSAGES: unknown[] = [
  { data: { names: ["a", "b"], ndarray: { values: [value([1, 2]), value([3, 4])] } }, meta: { puid: "p", tags: { t: value("x") }, routing: { r: 1 }, requestPath: { a: "img" }, metrics: [{ key: "k", type: "GAUGE", value: 1 }] } },
  { data: { names: ["a", "b"], tensor: { shape: [1, 2], values: [1.5, 2] } } },
  { data: { tftensor: { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: "1" }, { size: "2" }] }, float_val: [1, 2] } } },
  { data: { tftensor: { dtype: "DT_STRING", tensor_shape: { dim: [{ size: "2" }] }, string_val: [b64(Buffer.from("hi")), b64(Buffer.from("yo"))] } } },
  { data: { tftensor: { dtype: "DT_INT64", tensor_shape: { dim: [{ size: "2" }] }, int64_val: ["1", "-2"] } } },
  { data: { tftensor: { dtype: "DT_DOUBLE", tensor_shape: { dim: [{ size: "1" }] }, tensor_content: b64(new Uint8Array(Float64Array.from([2.5]).buffer)) } } },
  { strData: "hello" },
  { binData: b64(Buffer.from("hello")) },
  { jsonData: value({ a: [1, 2], b: { c: "d" } }) },
  { customData: { type_url: "type.googleapis.com/x", value: b64(Buffer.from([1, 2, 3])) } },
];
const FEEDBACK = { request: SELDON_MESSAGES[0], response: SELDON_MESSAGES[1], reward: 1, truth: SELDON_MESSAGES[0] };
const LIST = { seldonMessages: [SELDON_MESSAGES[0], SELDON_MESSAGES[1]] };

/** Every Seldon service method and the kind of message it takes. */
const SELDON_METHODS: [service: string, method: string, kind: "message" | "feedback" | "list"][] = [
  ["Model", "Predict", "message"],
  ["Model", "SendFeedback", "feedback"],
  ["Router", "Route", "message"],
  ["Router", "SendFeedback", "feedback"],
  ["Transformer", "TransformInput", "message"],
  ["OutputTransformer", "TransformOutput", "message"],
  ["Combiner", "Aggregate", "list"],
  ["Generic", "TransformInput", "message"],
  ["Generic", "TransformOutput", "message"],
  ["Generic", "Route", "message"],
  ["Generic", "Aggregate", "list"],
  ["Generic", "SendFeedback", "feedback"],
  ["Seldon", "Predict", "message"],
  ["Seldon", "SendFeedback", "feedback"],
];

/** A typed case: the message mutated, then serialized by the .proto (unencodable mutations are skipped). */
function typedCases(serialize: (m: unknown) => Buffer, route: string, path: string, valid: unknown, mustRefuse?: boolean): fc.Arbitrary<GrpcCase> {
  return mutatedJson(valid)
    .map((m): GrpcCase | undefined => {
      try {
        return { route, path, bytes: serialize(m ?? {}), mustRefuse, shown: JSON.stringify(m) };
      } catch {
        return undefined;
      }
    })
    .filter((c): c is GrpcCase => c !== undefined);
}

/** Raw bytes: a valid message with its bytes mutated (truncated, flipped, spliced), or random bytes. */
function rawCases(route: string, path: string, valid: Buffer, mustRefuse?: boolean): fc.Arbitrary<GrpcCase> {
  return fc
    .oneof({ weight: 3, arbitrary: mutatedBytes(valid) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 128 }) })
    .map((b): GrpcCase => ({ route, path, bytes: Buffer.from(b), mustRefuse }));
}

const UNKNOWN_PATHS = ["/inference.GRPCInferenceService/Nope", "/nope.Service/Predict", "/seldon.protos.Model/Route", "/", "/inference.GRPCInferenceService/"];

describe("fuzz: OIP gRPC (inference.GRPCInferenceService)", () => {
  let repo: string;
  let server: ServerProcess;
  let target: GrpcTarget;
  const def = inferencePackageDefinition();
  const ser = (method: string) => serializer(def, OIP, method);
  const goodCases = (): GrpcCase[] => [
    { route: "good", path: `/${OIP}/ServerReady`, bytes: ser("ServerReady")({}) },
    { route: "good", path: `/${OIP}/ModelInfer`, bytes: ser("ModelInfer")(OIP_MESSAGES[5][1]) },
    { route: "good", path: `/${OIP}/ModelInfer`, bytes: ser("ModelInfer")(OIP_MESSAGES[7][1]) },
  ];

  beforeAll(async () => {
    repo = await mkdtemp(join(tmpdir(), "tserve-fuzz-grpc-"));
    const models: Record<string, string> = {
      iris: join(ROOT, "examples", "iris", "models", "iris"),
      scale: join(F, "repos", "versioned", "scale"),
      mixed: join(F, "tfserving", "mixed"),
      types: join(F, "models", "types"),
      victim: join(F, "models", "multi_io"),
    };
    for (const [name, dir] of Object.entries(models)) await cp(dir, join(repo, name), { recursive: true });
    server = new ServerProcess({ args: ["serve", "--model-repository", repo], readyPath: "/v2/health/ready", grpc: true });
    await server.start();
    target = new GrpcTarget(server, "grpc OIP");
  });
  afterAll(async () => {
    await finish(server, target);
    await rm(repo, { recursive: true, force: true });
  });

  it("well-typed messages with hostile values, every unary method", async () => {
    const arb = fc.oneof(...OIP_MESSAGES.map(([method, message, refuse]) => typedCases(ser(method), `${method} (typed)`, `/${OIP}/${method}`, message, refuse)));
    await target.run(arb, 500, goodCases());
  }, 240_000);

  it("malformed protobuf bytes, every unary method and unknown methods", async () => {
    const arb = fc.oneof(
      ...OIP_MESSAGES.map(([method, message, refuse]) => rawCases(`${method} (bytes)`, `/${OIP}/${method}`, ser(method)(message), refuse)),
      fc.record({ path: fc.constantFrom(...UNKNOWN_PATHS), bytes: fc.uint8Array({ maxLength: 64 }) }).map(({ path, bytes }): GrpcCase => ({ route: "unknown method", path, bytes: Buffer.from(bytes) })),
    );
    await target.run(arb, 400, goodCases());
  }, 240_000);
});

describe("fuzz: Seldon gRPC (seldon.protos)", () => {
  let server: ServerProcess;
  let target: GrpcTarget;
  const def = seldonPackageDefinition();
  const ser = (service: string, method: string) => serializer(def, `seldon.protos.${service}`, method);
  const validOf = (kind: "message" | "feedback" | "list") => (kind === "message" ? fc.constantFrom(...SELDON_MESSAGES) : fc.constant(kind === "feedback" ? FEEDBACK : LIST));
  const goodCases = (): GrpcCase[] => [
    { route: "good", path: "/seldon.protos.Model/Predict", bytes: ser("Model", "Predict")(SELDON_MESSAGES[0]) },
    { route: "good", path: "/seldon.protos.Combiner/Aggregate", bytes: ser("Combiner", "Aggregate")(LIST) },
    { route: "good", path: "/seldon.protos.Generic/SendFeedback", bytes: ser("Generic", "SendFeedback")(FEEDBACK) },
  ];

  beforeAll(async () => {
    server = new ServerProcess({
      args: ["serve", join(ROOT, "test", "integration", "fuzz", "models", "SeldonTotal.ts"), "--seldon", "--model_name", "total"],
      readyPath: "/health/ping",
      grpc: true,
    });
    await server.start();
    target = new GrpcTarget(server, "grpc Seldon");
  });
  afterAll(async () => {
    await finish(server, target);
  });

  it("well-typed messages with hostile values, every service and method", async () => {
    const arb = fc.oneof(
      ...SELDON_METHODS.map(([service, method, kind]) =>
        validOf(kind).chain((valid) => typedCases(ser(service, method), `${service}/${method} (typed)`, `/seldon.protos.${service}/${method}`, valid)),
      ),
    );
    await target.run(arb, 500, goodCases());
  }, 240_000);

  it("malformed protobuf bytes, every service and method", async () => {
    const arb = fc.oneof(
      ...SELDON_METHODS.map(([service, method, kind]) =>
        validOf(kind).chain((valid) => rawCases(`${service}/${method} (bytes)`, `/seldon.protos.${service}/${method}`, ser(service, method)(valid))),
      ),
    );
    await target.run(arb, 300, goodCases());
  }, 240_000);
});
