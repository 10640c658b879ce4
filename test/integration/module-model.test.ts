import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import DoublerModel from "../fixtures/modules/doubler.ts";
import LifecycleModel from "../fixtures/modules/lifecycle.ts";
import StrictModel from "../fixtures/modules/strict.ts";
import ThrowingModel from "../fixtures/modules/thrower.ts";
import { freePort, startCli, stopCli } from "../helpers/server.ts";
import {
  expectError,
  float32Bytes,
  get,
  MODULE_REPO,
  MODULES,
  parseBytesElements,
  post,
  postBytes,
  type Running,
  readFloat32,
  splitBinaryResponse,
  startWith,
} from "./util.ts";

describe("TypeScript Model classes served programmatically", () => {
  let running: Running;
  let url: string;
  let lifecycle: LifecycleModel;

  beforeAll(async () => {
    lifecycle = new LifecycleModel("lifecycle");
    running = await startWith({
      models: [lifecycle, new ThrowingModel("thrower"), new StrictModel("strict"), new DoublerModel("doubler")],
    });
    url = running.url;
  });
  afterAll(async () => running?.server.stop());

  it("start() awaited every model's async load()", async () => {
    expect(lifecycle.ready).toBe(true);
    expect(lifecycle.loads).toBe(1);
    expect((await get(`${url}/v2/health/ready`)).status).toBe(200);
    expect([...(await get(`${url}/v1/models`)).json.models].sort()).toEqual([
      "doubler",
      "lifecycle",
      "strict",
      "thrower",
    ]);
    for (const name of ["lifecycle", "thrower", "strict", "doubler"]) {
      expect((await get(`${url}/v1/models/${name}`)).json).toEqual({ name, ready: true });
      expect((await get(`${url}/v2/models/${name}/ready`)).json).toEqual({ name, ready: true });
    }
  });

  it("runs async preprocess, sync predict and async postprocess in order on V1", async () => {
    const r = await post(
      `${url}/v1/models/lifecycle:predict`,
      {
        instances: [
          [1, 2, 3],
          [10, 20, 30],
        ],
      },
      { "x-request-id": "rid-7" },
    );
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({
      predictions: [12, 120],
      requestId: "rid-7",
      loads: 1,
      protocol: "v1",
      stages: ["preprocess", "predict", "postprocess"],
    });
    // Headers a hook sets reach the response.
    expect(r.headers.get("x-lifecycle")).toBe("postprocessed");
  });

  it(":explain runs preprocess -> explain -> postprocess", async () => {
    const r = await post(`${url}/v1/models/lifecycle:explain`, { instances: [[1, 2]] });
    expect(r.status, r.text).toBe(200);
    expect(r.json.explanations).toEqual([[1, 2]]);
    expect(r.json.stages).toEqual(["preprocess", "predict", "postprocess"]);
  });

  it(":explain on a model without explain() is 501", async () => {
    expectError(await post(`${url}/v1/models/strict:explain`, { instances: [1] }), 501, "strict");
  });

  it("a predict that throws an Error is 500 with the message, and the server keeps serving", async () => {
    const msg = expectError(await post(`${url}/v1/models/thrower:predict`, { instances: [1] }), 500);
    expect(msg).toContain("kaboom: the thrower model failed on purpose");
    const again = await post(`${url}/v1/models/thrower:predict`, { fail: false });
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ predictions: ["ok"] });
    expect((await post(`${url}/v1/models/lifecycle:predict`, { instances: [[1]] })).status).toBe(200);
  });

  it("a V2 request to a throwing model is 500 with the message too", async () => {
    const r = await post(`${url}/v2/models/thrower/infer`, {
      inputs: [{ name: "x", shape: [1], datatype: "FP32", data: [1] }],
    });
    expectError(r, 500, "kaboom");
  });

  it("a model that throws InvalidInput gets 400 with its message", async () => {
    const r = await post(`${url}/v1/models/strict:predict`, { instances: ["not", "numbers"] });
    expectError(r, 400, "strict model wants 'instances' as a list of numbers");
    const ok = await post(`${url}/v1/models/strict:predict`, { instances: [1, 2.5] });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ predictions: [10, 25] });
  });

  it("a V2 model returning {outputs:[{name,shape,datatype,data}]} answers a V2 infer", async () => {
    const r = await post(`${url}/v2/models/doubler/infer`, {
      id: "d-1",
      inputs: [{ name: "x", shape: [2, 2], datatype: "FP32", data: [1, 2, 3, 4.5] }],
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({
      model_name: "doubler",
      id: "d-1",
      outputs: [
        { name: "doubled", datatype: "FP32", shape: [2, 2], data: [2, 4, 6, 9] },
        { name: "label", datatype: "BYTES", shape: [1], data: ["doubled"] },
      ],
    });
  });

  it("a V2 module model supports output filtering and binary outputs", async () => {
    const { body, headerLength } = (() => {
      const blob = float32Bytes([0.5, -1]);
      const json = Buffer.from(
        JSON.stringify({
          inputs: [{ name: "x", shape: [2], datatype: "FP32", parameters: { binary_data_size: 8 } }],
          outputs: [{ name: "label" }, { name: "doubled" }],
          parameters: { binary_data_output: true },
        }),
      );
      return { body: Buffer.concat([json, blob]), headerLength: json.byteLength };
    })();
    const r = await postBytes(`${url}/v2/models/doubler/infer`, body, {
      "inference-header-content-length": String(headerLength),
    });
    expect(r.status, r.bytes.toString()).toBe(200);
    const { header, blobs } = splitBinaryResponse(r.bytes, Number(r.headers.get("inference-header-content-length")));
    expect(header.outputs.map((o: { name: string }) => o.name)).toEqual(["label", "doubled"]);
    expect(parseBytesElements(blobs.label)).toEqual(["doubled"]);
    expect(readFloat32(blobs.doubled)).toEqual([1, -2]);
  });

  it("V2 metadata reports the inputs and outputs the class declares", async () => {
    const r = await get(`${url}/v2/models/doubler`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      name: "doubler",
      inputs: [{ name: "x", datatype: "FP32", shape: [-1] }],
      outputs: [
        { name: "doubled", datatype: "FP32", shape: [-1] },
        { name: "label", datatype: "BYTES", shape: [1] },
      ],
    });
    expect(r.json).not.toHaveProperty("versions");
  });

  it("a V1 request to a V2-only model is rejected with its InvalidInput (400)", async () => {
    expectError(await post(`${url}/v1/models/doubler:predict`, { instances: [1] }), 400, "V2");
  });
});

describe("TypeScript Model files served by the CLI", () => {
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) await stopCli(c);
  });

  async function serve(args: string[]): Promise<string> {
    const { child, url } = await startCli(["serve", ...args], await freePort());
    children.push(child);
    return url;
  }

  it("tserve serve ./lifecycle.ts --model_name serves it under that name", async () => {
    const url = await serve([join(MODULES, "lifecycle.ts"), "--model_name", "custom"]);
    expect((await get(`${url}/v1/models`)).json).toEqual({ models: ["custom"] });
    expect((await get(`${url}/v1/models/custom`)).json).toEqual({ name: "custom", ready: true });
    const r = await post(`${url}/v1/models/custom:predict`, { instances: [[1, 2]] });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({ predictions: [6], loads: 1, stages: ["preprocess", "predict", "postprocess"] });
    expect(r.headers.get("x-lifecycle")).toBe("postprocessed");
  });

  it("without --model_name the model is named after the file", async () => {
    const url = await serve([join(MODULES, "doubler.ts")]);
    expect((await get(`${url}/v2/models`)).json).toEqual({ models: ["doubler"] });
    const r = await post(`${url}/v2/models/doubler/infer`, {
      inputs: [{ name: "x", shape: [1], datatype: "FP32", data: [21] }],
      outputs: [{ name: "doubled" }],
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.outputs).toEqual([{ name: "doubled", datatype: "FP32", shape: [1], data: [42] }]);
  });

  it("a module whose predict throws: 500 with the message, then keeps serving", async () => {
    const url = await serve([join(MODULES, "thrower.ts"), "--model_name", "thrower"]);
    expectError(await post(`${url}/v1/models/thrower:predict`, { instances: [1] }), 500, "kaboom");
    const ok = await post(`${url}/v1/models/thrower:predict`, { fail: false });
    expect(ok.status).toBe(200);
  });

  it("a module that throws InvalidInput gets 400 through the CLI as well", async () => {
    const url = await serve([join(MODULES, "strict.ts")]);
    const r = await post(`${url}/v1/models/strict:predict`, { instances: ["x"] });
    expectError(r, 400, "strict model wants 'instances' as a list of numbers");
    expect((await post(`${url}/v1/models/strict:predict`, { instances: [3] })).json).toEqual({ predictions: [30] });
  });

  it("a repository folder holding a model.ts with model-settings.json", async () => {
    const url = await serve(["--model_repository", MODULE_REPO]);
    const meta = await get(`${url}/v2/models/greeter`);
    expect(meta.status).toBe(200);
    expect(meta.json.inputs).toEqual([{ name: "name", datatype: "BYTES", shape: [-1] }]);
    expect(meta.json.outputs).toEqual([{ name: "greeting", datatype: "BYTES", shape: [-1] }]);
    // `parameters` from model-settings.json reach the constructor.
    const v1 = await post(`${url}/v1/models/greeter:predict`, { instances: ["Ada", "Linus"] });
    expect(v1.json).toEqual({ predictions: ["Hello, Ada!", "Hello, Linus!"] });
    const v2 = await post(`${url}/v2/models/greeter/infer`, {
      inputs: [{ name: "name", shape: [1], datatype: "BYTES", data: ["Grace"] }],
    });
    expect(v2.status, v2.text).toBe(200);
    expect(v2.json.outputs).toEqual([{ name: "greeting", datatype: "BYTES", shape: [1], data: ["Hello, Grace!"] }]);
  });
});
