import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectClose,
  expectError,
  FIXTURE_MODELS,
  FIXTURES,
  get,
  IRIS_DIR,
  MULTI_IO_DIR,
  post,
  type Running,
  readJson,
  SCALE_ALL_DIR,
  startWith,
  TYPES_DIR,
} from "./util.ts";

const IRIS_INPUT = { name: "input", shape: [2, 4], datatype: "FP32", data: [6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6] };

describe("Open Inference Protocol V2 REST", () => {
  let running: Running;
  let url: string;
  // The plain fixture folder: scale has no model-settings.json there, so only its latest version is served.
  let latestOnly: Running;
  let expected: { tolerance: number; inputs: number[][]; probabilities: number[][] };

  beforeAll(async () => {
    running = await startWith({ dirs: [IRIS_DIR, MULTI_IO_DIR, TYPES_DIR, SCALE_ALL_DIR] });
    url = running.url;
    latestOnly = await startWith({ modelRepository: FIXTURE_MODELS });
    expected = await readJson(join(FIXTURES, "iris-expected.json"));
  });
  afterAll(async () => {
    await running?.server.stop();
    await latestOnly?.server.stop();
  });

  describe("server", () => {
    it("GET /v2 gives name, version and extensions", async () => {
      const r = await get(`${url}/v2`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toMatch(/^application\/json/);
      expect(r.json.name).toBe("tserve");
      expect(r.json.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(r.json.extensions).toEqual(expect.arrayContaining(["model_repository", "binary_tensor_data"]));
    });

    it("GET /v2/health/live and /v2/health/ready are 200", async () => {
      const live = await get(`${url}/v2/health/live`);
      expect(live.status).toBe(200);
      expect(live.json).toEqual({ live: true });
      const ready = await get(`${url}/v2/health/ready`);
      expect(ready.status).toBe(200);
      expect(ready.json).toEqual({ ready: true });
    });

    it("GET /v2/models lists the models", async () => {
      const r = await get(`${url}/v2/models`);
      expect(r.status).toBe(200);
      expect([...r.json.models].sort()).toEqual(["iris", "multi_io", "scale", "types"]);
    });
  });

  describe("model metadata", () => {
    it("describes iris: -1 batch dims, V2 datatype names, versions, platform", async () => {
      const r = await get(`${url}/v2/models/iris`);
      expect(r.status).toBe(200);
      expect(r.json).toEqual({
        name: "iris",
        versions: ["1"],
        platform: "onnx_onnxv1",
        inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
        outputs: [{ name: "probabilities", datatype: "FP32", shape: [-1, 3] }],
      });
    });

    it("describes multi_io's two inputs and two outputs in graph order", async () => {
      const r = await get(`${url}/v2/models/multi_io`);
      expect(r.status).toBe(200);
      expect(r.json.inputs).toEqual([
        { name: "a", datatype: "FP32", shape: [-1, 2] },
        { name: "b", datatype: "FP32", shape: [-1, 2] },
      ]);
      expect(r.json.outputs).toEqual([
        { name: "sum", datatype: "FP32", shape: [-1, 2] },
        { name: "diff", datatype: "FP32", shape: [-1, 2] },
      ]);
    });

    it("names every datatype of the types model", async () => {
      const r = await get(`${url}/v2/models/types`);
      expect(r.status).toBe(200);
      const byName = (list: { name: string; datatype: string; shape: number[] }[]) =>
        Object.fromEntries(list.map((t) => [t.name, `${t.datatype}${JSON.stringify(t.shape)}`]));
      expect(byName(r.json.inputs)).toEqual({
        i64: "INT64[-1]",
        i32: "INT32[-1]",
        u8: "UINT8[-1]",
        f64: "FP64[-1]",
        flag: "BOOL[-1]",
        f16: "FP16[-1]",
        text: "BYTES[-1]",
      });
      expect(byName(r.json.outputs)).toEqual({
        i64_out: "INT64[-1]",
        i32_out: "INT32[-1]",
        u8_out: "UINT8[-1]",
        f64_out: "FP64[-1]",
        flag_out: "BOOL[-1]",
        f16_out: "FP16[-1]",
        text_out: "BYTES[-1]",
      });
    });

    it("lists every version a versionPolicy {all: {}} serves", async () => {
      const r = await get(`${url}/v2/models/scale`);
      expect(r.status).toBe(200);
      expect(r.json.versions).toEqual(["1", "2", "3"]);
      expect(r.json.inputs).toEqual([{ name: "x", datatype: "FP32", shape: [-1] }]);
      expect(r.json.outputs).toEqual([{ name: "y", datatype: "FP32", shape: [-1] }]);
    });

    it("GET /v2/models/{m}/versions/{v} answers for each served version", async () => {
      for (const v of ["1", "2", "3"]) {
        const r = await get(`${url}/v2/models/scale/versions/${v}`);
        expect(r.status).toBe(200);
        expect(r.json.name).toBe("scale");
        expect(r.json.inputs).toEqual([{ name: "x", datatype: "FP32", shape: [-1] }]);
      }
    });

    it("without a version policy only the latest version is served", async () => {
      const meta = await get(`${latestOnly.url}/v2/models/scale`);
      expect(meta.status).toBe(200);
      expect(meta.json.versions).toEqual(["3"]);
      expectError(await get(`${latestOnly.url}/v2/models/scale/versions/1`), 404, "scale", "1");
    });

    it("an unknown model's metadata is 404", async () => {
      expectError(await get(`${url}/v2/models/ghost`), 404, "ghost");
    });
  });

  describe("model readiness", () => {
    it("GET /v2/models/{m}/ready", async () => {
      for (const name of ["iris", "multi_io", "types", "scale"]) {
        const r = await get(`${url}/v2/models/${name}/ready`);
        expect(r.status).toBe(200);
        expect(r.json).toEqual({ name, ready: true });
      }
    });

    it("GET /v2/models/{m}/versions/{v}/ready", async () => {
      for (const v of ["1", "2", "3"]) {
        const r = await get(`${url}/v2/models/scale/versions/${v}/ready`);
        expect(r.status).toBe(200);
        expect(r.json).toEqual({ name: "scale", ready: true });
      }
    });

    it("readiness of an unknown model or version is 404", async () => {
      expectError(await get(`${url}/v2/models/ghost/ready`), 404, "ghost");
      expectError(await get(`${url}/v2/models/scale/versions/9/ready`), 404, "scale", "9");
    });
  });

  describe("inference", () => {
    it("runs iris and matches the Python reference", async () => {
      const r = await post(`${url}/v2/models/iris/infer`, {
        inputs: [{ name: "input", shape: [7, 4], datatype: "FP32", data: expected.inputs }],
      });
      expect(r.status, r.text).toBe(200);
      expect(r.headers.get("content-type")).toMatch(/^application\/json/);
      expect(r.json.model_name).toBe("iris");
      expect(r.json.model_version).toBe("1");
      expect(r.json.outputs).toHaveLength(1);
      const out = r.json.outputs[0];
      expect(out.name).toBe("probabilities");
      expect(out.datatype).toBe("FP32");
      expect(out.shape).toEqual([7, 3]);
      expect(out.data).toHaveLength(21); // flat, row-major
      expectClose(out.data, expected.probabilities.flat(), expected.tolerance);
    });

    it("accepts nested and flat data alike", async () => {
      const flat = await post(`${url}/v2/models/iris/infer`, { inputs: [IRIS_INPUT] });
      const nested = await post(`${url}/v2/models/iris/infer`, {
        inputs: [
          {
            ...IRIS_INPUT,
            data: [
              [6.8, 2.8, 4.8, 1.4],
              [6.0, 3.4, 4.5, 1.6],
            ],
          },
        ],
      });
      expect(flat.status).toBe(200);
      expect(nested.status).toBe(200);
      expect(nested.json.outputs).toEqual(flat.json.outputs);
    });

    it("answers many concurrent requests, each with its own result", async () => {
      const n = expected.inputs.length;
      const jobs = Array.from({ length: 60 }, (_, k) => {
        const rows = [expected.inputs[k % n], expected.inputs[(k + 3) % n]];
        return post(`${url}/v2/models/iris/infer`, {
          id: `job-${k}`,
          inputs: [{ name: "input", shape: [2, 4], datatype: "FP32", data: rows }],
        }).then((r) => ({ k, r }));
      });
      for (const { k, r } of await Promise.all(jobs)) {
        expect(r.status).toBe(200);
        expect(r.json.id).toBe(`job-${k}`);
        expectClose(
          r.json.outputs[0].data,
          [...expected.probabilities[k % n], ...expected.probabilities[(k + 3) % n]],
          expected.tolerance,
        );
      }
    });

    it("an empty outputs list means every output", async () => {
      const r = await post(`${url}/v2/models/multi_io/infer`, {
        inputs: [
          { name: "a", shape: [1, 2], datatype: "FP32", data: [1, 2] },
          { name: "b", shape: [1, 2], datatype: "FP32", data: [1, 1] },
        ],
        outputs: [],
      });
      expect(r.status).toBe(200);
      expect(r.json.outputs.map((o: { name: string }) => o.name)).toEqual(["sum", "diff"]);
    });

    it("echoes the request id", async () => {
      const r = await post(`${url}/v2/models/iris/infer`, { id: "req-42-xyz", inputs: [IRIS_INPUT] });
      expect(r.status).toBe(200);
      expect(r.json.id).toBe("req-42-xyz");
      const none = await post(`${url}/v2/models/iris/infer`, { inputs: [IRIS_INPUT] });
      expect(none.json).not.toHaveProperty("id");
    });

    it("infers every datatype of the types model", async () => {
      const r = await post(`${url}/v2/models/types/infer`, {
        inputs: [
          { name: "i64", shape: [3], datatype: "INT64", data: [1, -2, 4_000_000_000] },
          { name: "i32", shape: [2], datatype: "INT32", data: [-7, 2147483646] },
          { name: "u8", shape: [4], datatype: "UINT8", data: [0, 1, 128, 255] },
          { name: "f64", shape: [2], datatype: "FP64", data: [3, -0.1] },
          { name: "flag", shape: [3], datatype: "BOOL", data: [true, false, true] },
          { name: "f16", shape: [3], datatype: "FP16", data: [1.5, -0.25, 1000] },
          { name: "text", shape: [3], datatype: "BYTES", data: ["hello", "wörld ✓", ""] },
        ],
      });
      expect(r.status, r.text).toBe(200);
      type Out = { name: string; datatype: string; shape: number[]; data: unknown[] };
      const outs: Record<string, Out> = Object.fromEntries((r.json.outputs as Out[]).map((o) => [o.name, o]));
      expect(Object.keys(outs).sort()).toEqual(
        ["f16_out", "f64_out", "flag_out", "i32_out", "i64_out", "text_out", "u8_out"].sort(),
      );
      expect(outs.i64_out).toMatchObject({ datatype: "INT64", shape: [3], data: [2, -4, 8_000_000_000] });
      expect(outs.i32_out).toMatchObject({ datatype: "INT32", shape: [2], data: [-6, 2147483647] });
      expect(outs.u8_out).toMatchObject({ datatype: "UINT8", shape: [4], data: [0, 1, 128, 255] });
      expect(outs.f64_out).toMatchObject({ datatype: "FP64", shape: [2], data: [1.5, -0.05] });
      expect(outs.flag_out).toMatchObject({ datatype: "BOOL", shape: [3], data: [false, true, false] });
      // 1.5, -0.25 and 1000 are exact in half precision, and so are their doubles.
      expect(outs.f16_out).toMatchObject({ datatype: "FP16", shape: [3], data: [3, -0.5, 2000] });
      expect(outs.text_out).toMatchObject({ datatype: "BYTES", shape: [3], data: ["hello", "wörld ✓", ""] });
    });

    it("accepts INT64 values sent as decimal strings", async () => {
      const r = await post(`${url}/v2/models/types/infer`, {
        inputs: [
          { name: "i64", shape: [1], datatype: "INT64", data: ["-3"] },
          { name: "i32", shape: [1], datatype: "INT32", data: [0] },
          { name: "u8", shape: [1], datatype: "UINT8", data: [0] },
          { name: "f64", shape: [1], datatype: "FP64", data: [0] },
          { name: "flag", shape: [1], datatype: "BOOL", data: [false] },
          { name: "f16", shape: [1], datatype: "FP16", data: [0] },
          { name: "text", shape: [1], datatype: "BYTES", data: ["x"] },
        ],
        outputs: [{ name: "i64_out" }],
      });
      expect(r.status, r.text).toBe(200);
      expect(r.json.outputs).toEqual([{ name: "i64_out", datatype: "INT64", shape: [1], data: [-6] }]);
    });

    it("returns the requested outputs only, in the requested order", async () => {
      const inputs = [
        { name: "a", shape: [1, 2], datatype: "FP32", data: [5, 7] },
        { name: "b", shape: [1, 2], datatype: "FP32", data: [1, 2] },
      ];
      const all = await post(`${url}/v2/models/multi_io/infer`, { inputs });
      expect(all.status).toBe(200);
      expect(all.json.outputs.map((o: { name: string }) => o.name)).toEqual(["sum", "diff"]);

      const reversed = await post(`${url}/v2/models/multi_io/infer`, {
        inputs,
        outputs: [{ name: "diff" }, { name: "sum" }],
      });
      expect(reversed.status).toBe(200);
      expect(reversed.json.outputs).toEqual([
        { name: "diff", datatype: "FP32", shape: [1, 2], data: [4, 5] },
        { name: "sum", datatype: "FP32", shape: [1, 2], data: [6, 9] },
      ]);

      const subset = await post(`${url}/v2/models/multi_io/infer`, { inputs, outputs: [{ name: "diff" }] });
      expect(subset.status).toBe(200);
      expect(subset.json.outputs).toEqual([{ name: "diff", datatype: "FP32", shape: [1, 2], data: [4, 5] }]);
    });

    it("/versions/{v}/infer runs that version and reports it", async () => {
      for (const v of [1, 2, 3]) {
        const r = await post(`${url}/v2/models/scale/versions/${v}/infer`, {
          inputs: [{ name: "x", shape: [3], datatype: "FP32", data: [1, 2, 3] }],
        });
        expect(r.status, r.text).toBe(200);
        expect(r.json.model_name).toBe("scale");
        expect(r.json.model_version).toBe(String(v));
        expect(r.json.outputs).toEqual([{ name: "y", datatype: "FP32", shape: [3], data: [v, 2 * v, 3 * v] }]);
      }
    });

    it("without a version the latest version answers", async () => {
      const r = await post(`${url}/v2/models/scale/infer`, {
        inputs: [{ name: "x", shape: [2], datatype: "FP32", data: [1, -2] }],
      });
      expect(r.status).toBe(200);
      expect(r.json.model_version).toBe("3");
      expect(r.json.outputs[0].data).toEqual([3, -6]);
    });

    it("an inference on an unknown version is 404", async () => {
      const r = await post(`${latestOnly.url}/v2/models/scale/versions/2/infer`, {
        inputs: [{ name: "x", shape: [1], datatype: "FP32", data: [1] }],
      });
      expectError(r, 404, "scale", "2");
    });
  });
});
