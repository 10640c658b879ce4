/**
 * Fuzz: KServe V1 with TF Serving's dialect, OIP V2 REST (JSON and binary tensors), the repository API and metrics,
 * against the real CLI in a child process. Client mistakes never get a 5xx, errors keep the `{"error": …}` body, the
 * process never dies, and known-good requests still succeed after every property. See fuzz/runner.ts for
 * FUZZ_SEED / FUZZ_RUNS.
 */
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import { contentType, extraHeaders, headerLength, headersOf, jsonBody, mutatedBytes, mutatedJson, segment, toJson, utf8 } from "./fuzz/arbitraries.ts";
import { anyRequests, good, jsonPosts } from "./fuzz/cases.ts";
import type { HttpCase } from "./fuzz/http.ts";
import { finish } from "./fuzz/finish.ts";
import { ROOT, ServerProcess } from "./fuzz/server.ts";
import { HttpTarget } from "./fuzz/target.ts";

const F = join(ROOT, "test", "fixtures");
const MODELS: Record<string, string> = {
  iris: join(ROOT, "examples", "iris", "models", "iris"),
  scale: join(F, "repos", "versioned", "scale"),
  linear: join(F, "tfserving", "linear"),
  mixed: join(F, "tfserving", "mixed"),
  types: join(F, "models", "types"),
  multi_io: join(F, "models", "multi_io"),
  // the repository property's target: unauthenticated load/unload must not touch it, but if they do, only it suffers
  victim: join(F, "models", "multi_io"),
};
const NAMES = Object.keys(MODELS);

const IRIS_ROW = [6.8, 2.8, 4.8, 1.4];
const V1_BODIES: unknown[] = [
  { instances: [IRIS_ROW, [6.0, 3.4, 4.5, 1.6]] },
  { inputs: { input: [IRIS_ROW] }, signature_name: "serving_default" },
  { inputs: [IRIS_ROW] },
  { instances: [{ x: [1, 2], text: { b64: "aGVsbG8=" } }] },
  { inputs: { a: [[1, 2]], b: [[3, 4]] } },
  { instances: [1, 2, 3] },
  { signature_name: "serving_default", examples: [{ a: 1, b: 2, c: 3 }], context: { a: 0.5 } },
];

const V2_JSON = {
  id: "fuzz",
  inputs: [{ name: "input", shape: [2, 4], datatype: "FP32", data: [...IRIS_ROW, 6.0, 3.4, 4.5, 1.6] }],
  outputs: [{ name: "probabilities", parameters: { binary_data: false } }],
  parameters: { binary_data_output: false },
};
const V2_TYPES = {
  inputs: [
    { name: "i64", shape: [2], datatype: "INT64", data: [1, -2] },
    { name: "i32", shape: [2], datatype: "INT32", data: [3, 4] },
    { name: "u8", shape: [2], datatype: "UINT8", data: [5, 255] },
    { name: "f64", shape: [2], datatype: "FP64", data: [0.5, -1.5] },
    { name: "flag", shape: [2], datatype: "BOOL", data: [true, false] },
    { name: "f16", shape: [2], datatype: "FP16", data: [1, 2] },
    { name: "text", shape: [2], datatype: "BYTES", data: ["a", "bc"] },
  ],
};
const V2_BODIES: unknown[] = [
  V2_JSON,
  V2_TYPES,
  { inputs: [{ name: "x", shape: [3], datatype: "FP32", data: [1, 2, 3] }] },
  { inputs: [{ name: "x", shape: [1, 2], datatype: "FP32", data: [[1, 2]] }, { name: "text", shape: [1], datatype: "BYTES", data: ["hi"] }] },
];

/** `/v1/models/{m}[/versions/{v}|/labels/{l}]{verb}` */
const v1Paths: fc.Arbitrary<[string, string]> = fc
  .record({
    name: segment(NAMES),
    sub: fc.oneof(
      fc.constant(""),
      segment(["1", "2", "3"]).map((v) => `/versions/${v}`),
      segment(["stable", "canary"]).map((l) => `/labels/${l}`),
    ),
    verb: fc.constantFrom(":predict", ":predict", ":explain", ":classify", ":regress", "", "/metadata", ":nope", "::predict", ":predict:predict", "/"),
    prefix: fc.constantFrom("/v1/models/", "/v1/models/", "/v1/models//", "/v1/models/%2e%2e/"),
  })
  .map(({ name, sub, verb, prefix }) => ["V1 /v1/models/…", `${prefix}${name}${sub}${verb}`]);

const v2InferPaths: fc.Arbitrary<[string, string]> = fc
  .record({ name: segment(NAMES), version: fc.option(segment(["1", "2", "3"]), { nil: undefined }) })
  .map(({ name, version }) => ["V2 infer", `/v2/models/${name}${version === undefined ? "" : `/versions/${version}`}/infer`]);

describe("fuzz: KServe V1 / TF Serving, OIP V2 REST, repository API, metrics", () => {
  let repo: string;
  let server: ServerProcess;
  let target: HttpTarget;
  const GOOD = () => [
    { case: good("V1 predict", "POST", "/v1/models/iris:predict", { instances: [IRIS_ROW] }) },
    { case: good("V1 TF predict", "POST", "/v1/models/linear/labels/canary:predict", { inputs: [[1, 2, 3]] }) },
    { case: good("V2 infer", "POST", "/v2/models/iris/infer", V2_JSON) },
    { case: good("V2 ready", "GET", "/v2/health/ready") },
    { case: good("metrics", "GET", "/metrics", undefined, {}, "any") },
  ];

  beforeAll(async () => {
    repo = await mkdtemp(join(tmpdir(), "tserve-fuzz-rest-"));
    for (const [name, dir] of Object.entries(MODELS)) await cp(dir, join(repo, name), { recursive: true });
    server = new ServerProcess({ args: ["serve", "--model-repository", repo], readyPath: "/v2/health/ready" });
    await server.start();
    target = new HttpTarget(server, "rest (V1/TF Serving, V2, repository, metrics)");
  });
  afterAll(async () => {
    await finish(server, target);
    await rm(repo, { recursive: true, force: true });
  });

  it("KServe V1 and TF Serving: mutated bodies on generated model paths", async () => {
    const arb = fc
      .constantFrom(...V1_BODIES)
      .chain((valid) => jsonPosts({ paths: v1Paths, valid, contentTypes: ["application/json"], shape: "error" }));
    await target.run(arb, 800, GOOD());
  }, 240_000);

  it("KServe V1 and TF Serving: GETs of status and metadata paths", async () => {
    const arb = v1Paths.map(([route, path]): HttpCase => ({ route: `${route} (GET)`, method: "GET", path, headers: {}, shape: "error" }));
    await target.run(arb, 250, GOOD());
  }, 240_000);

  it("OIP V2 JSON: mutated inference requests", async () => {
    const arb = fc.constantFrom(...V2_BODIES).chain((valid) => jsonPosts({ paths: v2InferPaths, valid, contentTypes: ["application/json"], shape: "error" }));
    await target.run(arb, 800, GOOD());
  }, 240_000);

  it("OIP V2 binary extension: mutated JSON headers, blobs and Inference-Header-Content-Length", async () => {
    const header = {
      inputs: [
        { name: "input", shape: [1, 4], datatype: "FP32", parameters: { binary_data_size: 16 } },
      ],
      outputs: [{ name: "probabilities", parameters: { binary_data: true } }],
    };
    const typesHeader = {
      inputs: [
        { name: "i64", shape: [1], datatype: "INT64", parameters: { binary_data_size: 8 } },
        { name: "text", shape: [2], datatype: "BYTES", parameters: { binary_data_size: 11 } },
        { name: "f16", shape: [1], datatype: "FP16", parameters: { binary_data_size: 2 } },
        { name: "i32", shape: [1], datatype: "INT32", data: [1] },
        { name: "u8", shape: [1], datatype: "UINT8", data: [1] },
        { name: "f64", shape: [1], datatype: "FP64", data: [1] },
        { name: "flag", shape: [1], datatype: "BOOL", data: [true] },
      ],
      parameters: { binary_data_output: true },
    };
    const irisBlob = new Uint8Array(Float32Array.from(IRIS_ROW).buffer);
    const typesBlob = Buffer.concat([
      Buffer.from(BigInt64Array.from([7n]).buffer),
      Buffer.from([1, 0, 0, 0, 0x61, 2, 0, 0, 0, 0x62, 0x63]),
      Buffer.from([0x00, 0x3c]),
    ]);
    const arb = fc
      .constantFrom<[string, unknown, Uint8Array]>(["iris", header, irisBlob], ["types", typesHeader, new Uint8Array(typesBlob)])
      .chain(([model, h, blob]) =>
        fc.record({
          model: fc.oneof(fc.constant(model), segment(NAMES)),
          json: mutatedJson(h).map((v) => utf8(v === undefined ? "" : toJson(v))),
          blob: fc.oneof(fc.constant(blob), mutatedBytes(blob), fc.uint8Array({ maxLength: 64 })),
          type: contentType(["application/octet-stream", "application/json"]),
          extra: extraHeaders,
        }),
      )
      .chain((r) =>
        headerLength(r.json.byteLength).map((len): HttpCase => ({
          route: "V2 infer (binary)",
          method: "POST",
          path: `/v2/models/${r.model}/infer`,
          headers: headersOf({ "content-type": r.type, "inference-header-content-length": len }, r.extra),
          body: new Uint8Array(Buffer.concat([r.json, r.blob])),
          shape: "error",
        })),
      );
    await target.run(arb, 600, GOOD());
  }, 240_000);

  it("OIP V2 metadata, readiness and server routes with hostile paths", async () => {
    const arb = fc
      .record({
        name: segment(NAMES),
        version: fc.option(segment(["1", "2", "3"]), { nil: undefined }),
        tail: fc.constantFrom("", "/ready", "/", "/infer", "/stats"),
        method: fc.constantFrom("GET", "GET", "POST", "DELETE"),
      })
      .map(({ name, version, tail, method }): HttpCase => ({
        route: `V2 ${method} model${tail}`,
        method,
        path: `/v2/models/${name}${version === undefined ? "" : `/versions/${version}`}${tail}`,
        headers: method === "POST" ? { "content-type": "application/json" } : {},
        body: method === "POST" ? utf8("{}") : undefined,
        shape: "error",
      }));
    await target.run(fc.oneof(arb, anyRequests(segment(NAMES), ["/", "/v2/", "/v1/", "/v2/health/", "/v2/models/", "/metrics/", "/v2/repository/"], "error")), 300, GOOD());
  }, 240_000);

  it("repository API: index bodies; unauthenticated load, unload and upload are refused", async () => {
    const index = jsonPosts({
      paths: fc.constant(["repository index", "/v2/repository/index"]),
      valid: { ready: true },
      contentTypes: ["application/json"],
      shape: "error",
    });
    const mutations = fc
      .record({
        name: segment(["victim", "victim", "iris", "nosuch"]),
        op: fc.constantFrom("load", "unload", "upload"),
        body: fc.oneof(jsonBody({ parameters: { config: "{}" } }), fc.uint8Array({ maxLength: 128 })),
        type: contentType(["application/json", "application/gzip", "application/octet-stream"]),
        auth: fc.constantFrom(undefined, "", "Bearer", "Bearer ", "Bearer wrong", "Basic Zm9vOmJhcg==", "bearer  x"),
      })
      .map(({ name, op, body, type, auth }): HttpCase => ({
        route: `repository ${op}`,
        method: "POST",
        path: `/v2/repository/models/${name}/${op}`,
        headers: headersOf({ "content-type": type, authorization: auth }),
        body,
        shape: "error",
        mustRefuse: true,
      }));
    await target.run(fc.oneof(index, mutations), 200, [...GOOD(), { case: good("V2 infer victim", "POST", "/v2/models/victim/infer", { inputs: [{ name: "a", shape: [1, 2], datatype: "FP32", data: [1, 2] }, { name: "b", shape: [1, 2], datatype: "FP32", data: [1, 2] }] }) }]);
  }, 240_000);
});
