import { cp, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InferenceGRPCClient, InferInput, InferenceServerError } from "../../packages/server/src/index.ts";
import { FIXTURE_MODELS, float32Bytes, binaryBody, postBytes, type Running, startWith, tempRepo } from "./util.ts";

/**
 * The execution engine: ONNX runs on worker threads, adaptive batching across protocols, the bounded queue.
 * The model is a 256 -> 1024 -> 1024 -> 10 MLP (test/fixtures/models/mlp, scripts/gen_engine_fixtures.py).
 */

const MLP = join(FIXTURE_MODELS, "mlp");
const WIDTH = 256;

/** Deterministic rows: row r of request k. */
function rows(k: number, n: number): number[][] {
  return Array.from({ length: n }, (_, r) => Array.from({ length: WIDTH }, (_, c) => Math.sin(k * 7.1 + r * 3.3 + c * 0.05)));
}

async function addModel(root: string, name: string, settings: object): Promise<void> {
  await mkdir(join(root, name));
  await cp(join(MLP, "model.onnx"), join(root, name, "model.onnx"));
  await writeFile(join(root, name, "model-settings.json"), JSON.stringify(settings));
}

function expectClose(actual: number[][], expected: number[][]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected[i][j], 4)));
}

function chunk(flat: ArrayLike<number>, width: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < flat.length; i += width) out.push(Array.from(flat).slice(i, i + width));
  return out;
}

let running: Running;
let grpc: InferenceGRPCClient;

beforeAll(async () => {
  const root = await tempRepo();
  await addModel(root, "plain", {});
  await addModel(root, "batched", { maxBatchSize: 64, maxQueueDelayMicroseconds: 200_000 });
  await addModel(root, "tight", { maxQueueSize: 1 });
  running = await startWith({ modelRepository: root });
  grpc = new InferenceGRPCClient(`127.0.0.1:${running.server.grpcPort}`);
  await grpc.isServerLive(); // the channel is up before the timed parts
}, 60_000);

afterAll(async () => {
  grpc?.close();
  await running?.server.stop();
});

/** The plain (unbatched) model's answer for some rows, as the reference. */
async function reference(input: number[][]): Promise<number[][]> {
  const r = await fetch(`${running.url}/v1/models/plain:predict`, { method: "POST", body: JSON.stringify({ instances: input }) });
  expect(r.status).toBe(200);
  return ((await r.json()) as { predictions: number[][] }).predictions;
}

async function metric(name: string, model: string): Promise<number> {
  const text = await (await fetch(`${running.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(`model_name="${model}"`));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("adaptive batching", () => {
  it("merges requests from V1 rows, TF Serving columns, V2 JSON, V2 binary and gRPC; each caller gets exactly its rows", async () => {
    const inputs = [rows(1, 1), rows(2, 3), rows(3, 2), rows(4, 1), rows(5, 2)];
    const expected = await Promise.all(inputs.map(reference));
    const url = `${running.url}`;
    const [v1Rows, v1Columns, v2Json, v2Binary, viaGrpc] = await Promise.all([
      fetch(`${url}/v1/models/batched:predict`, { method: "POST", body: JSON.stringify({ instances: inputs[0] }) })
        .then((r) => r.json() as Promise<{ predictions: number[][] }>)
        .then((b) => b.predictions),
      fetch(`${url}/v1/models/batched:predict`, { method: "POST", body: JSON.stringify({ inputs: inputs[1] }) })
        .then((r) => r.json() as Promise<{ outputs: number[][] }>)
        .then((b) => b.outputs),
      fetch(`${url}/v2/models/batched/infer`, {
        method: "POST",
        body: JSON.stringify({ inputs: [{ name: "x", shape: [2, WIDTH], datatype: "FP32", data: inputs[2].flat() }] }),
      })
        .then((r) => r.json() as Promise<{ outputs: { shape: number[]; data: number[] }[] }>)
        .then((b) => chunk(b.outputs[0].data, b.outputs[0].shape[1])),
      (async () => {
        const blob = float32Bytes(inputs[3].flat());
        const { body, headerLength } = binaryBody(
          { inputs: [{ name: "x", shape: [1, WIDTH], datatype: "FP32", parameters: { binary_data_size: blob.byteLength } }] },
          [blob],
        );
        const r = await postBytes(`${url}/v2/models/batched/infer`, body, { "inference-header-content-length": String(headerLength) });
        const out = JSON.parse(r.bytes.toString("utf8")) as { outputs: { shape: number[]; data: number[] }[] };
        return chunk(out.outputs[0].data, out.outputs[0].shape[1]);
      })(),
      grpc.infer("batched", [new InferInput("x", [2, WIDTH], "FP32", inputs[4])]).then((r) => {
        const y = r.outputs[0];
        return chunk(y.data as Float32Array, y.shape[1]);
      }),
    ]);
    expectClose(v1Rows, expected[0]);
    expectClose(v1Columns, expected[1]);
    expectClose(v2Json, expected[2]);
    expectClose(v2Binary, expected[3]);
    expectClose(viaGrpc, expected[4]);

    // 9 rows from 5 requests went through fewer runs than requests: they were merged.
    const runs = await metric("tserve_batch_size_count", "batched");
    const batchedRows = await metric("tserve_batch_size_sum", "batched");
    expect(batchedRows).toBe(9);
    expect(runs).toBeLessThan(5);
    // Every request's wait for its run is recorded.
    expect(await metric("tserve_queue_wait_seconds_count", "batched")).toBe(5);
  });

  it("never mixes requests of other shapes, and a bad request fails alone", async () => {
    const good = rows(9, 2);
    const expected = await reference(good);
    const [ok, wrongWidth] = await Promise.all([
      fetch(`${running.url}/v2/models/batched/infer`, {
        method: "POST",
        body: JSON.stringify({ inputs: [{ name: "x", shape: [2, WIDTH], datatype: "FP32", data: good.flat() }] }),
      }),
      fetch(`${running.url}/v2/models/batched/infer`, {
        method: "POST",
        body: JSON.stringify({ inputs: [{ name: "x", shape: [1, 128], datatype: "FP32", data: new Array(128).fill(1) }] }),
      }),
    ]);
    expect(wrongWidth.status).toBe(400);
    expect(((await wrongWidth.json()) as { error: string }).error).toContain("shape");
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { outputs: { shape: number[]; data: number[] }[] };
    expectClose(chunk(body.outputs[0].data, 10), expected);
  });
});

describe("backpressure", () => {
  it("a full queue refuses at once: 503 with Retry-After over REST, UNAVAILABLE over gRPC", async () => {
    // "tight" takes 4 runs at a time on its thread plus 1 waiting (maxQueueSize 1): of 10 + 3 long requests sent at
    // once, at least 8 find it full.
    const big = rows(11, 1024).flat();
    const blob = float32Bytes(big);
    const { body, headerLength } = binaryBody(
      { inputs: [{ name: "x", shape: [1024, WIDTH], datatype: "FP32", parameters: { binary_data_size: blob.byteLength } }] },
      [blob],
    );
    const rest = Array.from({ length: 10 }, () =>
      postBytes(`${running.url}/v2/models/tight/infer`, body, { "inference-header-content-length": String(headerLength) }),
    );
    // Once one REST request has been refused the queue is full (and stays full while the long runs go on): now gRPC.
    const firstRefusal = await Promise.race([
      ...rest.map((p) => p.then((r) => (r.status === 503 ? r : new Promise<never>(() => {})))),
      Promise.all(rest).then(() => undefined),
    ]);
    expect(firstRefusal?.status).toBe(503);
    // The queue-depth gauge autoscalers read reports this model's queue (full, or just drained by one).
    const metricsText = await (await fetch(`${running.url}/metrics`)).text();
    expect(metricsText).toMatch(/^tserve_queue_depth\{model_name="tight"\} [01]$/m);
    const viaGrpc = await Promise.all(
      Array.from({ length: 3 }, () =>
        grpc.infer("tight", [new InferInput("x", [1024, WIDTH], "FP32", Float32Array.from(big))]).then(
          () => "ok",
          (e: unknown) => e,
        ),
      ),
    );
    const replies = await Promise.all(rest);
    const refused = replies.filter((r) => r.status === 503);
    expect(replies.some((r) => r.status === 200)).toBe(true);
    expect(refused[0].headers.get("retry-after")).toBe("1");
    expect(JSON.parse(refused[0].bytes.toString("utf8")).error).toContain("maxQueueSize");
    const grpcRefused = viaGrpc.filter((r) => r !== "ok");
    expect(grpcRefused.length).toBeGreaterThan(0);
    for (const e of grpcRefused) {
      expect(e).toBeInstanceOf(InferenceServerError);
      expect((e as InferenceServerError).code).toBe(14); // gRPC UNAVAILABLE
      expect((e as InferenceServerError).status).toBe(503);
    }
    // The server keeps serving once the queue drains.
    expect((await fetch(`${running.url}/v2/models/tight/ready`)).status).toBe(200);
  }, 60_000);
});

describe("inference off the event loop", () => {
  it("health and metadata answer while a long run is in progress", async () => {
    const big = rows(12, 2048).flat();
    const blob = float32Bytes(big);
    const { body, headerLength } = binaryBody(
      { inputs: [{ name: "x", shape: [2048, WIDTH], datatype: "FP32", parameters: { binary_data_size: blob.byteLength } }] },
      [blob],
    );
    const order: string[] = [];
    const predict = postBytes(`${running.url}/v2/models/plain/infer`, body, { "inference-header-content-length": String(headerLength) }).then(
      (r) => {
        order.push("predict");
        return r;
      },
    );
    // Wait until the run has started (the request is in flight on the server), then ask for health and metadata.
    let inFlight = 0;
    for (let i = 0; i < 200 && (inFlight = await metric("tserve_inflight_requests", "plain")) === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(inFlight).toBe(1); // the in-flight gauge sees the running request
    const live = await fetch(`${running.url}/v2/health/live`);
    order.push("live");
    const meta = await fetch(`${running.url}/v2/models/plain`);
    order.push("metadata");
    expect(live.status).toBe(200);
    expect(meta.status).toBe(200);
    expect((await predict).status).toBe(200);
    expect(order).toEqual(["live", "metadata", "predict"]);
  }, 60_000);
});

describe("large JSON bodies", () => {
  it("a V1 and a V2 JSON body past 4 MiB (parsed off the event loop) answer exactly as small ones do", async () => {
    const many = rows(21, 1200);
    const v1Body = JSON.stringify({ instances: many });
    expect(v1Body.length).toBeGreaterThan(4 * 1024 * 1024);
    const v1 = await fetch(`${running.url}/v1/models/plain:predict`, { method: "POST", body: v1Body });
    expect(v1.status).toBe(200);
    const predictions = ((await v1.json()) as { predictions: number[][] }).predictions;
    expect(predictions).toHaveLength(1200);
    const v2 = await fetch(`${running.url}/v2/models/plain/infer`, {
      method: "POST",
      body: JSON.stringify({ inputs: [{ name: "x", shape: [1200, WIDTH], datatype: "FP32", data: many }] }),
    });
    expect(v2.status).toBe(200);
    const out = ((await v2.json()) as { outputs: { shape: number[]; data: number[] }[] }).outputs[0];
    expect(out.shape).toEqual([1200, 10]);
    for (const r of [0, 599, 1199]) {
      const expected = await reference([many[r]]);
      expectClose([predictions[r]], expected);
      expectClose([out.data.slice(r * 10, r * 10 + 10)], expected);
    }
    // A malformed large body is still a 400 naming the JSON error.
    const broken = await fetch(`${running.url}/v1/models/plain:predict`, { method: "POST", body: `${v1Body.slice(0, -2)}` });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: string }).error).toContain("JSON Parse error");
  }, 60_000);
});
