import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { threadId } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ThreadedModuleModel } from "../../packages/server/src/runtime/module/threaded-model.ts";
import { expectError, FIXTURES, get, post, ROOT, type Running, startWith } from "./util.ts";

/** A TypeScript model with `instanceCount` in its model-settings.json runs on that many worker threads. */

let running: Running;
beforeAll(async () => {
  running = await startWith({ modelRepository: join(FIXTURES, "repos", "threads") });
});
afterAll(async () => {
  await running?.server.stop();
});

function spinModel(): ThreadedModuleModel {
  const model = running.server.repository.get("spin");
  expect(model).toBeInstanceOf(ThreadedModuleModel);
  return model as ThreadedModuleModel;
}

function inferV2(data: number[]): Promise<Response> {
  return fetch(`${running.url}/v2/models/spin/infer`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ inputs: [{ name: "x", shape: [data.length], datatype: "FP32", data }] }),
  });
}

type V2Answer = { model_name: string; outputs: { name: string; data: number[] }[] };

describe("a TypeScript model on worker threads (instanceCount)", () => {
  it("starts instanceCount workers", () => {
    expect(spinModel().workers).toHaveLength(2);
  });

  it("answers V1 and V2 correctly, from a worker thread", async () => {
    const v1 = await post(`${running.url}/v1/models/spin:predict`, { instances: [[1, 2], [3, 4]] });
    expect(v1.status, v1.text).toBe(200);
    expect(v1.json.predictions).toEqual([[1, 2], [3, 4]]);
    expect(v1.json.thread).not.toBe(threadId);
    // A response header the model set in its worker reaches the client.
    expect(v1.headers.get("x-spin-thread")).toBe(String(v1.json.thread));

    const v2 = await inferV2([1.5, 2.5, 3.5]);
    expect(v2.status).toBe(200);
    const answer = (await v2.json()) as V2Answer;
    expect(answer.model_name).toBe("spin");
    expect(answer.outputs.find((o) => o.name === "y")!.data).toEqual([1.5, 2.5, 3.5]);
    expect(answer.outputs.find((o) => o.name === "thread")!.data[0]).not.toBe(threadId);
  });

  it("keeps the server responsive while a slow predict runs", async () => {
    const order: string[] = [];
    const slow = post(`${running.url}/v1/models/spin:predict`, { instances: [[1]], spin_ms: 1500 }).then((r) => {
      order.push("predict");
      return r;
    });
    // Let the request reach its worker first.
    await new Promise((r) => setTimeout(r, 100));
    const health = get(`${running.url}/v2/health/live`).then((r) => {
      order.push("health");
      return r;
    });
    const [h, p] = await Promise.all([health, slow]);
    expect(h.status).toBe(200);
    expect(p.status).toBe(200);
    expect(order).toEqual(["health", "predict"]);
  });

  it("answers two concurrent predicts on two different threads", async () => {
    const [a, b] = await Promise.all([
      post(`${running.url}/v1/models/spin:predict`, { instances: [[1]] }),
      post(`${running.url}/v1/models/spin:predict`, { instances: [[2]] }),
    ]);
    expect(a.json.predictions).toEqual([[1]]);
    expect(b.json.predictions).toEqual([[2]]);
    expect(a.json.thread).not.toBe(b.json.thread);
  });

  it("answers a user's InvalidInput as 400 with its message (V1 and V2)", async () => {
    expectError(await post(`${running.url}/v1/models/spin:predict`, { instances: [[13]] }), 400, "13 is unlucky");
    const v2 = await inferV2([13]);
    expect(v2.status).toBe(400);
    expect(((await v2.json()) as { error: string }).error).toContain("13 is unlucky");
  });

  it("reports the inputs and outputs the model declares", async () => {
    const meta = await get(`${running.url}/v2/models/spin`);
    expect(meta.status).toBe(200);
    expect(meta.json.name).toBe("spin");
    expect(meta.json.inputs).toEqual([{ name: "x", datatype: "FP32", shape: [-1] }]);
    expect(meta.json.outputs.map((o: { name: string }) => o.name)).toEqual(["y", "thread"]);
  });

  it("fails the requests of a worker that dies, naming the model, and replaces it", async () => {
    const model = spinModel();
    const before = model.workers;
    const slow = post(`${running.url}/v1/models/spin:predict`, { instances: [[1]], spin_ms: 1000 });
    await new Promise((r) => setTimeout(r, 100));
    await Promise.all(before.map((w) => w.terminate()));
    expectError(await slow, 500, "spin");
    const after = model.workers;
    expect(after).toHaveLength(2);
    for (const w of after) expect(before).not.toContain(w);
    const again = await post(`${running.url}/v1/models/spin:predict`, { instances: [[5]] });
    expect(again.status, again.text).toBe(200);
    expect(again.json.predictions).toEqual([[5]]);
  });

  it("stops its workers when the server stops", async () => {
    const model = spinModel();
    const workers = model.workers;
    const exits = workers.map((w) => new Promise((r) => w.once("exit", r)));
    await running.server.stop();
    await Promise.all(exits);
    for (const w of workers) expect(w.threadId).toBe(-1);
  });
});

describe("a threaded TypeScript model that cannot be served", () => {
  let root: string;
  let server: Running | undefined;
  afterAll(async () => {
    await server?.server.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("a load() error in its workers, or a transformer, is UNAVAILABLE with the reason", async () => {
    root = await mkdtemp(join(tmpdir(), "tserve-threads-"));
    const tserve = pathToFileURL(join(ROOT, "packages", "server", "src", "index.ts")).href;
    const models: Record<string, string> = {
      broken: `import { InvalidInput, Model } from ${JSON.stringify(tserve)};
export default class Broken extends Model {
  override load(): void { throw new InvalidInput("no weights here"); }
  override predict(): unknown { return {}; }
}`,
      fwd: `import { Model } from ${JSON.stringify(tserve)};
export default class Fwd extends Model {
  constructor(name: string) { super(name, { predictorHost: "127.0.0.1:9" }); }
}`,
    };
    for (const [name, source] of Object.entries(models)) {
      await mkdir(join(root, name));
      await writeFile(join(root, name, "model.ts"), source);
      await writeFile(join(root, name, "model-settings.json"), JSON.stringify({ instanceCount: 2 }));
    }
    server = await startWith({ modelRepository: root });
    const rows = (await post(`${server.url}/v2/repository/index`)).json as { name: string; state: string; reason: string }[];
    const row = (name: string) => rows.find((r) => r.name === name)!;
    expect(row("broken").state).toBe("UNAVAILABLE");
    expect(row("broken").reason).toContain("no weights here");
    expect(row("fwd").state).toBe("UNAVAILABLE");
    expect(row("fwd").reason).toContain("instanceCount");
  });
});
