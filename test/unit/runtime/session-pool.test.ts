import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { InferenceError } from "../../../packages/server/src/errors/index.ts";
import {
  createPooledSession,
  killPoolWorkerForTests,
  type PooledOrtSession,
  poolLoadForTests,
  poolWorkersForTests,
} from "../../../packages/server/src/runtime/onnx/session-pool.ts";
import { createOrtSession, type OrtSession } from "../../../packages/server/src/runtime/onnx/session.ts";

const IRIS = resolve("examples/iris/models/iris/1/model.onnx");
const TYPES = resolve("test/fixtures/models/types/1/model.onnx");
const MULTI_IO = resolve("test/fixtures/models/multi_io/1/model.onnx");
const MLP = resolve("test/fixtures/models/mlp/model.onnx");
const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: ["cpu"],
  graphOptimizationLevel: "all",
  intraOpNumThreads: 1,
};

const IRIS_ROWS = [
  [6.8, 2.8, 4.8, 1.4],
  [6.0, 3.4, 4.5, 1.6],
  [5.1, 3.5, 1.4, 0.2],
  [5.0, 3.0, 1.6, 0.2],
  [5.0, 2.0, 3.5, 1.0],
  [6.5, 3.2, 5.1, 2.0],
  [6.7, 3.1, 5.6, 2.4],
];

function iris(rows: number[][]): ort.Tensor {
  return new ort.Tensor("float32", Float32Array.from(rows.flat()), [rows.length, 4]);
}

/** Deterministic pseudo-random MLP input (no Math.random: failures must reproduce). */
function mlpInput(batch: number, seed: number): ort.Tensor {
  const data = new Float32Array(batch * 256);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return new ort.Tensor("float32", data, [batch, 256]);
}

/** What a test compares: type, dims, the typed array's kind and its values. */
function plain(t: ort.Tensor) {
  const data = t.data as ArrayLike<unknown>;
  return { type: t.type, dims: [...t.dims], kind: data.constructor.name, data: Array.from(data) };
}

async function inline(path: string, feeds: Record<string, ort.Tensor>, fetches: string[]) {
  const session = await createOrtSession(path, SESSION_OPTIONS);
  try {
    return (await session.run(feeds, fetches)).map(plain);
  } finally {
    await session.release();
  }
}

describe("createPooledSession", () => {
  const open: OrtSession[] = [];
  const pooled = async (path: string, instances: number): Promise<PooledOrtSession> => {
    const s = await createPooledSession(path, SESSION_OPTIONS, { instances });
    open.push(s);
    return s;
  };
  afterAll(async () => {
    await Promise.all(open.map((s) => s.release()));
  });

  it("answers the iris model exactly as the inline session does, with the same metadata", async () => {
    const inlineSession = await createOrtSession(IRIS, SESSION_OPTIONS);
    const pool = await pooled(IRIS, 1);
    expect(pool.inputMetadata).toEqual(inlineSession.inputMetadata);
    expect(pool.outputMetadata).toEqual(inlineSession.outputMetadata);
    expect(pool.outputNames).toEqual(inlineSession.outputNames);
    const feeds = { input: iris(IRIS_ROWS) };
    const expected = (await inlineSession.run(feeds, ["probabilities"])).map(plain);
    await inlineSession.release();
    const outputs = await pool.run(feeds, ["probabilities"]);
    expect(outputs[0]).toBeInstanceOf(ort.Tensor);
    expect(outputs.map(plain)).toEqual(expected);
    expect(pool.inFlight).toBe(0);
  });

  it("carries every datatype of the types fixture (int64, float16, bool, strings, ...) both ways", async () => {
    const feeds = {
      i64: new ort.Tensor("int64", new BigInt64Array([1n, -2n, 2n ** 40n]), [3]),
      i32: new ort.Tensor("int32", new Int32Array([7, -8]), [2]),
      u8: new ort.Tensor("uint8", new Uint8Array([0, 255, 3, 4]), [4]),
      f64: new ort.Tensor("float64", new Float64Array([1.5, -3]), [2]),
      flag: new ort.Tensor("bool", new Uint8Array([1, 0, 1]), [3]),
      f16: new ort.Tensor("float16", new Uint16Array([0x3c00, 0xc000]), [2]), // 1.0, -2.0
      text: new ort.Tensor("string", ["héllo", "", "wörld"], [3]),
    };
    const fetches = ["i64_out", "i32_out", "u8_out", "f64_out", "flag_out", "f16_out", "text_out"];
    const expected = await inline(TYPES, feeds, fetches);
    const pool = await pooled(TYPES, 1);
    expect((await pool.run(feeds, fetches)).map(plain)).toEqual(expected);
    // The caller's tensors are untouched: their buffers were copied, not transferred.
    expect(Array.from(feeds.i64.data as BigInt64Array)).toEqual([1n, -2n, 2n ** 40n]);
    expect(feeds.text.data).toEqual(["héllo", "", "wörld"]);
  });

  it("returns the fetches asked for, in the order asked", async () => {
    const feeds = {
      a: new ort.Tensor("float32", new Float32Array([1, 2, 3, 4]), [2, 2]),
      b: new ort.Tensor("float32", new Float32Array([10, 20, 30, 40]), [2, 2]),
    };
    const pool = await pooled(MULTI_IO, 1);
    expect((await pool.run(feeds, ["diff", "sum"])).map(plain)).toEqual(await inline(MULTI_IO, feeds, ["diff", "sum"]));
    expect((await pool.run(feeds, ["sum"])).map((t) => Array.from(t.data as Float32Array))).toEqual([[11, 22, 33, 44]]);
  });

  it("sends exactly a view's bytes: a slice of a large body or of Node's Buffer pool stays usable", async () => {
    const pool = await pooled(IRIS, 1);
    // A request body: junk, then the row, then more junk.
    const body = new ArrayBuffer(1 << 20);
    const row = new Float32Array(body, 4096, 4);
    row.set(IRIS_ROWS[2]);
    new Float32Array(body, 0, 1024).fill(Number.NaN);
    const [fromBody] = await pool.run({ input: new ort.Tensor("float32", row, [1, 4]) }, ["probabilities"]);
    expect(body.byteLength).toBe(1 << 20); // not detached
    expect(Array.from(row)).toEqual(Array.from(Float32Array.from(IRIS_ROWS[2])));
    // A small Buffer lives in Node's shared pool; its float32 view sits at an offset into that pool.
    const pooledBytes = Buffer.from(Float32Array.from(IRIS_ROWS[2]).buffer);
    const poolView = new Float32Array(pooledBytes.buffer, pooledBytes.byteOffset, 4);
    const [fromPool] = await pool.run({ input: new ort.Tensor("float32", poolView, [1, 4]) }, ["probabilities"]);
    expect(pooledBytes.buffer.byteLength).toBeGreaterThan(0);
    const expected = await inline(IRIS, { input: iris([IRIS_ROWS[2]]) }, ["probabilities"]);
    expect([plain(fromBody)]).toEqual(expected);
    expect([plain(fromPool)]).toEqual(expected);
  });

  it("answers many concurrent runs correctly across 2 workers", async () => {
    const inputs = Array.from({ length: 24 }, (_, i) => mlpInput(1 + (i % 5), i + 1));
    const inlineSession = await createOrtSession(MLP, SESSION_OPTIONS);
    const expected: ReturnType<typeof plain>[] = [];
    for (const x of inputs) expected.push(plain((await inlineSession.run({ x }, ["y"]))[0]));
    await inlineSession.release();

    const pool = await pooled(MLP, 2);
    expect(poolWorkersForTests(pool)).toHaveLength(2);
    const runs = inputs.map((x) => pool.run({ x }, ["y"]));
    expect(pool.inFlight).toBe(inputs.length);
    const outputs = await Promise.all(runs);
    expect(outputs.map(([y]) => plain(y))).toEqual(expected);
    expect(pool.inFlight).toBe(0);
  });

  it("sends each run to the worker with the fewest in flight, ties in turn", async () => {
    const pool = await pooled(IRIS, 3);
    const runs = [];
    const loads: number[][] = [];
    for (let i = 0; i < 5; i++) {
      runs.push(pool.run({ input: iris([IRIS_ROWS[i]]) }, ["probabilities"]));
      loads.push(poolLoadForTests(pool));
    }
    expect(loads).toEqual([
      [1, 0, 0],
      [1, 1, 0],
      [1, 1, 1],
      [2, 1, 1],
      [2, 2, 1],
    ]);
    await Promise.all(runs);
    expect(poolLoadForTests(pool)).toEqual([0, 0, 0]);
    // With all idle again, two runs go to two different workers.
    const busy = [pool.run({ input: iris([IRIS_ROWS[0]]) }, ["probabilities"])];
    busy.push(pool.run({ input: iris([IRIS_ROWS[1]]) }, ["probabilities"]));
    expect(poolLoadForTests(pool).reduce((a, b) => a + b)).toBe(2);
    expect(Math.max(...poolLoadForTests(pool))).toBe(1);
    await Promise.all(busy);
  });

  it("rejects a run with a wrong input and keeps serving", async () => {
    const pool = await pooled(IRIS, 1);
    const wrongDims = new ort.Tensor("float32", new Float32Array([1, 2, 3]), [1, 3]);
    await expect(pool.run({ input: wrongDims }, ["probabilities"])).rejects.toThrow(/dimension/i);
    await expect(pool.run({}, ["probabilities"])).rejects.toThrow(/input/i);
    const inlineSession = await createOrtSession(IRIS, SESSION_OPTIONS);
    let inlineError: Error | undefined;
    try {
      await inlineSession.run({ input: iris([IRIS_ROWS[0]]) }, ["nope"]);
    } catch (e) {
      inlineError = e as Error;
    }
    await inlineSession.release();
    expect(inlineError).toBeInstanceOf(Error);
    await expect(pool.run({ input: iris([IRIS_ROWS[0]]) }, ["nope"])).rejects.toThrow(inlineError!.message);
    const [y] = await pool.run({ input: iris([IRIS_ROWS[0]]) }, ["probabilities"]);
    expect([plain(y)]).toEqual(await inline(IRIS, { input: iris([IRIS_ROWS[0]]) }, ["probabilities"]));
    expect(pool.inFlight).toBe(0);
  });

  it("leaves the event loop free while a long run is pending", async () => {
    const pool = await pooled(MLP, 1);
    const events: string[] = [];
    const run = pool.run({ x: mlpInput(512, 7) }, ["y"]).then(() => events.push("run resolved"));
    setImmediate(() => events.push("immediate"));
    setTimeout(() => events.push("timeout"), 0);
    await run;
    expect(events.indexOf("immediate")).toBeGreaterThanOrEqual(0);
    expect(events.indexOf("timeout")).toBeGreaterThanOrEqual(0);
    expect(events.indexOf("immediate")).toBeLessThan(events.indexOf("run resolved"));
    expect(events.indexOf("timeout")).toBeLessThan(events.indexOf("run resolved"));
  });

  it("rejects the runs of a worker that dies, replaces it, and keeps serving", async () => {
    const pool = await pooled(MLP, 1);
    const [victim] = poolWorkersForTests(pool);
    const killed = killPoolWorkerForTests(pool, 0);
    // Sent to the dying worker (the pool's only one): it never runs and must not hang.
    const run = pool.run({ x: mlpInput(256, 3) }, ["y"]).then(
      () => null,
      (e: unknown) => e,
    );
    await killed;
    const err = await run;
    expect(err).toBeInstanceOf(InferenceError);
    expect((err as Error).message).toMatch(/model file models\/mlp\/model\.onnx stopped/);
    const [replacement] = poolWorkersForTests(pool);
    expect(replacement).not.toBe(victim);
    const x = mlpInput(2, 11);
    const [y] = await pool.run({ x }, ["y"]);
    expect([plain(y)]).toEqual(await inline(MLP, { x }, ["y"]));
    expect(pool.inFlight).toBe(0);
  });

  it("keeps serving on the other workers while one is replaced", async () => {
    const pool = await pooled(IRIS, 2);
    const [victim] = poolWorkersForTests(pool);
    await killPoolWorkerForTests(pool, 0);
    const results = await Promise.all(IRIS_ROWS.map((r) => pool.run({ input: iris([r]) }, ["probabilities"])));
    const expected = [];
    for (const r of IRIS_ROWS) expected.push(...(await inline(IRIS, { input: iris([r]) }, ["probabilities"])));
    expect(results.map(([y]) => plain(y))).toEqual(expected);
    expect(poolWorkersForTests(pool)).toHaveLength(2);
    expect(poolWorkersForTests(pool)).not.toContain(victim);
  });

  it("fails to load with ONNX Runtime's own message, like the inline session", async () => {
    const missing = resolve("test/fixtures/models/no-such-model.onnx");
    const inlineError = await createOrtSession(missing, SESSION_OPTIONS).then(
      () => null,
      (e: Error) => e,
    );
    expect(inlineError).toBeInstanceOf(Error);
    await expect(createPooledSession(missing, SESSION_OPTIONS, { instances: 2 })).rejects.toThrow(inlineError!.message);
    await expect(createPooledSession(resolve("package.json"), SESSION_OPTIONS, { instances: 1 })).rejects.toThrow(
      /protobuf|parsing|load/i,
    );
  });

  it("release() rejects runs in flight, stops every worker and refuses new runs", async () => {
    const pool = await createPooledSession(MLP, SESSION_OPTIONS, { instances: 2 });
    const workers = poolWorkersForTests(pool);
    const exits = workers.map((w) => new Promise<number>((r) => w.once("exit", r)));
    const run = pool.run({ x: mlpInput(256, 5) }, ["y"]).then(
      () => null,
      (e: unknown) => e,
    );
    await pool.release();
    expect(await run).toBeInstanceOf(InferenceError);
    expect(String(await run)).toMatch(/released/);
    await Promise.all(exits);
    for (const w of workers) expect(w.threadId).toBe(-1);
    await expect(pool.run({ x: mlpInput(1, 1) }, ["y"])).rejects.toThrow(/released/);
    expect(pool.inFlight).toBe(0);
    await pool.release(); // twice is fine
  });
});

describe("a process using a pooled session", () => {
  const poolUrl = pathToFileURL(resolve("packages/server/src/runtime/onnx/session-pool.ts")).href;
  /** Runs an ES module script the way the CLI runs: tsx registered in-process, which workers do not inherit. */
  const runScript = async (body: string) => {
    const script = `
      import { register } from "tsx/esm/api";
      register();
      const ort = await import("onnxruntime-node");
      const { createPooledSession } = await import(${JSON.stringify(poolUrl)});
      ${body}
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d));
    child.stderr.on("data", (d: Buffer) => (output += d));
    const [code, signal] = await new Promise<[number | null, string | null]>((r) =>
      child.on("exit", (c, s) => r([c, s])),
    );
    return { code, signal, output };
  };

  it("runs the worker under plain node and exits on its own once idle, without release()", async () => {
    const { code, output } = await runScript(`
      const s = await createPooledSession(${JSON.stringify(IRIS)}, {}, { instances: 2 });
      const [y] = await s.run({ input: new ort.Tensor("float32", new Float32Array([6.8, 2.8, 4.8, 1.4]), [1, 4]) }, ["probabilities"]);
      console.log("answered", y.dims.join("x"));
    `);
    expect(output).toContain("answered 1x3");
    expect(code).toBe(0);
  });

  it("exits with its own code when process.exit() comes while runs are in native code (no abort)", async () => {
    // Node terminates worker threads on exit; terminating one inside onnxruntime's native code would abort.
    const { code, signal, output } = await runScript(`
      const s = await createPooledSession(${JSON.stringify(MLP)}, {}, { instances: 2 });
      const x = () => new ort.Tensor("float32", new Float32Array(1024 * 256).fill(0.5), [1024, 256]);
      for (let i = 0; i < 4; i++) s.run({ x: x() }, ["y"]).catch(() => {});
      setTimeout(() => process.exit(3), 20);
    `);
    expect({ code, signal }, output).toEqual({ code: 3, signal: null });
  });
});
