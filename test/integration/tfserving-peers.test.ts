/**
 * tserve against TF Serving's own answers (test/fixtures/peers/tfserving, each read from TF Serving's sources):
 * malformed routes are 400 with `{"error": "Malformed request: <METHOD> <URI>"}`, and the metadata answer prints
 * every SignatureDef field, `defaults` included. Where KServe's V1 and TF Serving differ and KServe clients depend on
 * KServe's answer (the model list, 404 for an unknown model), KServe's stays.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError, FIXTURES, get, post, readJson, type Running, startWith } from "./util.ts";

const PEERS = join(FIXTURES, "peers", "tfserving");
const LINEAR_DIR = join(FIXTURES, "tfserving", "linear");

interface MalformedCase {
  method: string;
  path: string;
  status: number;
  body: { error: string };
}

describe("TF Serving's answers, from its sources", () => {
  let running: Running;
  let url: string;
  let malformed: MalformedCase[];

  beforeAll(async () => {
    running = await startWith({ dirs: [LINEAR_DIR] });
    url = running.url;
    malformed = (await readJson<{ cases: MalformedCase[] }>(join(PEERS, "malformed.json"))).cases;
  });
  afterAll(async () => {
    await running?.server.stop();
  });

  it("every path or method TF Serving's grammar does not parse: 400 with its exact body", async () => {
    expect(malformed.length).toBeGreaterThan(0);
    for (const c of malformed) {
      const r = await fetch(`${url}${c.path}`, {
        method: c.method,
        headers: { "content-type": "application/json" },
        body: c.method === "GET" || c.method === "DELETE" ? undefined : JSON.stringify({ instances: [[1, 2, 3]] }),
      });
      const text = await r.text();
      expect(r.status, `${c.method} ${c.path}: ${text}`).toBe(c.status);
      expect(r.headers.get("content-type"), `${c.method} ${c.path}`).toMatch(/^application\/json/);
      expect(JSON.parse(text), `${c.method} ${c.path}`).toEqual(c.body);
    }
  });

  it("the raw path and its query are quoted as sent, whatever their case", async () => {
    expectError(await get(`${url}/V1/Models/linear:predict?x=1`), 400, "Malformed request: GET /V1/Models/linear:predict?x=1");
    expectError(await post(`${url}/v1/models/linear/versions/abc:predict`, { instances: [[1, 2, 3]] }), 400, "Malformed request: POST /v1/models/linear/versions/abc:predict");
  });

  it("metadata: TF Serving's GetModelMetadataResponse JSON, SignatureDef fields in its order with \"defaults\": {}", async () => {
    const expected = await readJson<Record<string, unknown>>(join(PEERS, "metadata-linear.json"));
    const r = await get(`${url}/v1/models/linear/metadata`);
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual(expected);
    const signature = r.json.metadata.signature_def.signature_def.serving_default;
    expect(Object.keys(signature)).toEqual(["inputs", "outputs", "method_name", "defaults"]);
    expect(Object.keys(r.json.model_spec)).toEqual(["name", "signature_name", "version"]);
  });

  it("well-formed routes still answer: status, metadata by version and label, :predict and :regress", async () => {
    expect((await get(`${url}/v1/models/linear/versions/1`)).status).toBe(200);
    expect((await get(`${url}/v1/models/linear/labels/stable/metadata`)).json.model_spec.version).toBe("1");
    expect((await post(`${url}/v1/models/linear/versions/2:predict`, { instances: [[1, 2, 3]] })).status).toBe(200);
    expect((await post(`${url}/v1/models/linear/labels/canary:regress`, { examples: [{ a: 1, b: 2, c: 3 }] })).status).toBe(200);
  });

  it("KServe's answers stay where KServe clients depend on them: the model list, and 404 for an unknown model", async () => {
    // TF Serving answers GET /v1/models with 400 "Missing model name in request."; KServe V1 lists the models.
    expect((await get(`${url}/v1/models`)).json).toEqual({ models: ["linear"] });
    expectError(await get(`${url}/v1/models/nosuch`), 404, "nosuch");
    expectError(await get(`${url}/v1/models/nosuch/metadata`), 404, "nosuch");
    expectError(await post(`${url}/v1/models/nosuch:predict`, { instances: [[1, 2, 3]] }), 404, "nosuch");
    expectError(await post(`${url}/v1/models/linear/versions/9:predict`, { instances: [[1, 2, 3]] }), 404, "linear", "9");
  });
});
