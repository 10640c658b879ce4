/**
 * OpenTelemetry tracing end to end: in-process tserve servers export their spans over OTLP/HTTP JSON to a receiver
 * started here; the span trees of a transformer → predictor call and of a two-step InferenceGraph are checked,
 * joined to the caller's traceparent; with tracing off nothing is exported and traceparent is forwarded as today.
 */
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Batcher } from "../../packages/server/src/engine/index.ts";
import type { Tensor } from "../../packages/server/src/tensor/index.ts";
import { samplerFromEnv, tracerFromEnv } from "../../packages/server/src/server/tracing.ts";
import IrisTransformer from "../fixtures/modules/iris-transformer.ts";
import { startGraph } from "../fixtures/graphs/harness.ts";
import { IRIS_DIR, post, type Running, startWith } from "./util.ts";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: Record<string, unknown> }[];
  status: { code: number };
  service: string;
}

const SERVER = 2;
const CLIENT = 3;
const CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN = "00f067aa0ba902b7";
const CALLER = { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`, tracestate: "vendor=abc", "x-request-id": "rid-trace-1" };
const INSTANCES = { instances: [[68, 28, 48, 14]] };

/** A local OTLP/HTTP receiver: every span POSTed to /v1/traces, with its resource's service.name. */
class Receiver {
  readonly spans: OtlpSpan[] = [];
  readonly requests: { path: string; contentType?: string; headers: IncomingHttpHeaders }[] = [];
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      this.requests.push({ path: req.url ?? "", contentType: req.headers["content-type"], headers: req.headers });
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      for (const rs of body.resourceSpans) {
        const service = rs.resource.attributes.find((a: { key: string }) => a.key === "service.name")?.value.stringValue;
        for (const ss of rs.scopeSpans) for (const s of ss.spans) this.spans.push({ ...s, service });
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });

  async listen(): Promise<string> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  reset(): void {
    this.spans.length = 0;
    this.requests.length = 0;
  }

  /** The one span with this name (and service, when given). */
  one(name: string | RegExp, service?: string): OtlpSpan {
    const found = this.spans.filter((s) => (typeof name === "string" ? s.name === name : name.test(s.name)) && (!service || s.service === service));
    expect(found, `spans named ${String(name)}${service ? ` of ${service}` : ""}: ${this.describe()}`).toHaveLength(1);
    return found[0];
  }

  children(parent: OtlpSpan): OtlpSpan[] {
    return this.spans.filter((s) => s.parentSpanId === parent.spanId);
  }

  describe(): string {
    return this.spans.map((s) => `${s.service}:${s.name}(${s.spanId}<-${s.parentSpanId ?? "root"})`).join(", ");
  }
}

function attr(span: OtlpSpan, key: string): unknown {
  const v = span.attributes.find((a) => a.key === key)?.value;
  return v === undefined ? undefined : Object.values(v)[0];
}

function tracer(endpoint: string, service: string) {
  return tracerFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: service, OTEL_BSP_SCHEDULE_DELAY: "20" });
}

let receiver: Receiver;
let endpoint: string;
const running: Running[] = [];

beforeAll(async () => {
  receiver = new Receiver();
  endpoint = await receiver.listen();
});
afterEach(async () => {
  for (const r of running.splice(0)) await r.server.stop();
  receiver.reset();
});
afterAll(() => receiver.close());

async function serve(options: Parameters<typeof startWith>[0]): Promise<Running> {
  const r = await startWith({ gracePeriodMs: 500, ...options });
  running.push(r);
  return r;
}

/** Waits for `count` spans or more to have arrived. */
async function spans(count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (receiver.spans.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

describe("tracing configuration", () => {
  it("is off unless OTEL_TRACES_EXPORTER=otlp or an OTLP endpoint is set; none wins", () => {
    expect(tracerFromEnv({})).toBeUndefined();
    expect(tracerFromEnv({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://x:4318" })).toBeUndefined();
    expect(tracerFromEnv({ OTEL_TRACES_EXPORTER: "console" })).toBeUndefined();
    const on = [tracerFromEnv({ OTEL_TRACES_EXPORTER: "otlp" }), tracerFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://x:4318/v1/traces" })];
    for (const t of on) {
      expect(t).toBeDefined();
      void t!.shutdown();
    }
  });

  it("reads OTEL_TRACES_SAMPLER and its argument", () => {
    expect(samplerFromEnv(undefined, undefined)).toEqual({ parentBased: true, ratio: 1 });
    expect(samplerFromEnv("parentbased_traceidratio", "0.25")).toEqual({ parentBased: true, ratio: 0.25 });
    expect(samplerFromEnv("traceidratio", "2")).toEqual({ parentBased: false, ratio: 1 });
    expect(samplerFromEnv("always_off", undefined)).toEqual({ parentBased: false, ratio: 0 });
  });

  it("sends OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES; a caller's unsampled trace is not recorded", async () => {
    const t = tracerFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=s%20ecret",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=test",
    })!;
    t.start("unsampled", "server", { traceId: CALLER_TRACE, spanId: CALLER_SPAN, sampled: false }).end();
    t.start("sampled", "server", undefined).end();
    await t.shutdown();
    expect(receiver.spans.map((s) => s.name)).toEqual(["sampled"]);
    expect(receiver.spans[0].service).toBe("tserve");
    expect(receiver.requests[0]).toMatchObject({ path: "/v1/traces", contentType: "application/json" });
    expect(receiver.requests[0].headers["x-api-key"]).toBe("s ecret");
  });
});

describe("the batcher's queue wait", () => {
  it("tells each request when its batch starts, with the batch's size", async () => {
    const batcher = new Batcher((inputs) => inputs, { maxBatchSize: 8, maxQueueDelayMicroseconds: 20_000 });
    const told: [number, number][] = [];
    const t = (rows: number): Tensor => ({ name: "x", datatype: "FP32", shape: [rows, 1], data: new Float32Array(rows) });
    await Promise.all([
      batcher.submit([t(1)], [], (n, rows) => told.push([n, rows])),
      batcher.submit([t(2)], [], (n, rows) => told.push([n, rows])),
    ]);
    expect(told).toEqual([[2, 3], [2, 3]]);
    batcher.close();
  });
});

describe("a transformer in front of a predictor", () => {
  it("gives one trace below the caller's span: server → stages → client → predictor's server → its stages", async () => {
    const predictor = await serve({ dirs: [IRIS_DIR], tracer: tracer(endpoint, "predictor") });
    const transformer = await serve({
      models: [new IrisTransformer("iris", { predictorHost: `127.0.0.1:${predictor.server.port}`, predictorProtocol: "v1" })],
      tracer: tracer(endpoint, "transformer"),
    });
    const r = await post(`${transformer.url}/v1/models/iris:predict`, INSTANCES, CALLER);
    expect(r.status).toBe(200);
    await spans(9);

    const top = receiver.one(/^POST /, "transformer");
    expect(top).toMatchObject({ traceId: CALLER_TRACE, parentSpanId: CALLER_SPAN, kind: SERVER, traceState: "vendor=abc" });
    expect(attr(top, "http.request.method")).toBe("POST");
    expect(attr(top, "url.path")).toBe("/v1/models/iris:predict");
    expect(attr(top, "http.response.status_code")).toBe("200");
    expect(attr(top, "tserve.request.id")).toBe("rid-trace-1");
    expect(attr(top, "tserve.model.name")).toBe("iris");
    expect(receiver.children(top).map((s) => s.name).sort()).toEqual(["postprocess", "predict", "preprocess"]);

    const predict = receiver.one("predict", "transformer");
    const client = receiver.one(/^infer iris$/, "transformer");
    expect(client).toMatchObject({ kind: CLIENT, parentSpanId: predict.spanId, traceId: CALLER_TRACE });

    // The outbound traceparent carried the client span's id: the predictor's server span is its child.
    const callee = receiver.one(/^POST /, "predictor");
    expect(callee).toMatchObject({ kind: SERVER, parentSpanId: client.spanId, traceId: CALLER_TRACE, traceState: "vendor=abc" });
    expect(attr(callee, "tserve.request.id")).toBe("rid-trace-1");
    expect(receiver.children(callee).map((s) => s.name).sort()).toEqual(["postprocess", "predict", "preprocess"]);

    for (const s of receiver.spans) {
      expect(s.traceId).toBe(CALLER_TRACE);
      expect(BigInt(s.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(s.startTimeUnixNano));
      expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it("starts a new trace without a caller traceparent and marks a failed predictor call", async () => {
    const transformer = await serve({
      models: [new IrisTransformer("iris", { predictorHost: "127.0.0.1:1", predictorProtocol: "v1" })],
      tracer: tracer(endpoint, "transformer"),
    });
    const r = await post(`${transformer.url}/v1/models/iris:predict`, INSTANCES);
    expect(r.status).toBeGreaterThanOrEqual(500);
    await spans(4);
    const top = receiver.one(/^POST /, "transformer");
    expect(top.parentSpanId ?? "").toBe("");
    expect(top.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(top.status.code).toBe(2);
    expect(receiver.one(/^infer iris$/).status.code).toBe(2);
  });
});

describe("an InferenceGraph", () => {
  it("gives node and step spans, client spans for step calls, and the steps' server spans below them", async () => {
    const stepA = await serve({ dirs: [IRIS_DIR], tracer: tracer(endpoint, "step-a") });
    const stepB = await serve({ dirs: [IRIS_DIR], tracer: tracer(endpoint, "step-b") });
    const url = (s: Running) => `${s.url}/v1/models/iris:predict`;
    const graph = await startGraph(
      {
        nodes: {
          root: {
            routerType: "Sequence",
            steps: [
              { name: "a", serviceUrl: url(stepA) },
              { name: "b", serviceUrl: url(stepB), data: "$request" },
            ],
          },
        },
      },
      { tracer: tracer(endpoint, "graph") },
    );
    try {
      const r = await post(graph.url, { instances: [[6.8, 2.8, 4.8, 1.4]] }, CALLER);
      expect(r.status).toBe(200);
      await spans(14);
    } finally {
      await graph.stop();
    }
    const top = receiver.one("POST /", "graph");
    expect(top).toMatchObject({ traceId: CALLER_TRACE, parentSpanId: CALLER_SPAN, kind: SERVER });
    const node = receiver.one("graph node root");
    expect(node.parentSpanId).toBe(top.spanId);
    for (const [label, service] of [["a", "step-a"], ["b", "step-b"]] as const) {
      const step = receiver.one(`graph step root/${label}`);
      expect(step.parentSpanId).toBe(node.spanId);
      const [client] = receiver.children(step);
      expect(client).toMatchObject({ kind: CLIENT, traceId: CALLER_TRACE });
      expect(attr(client, "http.response.status_code")).toBe("200");
      const callee = receiver.one("POST /v1/models/*", service);
      expect(callee).toMatchObject({ kind: SERVER, parentSpanId: client.spanId, traceId: CALLER_TRACE });
      expect(receiver.children(callee).map((s) => s.name).sort()).toEqual(["postprocess", "predict", "preprocess"]);
      // A "queue wait" span below predict appears when the run went through the batcher (not the inline fast path).
      for (const wait of receiver.spans.filter((s) => s.name === "queue wait" && s.service === service)) {
        expect(wait.parentSpanId).toBe(receiver.one("predict", service).spanId);
      }
    }
  });
});

describe("a caller's unsampled trace", () => {
  it("records nothing but still passes the trace on (same trace id, flag 00) to the predictor", async () => {
    const seen: IncomingHttpHeaders[] = [];
    const fake = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ predictions: [[0.1, 0.8, 0.1]] })));
    });
    fake.listen(0, "127.0.0.1");
    await once(fake, "listening");
    try {
      const transformer = await serve({
        models: [new IrisTransformer("iris", { predictorHost: `127.0.0.1:${(fake.address() as AddressInfo).port}`, predictorProtocol: "v1" })],
        tracer: tracer(endpoint, "transformer"),
      });
      const r = await post(`${transformer.url}/v1/models/iris:predict`, INSTANCES, { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-00` });
      expect(r.status).toBe(200);
      expect(seen[0].traceparent).toMatch(new RegExp(`^00-${CALLER_TRACE}-[0-9a-f]{16}-00$`));
      expect(seen[0].traceparent).not.toContain(CALLER_SPAN);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(receiver.spans).toHaveLength(0);
    } finally {
      await new Promise((resolve) => fake.close(() => resolve(undefined)));
    }
  });
});

describe("tracing off", () => {
  it("exports nothing and forwards the caller's traceparent unchanged", async () => {
    const seen: IncomingHttpHeaders[] = [];
    const fake = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ predictions: [[0.1, 0.8, 0.1]] })));
    });
    fake.listen(0, "127.0.0.1");
    await once(fake, "listening");
    try {
      const transformer = await serve({
        models: [new IrisTransformer("iris", { predictorHost: `127.0.0.1:${(fake.address() as AddressInfo).port}`, predictorProtocol: "v1" })],
      });
      expect(transformer.server.tracer).toBeUndefined();
      const r = await post(`${transformer.url}/v1/models/iris:predict`, INSTANCES, CALLER);
      expect(r.status).toBe(200);
      expect(seen[0].traceparent).toBe(CALLER.traceparent);
      expect(seen[0].tracestate).toBe(CALLER.tracestate);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(receiver.requests).toHaveLength(0);
    } finally {
      await new Promise((resolve) => fake.close(() => resolve(undefined)));
    }
  });
});
