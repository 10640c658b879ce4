/**
 * Fuzz: a KServe InferenceGraph on POST / (Sequence, Switch, Ensemble and Splitter nodes over an in-process model)
 * and an OpenBayes predictor (JSON and MessagePack on POST /), each a real CLI in a child process. Client mistakes
 * never get a 5xx, errors keep their protocol's body, the process never dies, and known-good requests still succeed
 * afterwards. See fuzz/runner.ts for FUZZ_SEED / FUZZ_RUNS.
 */
import { join } from "node:path";
import { encode } from "@msgpack/msgpack";
import fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import { accept, contentType, extraHeaders, headersOf, jsonBody, mutatedBytes, mutatedJson, segment } from "./fuzz/arbitraries.ts";
import { anyRequests, good, jsonPosts } from "./fuzz/cases.ts";
import type { HttpCase } from "./fuzz/http.ts";
import { finish } from "./fuzz/finish.ts";
import { ROOT, ServerProcess } from "./fuzz/server.ts";
import { HttpTarget } from "./fuzz/target.ts";

const MODELS = join(ROOT, "test", "integration", "fuzz", "models");
const IRIS_ROW = [6.8, 2.8, 4.8, 1.4];

describe("fuzz: KServe InferenceGraph on /", () => {
  let server: ServerProcess;
  let target: HttpTarget;
  const GOOD = () => [
    { case: good("graph", "POST", "/", { instances: [IRIS_ROW] }, {}, "graph") },
    { case: good("graph", "POST", "/", { inputs: [IRIS_ROW] }, {}, "graph") },
    { case: good("V1 predict", "POST", "/v1/models/iris:predict", { instances: [IRIS_ROW] }) },
  ];

  beforeAll(async () => {
    server = new ServerProcess({
      args: ["serve", join(ROOT, "examples", "iris", "models", "iris"), "--graph", join(MODELS, "inference-graph.yaml")],
      readyPath: "/v2/health/ready",
    });
    await server.start();
    target = new HttpTarget(server, "kserve inference graph");
  });
  afterAll(() => finish(server, target));

  it("mutated bodies and headers through Sequence, Switch, Ensemble and Splitter", async () => {
    const arb = fc.constantFrom<unknown>({ instances: [IRIS_ROW, IRIS_ROW] }, { inputs: [IRIS_ROW] }, { instances: [IRIS_ROW], predictions: [0] }).chain((valid) =>
      jsonPosts({ paths: fc.constant(["graph POST /", "/"]), valid, contentTypes: ["application/json"], shape: "graph" }),
    );
    await target.run(arb, 400, GOOD());
  }, 240_000);

  it("other methods and paths beside the graph", async () => {
    const arb = anyRequests(segment(["iris", "root", "pick", "both", "split"]), ["/", "/v1/models/", "/v2/models/", "/readyz/"], "error");
    // POST / is the graph: its errors take the graph's body
    await target.run(arb.map((c): HttpCase => (c.method === "POST" && c.path.split("?")[0] === "/" ? { ...c, shape: "graph" } : c)), 150, GOOD());
  }, 240_000);
});

describe("fuzz: OpenBayes predictor on /", () => {
  let server: ServerProcess;
  let target: HttpTarget;
  const GOOD = () => [
    { case: good("openbayes", "POST", "/", { name: "x", values: [1, 2] }) },
    { case: good("openbayes", "POST", "/", new Uint8Array(encode({ a: 1 })), { "content-type": "application/msgpack", accept: "application/msgpack" }) },
    { case: good("openbayes", "GET", "/", undefined, {}, "any") },
  ];
  const VALID = { name: "x", values: [1, 2.5, -3], nested: { deep: [true, null, "s"] } };

  beforeAll(async () => {
    server = new ServerProcess({ args: ["serve", join(MODELS, "OpenBayesEcho.ts"), "--model_name", "echo"], readyPath: "/v2/health/ready" });
    await server.start();
    target = new HttpTarget(server, "openbayes predictor");
  });
  afterAll(() => finish(server, target));

  it("JSON bodies, content types and Accept", async () => {
    const arb = jsonPosts({
      paths: fc.constantFrom<[string, string]>(["openbayes POST /", "/"], ["openbayes POST /", "/?greeting=%25&a=1&a=2"], ["openbayes POST /", "/?%E0%A4%A=1"]),
      valid: VALID,
      contentTypes: ["application/json", "application/json; charset=utf-8"],
      shape: "error",
    });
    await target.run(arb, 300, GOOD());
  }, 240_000);

  it("MessagePack bodies, valid and mutated", async () => {
    const arb = fc
      .record({
        value: mutatedJson(VALID),
        mangle: fc.boolean(),
        type: contentType(["application/msgpack", "application/x-msgpack"]),
        accept,
        extra: extraHeaders,
      })
      .chain(({ value, mangle, type, accept: acc, extra }) => {
        let bytes: Uint8Array;
        try {
          bytes = encode(JSON.parse(JSON.stringify(value ?? null)) as unknown);
        } catch {
          bytes = new Uint8Array([0xc1]); // never used by MessagePack
        }
        return (mangle ? mutatedBytes(bytes) : fc.constant(bytes)).map(
          (body): HttpCase => ({ route: "openbayes POST / (msgpack)", method: "POST", path: "/", headers: headersOf({ "content-type": type, accept: acc }, extra), body, shape: "error" }),
        );
      });
    await target.run(arb, 300, GOOD());
  }, 240_000);

  it("other methods, paths and bodies beside the predictor", async () => {
    const arb = fc.oneof(
      anyRequests(segment(["echo", "health", "live", "ready"]), ["/", "/v1/models/", "/v2/models/", "/v2/health/"], "error"),
      jsonPosts({ paths: fc.constant(["V1 predict (openbayes)", "/v1/models/echo:predict"]), valid: { instances: [1] }, contentTypes: ["application/json"], shape: "error" }),
      fc.record({ body: jsonBody(VALID) }).map(({ body }): HttpCase => ({ route: "openbayes PUT /", method: "PUT", path: "/", headers: { "content-type": "application/json" }, body, shape: "error" })),
    );
    await target.run(arb, 200, GOOD());
  }, 240_000);
});
