import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { SeldonError } from "../../../packages/server/src/protocol/seldon/errors.ts";
import { validateMetrics } from "../../../packages/server/src/protocol/seldon/metrics.ts";
import type { SeldonMetric } from "../../../packages/server/src/protocol/seldon/types.ts";
import { SeldonMetricsStore, TIMER_BUCKETS_SECONDS } from "../../../packages/server/src/server/seldon-metrics.ts";

const LABELS = {
  method: "predict",
  model_name: "iris",
  model_image: "seldonio/iris",
  model_version: "0.1",
  predictor_name: "default",
  predictor_version: "v1",
  deployment_name: "dep",
  worker_id: "1",
};
const FIXED = Object.entries(LABELS)
  .map(([k, v]) => `${k}="${v}"`)
  .join(",");

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;

/** A strict reader of Prometheus text format 0.0.4: one HELP and TYPE per family, samples under their family. */
function parse(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  let family: string | undefined;
  let type: string | undefined;
  expect(text === "" || text.endsWith("\n")).toBe(true);
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment) {
      if (comment[1] === "TYPE") {
        expect(types.has(comment[2]), `second TYPE line for ${comment[2]}`).toBe(false);
        expect(["counter", "gauge", "histogram", "summary", "untyped"]).toContain(comment[3]);
        types.set(comment[2], comment[3]);
        family = comment[2];
        type = comment[3];
      }
      continue;
    }
    expect(line.startsWith("#"), line).toBe(false);
    const m = LINE.exec(line);
    expect(m, `not a sample line: ${JSON.stringify(line)}`).not.toBeNull();
    const [, name, body = "", raw] = m!;
    const suffixes = type === "histogram" ? ["_bucket", "_sum", "_count"] : type === "summary" ? ["", "_sum", "_count"] : [""];
    expect(
      suffixes.some((s) => name === `${family}${s}`),
      `${name} is not a sample of ${family}`,
    ).toBe(true);
    const labels: Record<string, string> = {};
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const l = LABEL.exec(body);
      expect(l, `bad labels: ${body}`).not.toBeNull();
      expect(labels[l![1]], `label ${l![1]} twice`).toBeUndefined();
      labels[l![1]] = l![2].replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
      if (l![3] === "") break;
    }
    // Go's ParseFloat, which Prometheus uses, takes NaN in any case (prom-client writes "Nan").
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw);
    expect(Number.isNaN(value) && raw.toLowerCase() !== "nan", `bad value ${raw}`).toBe(false);
    const id = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    expect(seen.has(id), `duplicate sample ${id}`).toBe(false);
    seen.add(id);
    samples.push({ name, labels, value });
  }
  return { types, samples };
}

function values(store: SeldonMetricsStore, name: string): number[] {
  return parse(store.render())
    .samples.filter((s) => s.name === name)
    .map((s) => s.value);
}

function bad(fn: () => void): SeldonError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SeldonError);
    expect((err as SeldonError).status).toBe(500);
    expect((err as SeldonError).reason).toBe("MICROSERVICE_BAD_METRIC");
    return err as SeldonError;
  }
  throw new Error("expected a MICROSERVICE_BAD_METRIC error");
}

describe("SeldonMetricsStore: the three metric types", () => {
  it("renders nothing before anything is recorded", () => {
    const store = new SeldonMetricsStore();
    expect(store.render()).toBe("");
    store.record([], LABELS);
    expect(store.render()).toBe("");
  });

  it("exposes a COUNTER as <key>_total and accumulates it", () => {
    const store = new SeldonMetricsStore();
    store.record([{ type: "COUNTER", key: "mycounter", value: 1 }], LABELS);
    store.record([{ type: "COUNTER", key: "mycounter", value: 2.5 }], LABELS);
    store.record([{ type: "COUNTER", key: "mycounter", value: 0 }], LABELS);
    expect(store.render()).toBe(
      `# HELP mycounter_total Custom Seldon COUNTER metric mycounter\n# TYPE mycounter_total counter\nmycounter_total{${FIXED}} 3.5\n`,
    );
  });

  it("exposes a counter whose key already ends in _total without doubling the suffix, sharing one family", () => {
    const store = new SeldonMetricsStore();
    store.record([{ type: "COUNTER", key: "hits_total", value: 1 }], LABELS);
    store.record([{ type: "COUNTER", key: "hits", value: 2 }], LABELS);
    const { types } = parse(store.render());
    expect([...types]).toEqual([["hits_total", "counter"]]);
    expect(values(store, "hits_total")).toEqual([3]);
  });

  it("keeps the last GAUGE value", () => {
    const store = new SeldonMetricsStore();
    store.record([{ type: "GAUGE", key: "mygauge", value: 100 }], LABELS);
    store.record([{ type: "GAUGE", key: "mygauge", value: -4.25 }], LABELS);
    expect(store.render()).toBe(`# HELP mygauge Custom Seldon GAUGE metric mygauge\n# TYPE mygauge gauge\nmygauge{${FIXED}} -4.25\n`);
  });

  it("observes a TIMER's milliseconds as seconds in prometheus_client's default buckets", () => {
    const store = new SeldonMetricsStore();
    for (const ms of [5, 20.2, 250, 1000, 1000.5, 12000]) store.record([{ type: "TIMER", key: "mytimer", value: ms }], { method: "predict" });
    const text = store.render();
    const { types, samples } = parse(text);
    expect(types.get("mytimer")).toBe("histogram");
    const buckets = samples.filter((s) => s.name === "mytimer_bucket");
    expect(buckets.map((s) => s.labels.le)).toEqual([...TIMER_BUCKETS_SECONDS.map(String), "+Inf"]);
    expect(buckets.map((s) => s.labels.le)).toEqual(["0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1", "2.5", "5", "7.5", "10", "+Inf"]);
    // 5 ms lands exactly on le=0.005; 1000 ms on le=1; 1000.5 ms above it; 12 s only in +Inf.
    expect(buckets.map((s) => s.value)).toEqual([1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 5, 5, 5, 5, 6]);
    expect(values(store, "mytimer_sum")).toEqual([14275.7 / 1000]);
    expect(values(store, "mytimer_count")).toEqual([6]);
    expect(text).toContain('mytimer_bucket{method="predict",le="0.005"} 1\n');
    expect(text).toContain('mytimer_bucket{method="predict",le="+Inf"} 6\n');
    expect(text).toContain('mytimer_sum{method="predict"} 14.2757\n');
    expect(text).toContain('mytimer_count{method="predict"} 6\n');
  });

  it("sums whole milliseconds exactly", () => {
    const store = new SeldonMetricsStore();
    for (let i = 0; i < 10; i++) store.record([{ type: "TIMER", key: "t", value: 100 }], {});
    expect(values(store, "t_sum")).toEqual([1]);
    expect(store.render()).toContain('t_bucket{le="0.1"} 10\n');
    expect(store.render()).toContain('t_bucket{le="0.075"} 0\n');
  });

  it("renders series without labels without braces", () => {
    const store = new SeldonMetricsStore();
    store.record([{ type: "GAUGE", key: "g", value: 1 }], {});
    expect(store.render()).toBe("# HELP g Custom Seldon GAUGE metric g\n# TYPE g gauge\ng 1\n");
  });

  it("records several metrics from one call, in first-recorded order", () => {
    const store = new SeldonMetricsStore();
    store.record(
      validateMetrics([
        { type: "COUNTER", key: "b_counter", value: 1 },
        { type: "GAUGE", key: "a_gauge", value: 2 },
        { type: "TIMER", key: "c_timer", value: 3 },
        { type: "COUNTER", key: "b_counter", value: 1 },
      ]),
      LABELS,
    );
    store.record([{ type: "GAUGE", key: "0_gauge".slice(1), value: 0 }], LABELS);
    const { types } = parse(store.render());
    expect([...types.keys()]).toEqual(["b_counter_total", "a_gauge", "c_timer", "_gauge"]);
    expect(values(store, "b_counter_total")).toEqual([2]);
  });
});

describe("SeldonMetricsStore: labels", () => {
  it("merges the fixed labels with the metric's tags; a tag wins on a clash and keeps the label's place", () => {
    const store = new SeldonMetricsStore();
    store.record([{ type: "GAUGE", key: "g", value: 1, tags: { model_name: "mine", colour: "red" } }], { method: "predict", model_name: "iris" });
    expect(store.render()).toContain('g{method="predict",model_name="mine",colour="red"} 1\n');
  });

  it("keeps one series per label set, in first-seen order", () => {
    const store = new SeldonMetricsStore();
    const predict = { ...LABELS, method: "predict" };
    const feedback = { ...LABELS, method: "feedback" };
    store.record([{ type: "COUNTER", key: "c", value: 1, tags: { a: "1" } }], predict);
    store.record([{ type: "COUNTER", key: "c", value: 1 }], feedback);
    store.record([{ type: "COUNTER", key: "c", value: 1, tags: { a: "2" } }], predict);
    store.record([{ type: "COUNTER", key: "c", value: 5, tags: { a: "1" } }], { ...predict });
    const samples = parse(store.render()).samples;
    expect(samples.map((s) => [s.labels.method, s.labels.a, s.value])).toEqual([
      ["predict", "1", 6],
      ["feedback", undefined, 1],
      ["predict", "2", 1],
    ]);
  });

  it("keeps one series when different (labels, tags) merge to the same set", () => {
    const store = new SeldonMetricsStore();
    store.record([{ type: "COUNTER", key: "c", value: 1 }], { method: "predict", model_name: "x" });
    store.record([{ type: "COUNTER", key: "c", value: 1, tags: { model_name: "x" } }], { method: "predict", model_name: "y" });
    store.record([{ type: "COUNTER", key: "c", value: 1 }], { model_name: "x", method: "predict" });
    store.record([{ type: "COUNTER", key: "c", value: 1, tags: { model_name: "x" } }, { type: "COUNTER", key: "c", value: 1, tags: { model_name: "x" } }], { method: "predict" });
    // Two new inputs that merge alike within one call.
    store.record([{ type: "COUNTER", key: "c", value: 1, tags: { z: "1" } }, { type: "COUNTER", key: "c", value: 1 }], { z: "1" });
    expect(values(store, "c_total")).toEqual([5, 2]);
  });

  it("does not confuse label sets whose values hold separator-like characters", () => {
    const store = new SeldonMetricsStore();
    store.record([{ type: "GAUGE", key: "g", value: 1 }], { a: "x\u00001:b1:y" });
    store.record([{ type: "GAUGE", key: "g", value: 2 }], { a: "x", b: "y" });
    store.record([{ type: "GAUGE", key: "g", value: 3 }], { a: "1:x|" });
    store.record([{ type: "GAUGE", key: "g", value: 4, tags: { x: "" } }], { a: "1:" });
    expect(values(store, "g")).toEqual([1, 2, 3, 4]);
  });

  it("escapes backslashes, quotes and newlines in label values", () => {
    const store = new SeldonMetricsStore();
    const nasty = 'C:\\models\\"iris"\nv2';
    store.record([{ type: "TIMER", key: "t", value: 1, tags: { path: nasty } }], { model_name: "a,b}{=" });
    const text = store.render();
    expect(text).toContain('t_count{model_name="a,b}{=",path="C:\\\\models\\\\\\"iris\\"\\nv2"} 1\n');
    const { samples } = parse(text);
    expect(samples).toHaveLength(17);
    for (const s of samples) {
      expect(s.labels.path).toBe(nasty);
      expect(s.labels.model_name).toBe("a,b}{=");
    }
  });
});

describe("SeldonMetricsStore: errors", () => {
  it("keeps a key's first type: another type is MICROSERVICE_BAD_METRIC and records nothing from that call", () => {
    const store = new SeldonMetricsStore();
    store.record([{ type: "COUNTER", key: "mymetric", value: 1 }], LABELS);
    const before = store.render();
    const err = bad(() =>
      store.record(
        [
          { type: "COUNTER", key: "mymetric", value: 10 },
          { type: "GAUGE", key: "other", value: 1 },
          { type: "GAUGE", key: "mymetric", value: 1 },
        ],
        LABELS,
      ),
    );
    expect(err.message).toBe("metric mymetric was a COUNTER, cannot record it as a GAUGE");
    expect(store.render()).toBe(before);
    // The store is still usable afterwards, and the rejected call left nothing behind.
    store.record([{ type: "GAUGE", key: "other", value: 7 }], LABELS);
    expect(values(store, "mymetric_total")).toEqual([1]);
    expect(values(store, "other")).toEqual([7]);
    expect([...parse(store.render()).types.keys()]).toEqual(["mymetric_total", "other"]);
  });

  it("rejects two types for one key within a single call", () => {
    const store = new SeldonMetricsStore();
    const err = bad(() => store.record([{ type: "TIMER", key: "m", value: 1 }, { type: "COUNTER", key: "m", value: 1 }], LABELS));
    expect(err.message).toBe("metric m was a TIMER, cannot record it as a COUNTER");
    expect(store.render()).toBe("");
  });

  it("rejects a key whose exposed names another family already uses", () => {
    const store = new SeldonMetricsStore();
    store.record([{ type: "TIMER", key: "latency", value: 1 }], LABELS);
    store.record([{ type: "GAUGE", key: "hits_total", value: 1 }], LABELS);
    expect(bad(() => store.record([{ type: "GAUGE", key: "latency_count", value: 1 }], LABELS)).message).toBe(
      "metric latency_count (a GAUGE) would be exposed as latency_count, which metric latency (a TIMER) already uses",
    );
    expect(bad(() => store.record([{ type: "COUNTER", key: "hits", value: 1 }], LABELS)).message).toBe(
      "metric hits (a COUNTER) would be exposed as hits_total, which metric hits_total (a GAUGE) already uses",
    );
    bad(() => store.record([{ type: "TIMER", key: "x", value: 1 }, { type: "GAUGE", key: "x_sum", value: 1 }], LABELS));
    // A counter `c` is exposed as c_total, so a gauge `c` cannot share the key but another name would be fine.
    store.record([{ type: "COUNTER", key: "c", value: 1 }], LABELS);
    bad(() => store.record([{ type: "GAUGE", key: "c", value: 1 }], LABELS));
    parse(store.render());
    expect([...parse(store.render()).types.keys()]).toEqual(["latency", "hits_total", "c_total"]);
  });

  it("rejects keys that would collide with the server's own metric families", () => {
    const store = new SeldonMetricsStore();
    for (const key of ["request_success", "request_predict_seconds", "model_load_duration_seconds", "graph_x", "process_cpu", "nodejs_heap", "seldon_api_model_feedback"]) {
      expect(bad(() => store.record([{ type: "GAUGE", key, value: 1 }], LABELS)).message).toMatch(new RegExp(`^metric ${key} is reserved`));
    }
    expect(store.render()).toBe("");
    const custom = new SeldonMetricsStore({ reservedPrefixes: ["mine_"] });
    custom.record([{ type: "GAUGE", key: "request_x", value: 1 }], {});
    bad(() => custom.record([{ type: "GAUGE", key: "mine_x", value: 1 }], {}));
  });

  it("re-checks what it is given, even without validateMetrics", () => {
    const store = new SeldonMetricsStore();
    const raw = (m: unknown) => [m] as SeldonMetric[];
    bad(() => store.record(raw({ type: "COUNTER", key: "c", value: -1 }), LABELS));
    bad(() => store.record(raw({ type: "GAUGE", key: "g", value: Number.NaN }), LABELS));
    bad(() => store.record(raw({ type: "GAUGE", key: "g", value: "1" }), LABELS));
    bad(() => store.record(raw({ type: "GAUGE", key: "bad-key", value: 1 }), LABELS));
    bad(() => store.record(raw({ type: "SUMMARY", key: "s", value: 1 }), LABELS));
    bad(() => store.record(raw({ type: "GAUGE", key: "g", value: 1, tags: { "a-b": "x" } }), LABELS));
    bad(() => store.record(raw({ type: "TIMER", key: "t", value: 1, tags: { le: "x" } }), LABELS));
    expect(store.render()).toBe("");
    expect(() => store.record([{ type: "GAUGE", key: "g", value: 1 }], { "bad label": "x" })).toThrow(TypeError);
    expect(store.render()).toBe("");
  });
});

describe("SeldonMetricsStore: feedback", () => {
  it("counts feedback with a truthy reward and sums the rewards", () => {
    const store = new SeldonMetricsStore();
    const labels = { ...LABELS, method: "feedback" };
    store.recordFeedback(1, labels);
    store.recordFeedback(0.5, labels);
    store.recordFeedback(0, labels);
    store.recordFeedback(Number.NaN, labels);
    const text = store.render();
    const fixed = FIXED.replace('method="predict"', 'method="feedback"');
    expect(text).toBe(
      "# HELP seldon_api_model_feedback_total Seldon feedback requests that carried a reward\n" +
        "# TYPE seldon_api_model_feedback_total counter\n" +
        `seldon_api_model_feedback_total{${fixed}} 2\n` +
        "# HELP seldon_api_model_feedback_reward_total Sum of the rewards in Seldon feedback requests\n" +
        "# TYPE seldon_api_model_feedback_reward_total counter\n" +
        `seldon_api_model_feedback_reward_total{${fixed}} 1.5\n`,
    );
  });

  it("records nothing for a zero reward", () => {
    const store = new SeldonMetricsStore();
    store.recordFeedback(0, LABELS);
    expect(store.render()).toBe("");
  });

  it("counts a negative reward but does not subtract it from a counter", () => {
    const store = new SeldonMetricsStore();
    store.recordFeedback(2, LABELS);
    store.recordFeedback(-1, LABELS);
    expect(values(store, "seldon_api_model_feedback_total")).toEqual([2]);
    expect(values(store, "seldon_api_model_feedback_reward_total")).toEqual([2]);
  });
});

describe("SeldonMetricsStore: appended to the server's exposition", () => {
  it("parses together with a prom-client registry: every family has exactly one TYPE line", async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    new Counter({ name: "request_success_total", help: "ok", labelNames: ["model_name"], registers: [registry] }).labels("iris").inc();
    new Histogram({ name: "request_predict_seconds", help: "predict", labelNames: ["model_name"], registers: [registry] }).labels("iris").observe(0.01);

    const store = new SeldonMetricsStore();
    store.record(
      validateMetrics([
        { type: "COUNTER", key: "mycounter", value: 1, tags: { q: 'a"b' } },
        { type: "GAUGE", key: "mygauge", value: 2 },
        { type: "TIMER", key: "mytimer", value: 30 },
      ]),
      LABELS,
    );
    store.record([{ type: "COUNTER", key: "mycounter", value: 1 }], { ...LABELS, method: "router" });
    store.recordFeedback(1, { ...LABELS, method: "feedback" });

    const text = (await registry.metrics()) + store.render();
    const { types, samples } = parse(text);
    for (const name of ["mycounter_total", "mygauge", "mytimer", "seldon_api_model_feedback_total", "request_success_total", "process_cpu_user_seconds_total"]) {
      expect(types.has(name), name).toBe(true);
    }
    expect(samples.filter((s) => s.name === "mycounter_total")).toHaveLength(2);
    expect(samples.filter((s) => s.name === "mytimer_bucket" && s.labels.le === "0.05")[0].value).toBe(1);
  });

  it("renders each sample on its own line, one HELP and one TYPE per family", () => {
    const store = new SeldonMetricsStore();
    store.record([{ type: "TIMER", key: "t", value: 1 }, { type: "GAUGE", key: "g", value: 1 }], LABELS);
    const lines = store.render().trimEnd().split("\n");
    expect(lines.filter((l) => l.startsWith("# TYPE "))).toEqual(["# TYPE t histogram", "# TYPE g gauge"]);
    expect(lines.filter((l) => l.startsWith("# HELP "))).toHaveLength(2);
    expect(lines).toHaveLength(2 + 17 + 2 + 1);
  });
});
