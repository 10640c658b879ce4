/**
 * A Seldon component's custom metrics in Prometheus (GET /metrics) after repeated calls: COUNTER adds, GAUGE keeps
 * the last value, TIMER milliseconds become a seconds histogram; every sample carries the method, the model name
 * and the metric's own tags.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NDArray, SeldonResponse } from "../../packages/server/src/index.ts";
import { expectSeldonError, labelSets, postJson, sample, scrape, type SeldonRunning, send, startSeldon } from "../fixtures/seldon/harness.ts";

const TIMINGS_MS = [4, 20.2, 300];

class Instrumented {
  calls = 0;
  predict(X: NDArray) {
    return new SeldonResponse(X, undefined, [{ type: "COUNTER", key: "rows_seen", value: X.length, tags: { source: "runtime" } }]);
  }
  route() {
    return 0;
  }
  transformInput(X: unknown) {
    return X;
  }
  metrics() {
    const n = this.calls++;
    return [
      { type: "COUNTER", key: "mycounter", value: 2, tags: { color: "red" } },
      { type: "GAUGE", key: "mygauge", value: 100 + n },
      { type: "TIMER", key: "mytimer", value: TIMINGS_MS[n % TIMINGS_MS.length] },
    ];
  }
}

describe("Seldon custom metrics in /metrics", () => {
  let s: SeldonRunning;
  let component: Instrumented;
  const predict = { method: "predict", model_name: "instrumented" };

  beforeAll(async () => {
    component = new Instrumented();
    s = await startSeldon(component, "instrumented");
    for (let i = 0; i < 3; i++) {
      const r = await postJson(`${s.url}/api/v1.0/predictions`, { data: { ndarray: [[1], [2]] } });
      expect(r.status, r.text).toBe(200);
    }
  });
  afterAll(async () => s?.server.stop());

  it("a COUNTER accumulates as <key>_total, labelled with its tags", async () => {
    const text = await scrape(s.url);
    expect(text).toMatch(/^# TYPE mycounter_total counter$/m);
    expect(sample(text, "mycounter_total", { ...predict, color: "red" })).toBe(6);
    expect(sample(text, "rows_seen_total", { ...predict, source: "runtime" })).toBe(6);
  });

  it("a GAUGE keeps the last value", async () => {
    const text = await scrape(s.url);
    expect(text).toMatch(/^# TYPE mygauge gauge$/m);
    expect(sample(text, "mygauge", predict)).toBe(102);
  });

  it("a TIMER in milliseconds becomes a seconds histogram: _sum, _count and cumulative buckets", async () => {
    const text = await scrape(s.url);
    expect(text).toMatch(/^# TYPE mytimer histogram$/m);
    expect(sample(text, "mytimer_count", predict)).toBe(3);
    expect(sample(text, "mytimer_sum", predict)).toBeCloseTo((4 + 20.2 + 300) / 1000, 9);
    expect(sample(text, "mytimer_bucket", { ...predict, le: "0.005" })).toBe(1);
    expect(sample(text, "mytimer_bucket", { ...predict, le: "0.01" })).toBe(1);
    expect(sample(text, "mytimer_bucket", { ...predict, le: "0.025" })).toBe(2);
    expect(sample(text, "mytimer_bucket", { ...predict, le: "0.25" })).toBe(2);
    expect(sample(text, "mytimer_bucket", { ...predict, le: "0.5" })).toBe(3);
    expect(sample(text, "mytimer_bucket", { ...predict, le: "+Inf" })).toBe(3);
  });

  it("labels include method and model_name (and Seldon's deployment labels)", async () => {
    const sets = labelSets(await scrape(s.url), "mygauge");
    expect(sets.length).toBeGreaterThan(0);
    for (const labels of sets) {
      expect(labels.model_name).toBe("instrumented");
      expect(Object.keys(labels)).toEqual(expect.arrayContaining(["method", "model_name", "model_version", "deployment_name", "worker_id"]));
    }
  });

  it("each method is its own series: router and inputtransform", async () => {
    await postJson(`${s.url}/route`, { data: { ndarray: [[1]] } });
    await postJson(`${s.url}/transform-input`, { data: { ndarray: [[1]] } });
    await postJson(`${s.url}/transform-input`, { data: { ndarray: [[1]] } });
    const text = await scrape(s.url);
    expect(sample(text, "mycounter_total", { method: "router", model_name: "instrumented", color: "red" })).toBe(2);
    expect(sample(text, "mycounter_total", { method: "inputtransform", model_name: "instrumented", color: "red" })).toBe(4);
    // predict's series is untouched by the other methods.
    expect(sample(text, "mycounter_total", { ...predict, color: "red" })).toBe(6);
    expect(sample(text, "mytimer_count", { method: "inputtransform", model_name: "instrumented" })).toBe(2);
  });

  it("metrics() runs on every call of every method, including /health/status", async () => {
    const before = component.calls;
    await send(`${s.url}/health/status`);
    expect(component.calls).toBe(before + 1);
    expect(sample(await scrape(s.url), "mygauge", { method: "health", model_name: "instrumented" })).toBe(100 + before);
  });
});

describe("Seldon custom metrics that cannot be recorded", () => {
  let s: SeldonRunning;
  beforeAll(async () => {
    s = await startSeldon(
      {
        predict(X: unknown) {
          if (X === "as-gauge") return new SeldonResponse("x", undefined, [{ type: "GAUGE", key: "flip", value: 1 }]);
          if (X === "reserved") return new SeldonResponse("x", undefined, [{ type: "COUNTER", key: "seldon_api_model_feedback", value: 1 }]);
          if (X === "bad-tag") return new SeldonResponse("x", undefined, [{ type: "COUNTER", key: "tagged", value: 1, tags: { "bad-label": "v" } }]);
          return new SeldonResponse("x", undefined, [{ type: "COUNTER", key: "flip", value: 1 }]);
        },
      },
      "strict",
    );
  });
  afterAll(async () => s?.server.stop());

  it("a key recorded with another type, a reserved name or a tag that cannot be a label is 500 MICROSERVICE_BAD_METRIC", async () => {
    const url = `${s.url}/api/v1.0/predictions`;
    expect((await postJson(url, { strData: "counter" })).status).toBe(200);
    expectSeldonError(await postJson(url, { strData: "as-gauge" }), 500, "MICROSERVICE_BAD_METRIC", /flip/);
    expectSeldonError(await postJson(url, { strData: "reserved" }), 500, "MICROSERVICE_BAD_METRIC", /seldon_api_model_feedback/);
    expectSeldonError(await postJson(url, { strData: "bad-tag" }), 500, "MICROSERVICE_BAD_METRIC");
    // Good calls keep counting.
    expect((await postJson(url, { strData: "counter" })).status).toBe(200);
    const text = await scrape(s.url);
    expect(sample(text, "flip_total", { method: "predict", model_name: "strict" })).toBe(2);
    expect(text).not.toMatch(/^flip\{/m);
  });
});
