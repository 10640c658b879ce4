/**
 * GET /openapi.json: an OpenAPI 3.1 document built from each enabled family's TypeBox schemas, valid for an OpenAPI
 * validator in every server shape (KServe V1 + V2 + repository + metrics + InferenceGraph; a Seldon component; a
 * Seldon graph; an OpenBayes predictor), with ready-to-run per-model examples; /docs only with enableDocsUrl.
 */
import { join } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSeldonGraphFile } from "../../packages/server/src/cli/serve.ts";
import { toGraph } from "../../packages/server/src/graph/spec.ts";
import { ModelServer, OpenBayesPredictor, type PredictArgs, SeldonComponent, type SeldonComponentLike } from "../../packages/server/src/index.ts";
import { FIXTURES, IRIS_DIR, type Running, SCALE_ALL_DIR, startWith } from "./util.ts";

const quiet = { log() {} };

async function openapi(url: string): Promise<any> {
  const r = await fetch(`${url}/openapi.json`);
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toBe("application/json");
  return r.json();
}

async function expectValid(doc: unknown): Promise<void> {
  const result = await new Validator().validate(doc as Parameters<Validator["validate"]>[0]);
  expect(result.errors ?? []).toEqual([]);
  expect(result.valid).toBe(true);
}

describe("OpenAPI document: KServe V1, V2, repository, metrics and an InferenceGraph", () => {
  let s: Running;
  beforeAll(async () => {
    s = await startWith({
      dirs: [IRIS_DIR, SCALE_ALL_DIR],
      enableGrpc: false,
      propagateHeaders: [],
      graph: toGraph({ nodes: { root: { routerType: "Sequence", steps: [{ serviceName: "iris" }] } } }, "test graph"),
    });
  });
  afterAll(async () => s?.server.stop());

  it("is a valid OpenAPI 3.1 document describing every enabled family", async () => {
    const doc = await openapi(s.url);
    expect(doc.openapi).toBe("3.1.0");
    await expectValid(doc);
    const tags = doc.tags.map((t: { name: string }) => t.name);
    expect(tags).toEqual(expect.arrayContaining(["KServe V1", "Open Inference Protocol V2", "Model repository", "InferenceGraph", "Metrics"]));
    for (const path of ["/v1/models/{model}:predict", "/v2/models/{name}/infer", "/v2/repository/index", "/readyz", "/metrics"]) expect(doc.paths).toHaveProperty([path]);
    // Components come from the TypeBox schemas, refs resolved to #/components/schemas.
    expect(doc.components.schemas.V2InferRequest.properties.inputs.items).toEqual({ $ref: "#/components/schemas/V2RequestInput" });
    expect(doc.components.schemas.V1PredictRequest.properties).toHaveProperty("instances");
    // The binary extension is described on infer.
    const infer = doc.paths["/v2/models/{name}/infer"].post;
    expect(infer.requestBody.content).toHaveProperty(["application/octet-stream"]);
    expect(infer.parameters.map((p: { name: string }) => p.name)).toContain("Inference-Header-Content-Length");
  });

  it("gives iris ready-to-run V1 and V2 examples shaped from its input metadata", async () => {
    const doc = await openapi(s.url);
    const v1Example = doc.paths["/v1/models/iris:predict"].post.requestBody.content["application/json"].example;
    expect(v1Example).toEqual({ instances: [[0.5, 0.5, 0.5, 0.5]] });
    const v2Example = doc.paths["/v2/models/iris/infer"].post.requestBody.content["application/json"].example;
    expect(v2Example).toEqual({ inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [0.5, 0.5, 0.5, 0.5] }] });
    // ...and they run.
    const v1 = await fetch(`${s.url}/v1/models/iris:predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(v1Example) });
    expect(v1.status).toBe(200);
    expect(((await v1.json()) as { predictions: number[][] }).predictions[0]).toHaveLength(3);
    const v2 = await fetch(`${s.url}/v2/models/iris/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(v2Example) });
    expect(v2.status).toBe(200);
  });

  it("serves no /docs unless enableDocsUrl", async () => {
    expect((await fetch(`${s.url}/docs`)).status).toBe(404);
  });
});

describe("/docs with enableDocsUrl", () => {
  let s: Running;
  beforeAll(async () => {
    s = await startWith({ dirs: [IRIS_DIR], enableGrpc: false, enableDocsUrl: true });
  });
  afterAll(async () => s?.server.stop());

  it("serves Swagger UI's page and its assets from the package", async () => {
    const page = await fetch(`${s.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    for (const [asset, type] of [["swagger-ui-bundle.js", /javascript/], ["swagger-ui.css", /text\/css/], ["init.js", /javascript/]] as const) {
      const r = await fetch(`${s.url}/docs/${asset}`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toMatch(type);
      expect((await r.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
  });
});

describe("OpenAPI document in the other server shapes", () => {
  it("a Seldon component", async () => {
    class Identity {
      predict(x: unknown) {
        return x;
      }
    }
    const server = new ModelServer({ httpPort: 0, host: "127.0.0.1", enableGrpc: false, seldon: true, logger: quiet });
    await server.start([new SeldonComponent(new Identity() as SeldonComponentLike, "identity")]);
    try {
      const doc = await openapi(`http://127.0.0.1:${server.port}`);
      await expectValid(doc);
      expect(doc.paths).toHaveProperty(["/api/v1.0/predictions"]);
      expect(doc.components.schemas).toHaveProperty("SeldonMessage");
    } finally {
      await server.stop();
    }
  });

  it("a Seldon graph", async () => {
    const { spec, sources } = await loadSeldonGraphFile(join(FIXTURES, "seldon", "graphs", "onnx.yaml"));
    const server = new ModelServer({ httpPort: 0, host: "127.0.0.1", enableGrpc: false, seldonGraph: spec, logger: quiet });
    await server.start([], sources);
    try {
      const doc = await openapi(`http://127.0.0.1:${server.port}`);
      await expectValid(doc);
      expect(doc.tags.map((t: { name: string }) => t.name)).toContain("Seldon graph");
    } finally {
      await server.stop();
    }
  });

  it("an OpenBayes predictor", async () => {
    class Echo {
      predict({ json }: PredictArgs) {
        return { echoed: json };
      }
    }
    const model = new OpenBayesPredictor(Echo, "predictor", { modelDir: join(FIXTURES, "openbayes", "single") });
    const server = new ModelServer({ httpPort: 0, host: "127.0.0.1", enableGrpc: false, openbayes: true, logger: quiet });
    await server.start([model]);
    try {
      const doc = await openapi(`http://127.0.0.1:${server.port}`);
      await expectValid(doc);
      // OpenBayes owns the root: V1's liveness is not described there.
      expect(doc.paths["/"].post.tags).toEqual(["OpenBayes"]);
      expect(doc.paths["/"].get.tags).toEqual(["OpenBayes"]);
    } finally {
      await server.stop();
    }
  });
});
