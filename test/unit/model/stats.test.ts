import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidInput, ModelNotFound, TServeError } from "../../../packages/server/src/errors/index.ts";
import { InferenceStatistics, Model, parseModelSettings, readModelSettings, requestBatchSize } from "../../../packages/server/src/model/index.ts";
import { withRequestTimeout } from "../../../packages/server/src/model/request-timeout.ts";
import type { ModelIndexEntry } from "../../../packages/server/src/protocol/index.ts";

describe("InferenceStatistics", () => {
  it("counts a request's outcome once, with its stages, batch size and last inference", () => {
    const stats = new InferenceStatistics();
    const model = new Model("m");
    const ok = stats.begin(model);
    ok.stage("preprocess", 1);
    ok.stage("predict", 5);
    ok.stage("postprocess", 2);
    ok.success(3);
    ok.failure(); // already settled: ignored
    const failed = stats.begin(model);
    failed.stage("preprocess", 1);
    failed.failure();
    failed.success(); // a late answer after a timeout: ignored

    const s = stats.snapshot(model, "m", "1");
    expect(s).toMatchObject({ name: "m", version: "1", inferenceCount: 3, executionCount: 1 });
    expect(s.lastInference).toBeGreaterThan(0);
    expect(s.inferenceStats.success.count).toBe(1);
    expect(s.inferenceStats.fail.count).toBe(1);
    expect(s.inferenceStats.computeInput).toEqual({ count: 1, ns: 1_000_000 });
    expect(s.inferenceStats.computeInfer).toEqual({ count: 1, ns: 5_000_000 });
    expect(s.inferenceStats.computeOutput).toEqual({ count: 1, ns: 2_000_000 });
    expect(s.batchStats).toEqual([
      { batchSize: 3, computeInput: { count: 1, ns: 1_000_000 }, computeInfer: { count: 1, ns: 5_000_000 }, computeOutput: { count: 1, ns: 2_000_000 } },
    ]);
  });

  it("takes queue waits and runs from the engine's reports, passing them on, and counts unqueued runs one each", () => {
    const stats = new InferenceStatistics();
    const model = new Model("m");
    const seen: string[] = [];
    const observer = stats.observeEngine(model, {
      batch: (rows, requests) => seen.push(`batch ${rows} ${requests}`),
      queueWait: (s) => seen.push(`wait ${s}`),
      depth: (n) => seen.push(`depth ${n}`),
    });
    for (let i = 0; i < 4; i++) {
      const r = stats.begin(model);
      r.stage("predict", 3);
      r.success();
    }
    // Three of the four were merged into one engine run that waited 1 ms each in the queue; one ran alone.
    observer.queueWait(0.001);
    observer.queueWait(0.001);
    observer.queueWait(0.001);
    observer.batch(3, 3);
    observer.depth(0);
    expect(seen).toEqual(["wait 0.001", "wait 0.001", "wait 0.001", "batch 3 3", "depth 0"]);
    const s = stats.snapshot(model, "m", undefined);
    expect(s.version).toBe("");
    expect(s.executionCount).toBe(2);
    expect(s.inferenceStats.queue).toEqual({ count: 4, ns: 3_000_000 });
    // compute_infer is predict less the queue.
    expect(s.inferenceStats.computeInfer).toEqual({ count: 4, ns: 9_000_000 });
  });

  it("keeps each model instance's figures apart (a reload starts from zero)", () => {
    const stats = new InferenceStatistics();
    const a = new Model("m");
    const b = new Model("m");
    stats.begin(a).success();
    expect(stats.snapshot(a, "m", "1").inferenceStats.success.count).toBe(1);
    expect(stats.snapshot(b, "m", "1").inferenceStats.success.count).toBe(0);
  });

  describe("report", () => {
    const index: ModelIndexEntry[] = [
      { name: "a", version: "1", state: "READY", reason: "" },
      { name: "a", version: "2", state: "UNAVAILABLE", reason: "unloaded" },
      { name: "b", state: "LOADING", reason: "" },
      { name: "c", state: "READY", reason: "" },
    ];
    const stats = new InferenceStatistics();
    const models = new Map<string, Model>();
    const instance = (name: string, version?: string) => {
      const key = `${name}/${version ?? ""}`;
      if (!models.has(key)) models.set(key, new Model(name));
      return models.get(key)!;
    };
    const names = (rows: { name: string; version: string }[]) => rows.map((r) => `${r.name}/${r.version}`);

    it("lists every READY version, one model's, or one version's", () => {
      expect(names(stats.report(index, instance))).toEqual(["a/1", "c/"]);
      expect(names(stats.report(index, instance, "a"))).toEqual(["a/1"]);
      expect(names(stats.report(index, instance, "a", "1"))).toEqual(["a/1"]);
      expect(names(stats.report(index, instance, "a", "01"))).toEqual(["a/1"]);
    });

    it("unknown model or version: ModelNotFound; known but not READY: InvalidInput with Triton's words", () => {
      expect(() => stats.report(index, instance, "ghost")).toThrow(ModelNotFound);
      expect(() => stats.report(index, instance, "a", "9")).toThrow(ModelNotFound);
      expect(() => stats.report(index, instance, "a", "2")).toThrow("requested model version is not available for model 'a'");
      expect(() => stats.report(index, instance, "b")).toThrow("requested model 'b' is not available");
      expect(() => stats.report(index, instance, "a", "latest")).toThrow(InvalidInput);
    });
  });

  it("a V2 request's batch size is its first dimension only when the model batches", () => {
    const inputs = [{ shape: [5, 4] }];
    expect(requestBatchSize(inputs, 8)).toBe(5);
    expect(requestBatchSize(inputs, undefined)).toBe(1);
    expect(requestBatchSize(inputs, 1)).toBe(1);
    expect(requestBatchSize([{ shape: [] }], 8)).toBe(1);
  });
});

describe("withRequestTimeout", () => {
  it("answers the work's result when it comes first", async () => {
    await expect(withRequestTimeout(Promise.resolve(7), 60_000_000, "m")).resolves.toBe(7);
  });

  it("fails with Triton's UNAVAILABLE 'Request timeout expired' when the work does not finish in time", async () => {
    const never = new Promise<never>(() => undefined);
    const err = await withRequestTimeout(never, 1000, "m").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TServeError);
    expect(err).toMatchObject({ kind: "UNAVAILABLE", status: 503, code: "TSERVE_REQUEST_TIMEOUT" });
    expect((err as Error).message).toMatch(/^Request timeout expired: model m .*1000 µs/);
  });
});

describe("model-settings.json output labels", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const output = (extra: Record<string, unknown>) => ({ outputs: [{ name: "p", datatype: "FP32", shape: [-1, 3], ...extra }] });

  it("takes labels inline, keeping the output's tensor metadata as it was", () => {
    const s = parseModelSettings(output({ labels: ["a", "b"] }));
    expect(s.labels).toEqual({ p: ["a", "b"] });
    expect(s.outputs).toEqual([{ name: "p", datatype: "FP32", shape: [-1, 3] }]);
  });

  it("reads labelFilename / label_filename (Triton's) line by line from the model folder", async () => {
    dir = await mkdtemp(join(tmpdir(), "tserve-labels-"));
    await writeFile(join(dir, "labels.txt"), "setosa\r\nversicolor\n\nvirginica\n");
    await writeFile(join(dir, "model-settings.json"), JSON.stringify(output({ label_filename: "labels.txt" })));
    const s = await readModelSettings(dir);
    expect(s.labelFilenames).toEqual({ p: "labels.txt" });
    expect(s.labels).toEqual({ p: ["setosa", "versicolor", "", "virginica"] });
  });

  it("a label file that cannot be read, outside the folder, or beside inline labels is an error naming the output", async () => {
    dir = await mkdtemp(join(tmpdir(), "tserve-labels-"));
    await writeFile(join(dir, "model-settings.json"), JSON.stringify(output({ labelFilename: "missing.txt" })));
    await expect(readModelSettings(dir)).rejects.toThrow(/output 'p' names the label file missing.txt/);
    expect(() => parseModelSettings(output({ labelFilename: "../labels.txt" }))).toThrow(/inside the model folder/);
    expect(() => parseModelSettings(output({ labelFilename: "/etc/passwd" }))).toThrow(/inside the model folder/);
    expect(() => parseModelSettings(output({ labelFilename: "l.txt", labels: ["a"] }))).toThrow(/both labels and labelFilename/);
  });
});
