import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectClose,
  expectError,
  FIXTURES,
  get,
  IRIS_DIR,
  MULTI_IO_DIR,
  post,
  ROOT,
  type Running,
  readJson,
  SCALE_ALL_DIR,
  startWith,
} from "./util.ts";

interface IrisExpected {
  tolerance: number;
  inputs: number[][];
  probabilities: number[][];
  argmax: number[];
}

describe("KServe V1 REST", () => {
  let running: Running;
  let url: string;
  let session: ort.InferenceSession;
  let expected: IrisExpected;

  beforeAll(async () => {
    running = await startWith({ dirs: [IRIS_DIR, MULTI_IO_DIR, SCALE_ALL_DIR] });
    url = running.url;
    session = await ort.InferenceSession.create(join(IRIS_DIR, "1", "model.onnx"));
    expected = await readJson<IrisExpected>(join(FIXTURES, "iris-expected.json"));
  });
  afterAll(async () => {
    await running?.server.stop();
    await session?.release();
  });

  it("GET / answers alive", async () => {
    const r = await get(`${url}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    expect(r.json).toEqual({ status: "alive" });
  });

  it("GET /v1/models lists every model", async () => {
    const r = await get(`${url}/v1/models`);
    expect(r.status).toBe(200);
    expect(Object.keys(r.json)).toEqual(["models"]);
    expect([...r.json.models].sort()).toEqual(["iris", "multi_io", "scale"]);
  });

  // Changed deliberately: versioned models also carry TF Serving's model_version_status (see tfserving.test.ts).
  it("GET /v1/models/{m} reports the model ready, with TF Serving's status of every version", async () => {
    const ok = { error_code: "OK", error_message: "" };
    for (const [name, versions] of [
      ["iris", ["1"]],
      ["multi_io", ["1"]],
      ["scale", ["1", "2", "3"]],
    ] as const) {
      const r = await get(`${url}/v1/models/${name}`);
      expect(r.status).toBe(200);
      expect(r.json).toEqual({
        name,
        ready: true,
        model_version_status: versions.map((version) => ({ version, state: "AVAILABLE", status: ok })),
      });
    }
  });

  it("GET /v1/models/{m}/versions/{v} reports a served version ready", async () => {
    const r = await get(`${url}/v1/models/scale/versions/2`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      name: "scale",
      ready: true,
      model_version_status: [{ version: "2", state: "AVAILABLE", status: { error_code: "OK", error_message: "" } }],
    });
  });

  it("answers the seed request in examples/iris/input.json", async () => {
    const seed = await readJson(join(ROOT, "examples", "iris", "input.json"));
    const r = await post(`${url}/v1/models/iris:predict`, seed);
    expect(r.status).toBe(200);
    expect(Object.keys(r.json)).toEqual(["predictions"]);
    expect(r.json.predictions).toHaveLength(2);
    for (const row of r.json.predictions as number[][]) {
      expect(row).toHaveLength(3);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(row.indexOf(Math.max(...row))).toBe(1); // versicolor
    }
  });

  it(":predict with instances matches in-process onnxruntime and the Python reference", async () => {
    const r = await post(`${url}/v1/models/iris:predict`, { instances: expected.inputs });
    expect(r.status).toBe(200);
    const predictions = r.json.predictions as number[][];
    expect(predictions).toHaveLength(expected.inputs.length);

    const n = expected.inputs.length;
    const feeds = { input: new ort.Tensor("float32", Float32Array.from(expected.inputs.flat()), [n, 4]) };
    const out = await session.run(feeds);
    const local = Array.from(out.probabilities.data as Float32Array);
    const localRows = Array.from({ length: n }, (_, i) => local.slice(i * 3, i * 3 + 3));
    // Same runtime, same float32 input: the server's answer is bit-for-bit what session.run gives.
    expect(predictions).toEqual(localRows);
    // And within the fixture's tolerance of what Python onnxruntime produced.
    expectClose(predictions, expected.probabilities, expected.tolerance);
    expect(predictions.map((row) => row.indexOf(Math.max(...row)))).toEqual(expected.argmax);
  });

  it(":predict with columnar inputs answers with outputs", async () => {
    const rows = expected.inputs.slice(2, 5);
    const r = await post(`${url}/v1/models/iris:predict`, { inputs: rows });
    expect(r.status).toBe(200);
    expect(Object.keys(r.json)).toEqual(["outputs"]);
    expectClose(r.json.outputs, expected.probabilities.slice(2, 5), expected.tolerance);
  });

  it(":predict with named columnar inputs on a multi-input model", async () => {
    const r = await post(`${url}/v1/models/multi_io:predict`, {
      inputs: {
        a: [
          [1, 2],
          [3, 4],
        ],
        b: [
          [10, 20],
          [30, 40],
        ],
      },
    });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      outputs: {
        sum: [
          [11, 22],
          [33, 44],
        ],
        diff: [
          [-9, -18],
          [-27, -36],
        ],
      },
    });
  });

  it(":predict with named instances on a multi-input model answers one object per row", async () => {
    const r = await post(`${url}/v1/models/multi_io:predict`, {
      instances: [
        { a: [1, 2], b: [0.5, 0.25] },
        { a: [-1, 5], b: [1, 1] },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      predictions: [
        { sum: [1.5, 2.25], diff: [0.5, 1.75] },
        { sum: [0, 6], diff: [-2, 4] },
      ],
    });
  });

  it("/v1/models/scale/versions/{v}:predict runs that version", async () => {
    for (const v of [1, 2, 3]) {
      const r = await post(`${url}/v1/models/scale/versions/${v}:predict`, { instances: [1, 2, 3] });
      expect(r.status, r.text).toBe(200);
      expect(r.json).toEqual({ predictions: [1 * v, 2 * v, 3 * v] });
    }
    // Without a version, the latest one answers.
    const latest = await post(`${url}/v1/models/scale:predict`, { instances: [1, 2, 3] });
    expect(latest.json).toEqual({ predictions: [3, 6, 9] });
  });

  it(":explain on an ONNX model is 501 with an error body", async () => {
    const r = await post(`${url}/v1/models/iris:explain`, { instances: [[6.8, 2.8, 4.8, 1.4]] });
    expectError(r, 501, "iris");
  });

  it("an unknown model is 404 with an error naming it, on GET and on :predict", async () => {
    expectError(await get(`${url}/v1/models/nosuchmodel`), 404, "nosuchmodel");
    expectError(await post(`${url}/v1/models/nosuchmodel:predict`, { instances: [[1]] }), 404, "nosuchmodel");
  });

  it("an unknown version is 404", async () => {
    expectError(await post(`${url}/v1/models/scale/versions/7:predict`, { instances: [1] }), 404, "scale", "7");
  });

  it("an unknown verb is TF Serving's 400 Malformed request", async () => {
    expectError(await post(`${url}/v1/models/iris:frobnicate`, { instances: [[1, 2, 3, 4]] }), 400, "Malformed request");
  });

  it("a V1 body with neither instances nor inputs is 400", async () => {
    const r = await post(`${url}/v1/models/iris:predict`, { rows: [[1, 2, 3, 4]] });
    expectError(r, 400, "instances");
  });

  it("a curl -d style form-urlencoded body is read as JSON", async () => {
    const r = await post(
      `${url}/v1/models/iris:predict`,
      { instances: [expected.inputs[0]] },
      { "content-type": "application/x-www-form-urlencoded" },
    );
    expect(r.status).toBe(200);
    expectClose(r.json.predictions, [expected.probabilities[0]], expected.tolerance);
  });
});
