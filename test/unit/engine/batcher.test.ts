import { afterEach, describe, expect, it, vi } from "vitest";
import { type BatchObserver, Batcher, type BatchingOptions, type RunBatch } from "../../../packages/server/src/engine/index.ts";
import { InferenceError, ModelNotReady, Overloaded } from "../../../packages/server/src/errors/index.ts";
import { fromUtf8, type Tensor, utf8 } from "../../../packages/server/src/tensor/index.ts";

/** An FP32 tensor of `rows` rows, `width` values each. */
function fp32(values: number[], width = 1, name = "x"): Tensor {
  return { name, datatype: "FP32", shape: [values.length / width, width], data: new Float32Array(values) };
}

const valuesOf = (t: Tensor): unknown[] => Array.from(t.data as ArrayLike<unknown>);
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A model that doubles (output "y") or negates (output "neg") its one numeric input, records each run's inputs,
 * and, while `hold` is set, keeps each run waiting until release().
 */
class Recorder {
  readonly runs: { inputs: Tensor[]; outputNames: readonly string[] }[] = [];
  hold = false;
  private waiting: (() => void)[] = [];

  constructor(private readonly answer: (inputs: Tensor[], outputNames: readonly string[]) => Tensor[] = doubleOrNegate) {}

  readonly run: RunBatch = async (inputs, outputNames) => {
    this.runs.push({ inputs, outputNames });
    if (this.hold) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return this.answer(inputs, outputNames);
  };

  /** Lets every held run finish. */
  release(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const go of waiting) go();
  }

  /** The first input's values of each run: which requests went together. */
  get seen(): unknown[][] {
    return this.runs.map((r) => valuesOf(r.inputs[0]));
  }
}

function doubleOrNegate(inputs: Tensor[], outputNames: readonly string[]): Tensor[] {
  const x = inputs[0];
  const names = outputNames.length > 0 ? outputNames : ["y"];
  return names.map((name) => ({
    name,
    datatype: x.datatype,
    shape: x.shape.slice(),
    data: (x.data as Float32Array).map((v) => (name === "neg" ? -v : 2 * v)),
  }));
}

/**
 * A batcher whose first run is held, so that the next requests queue behind it. The blocker has more rows than
 * maxBatchSize, so it runs alone at once whatever the queue delay; `model.seen.slice(1)` are the runs after it.
 */
async function busy(options: BatchingOptions, model = new Recorder()) {
  model.hold = true;
  const batcher = new Batcher(model.run, options);
  const blocker = batcher.submit([fp32(new Array<number>(options.maxBatchSize + 1).fill(-1))], ["y"]);
  await flush();
  expect(batcher.running).toBe(1);
  return { model, batcher, blocker };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("Batcher: each caller gets its own rows", () => {
  it("merges compatible requests into one run and splits the output back by rows", async () => {
    const model = new Recorder();
    const batcher = new Batcher(model.run, { maxBatchSize: 4, maxQueueDelayMicroseconds: 60_000_000 });
    const a = fp32([1, 2], 2);
    const b = fp32([3, 4, 5, 6], 2);
    const c = fp32([7, 8], 2);
    const results = await Promise.all([batcher.submit([a], ["y"]), batcher.submit([b], ["y"]), batcher.submit([c], ["y"])]);

    expect(model.runs).toHaveLength(1);
    const merged = model.runs[0].inputs[0];
    expect(merged.shape).toEqual([4, 2]);
    expect(valuesOf(merged)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const own of [a, b, c]) expect((merged.data as Float32Array).buffer).not.toBe((own.data as Float32Array).buffer);

    const [[ya], [yb], [yc]] = results;
    expect(ya).toMatchObject({ name: "y", datatype: "FP32", shape: [1, 2] });
    expect(valuesOf(ya)).toEqual([2, 4]);
    expect(yb.shape).toEqual([2, 2]);
    expect(valuesOf(yb)).toEqual([6, 8, 10, 12]);
    expect(yc.shape).toEqual([1, 2]);
    expect(valuesOf(yc)).toEqual([14, 16]);
    // The callers' inputs are untouched, and one caller writing to its answer does not reach another's.
    expect(valuesOf(b)).toEqual([3, 4, 5, 6]);
    (ya.data as Float32Array).fill(0);
    expect(valuesOf(yb)).toEqual([6, 8, 10, 12]);
    expect(batcher.queued).toBe(0);
    expect(batcher.running).toBe(0);
  });

  it("passes a request that runs alone through untouched, with the run's own outputs", async () => {
    const out: Tensor[] = [fp32([42], 1, "y")];
    const seen: Tensor[][] = [];
    const batcher = new Batcher(
      (inputs) => {
        seen.push(inputs);
        return out;
      },
      { maxBatchSize: 8 },
    );
    const inputs = [fp32([1, 2, 3])];
    const result = await batcher.submit(inputs, ["y"]);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBe(inputs);
    expect(result).toBe(out);
  });

  it("returns the outputs in the order each caller asked for them", async () => {
    const model = new Recorder();
    const batcher = new Batcher(model.run, { maxBatchSize: 2, maxQueueDelayMicroseconds: 60_000_000 });
    const [a, b] = await Promise.all([
      batcher.submit([fp32([1])], ["y", "neg"]),
      batcher.submit([fp32([2])], ["neg", "y"]),
    ]);
    expect(model.runs).toHaveLength(1);
    expect(model.runs[0].outputNames).toEqual(["y", "neg"]);
    expect(a.map((t) => [t.name, ...valuesOf(t)])).toEqual([
      ["y", 2],
      ["neg", -1],
    ]);
    expect(b.map((t) => [t.name, ...valuesOf(t)])).toEqual([
      ["neg", -2],
      ["y", 4],
    ]);
  });

  it("merges requests that list the same inputs in another order, taking each tensor by name", async () => {
    const runs: Tensor[][] = [];
    const sum: RunBatch = (inputs) => {
      runs.push(inputs);
      const [p, q] = inputs.map((t) => t.data as Float32Array);
      return [{ name: "diff", datatype: "FP32", shape: inputs[0].shape.slice(), data: p.map((v, i) => v - q[i]) }];
    };
    const batcher = new Batcher(sum, { maxBatchSize: 2, maxQueueDelayMicroseconds: 60_000_000 });
    const [a, b] = await Promise.all([
      batcher.submit([fp32([10], 1, "p"), fp32([1], 1, "q")], []),
      batcher.submit([fp32([2], 1, "q"), fp32([20], 1, "p")], []),
    ]);
    expect(runs).toHaveLength(1);
    expect(runs[0].map((t) => t.name)).toEqual(["p", "q"]);
    expect(valuesOf(a[0])).toEqual([9]);
    expect(valuesOf(b[0])).toEqual([18]);
  });
});

describe("Batcher: only compatible requests are merged", () => {
  it("never mixes shapes, datatypes or output sets; the head goes first and the rest keep arrival order", async () => {
    const { model, batcher, blocker } = await busy({ maxBatchSize: 8 });
    const int32: Tensor = { name: "x", datatype: "INT32", shape: [1, 1], data: new Int32Array([3]) };
    const pending = [
      batcher.submit([fp32([1])], ["y"]), // head of the next batch
      batcher.submit([fp32([2, 2], 2)], ["y"]), // other dims after the first
      batcher.submit([int32], ["y"]), // other datatype
      batcher.submit([fp32([4])], ["y", "neg"]), // other outputs
      batcher.submit([fp32([5])], ["y"]), // joins the head
      batcher.submit([fp32([6]), fp32([6], 1, "extra")], ["y"]), // other inputs
      batcher.submit([fp32([7])], ["y"]), // joins the head
    ];
    expect(batcher.queued).toBe(7);
    model.hold = false;
    model.release();
    const results = await Promise.all([blocker, ...pending]);
    expect(model.seen.slice(1)).toEqual([[1, 5, 7], [2, 2], [3], [4], [6]]);
    expect(results.slice(1).map((r) => r.map(valuesOf))).toEqual([
      [[2]],
      [[4, 4]],
      [[6]],
      [[8], [-4]],
      [[10]],
      [[12]],
      [[14]],
    ]);
  });

  it("runs a request alone when it cannot be batched: rank 0, disagreeing rows, more rows than maxBatchSize", async () => {
    const { model, batcher, blocker } = await busy({ maxBatchSize: 2 });
    const scalar: Tensor = { name: "x", datatype: "FP32", shape: [], data: new Float32Array([9]) };
    const disagreeing = [fp32([1, 1]), fp32([1, 1, 1], 1, "z")];
    const tooMany = [fp32([3, 3, 3])];
    const pending = [
      batcher.submit([fp32([1])], ["y"]),
      batcher.submit([scalar], ["y"]),
      batcher.submit(disagreeing, ["y"]),
      batcher.submit(tooMany, ["y"]),
      batcher.submit([fp32([2])], ["y"]),
    ];
    model.hold = false;
    model.release();
    await Promise.all([blocker, ...pending]);
    expect(model.runs.slice(1).map((r) => r.inputs)).toEqual([
      [fp32([1, 2])],
      [scalar],
      disagreeing,
      tooMany,
    ]);
    // The unbatchable ones reached the model as the very tensors the callers passed.
    expect(model.runs[2].inputs[0]).toBe(scalar);
    expect(model.runs[3].inputs).toBe(disagreeing);
    expect(model.runs[4].inputs).toBe(tooMany);
  });
});

describe("Batcher: when a batch is sent", () => {
  it("bounds batches by maxBatchSize", async () => {
    const { model, batcher, blocker } = await busy({ maxBatchSize: 3 });
    const pending = [1, 2, 3, 4, 5, 6, 7].map((v) => batcher.submit([fp32([v])], ["y"]));
    model.hold = false;
    model.release();
    await Promise.all([blocker, ...pending]);
    expect(model.seen.slice(1)).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it("stops a batch at the first compatible request that does not fit, rather than let a later one overtake it", async () => {
    const { model, batcher, blocker } = await busy({ maxBatchSize: 4 });
    const pending = [
      batcher.submit([fp32([1, 1])], ["y"]),
      batcher.submit([fp32([2, 2, 2])], ["y"]),
      batcher.submit([fp32([3])], ["y"]),
    ];
    model.hold = false;
    model.release();
    await Promise.all([blocker, ...pending]);
    expect(model.seen.slice(1)).toEqual([[1, 1], [2, 2, 2, 3]]);
  });

  it("sends the largest preferred size it can form at once; the rest waits for its queue delay", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const { model, batcher, blocker } = await busy({
      maxBatchSize: 8,
      preferredBatchSizes: [2, 4],
      maxQueueDelayMicroseconds: 5_000,
    });
    const pending = [1, 2, 3, 4, 5].map((v) => batcher.submit([fp32([v])], ["y"]));
    model.hold = false;
    model.release();
    await Promise.all([blocker, ...pending.slice(0, 4)]);
    expect(model.seen.slice(1)).toEqual([[1, 2, 3, 4]]);
    expect(batcher.queued).toBe(1);
    await vi.advanceTimersByTimeAsync(5);
    await pending[4];
    expect(model.seen.slice(1)).toEqual([[1, 2, 3, 4], [5]]);
  });

  it("sends a preferred size as soon as it is reached, without waiting for the delay", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const model = new Recorder();
    const batcher = new Batcher(model.run, { maxBatchSize: 16, preferredBatchSizes: [3], maxQueueDelayMicroseconds: 60_000_000 });
    const pending = [batcher.submit([fp32([1])], ["y"]), batcher.submit([fp32([2])], ["y"])];
    await flush();
    expect(model.runs).toHaveLength(0);
    pending.push(batcher.submit([fp32([3])], ["y"]));
    await Promise.all(pending);
    expect(model.seen).toEqual([[1, 2, 3]]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("makes the oldest request wait up to maxQueueDelayMicroseconds for company, then sends what is there", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const model = new Recorder();
    const batcher = new Batcher(model.run, { maxBatchSize: 8, preferredBatchSizes: [4], maxQueueDelayMicroseconds: 2_000 });
    const first = batcher.submit([fp32([1])], ["y"]);
    await vi.advanceTimersByTimeAsync(1);
    expect(model.runs).toHaveLength(0);
    const second = batcher.submit([fp32([2, 2])], ["y"]);
    await flush();
    expect(model.runs).toHaveLength(0);
    expect(batcher.queued).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all([first, second]);
    // No preferred size could be formed: on expiry the whole 3-row batch goes.
    expect(model.seen).toEqual([[1, 2, 2]]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("with delay 0 sends at once whatever is queued", async () => {
    const model = new Recorder();
    const batcher = new Batcher(model.run, { maxBatchSize: 8 });
    const first = batcher.submit([fp32([1])], ["y"]);
    expect(model.runs).toHaveLength(1);
    expect(batcher.queued).toBe(0);
    await first;
    expect(model.seen).toEqual([[1]]);
  });

  it("with maxConcurrentRuns 1, requests arriving while a run is busy go together into the next run", async () => {
    const model = new Recorder();
    model.hold = true;
    const batcher = new Batcher(model.run, { maxBatchSize: 8, maxConcurrentRuns: 1 });
    const first = batcher.submit([fp32([1])], ["y"]);
    const later = [2, 3, 4].map((v) => batcher.submit([fp32([v])], ["y"]));
    await flush();
    expect(batcher.running).toBe(1);
    expect(batcher.queued).toBe(3);
    expect(model.runs).toHaveLength(1);
    model.release();
    await first;
    await flush();
    expect(model.seen).toEqual([[1], [2, 3, 4]]);
    model.release();
    const answers = await Promise.all(later);
    expect(answers.map((a) => valuesOf(a[0]))).toEqual([[4], [6], [8]]);
  });

  it("runs up to maxConcurrentRuns batches at once", async () => {
    const model = new Recorder();
    model.hold = true;
    const batcher = new Batcher(model.run, { maxBatchSize: 1, maxConcurrentRuns: 2 });
    const all = [1, 2, 3].map((v) => batcher.submit([fp32([v])], ["y"]));
    await flush();
    expect(batcher.running).toBe(2);
    expect(batcher.queued).toBe(1);
    model.hold = false;
    model.release();
    await Promise.all(all);
    expect(model.seen).toEqual([[1], [2], [3]]);
    expect(batcher.running).toBe(0);
  });
});

describe("Batcher: failures", () => {
  it("re-runs each request of a failed merged run alone: the bad one fails alone, the others succeed", async () => {
    const model = new Recorder((inputs, names) => {
      if ((inputs[0].data as Float32Array).some(Number.isNaN)) throw new Error("NaN in input");
      return doubleOrNegate(inputs, names);
    });
    const { batcher, blocker } = await busy({ maxBatchSize: 8 }, model);
    const good1 = batcher.submit([fp32([1, 2])], ["y"]);
    const bad = batcher.submit([fp32([Number.NaN])], ["y"]);
    const good2 = batcher.submit([fp32([3])], ["y"]);
    model.hold = false;
    model.release();
    await blocker;
    expect(valuesOf((await good1)[0])).toEqual([2, 4]);
    await expect(bad).rejects.toThrow("NaN in input");
    expect(valuesOf((await good2)[0])).toEqual([6]);
    expect(model.seen.slice(1)).toEqual([[1, 2, Number.NaN, 3], [1, 2], [Number.NaN], [3]]);
  });

  it("fails a merged batch whose output is not batch-major with a 500 naming the output and maxBatchSize", async () => {
    const fixed: RunBatch = () => [{ name: "scores", datatype: "FP32", shape: [1, 3], data: new Float32Array(3) }];
    const batcher = new Batcher(fixed, { maxBatchSize: 4, maxQueueDelayMicroseconds: 60_000_000 });
    const results = await Promise.allSettled([batcher.submit([fp32([1, 2])], []), batcher.submit([fp32([3, 4])], [])]);
    for (const r of results) {
      expect(r.status).toBe("rejected");
      const err = (r as PromiseRejectedResult).reason;
      expect(err).toBeInstanceOf(InferenceError);
      expect(err.status).toBe(500);
      expect(err.message).toContain("'scores'");
      expect(err.message).toMatch(/maxBatchSize 0 or 1/);
    }
  });

  it("fails a merged batch whose output data does not fill its shape", async () => {
    const short: RunBatch = (inputs) => [{ name: "y", datatype: "FP32", shape: inputs[0].shape, data: new Float32Array(1) }];
    const batcher = new Batcher(short, { maxBatchSize: 2, maxQueueDelayMicroseconds: 60_000_000 });
    const results = await Promise.allSettled([batcher.submit([fp32([1])], []), batcher.submit([fp32([2])], [])]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(InferenceError);
  });

  it("refuses a request at once with Overloaded (503) when maxQueueSize requests are waiting", async () => {
    const { model, batcher, blocker } = await busy({ maxBatchSize: 8, maxQueueSize: 2 });
    const queued = [batcher.submit([fp32([1])], ["y"]), batcher.submit([fp32([2])], ["y"])];
    const refused = batcher.submit([fp32([3])], ["y"]);
    await expect(refused).rejects.toBeInstanceOf(Overloaded);
    await expect(refused).rejects.toMatchObject({ status: 503, message: expect.stringContaining("maxQueueSize 2") });
    expect(batcher.queued).toBe(2);
    model.hold = false;
    model.release();
    await Promise.all([blocker, ...queued]);
  });

  it("close() rejects the queued requests with 503, refuses later ones, leaves no timer and lets the running batch finish", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const model = new Recorder();
    const batcher = new Batcher(model.run, { maxBatchSize: 8, maxQueueDelayMicroseconds: 60_000_000, name: "iris" });
    const waiting = [batcher.submit([fp32([1])], ["y"]), batcher.submit([fp32([2])], ["y"])];
    await flush();
    expect(vi.getTimerCount()).toBe(1);
    batcher.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(batcher.queued).toBe(0);
    for (const w of waiting) {
      await expect(w).rejects.toBeInstanceOf(ModelNotReady);
      await expect(w).rejects.toMatchObject({ status: 503, message: expect.stringContaining("iris") });
    }
    await expect(batcher.submit([fp32([3])], ["y"])).rejects.toMatchObject({ status: 503 });
    expect(model.runs).toHaveLength(0);
  });

  it("close() while a batch runs: the running callers still get their answers", async () => {
    const { model, batcher, blocker } = await busy({ maxBatchSize: 8 });
    const queued = batcher.submit([fp32([1])], ["y"]);
    batcher.close();
    await expect(queued).rejects.toBeInstanceOf(ModelNotReady);
    model.release();
    expect(valuesOf((await blocker)[0])).toEqual(new Array(9).fill(-2));
    await flush();
    expect(batcher.running).toBe(0);
    expect(batcher.queued).toBe(0);
  });

  it("checks its options", () => {
    const run: RunBatch = () => [];
    expect(() => new Batcher(run, { maxBatchSize: 0 })).toThrow(/maxBatchSize/);
    expect(() => new Batcher(run, { maxBatchSize: 4, preferredBatchSizes: [8] })).toThrow(/preferredBatchSizes: 8/);
    expect(() => new Batcher(run, { maxBatchSize: 4, maxQueueDelayMicroseconds: -1 })).toThrow(/maxQueueDelayMicroseconds/);
    expect(() => new Batcher(run, { maxBatchSize: 4, maxConcurrentRuns: 0 })).toThrow(/maxConcurrentRuns/);
    expect(() => new Batcher(run, { maxBatchSize: 4, maxQueueSize: 1.5 })).toThrow(/maxQueueSize/);
  });
});

describe("Batcher: observer", () => {
  it("reports each run's rows and requests, each request's queue wait and every change of the queue's depth", async () => {
    const events: string[] = [];
    const waits: number[] = [];
    const observer: BatchObserver = {
      batch: (rows, requests) => events.push(`batch ${rows}/${requests}`),
      queueWait: (seconds) => waits.push(seconds),
      depth: (queued) => events.push(`depth ${queued}`),
    };
    const model = new Recorder();
    model.hold = true;
    const batcher = new Batcher(model.run, { maxBatchSize: 8 }, observer);
    const first = batcher.submit([fp32([1])], ["y"]);
    const rest = [batcher.submit([fp32([2, 2])], ["y"]), batcher.submit([fp32([3])], ["y"])];
    await flush();
    model.hold = false;
    model.release();
    await Promise.all([first, ...rest]);
    expect(events).toEqual([
      "depth 1",
      "depth 0",
      "batch 1/1",
      "depth 1",
      "depth 2",
      "depth 0",
      "batch 3/2",
    ]);
    expect(waits).toHaveLength(3);
    for (const w of waits) expect(w).toBeGreaterThanOrEqual(0);
  });

  it("keeps serving when the observer throws", async () => {
    const boom = () => {
      throw new Error("metrics down");
    };
    const batcher = new Batcher(doubleOrNegate, { maxBatchSize: 2 }, { batch: boom, queueWait: boom, depth: boom });
    expect(valuesOf((await batcher.submit([fp32([4])], ["y"]))[0])).toEqual([8]);
  });
});

describe("Batcher: datatypes", () => {
  const upper: RunBatch = (inputs) => {
    const x = inputs[0];
    const data = (x.data as (Uint8Array | string)[]).map((e) =>
      typeof e === "string" ? e.toUpperCase() : utf8(fromUtf8(e).toUpperCase()),
    );
    return [{ name: "out", datatype: "BYTES", shape: x.shape.slice(), data: data as Uint8Array[] }];
  };

  it("batches BYTES (Uint8Array[]) and splits each caller's elements back", async () => {
    const seen: Tensor[] = [];
    const batcher = new Batcher(
      (inputs, names) => {
        seen.push(inputs[0]);
        return upper(inputs, names);
      },
      { maxBatchSize: 3, maxQueueDelayMicroseconds: 60_000_000 },
    );
    const bytes = (...words: string[]): Tensor => ({ name: "text", datatype: "BYTES", shape: [words.length], data: words.map(utf8) });
    const [a, b] = await Promise.all([batcher.submit([bytes("ab", "")], []), batcher.submit([bytes("cd")], [])]);
    expect(seen).toHaveLength(1);
    expect(seen[0].shape).toEqual([3]);
    expect((seen[0].data as Uint8Array[]).map(fromUtf8)).toEqual(["ab", "", "cd"]);
    expect(a[0].shape).toEqual([2]);
    expect((a[0].data as Uint8Array[]).map(fromUtf8)).toEqual(["AB", ""]);
    expect(b[0].shape).toEqual([1]);
    expect((b[0].data as Uint8Array[]).map(fromUtf8)).toEqual(["CD"]);
  });

  it("batches BYTES given as string[], but never mixes string[] with Uint8Array[]", async () => {
    const seen: Tensor[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const batcher = new Batcher(
      async (inputs, names) => {
        seen.push(inputs[0]);
        if (calls++ === 0) await held;
        return upper(inputs, names);
      },
      { maxBatchSize: 8 },
    );
    const strings = (...words: string[]): Tensor =>
      ({ name: "t", datatype: "BYTES", shape: [words.length], data: words }) as unknown as Tensor;
    const raw = (...words: string[]): Tensor => ({ name: "t", datatype: "BYTES", shape: [words.length], data: words.map(utf8) });
    const blocker = batcher.submit([strings("z")], []);
    await flush();
    const pending = [
      batcher.submit([strings("a")], []),
      batcher.submit([raw("b")], []),
      batcher.submit([strings("c", "d")], []),
    ];
    release();
    const [, a, b, c] = await Promise.all([blocker, ...pending]);
    expect(seen.map((t) => (t.data as unknown[]).map((e) => (typeof e === "string" ? e : fromUtf8(e as Uint8Array))))).toEqual([
      ["z"],
      ["a", "c", "d"],
      ["b"],
    ]);
    expect(a[0].data).toEqual(["A"]);
    expect((b[0].data as Uint8Array[]).map(fromUtf8)).toEqual(["B"]);
    expect(c[0].data).toEqual(["C", "D"]);
  });

  it("batches INT64 (BigInt64Array) exactly, beyond 2^53", async () => {
    const runs: Tensor[][] = [];
    const plusOne: RunBatch = (inputs) => {
      runs.push(inputs);
      const x = inputs[0];
      return [{ name: "y", datatype: "INT64", shape: x.shape.slice(), data: (x.data as BigInt64Array).map((v) => v + 1n) }];
    };
    const batcher = new Batcher(plusOne, { maxBatchSize: 3, maxQueueDelayMicroseconds: 60_000_000 });
    const int64 = (...v: bigint[]): Tensor => ({ name: "x", datatype: "INT64", shape: [v.length, 1], data: new BigInt64Array(v) });
    const [a, b] = await Promise.all([batcher.submit([int64(2n ** 60n)], []), batcher.submit([int64(-5n, 2n ** 62n + 1n)], [])]);
    expect(runs).toHaveLength(1);
    expect(runs[0][0].data).toBeInstanceOf(BigInt64Array);
    expect(a[0].data).toEqual(new BigInt64Array([2n ** 60n + 1n]));
    expect(b[0].shape).toEqual([2, 1]);
    expect(b[0].data).toEqual(new BigInt64Array([-4n, 2n ** 62n + 2n]));
  });

  it("batches FP16 (raw Uint16Array bits) without touching the bit patterns", async () => {
    const runs: Tensor[][] = [];
    const flipSign: RunBatch = (inputs) => {
      runs.push(inputs);
      const x = inputs[0];
      return [{ name: "y", datatype: "FP16", shape: x.shape.slice(), data: (x.data as Uint16Array).map((h) => h ^ 0x8000) }];
    };
    const batcher = new Batcher(flipSign, { maxBatchSize: 2, maxQueueDelayMicroseconds: 60_000_000 });
    const fp16 = (...bits: number[]): Tensor => ({ name: "x", datatype: "FP16", shape: [1, bits.length], data: new Uint16Array(bits) });
    // 1.0, NaN, -0.0 and the smallest subnormal
    const [a, b] = await Promise.all([batcher.submit([fp16(0x3c00, 0x7e00)], []), batcher.submit([fp16(0x8000, 0x0001)], [])]);
    expect(runs).toHaveLength(1);
    expect(runs[0][0].data).toEqual(new Uint16Array([0x3c00, 0x7e00, 0x8000, 0x0001]));
    expect(a[0].data).toEqual(new Uint16Array([0xbc00, 0xfe00]));
    expect(b[0].data).toEqual(new Uint16Array([0x0000, 0x8001]));
  });

  it("never merges FP16 with BF16, though both are stored as Uint16Array", async () => {
    const model = new Recorder((inputs) => inputs);
    const { batcher, blocker } = await busy({ maxBatchSize: 4 }, model);
    const half = (datatype: "FP16" | "BF16"): Tensor => ({ name: "x", datatype, shape: [1], data: new Uint16Array([1]) });
    const pending = [batcher.submit([half("FP16")], []), batcher.submit([half("BF16")], []), batcher.submit([half("FP16")], [])];
    model.hold = false;
    model.release();
    await Promise.all([blocker, ...pending]);
    expect(model.runs.slice(1).map((r) => `${r.inputs[0].datatype}x${r.inputs[0].shape[0]}`)).toEqual(["FP16x2", "BF16x1"]);
  });
});
