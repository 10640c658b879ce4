/**
 * Model control (`--model_control_mode none|explicit|poll`, Triton's): who may load, unload and upload over REST
 * and gRPC, the repository poll, and one change per model at a time (409 / ABORTED, never a 5xx).
 */
import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { file, tgz } from "../fixtures/archives/build.ts";
import { type GrpcClient, grpcClient } from "./grpc-util.ts";
import { expectError, FIXTURE_MODELS, post, type Reply, type Running, startWith, tempRepo, uploadArchive } from "./util.ts";

const TOKEN = "model-control-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const GRPC_AUTH = { authorization: `Bearer ${TOKEN}` };
const SCALE_V2 = { inputs: [{ name: "x", shape: [2], datatype: "FP32", data: [1, 2] }] };
const Status = { OK: 0, NOT_FOUND: 5, PERMISSION_DENIED: 7, ABORTED: 10, UNAUTHENTICATED: 16 } as const;

const scaleOnnx = (v: number) => readFile(join(FIXTURE_MODELS, "scale", String(v), "model.onnx"));

/** A repository with `scale` (version 1 only: answers x * 1). */
async function scaleRepo(): Promise<string> {
  const root = await tempRepo();
  await mkdir(join(root, "scale"));
  await cp(join(FIXTURE_MODELS, "scale", "1"), join(root, "scale", "1"), { recursive: true });
  return root;
}

const upload = (url: string, name: string, body: Uint8Array, headers: Record<string, string> = AUTH): Promise<Reply> =>
  uploadArchive(url, name, body, headers);

const load = (url: string, name: string, headers: Record<string, string> = {}) =>
  post(`${url}/v2/repository/models/${name}/load`, undefined, headers);
const unload = (url: string, name: string, headers: Record<string, string> = {}) =>
  post(`${url}/v2/repository/models/${name}/unload`, undefined, headers);

async function scaled(url: string, name = "scale"): Promise<Reply> {
  return post(`${url}/v2/models/${name}/infer`, SCALE_V2);
}

/** A gRPC call's outcome as a status code (0 for success) and its message. */
async function grpcOutcome(client: GrpcClient, method: string, request: unknown, metadata?: Record<string, string>) {
  try {
    await client.call(method, request, metadata);
    return { code: Status.OK as number, details: "" };
  } catch (err) {
    const e = err as { code: number; details: string };
    return { code: e.code, details: e.details };
  }
}

/** Polls until `check` holds (the deadline only guards against a hang; nothing here measures time). */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("--model_control_mode none (the default without an admin token)", () => {
  let root: string;
  let running: Running;
  let client: GrpcClient;

  beforeAll(async () => {
    root = await scaleRepo();
    running = await startWith({ modelRepository: root });
    client = grpcClient(running.server.grpcPort!);
  });
  afterAll(async () => {
    client?.close();
    await running?.server.stop();
    await rm(root, { recursive: true, force: true });
  });

  it("REST load, unload and upload answer 403 naming the flag, with or without a token", async () => {
    for (const headers of [{}, AUTH]) {
      expectError(await load(running.url, "scale", headers), 403, "--model_control_mode none");
      expectError(await unload(running.url, "scale", headers), 403, "--model_control_mode none");
      expectError(await upload(running.url, "scale", await tgz([file("model.onnx", await scaleOnnx(2))]), headers), 403, "--model_control_mode none");
    }
    expect((await scaled(running.url)).json.outputs[0].data).toEqual([1, 2]);
  });

  it("gRPC RepositoryModelLoad / Unload answer PERMISSION_DENIED", async () => {
    for (const method of ["RepositoryModelLoad", "RepositoryModelUnload"]) {
      const r = await grpcOutcome(client, method, { model_name: "scale" }, GRPC_AUTH);
      expect(r.code, r.details).toBe(Status.PERMISSION_DENIED);
      expect(r.details).toContain("--model_control_mode none");
    }
    expect((await scaled(running.url)).status).toBe(200);
  });

  it("the repository index stays readable", async () => {
    const r = await post(`${running.url}/v2/repository/index`, {});
    expect(r.json).toEqual([{ name: "scale", version: "1", state: "READY", reason: "" }]);
  });
});

describe("--model_control_mode explicit", () => {
  let root: string;
  let running: Running;
  let client: GrpcClient;

  beforeAll(async () => {
    root = await scaleRepo();
    // No mode given: an admin token makes explicit the default.
    running = await startWith({ modelRepository: root, adminToken: TOKEN });
    client = grpcClient(running.server.grpcPort!);
  });
  afterAll(async () => {
    client?.close();
    await running?.server.stop();
    await rm(root, { recursive: true, force: true });
  });

  it("is the default with an admin token", () => {
    expect(running.server.modelControl.mode).toBe("explicit");
  });

  it("REST: 401 with WWW-Authenticate without a token or with a wrong one; 200 with the token", async () => {
    for (const call of [load, unload]) {
      const missing = await call(running.url, "scale");
      expectError(missing, 401, "Authorization: Bearer");
      expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="tserve"');
      const wrong = await call(running.url, "scale", { authorization: `Bearer ${TOKEN}-not` });
      expectError(wrong, 401, "not valid");
      expect(wrong.headers.get("www-authenticate")).toMatch(/^Bearer .*invalid_token/);
      expect((await call(running.url, "scale", { authorization: `Basic ${TOKEN}` })).status).toBe(401);
    }
    expect((await scaled(running.url)).status).toBe(200);
    expect((await unload(running.url, "scale", AUTH)).json).toEqual({ name: "scale", unload: true });
    expect((await scaled(running.url)).status).toBe(503);
    expect((await load(running.url, "scale", AUTH)).json).toEqual({ name: "scale", load: true });
    expect((await scaled(running.url)).json.outputs[0].data).toEqual([1, 2]);
  });

  it("gRPC: UNAUTHENTICATED without the token or with a wrong one; OK with `authorization: Bearer` metadata", async () => {
    for (const method of ["RepositoryModelLoad", "RepositoryModelUnload"]) {
      expect((await grpcOutcome(client, method, { model_name: "scale" })).code).toBe(Status.UNAUTHENTICATED);
      expect((await grpcOutcome(client, method, { model_name: "scale" }, { authorization: "Bearer nope" })).code).toBe(Status.UNAUTHENTICATED);
    }
    expect((await scaled(running.url)).status).toBe(200);
    expect((await grpcOutcome(client, "RepositoryModelUnload", { model_name: "scale" }, GRPC_AUTH)).code).toBe(Status.OK);
    expect((await scaled(running.url)).status).toBe(503);
    expect((await grpcOutcome(client, "RepositoryModelLoad", { model_name: "scale" }, GRPC_AUTH)).code).toBe(Status.OK);
    expect((await scaled(running.url)).status).toBe(200);
  });

  it("the token is checked before anything about the model is told", async () => {
    expectError(await load(running.url, "nonexistent"), 401);
    expect((await grpcOutcome(client, "RepositoryModelLoad", { model_name: "nonexistent" })).code).toBe(Status.UNAUTHENTICATED);
    expectError(await load(running.url, "nonexistent", AUTH), 404, "nonexistent");
  });

  it("without an admin token, explicit (asked for) lets anyone load and unload, but never upload", async () => {
    const open = await startWith({ modelRepository: root, modelControlMode: "explicit" });
    const openClient = grpcClient(open.server.grpcPort!);
    try {
      expect((await unload(open.url, "scale")).status).toBe(200);
      expect((await load(open.url, "scale")).status).toBe(200);
      expect((await grpcOutcome(openClient, "RepositoryModelUnload", { model_name: "scale" })).code).toBe(Status.OK);
      expect((await grpcOutcome(openClient, "RepositoryModelLoad", { model_name: "scale" })).code).toBe(Status.OK);
      expectError(await upload(open.url, "scale", await tgz([file("model.onnx", await scaleOnnx(2))]), {}), 403, "uploads are disabled");
    } finally {
      openClient.close();
      await open.server.stop();
    }
  });
});

describe("--model_control_mode poll", () => {
  let root: string;
  let running: Running;
  let client: GrpcClient;

  const rows = async (name: string) =>
    ((await post(`${running.url}/v2/repository/index`, {})).json as { name: string; version?: string; state: string }[]).filter(
      (r) => r.name === name,
    );
  const answer = async (name: string) => {
    const r = await scaled(running.url, name);
    return r.status === 200 ? (r.json.outputs[0].data as number[]).join(",") : `HTTP ${r.status}`;
  };

  beforeAll(async () => {
    root = await scaleRepo();
    running = await startWith({ modelRepository: root, modelControlMode: "poll", repositoryPollSecs: 0.05, adminToken: TOKEN });
    client = grpcClient(running.server.grpcPort!);
  });
  afterAll(async () => {
    client?.close();
    await running?.server.stop();
    await rm(root, { recursive: true, force: true });
  });

  it("refuses explicit load, unload and upload (403 / PERMISSION_DENIED), even with the admin token", async () => {
    expectError(await load(running.url, "scale", AUTH), 403, "--model_control_mode poll");
    expectError(await unload(running.url, "scale", AUTH), 403, "--model_control_mode poll");
    expectError(await upload(running.url, "scale", await tgz([file("model.onnx", await scaleOnnx(2))])), 403, "--model_control_mode poll");
    for (const method of ["RepositoryModelLoad", "RepositoryModelUnload"]) {
      expect((await grpcOutcome(client, method, { model_name: "scale" }, GRPC_AUTH)).code).toBe(Status.PERMISSION_DENIED);
    }
    expect(await answer("scale")).toBe("1,2");
  });

  it("loads a new model folder", async () => {
    await mkdir(join(root, "doubler", "1"), { recursive: true });
    await writeFile(join(root, "doubler", "1", "model.onnx"), await scaleOnnx(2));
    await until(async () => (await answer("doubler")) === "2,4", "the new folder to be served");
    expect(await rows("doubler")).toEqual([{ name: "doubler", version: "1", state: "READY", reason: "" }]);
  });

  it("serves a new version folder (the latest, by the default policy)", async () => {
    await mkdir(join(root, "scale", "3"));
    await writeFile(join(root, "scale", "3", "model.onnx"), await scaleOnnx(3));
    await until(async () => (await answer("scale")) === "3,6", "version 3 to be served");
    const versions = await rows("scale");
    expect(versions.find((r) => r.version === "3")?.state).toBe("READY");
    expect(versions.find((r) => r.version === "1")?.state).not.toBe("READY");
  });

  it("reloads a model whose file changed", async () => {
    await writeFile(join(root, "doubler", "1", "model.onnx"), await scaleOnnx(1));
    await until(async () => (await answer("doubler")) === "1,2", "the changed model to be reloaded");
  });

  it("reports a broken new folder UNAVAILABLE and keeps serving the others", async () => {
    await mkdir(join(root, "broken", "1"), { recursive: true });
    await writeFile(join(root, "broken", "1", "model.onnx"), "not an onnx model");
    await until(async () => (await rows("broken")).some((r) => r.state === "UNAVAILABLE"), "the broken folder to be reported");
    expect(await answer("scale")).toBe("3,6");
  });

  it("unloads and forgets a removed folder", async () => {
    await rm(join(root, "doubler"), { recursive: true });
    await until(async () => (await answer("doubler")) === "HTTP 404", "the removed model to be gone");
    expect(await rows("doubler")).toEqual([]);
    expect(await answer("scale")).toBe("3,6");
  });
});

describe("one change of a model at a time", () => {
  let root: string;
  let running: Running;
  let client: GrpcClient;

  beforeAll(async () => {
    root = await scaleRepo();
    // A component whose load() waits on a gate the test opens (it runs in this process).
    await mkdir(join(root, "gate"));
    await writeFile(join(root, "gate", "model-settings.json"), JSON.stringify({ runtime: "seldon" }));
    await writeFile(
      join(root, "gate", "model.ts"),
      `export default class Gate {\n  async load() {\n    await (globalThis as any).__tserveTestGate?.();\n  }\n  predict() {\n    return [["open"]];\n  }\n}\n`,
    );
    running = await startWith({ modelRepository: root, adminToken: TOKEN });
    client = grpcClient(running.server.grpcPort!);
  });
  afterAll(async () => {
    delete (globalThis as any).__tserveTestGate;
    client?.close();
    await running?.server.stop();
    await rm(root, { recursive: true, force: true });
  });

  it("while a load runs, every other change of that model answers 409 / ABORTED; other models are free", async () => {
    let entered!: () => void;
    let release!: () => void;
    const inLoad = new Promise<void>((r) => (entered = r));
    const released = new Promise<void>((r) => (release = r));
    (globalThis as any).__tserveTestGate = () => {
      entered();
      return released;
    };
    const first = load(running.url, "gate", AUTH);
    await inLoad;
    try {
      expectError(await load(running.url, "gate", AUTH), 409, "gate", "busy", "load");
      expectError(await unload(running.url, "gate", AUTH), 409, "gate", "busy");
      expectError(await upload(running.url, "gate", await tgz([file("model.onnx", await scaleOnnx(2))])), 409, "gate", "busy");
      for (const method of ["RepositoryModelLoad", "RepositoryModelUnload"]) {
        const r = await grpcOutcome(client, method, { model_name: "gate" }, GRPC_AUTH);
        expect(r.code, r.details).toBe(Status.ABORTED);
        expect(r.details).toContain("busy");
      }
      // Authorisation still comes first.
      expectError(await load(running.url, "gate"), 401);
      // Another model is not held up.
      expect((await unload(running.url, "scale", AUTH)).status).toBe(200);
      expect((await load(running.url, "scale", AUTH)).status).toBe(200);
    } finally {
      release();
      delete (globalThis as any).__tserveTestGate;
    }
    expect((await first).status).toBe(200);
    expect((await load(running.url, "gate", AUTH)).status).toBe(200);
    expect((await post(`${running.url}/v1/models/gate:predict`, { instances: [[1]] })).json).toEqual({ predictions: [["open"]] });
  });

  it("loads, unloads and uploads racing on one model never answer 5xx, and end consistent", async () => {
    const statuses: number[] = [];
    const archives = await Promise.all([1, 2, 3].map(async (v) => tgz([file("1/model.onnx", await scaleOnnx(v))])));
    for (let round = 0; round < 12; round++) {
      const calls = [
        upload(running.url, "scale", archives[round % 3]),
        load(running.url, "scale", AUTH),
        load(running.url, "scale", AUTH),
        round % 4 === 0 ? unload(running.url, "scale", AUTH) : load(running.url, "scale", AUTH),
        grpcOutcome(client, "RepositoryModelLoad", { model_name: "scale" }, GRPC_AUTH).then((r) => ({
          status: r.code === Status.OK ? 200 : r.code === Status.ABORTED ? 409 : 500 + r.code,
          text: r.details,
        })),
      ];
      for (const r of await Promise.all(calls)) {
        expect([200, 409], `${r.status}: ${r.text}`).toContain(r.status);
        statuses.push(r.status);
      }
    }
    expect(statuses).toContain(200);
    // Settled: the model on disk is the one served.
    await until(async () => (await load(running.url, "scale", AUTH)).status === 200, "a free moment to load");
    const onDisk = await readFile(join(root, "scale", "1", "model.onnx"));
    const served = (await scaled(running.url)).json.outputs[0].data as number[];
    expect(onDisk).toEqual(await scaleOnnx(served[0]));
  });
});
