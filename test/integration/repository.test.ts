import { cp, mkdir, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectError,
  get,
  IRIS_DIR,
  MULTI_IO_DIR,
  post,
  type Running,
  SCALE_ALL_DIR,
  startWith,
  TYPES_DIR,
  tempRepo,
} from "./util.ts";

interface IndexRow {
  name: string;
  version?: string;
  state: string;
  reason: string;
}

const IRIS_V2 = { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [6.8, 2.8, 4.8, 1.4] }] };
const MULTI_V2 = {
  inputs: [
    { name: "a", shape: [1, 2], datatype: "FP32", data: [1, 2] },
    { name: "b", shape: [1, 2], datatype: "FP32", data: [3, 4] },
  ],
};
const SCALE_V2 = { inputs: [{ name: "x", shape: [2], datatype: "FP32", data: [1, 2] }] };

async function index(url: string, body?: unknown): Promise<IndexRow[]> {
  const r = await post(`${url}/v2/repository/index`, body);
  expect(r.status, r.text).toBe(200);
  expect(Array.isArray(r.json)).toBe(true);
  return r.json as IndexRow[];
}

function rowsOf(rows: IndexRow[], name: string): IndexRow[] {
  return rows.filter((r) => r.name === name);
}

describe("model repository extension", () => {
  let root: string;
  let running: Running;
  let url: string;

  beforeAll(async () => {
    root = await tempRepo({ iris: IRIS_DIR, multi_io: MULTI_IO_DIR, scale: SCALE_ALL_DIR, types: TYPES_DIR });
    // A model whose .onnx file is garbage: it must be listed UNAVAILABLE while the others serve.
    await mkdir(join(root, "broken", "1"), { recursive: true });
    await writeFile(
      join(root, "broken", "1", "model.onnx"),
      Buffer.from("this is not an onnx protobuf \u0000\u0001\u0002"),
    );
    // A folder with nothing servable in it.
    await mkdir(join(root, "empty"));
    running = await startWith({ modelRepository: root, modelControlMode: "explicit" });
    url = running.url;
  });
  afterAll(async () => {
    await running?.server.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("the server still starts and serves the good models; strict readiness keeps it not ready for the broken ones", async () => {
    expect((await get(`${url}/v2/health/ready`)).status).toBe(503);
    expect((await post(`${url}/v2/models/iris/infer`, IRIS_V2)).status).toBe(200);
    expect((await post(`${url}/v2/models/multi_io/infer`, MULTI_V2)).status).toBe(200);
  });

  it("POST /v2/repository/index lists every model version with its state", async () => {
    const rows = await index(url);
    for (const row of rows) {
      expect(Object.keys(row).sort()).toEqual(
        row.version === undefined ? ["name", "reason", "state"] : ["name", "reason", "state", "version"],
      );
      expect(["UNKNOWN", "READY", "UNAVAILABLE", "LOADING", "UNLOADING"]).toContain(row.state);
      expect(typeof row.reason).toBe("string");
    }
    expect(rowsOf(rows, "iris")).toEqual([{ name: "iris", version: "1", state: "READY", reason: "" }]);
    expect(rowsOf(rows, "scale").map((r) => [r.version, r.state])).toEqual([
      ["1", "READY"],
      ["2", "READY"],
      ["3", "READY"],
    ]);
    expect(rowsOf(rows, "multi_io")).toEqual([{ name: "multi_io", version: "1", state: "READY", reason: "" }]);
    expect(rowsOf(rows, "types")[0].state).toBe("READY");
  });

  it("a model with a garbage .onnx is UNAVAILABLE with a reason; infer on it is 503", async () => {
    const broken = rowsOf(await index(url), "broken");
    expect(broken).toHaveLength(1);
    expect(broken[0].state).toBe("UNAVAILABLE");
    expect(broken[0].reason.length).toBeGreaterThan(0);
    const r = await post(`${url}/v2/models/broken/infer`, IRIS_V2);
    expectError(r, 503, "broken");
    expectError(await get(`${url}/v2/models/broken/ready`), 503, "broken");
  });

  it("a folder with no model in it is UNAVAILABLE with a reason", async () => {
    const empty = rowsOf(await index(url), "empty");
    expect(empty).toHaveLength(1);
    expect(empty[0].state).toBe("UNAVAILABLE");
    expect(empty[0].reason.length).toBeGreaterThan(0);
  });

  it('{"ready": true} lists only READY versions', async () => {
    const rows = await index(url, { ready: true });
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.state).toBe("READY");
    expect(rows.map((r) => r.name)).not.toContain("broken");
    expect(rows.map((r) => r.name)).not.toContain("empty");
    expect(rows.map((r) => r.name)).toContain("iris");
    const all = await index(url, { ready: false });
    expect(all.length).toBeGreaterThan(rows.length);
  });

  it("a bad index body is 400", async () => {
    expectError(await post(`${url}/v2/repository/index`, { ready: "yes" }), 400, "ready");
    expectError(await post(`${url}/v2/repository/index`, "{not json"), 400);
  });

  it("unload -> 503 on infer and UNAVAILABLE in the index; load -> 200 and infer works again", async () => {
    const unload = await post(`${url}/v2/repository/models/multi_io/unload`);
    expect(unload.status, unload.text).toBe(200);
    expect(unload.json).toEqual({ name: "multi_io", unload: true });

    expectError(await post(`${url}/v2/models/multi_io/infer`, MULTI_V2), 503, "multi_io");
    expectError(await post(`${url}/v1/models/multi_io:predict`, { instances: [{ a: [1, 2], b: [3, 4] }] }), 503);
    expectError(await get(`${url}/v2/models/multi_io/ready`), 503, "multi_io");
    const rows = rowsOf(await index(url), "multi_io");
    expect(rows.map((r) => r.state)).toEqual(["UNAVAILABLE"]);
    expect(rowsOf(await index(url, { ready: true }), "multi_io")).toEqual([]);
    // The other models are untouched.
    expect((await post(`${url}/v2/models/iris/infer`, IRIS_V2)).status).toBe(200);

    const load = await post(`${url}/v2/repository/models/multi_io/load`);
    expect(load.status, load.text).toBe(200);
    expect(load.json).toEqual({ name: "multi_io", load: true });
    const r = await post(`${url}/v2/models/multi_io/infer`, MULTI_V2);
    expect(r.status).toBe(200);
    expect(r.json.outputs[0].data).toEqual([4, 6]);
    expect(rowsOf(await index(url), "multi_io").map((x) => x.state)).toEqual(["READY"]);
    expect((await get(`${url}/v2/models/multi_io/ready`)).status).toBe(200);
  });

  it("unloading a versioned model unloads every version; loading brings them all back", async () => {
    expect((await post(`${url}/v2/repository/models/scale/unload`)).status).toBe(200);
    expect(rowsOf(await index(url), "scale").map((r) => r.state)).toEqual([
      "UNAVAILABLE",
      "UNAVAILABLE",
      "UNAVAILABLE",
    ]);
    expectError(await post(`${url}/v2/models/scale/versions/2/infer`, SCALE_V2), 503, "scale");
    expect((await post(`${url}/v2/repository/models/scale/load`)).status).toBe(200);
    const r = await post(`${url}/v2/models/scale/versions/2/infer`, SCALE_V2);
    expect(r.status).toBe(200);
    expect(r.json.outputs[0].data).toEqual([2, 4]);
  });

  it("loading a model that is already loaded is 200 and keeps it serving", async () => {
    expect((await post(`${url}/v2/repository/models/iris/load`)).status).toBe(200);
    expect((await post(`${url}/v2/models/iris/infer`, IRIS_V2)).status).toBe(200);
  });

  it("load or unload of an unknown name is 404 and names it", async () => {
    expectError(await post(`${url}/v2/repository/models/nonexistent/load`), 404, "nonexistent");
    expectError(await post(`${url}/v2/repository/models/nonexistent/unload`), 404, "nonexistent");
  });

  it("load refuses a model name that climbs out of the repository folder", async () => {
    // A servable model folder right next to the repository, not inside it.
    const outside = await tempRepo({ "1": join(SCALE_ALL_DIR, "2") });
    try {
      const name = `../${basename(outside)}`;
      const r = await post(`${url}/v2/repository/models/${encodeURIComponent(name)}/load`);
      expect([400, 404], r.text).toContain(r.status);
      expect(Object.keys(r.json ?? {})).toEqual(["error"]);
      expect((await index(url)).map((row) => row.name)).not.toContain(name);
      expect((await get(`${url}/v2/models`)).json.models).not.toContain(name);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it("loading the broken model fails with an error and it stays UNAVAILABLE", async () => {
    const r = await post(`${url}/v2/repository/models/broken/load`);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(typeof r.json.error).toBe("string");
    expect(r.json.error).toContain("broken");
    expect(rowsOf(await index(url), "broken")[0].state).toBe("UNAVAILABLE");
  });

  it("a model folder added after start-up is served after POST load", async () => {
    expectError(await post(`${url}/v2/models/late/infer`, SCALE_V2), 404, "late");
    await cp(join(SCALE_ALL_DIR, "2"), join(root, "late", "1"), { recursive: true });
    const load = await post(`${url}/v2/repository/models/late/load`);
    expect(load.status, load.text).toBe(200);
    const r = await post(`${url}/v2/models/late/infer`, SCALE_V2);
    expect(r.status, r.text).toBe(200);
    expect(r.json.model_name).toBe("late");
    expect(r.json.outputs[0].data).toEqual([2, 4]);
    expect(rowsOf(await index(url), "late")).toEqual([{ name: "late", version: "1", state: "READY", reason: "" }]);
    expect((await get(`${url}/v2/models`)).json.models).toContain("late");
  });

  it("a repaired model is served after POST load", async () => {
    await cp(join(IRIS_DIR, "1", "model.onnx"), join(root, "broken", "1", "model.onnx"));
    const load = await post(`${url}/v2/repository/models/broken/load`);
    expect(load.status, load.text).toBe(200);
    const r = await post(`${url}/v2/models/broken/infer`, IRIS_V2);
    expect(r.status, r.text).toBe(200);
    expect(r.json.outputs[0].shape).toEqual([1, 3]);
    expect(rowsOf(await index(url), "broken")).toEqual([{ name: "broken", version: "1", state: "READY", reason: "" }]);
  });

  it("a new version folder is picked up on reload (latest policy serves it)", async () => {
    // multi_io has no model-settings.json: only the latest version is served.
    await cp(join(root, "multi_io", "1"), join(root, "multi_io", "2"), { recursive: true });
    expect((await post(`${url}/v2/repository/models/multi_io/load`)).status).toBe(200);
    const r = await post(`${url}/v2/models/multi_io/infer`, MULTI_V2);
    expect(r.status).toBe(200);
    expect(r.json.model_version).toBe("2");
    const rows = rowsOf(await index(url, { ready: true }), "multi_io");
    expect(rows.map((x) => x.version)).toEqual(["2"]);
  });
});

describe("repository routes with programmatic models", () => {
  let running: Running;

  beforeAll(async () => {
    const { default: StrictModel } = await import("../fixtures/modules/strict.ts");
    running = await startWith({ models: [new StrictModel("strict")], modelControlMode: "explicit" });
  });
  afterAll(async () => running?.server.stop());

  it("an unversioned model's index row has no version", async () => {
    expect(await index(running.url)).toEqual([{ name: "strict", state: "READY", reason: "" }]);
  });

  it("unload and load work for a registered model", async () => {
    expect((await post(`${running.url}/v2/repository/models/strict/unload`)).status).toBe(200);
    expectError(await post(`${running.url}/v1/models/strict:predict`, { instances: [1] }), 503, "strict");
    expect((await post(`${running.url}/v2/repository/models/strict/load`)).status).toBe(200);
    const r = await post(`${running.url}/v1/models/strict:predict`, { instances: [1, 2] });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ predictions: [10, 20] });
  });
});

describe("TF Serving style version folders", () => {
  it("serves zero-padded version folders (0001, 0002) as versions 1 and 2, the latest by default", async () => {
    const root = await tempRepo();
    const model = join(root, "iris");
    for (const v of ["0001", "0002"]) {
      await mkdir(join(model, v), { recursive: true });
      await cp(join(IRIS_DIR, "1", "model.onnx"), join(model, v, "model.onnx"));
    }
    await writeFile(join(model, "model-settings.json"), JSON.stringify({ versionPolicy: { all: {} } }));
    const running = await startWith({ modelRepository: root, enableGrpc: false });
    try {
      const meta = await get(`${running.url}/v2/models/iris`);
      expect(meta.json.versions).toEqual(["1", "2"]);
      const r = await post(`${running.url}/v1/models/iris/versions/1:predict`, { instances: [[6.8, 2.8, 4.8, 1.4]] });
      expect(r.status).toBe(200);
      expect(r.json.predictions[0]).toHaveLength(3);
      expect((await post(`${running.url}/v2/models/iris/versions/2/infer`, IRIS_V2)).status).toBe(200);
    } finally {
      await running.server.stop();
      await rm(root, { recursive: true, force: true });
    }
  });

  it("refuses two folders that are the same version (1 and 001)", async () => {
    const root = await tempRepo();
    for (const v of ["1", "001"]) {
      await mkdir(join(root, "twice", v), { recursive: true });
      await cp(join(IRIS_DIR, "1", "model.onnx"), join(root, "twice", v, "model.onnx"));
    }
    const running = await startWith({ modelRepository: root, enableGrpc: false });
    try {
      const index = await post(`${running.url}/v2/repository/index`, {});
      const row = (index.json as IndexRow[]).find((m) => m.name === "twice");
      expect(row?.state).toBe("UNAVAILABLE");
      expect(row?.reason).toMatch(/1 and 001|001 and 1/);
    } finally {
      await running.server.stop();
      await rm(root, { recursive: true, force: true });
    }
  });
});
