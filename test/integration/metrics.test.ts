import { afterAll, beforeAll, describe, expect, it } from "vitest";
import LifecycleModel from "../fixtures/modules/lifecycle.ts";
import ThrowingModel from "../fixtures/modules/thrower.ts";
import { get, IRIS_DIR, post, type Running, SCALE_ALL_DIR, startWith } from "./util.ts";

const ROW = [6.8, 2.8, 4.8, 1.4];

async function scrape(url: string): Promise<string> {
  const r = await get(`${url}/metrics`);
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toMatch(/^text\/plain/);
  return r.text;
}

/** The value of one sample: `name{labels} value`, with labels given in any order; 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && line !== name && !line.startsWith(`${name} `)) continue;
    const m = /^([^{\s]+)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (
      Object.entries(labels).every(([k, v]) => have[k] === v) &&
      Object.keys(have).length === Object.keys(labels).length
    )
      return Number(m[3]);
  }
  return 0;
}

describe("GET /metrics", () => {
  let running: Running;
  let url: string;

  beforeAll(async () => {
    running = await startWith({
      dirs: [IRIS_DIR, SCALE_ALL_DIR],
      models: [new LifecycleModel("lifecycle"), new ThrowingModel("thrower")],
    });
    url = running.url;
  });
  afterAll(async () => running?.server.stop());

  it("exposes the latency histograms with HELP and TYPE lines", async () => {
    const text = await scrape(url);
    for (const stage of ["predict", "preprocess", "postprocess", "explain"]) {
      expect(text).toMatch(new RegExp(`^# HELP request_${stage}_seconds .+`, "m"));
      expect(text).toMatch(new RegExp(`^# TYPE request_${stage}_seconds histogram$`, "m"));
    }
    expect(text).toMatch(/^# HELP request_success_total .+/m);
    expect(text).toMatch(/^# HELP request_failure_total .+/m);
  });

  it("exposes process metrics", async () => {
    const text = await scrape(url);
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
  });

  it("predictions fill the iris histograms and the success counter", async () => {
    const before = await scrape(url);
    for (let i = 0; i < 3; i++) {
      expect((await post(`${url}/v1/models/iris:predict`, { instances: [ROW] })).status).toBe(200);
    }
    const v2 = await post(`${url}/v2/models/iris/infer`, {
      inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: ROW }],
    });
    expect(v2.status).toBe(200);
    const after = await scrape(url);

    expect(after).toMatch(/^request_predict_seconds_bucket\{[^}]*model_name="iris"[^}]*\} \d+/m);
    expect(after).toMatch(/^request_predict_seconds_bucket\{[^}]*le="\+Inf"[^}]*model_name="iris"[^}]*\} \d+/m);
    const count = (t: string, stage: string) => sample(t, `request_${stage}_seconds_count`, { model_name: "iris" });
    for (const stage of ["predict", "preprocess", "postprocess"]) {
      expect(count(after, stage) - count(before, stage), stage).toBe(4);
    }
    const inf = (t: string) => sample(t, "request_predict_seconds_bucket", { le: "+Inf", model_name: "iris" });
    expect(inf(after) - inf(before)).toBe(4);
    expect(sample(after, "request_predict_seconds_sum", { model_name: "iris" })).toBeGreaterThan(0);

    const ok = (t: string) => sample(t, "request_success_total", { model_name: "iris", model_version: "1" });
    const failed = (t: string) => sample(t, "request_failure_total", { model_name: "iris", model_version: "1" });
    expect(ok(after) - ok(before)).toBe(4);
    expect(failed(after) - failed(before)).toBe(0);
  });

  it("failed inferences count in request_failure_total, not in success", async () => {
    const before = await scrape(url);
    // Wrong datatype: the model rejects it (400).
    const bad = await post(`${url}/v2/models/iris/infer`, {
      inputs: [{ name: "input", shape: [1, 4], datatype: "INT32", data: [1, 2, 3, 4] }],
    });
    expect(bad.status).toBe(400);
    // Wrong width on V1 (400).
    expect((await post(`${url}/v1/models/iris:predict`, { instances: [[1, 2, 3]] })).status).toBe(400);
    // A model that throws (500), twice.
    expect((await post(`${url}/v1/models/thrower:predict`, { instances: [1] })).status).toBe(500);
    expect((await post(`${url}/v1/models/thrower:predict`, { instances: [1] })).status).toBe(500);
    // And one success on the thrower.
    expect((await post(`${url}/v1/models/thrower:predict`, { fail: false })).status).toBe(200);
    const after = await scrape(url);

    const irisFail = (t: string) => sample(t, "request_failure_total", { model_name: "iris", model_version: "1" });
    const irisOk = (t: string) => sample(t, "request_success_total", { model_name: "iris", model_version: "1" });
    expect(irisFail(after) - irisFail(before)).toBe(2);
    expect(irisOk(after) - irisOk(before)).toBe(0);

    const thrFail = (t: string) => sample(t, "request_failure_total", { model_name: "thrower", model_version: "" });
    const thrOk = (t: string) => sample(t, "request_success_total", { model_name: "thrower", model_version: "" });
    expect(thrFail(after) - thrFail(before)).toBe(2);
    expect(thrOk(after) - thrOk(before)).toBe(1);
  });

  it("counters carry the model version that answered", async () => {
    const before = await scrape(url);
    const body = { inputs: [{ name: "x", shape: [1], datatype: "FP32", data: [1] }] };
    expect((await post(`${url}/v2/models/scale/versions/1/infer`, body)).status).toBe(200);
    expect((await post(`${url}/v2/models/scale/versions/2/infer`, body)).status).toBe(200);
    expect((await post(`${url}/v2/models/scale/infer`, body)).status).toBe(200);
    const after = await scrape(url);
    const ok = (t: string, v: string) => sample(t, "request_success_total", { model_name: "scale", model_version: v });
    expect(ok(after, "1") - ok(before, "1")).toBe(1);
    expect(ok(after, "2") - ok(before, "2")).toBe(1);
    expect(ok(after, "3") - ok(before, "3")).toBe(1);
  });

  it(":explain fills request_explain_seconds for the model", async () => {
    const before = await scrape(url);
    expect((await post(`${url}/v1/models/lifecycle:explain`, { instances: [[1, 2]] })).status).toBe(200);
    expect((await post(`${url}/v1/models/lifecycle:explain`, { instances: [[3]] })).status).toBe(200);
    const after = await scrape(url);
    const explain = (t: string) => sample(t, "request_explain_seconds_count", { model_name: "lifecycle" });
    expect(explain(after) - explain(before)).toBe(2);
    expect(after).toMatch(/^request_explain_seconds_bucket\{[^}]*model_name="lifecycle"[^}]*\} \d+/m);
    // Explain is not predict.
    const predict = (t: string) => sample(t, "request_predict_seconds_count", { model_name: "lifecycle" });
    expect(predict(after) - predict(before)).toBe(0);
  });

  it("reports how long each model version took to load", async () => {
    const text = await scrape(url);
    expect(sample(text, "model_load_duration_seconds", { model_name: "iris", model_version: "1" })).toBeGreaterThan(0);
  });
});
