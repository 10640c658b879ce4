import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binaryBody, float32Bytes, get, IRIS_DIR, post, postBytes, type Running, startWith, tempRepo } from "./util.ts";

/** A real CloudEvents sink: records each POST's headers and body; `hang` never answers. */
interface Sink {
  url: string;
  events: { headers: IncomingHttpHeaders; body: Buffer }[];
  /** Resolves once `n` events arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

async function startSink(options: { hang?: boolean } = {}): Promise<Sink> {
  const events: Sink["events"] = [];
  const waiters: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      events.push({ headers: req.headers, body: Buffer.concat(chunks) });
      for (const wake of waiters.splice(0)) wake();
      if (!options.hang) res.writeHead(202).end();
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/sink`,
    events,
    async waitFor(n, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (events.length < n) {
        if (Date.now() > deadline) throw new Error(`the sink got ${events.length} events, expected ${n}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
    },
    async close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** The request and response events of one request id. */
function pair(sink: Sink, requestId: string) {
  const mine = sink.events.filter((e) => e.headers["ce-requestid"] === requestId);
  return {
    request: mine.find((e) => e.headers["ce-type"] === "org.kubeflow.serving.inference.request"),
    response: mine.find((e) => e.headers["ce-type"] === "org.kubeflow.serving.inference.response"),
    all: mine,
  };
}

/** The value of a Prometheus sample line (0 when absent). */
function sample(metrics: string, line: string): number {
  const found = metrics.split("\n").find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
}

const IRIS_ROW = [6.8, 2.8, 4.8, 1.4];

describe("payload logging (KServe's logger): CloudEvents to --logger_url", () => {
  let sink: Sink;
  let running: Running;

  beforeAll(async () => {
    sink = await startSink();
    running = await startWith({
      dirs: [IRIS_DIR],
      payloadLog: { url: sink.url, inferenceService: "iris-isvc", namespace: "models", component: "predictor", endpoint: "default", sourceUri: "iris-pod-1" },
    });
  });
  afterAll(async () => {
    await running?.server.stop();
    await sink?.close();
  });

  it("V1 :predict: a request and a response event with KServe's headers, the bytes, one id", async () => {
    const body = { instances: [IRIS_ROW] };
    const r = await post(`${running.url}/v1/models/iris:predict`, body, { "x-request-id": "v1-req-1" });
    expect(r.status).toBe(200);
    await sink.waitFor(2);
    const { request, response } = pair(sink, "v1-req-1");
    expect(request, "request event").toBeDefined();
    expect(response, "response event").toBeDefined();
    for (const e of [request!, response!]) {
      expect(e.headers["ce-specversion"]).toBe("1.0");
      expect(e.headers["ce-id"]).toBe("v1-req-1");
      expect(e.headers["ce-source"]).toBe("iris-pod-1");
      expect(e.headers["ce-inferenceservicename"]).toBe("iris-isvc");
      expect(e.headers["ce-namespace"]).toBe("models");
      expect(e.headers["ce-component"]).toBe("predictor");
      expect(e.headers["ce-endpoint"]).toBe("default");
      expect(e.headers["ce-modelname"]).toBe("iris");
      expect(Number.isNaN(Date.parse(String(e.headers["ce-time"])))).toBe(false);
      expect(e.headers["content-type"]).toMatch(/^application\/json/);
    }
    expect(JSON.parse(request!.body.toString())).toEqual(body);
    expect(response!.body.toString()).toBe(r.text);
    expect(response!.headers["content-type"]).toBe(r.headers.get("content-type"));
    expect(request!.headers["content-type"]).toBe("application/json");
    expect(response!.headers["ce-statuscode"]).toBe("200");
    expect(request!.headers["ce-statuscode"]).toBeUndefined();
  });

  it("a caller's Ce-Id is the events' id, as KServe's; ce-requestid stays the x-request-id", async () => {
    const before = sink.events.length;
    const r = await post(`${running.url}/v1/models/iris:predict`, { instances: [IRIS_ROW] }, { "x-request-id": "v1-req-2", "ce-id": "caller-event-9" });
    expect(r.status).toBe(200);
    await sink.waitFor(before + 2);
    const { all } = pair(sink, "v1-req-2");
    expect(all.map((e) => e.headers["ce-id"])).toEqual(["caller-event-9", "caller-event-9"]);
  });

  it("a generated x-request-id (none given) is the events' id and the one the client got", async () => {
    const before = sink.events.length;
    const r = await post(`${running.url}/v2/models/iris/infer`, { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: IRIS_ROW }] });
    expect(r.status).toBe(200);
    const id = r.headers.get("x-request-id")!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await sink.waitFor(before + 2);
    const { request, response } = pair(sink, id);
    expect(request?.headers["ce-id"]).toBe(id);
    expect(response?.headers["ce-id"]).toBe(id);
    expect(response!.body.toString()).toBe(r.text);
  });

  it("V2 binary: the bytes as received and sent, with their content type and inference-header-content-length", async () => {
    const before = sink.events.length;
    const blob = float32Bytes(IRIS_ROW);
    const { body, headerLength } = binaryBody(
      {
        inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", parameters: { binary_data_size: 16 } }],
        outputs: [{ name: "probabilities", parameters: { binary_data: true } }],
      },
      [blob],
    );
    const r = await postBytes(`${running.url}/v2/models/iris/infer`, body, { "inference-header-content-length": String(headerLength), "x-request-id": "v2-bin-1" });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/octet-stream");
    await sink.waitFor(before + 2);
    const { request, response } = pair(sink, "v2-bin-1");
    expect(request!.headers["content-type"]).toBe("application/octet-stream");
    expect(request!.headers["inference-header-content-length"]).toBe(String(headerLength));
    expect(Buffer.compare(request!.body, Buffer.from(body))).toBe(0);
    expect(response!.headers["content-type"]).toBe("application/octet-stream");
    expect(response!.headers["inference-header-content-length"]).toBe(r.headers.get("inference-header-content-length"));
    expect(Buffer.compare(response!.body, r.bytes)).toBe(0);
  });

  it("gzip: the request's inflated bytes and the answer before compression", async () => {
    const before = sink.events.length;
    const body = JSON.stringify({ instances: Array.from({ length: 50 }, () => IRIS_ROW) });
    const r = await fetch(`${running.url}/v1/models/iris:predict`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip", "accept-encoding": "gzip", "x-request-id": "gzip-1" },
      body: gzipSync(body),
    });
    expect(r.status).toBe(200);
    const text = await r.text(); // fetch inflates it
    await sink.waitFor(before + 2);
    const { request, response } = pair(sink, "gzip-1");
    expect(request!.body.toString()).toBe(body);
    expect(response!.body.toString()).toBe(text);
    expect(response!.headers["content-encoding"]).toBeUndefined();
  });

  it("a 4xx or 5xx answer is logged too, marked by ce-statuscode (KServe logs only 200s: kserve#2722)", async () => {
    const before = sink.events.length;
    const bad = await post(`${running.url}/v2/models/iris/infer`, { inputs: [{ name: "nope", shape: [1], datatype: "FP32", data: [1] }] }, { "x-request-id": "v2-bad-1" });
    expect(bad.status).toBe(400);
    const missing = await post(`${running.url}/v1/models/absent:predict`, { instances: [[1]] }, { "x-request-id": "v1-404-1" });
    expect(missing.status).toBe(404);
    await sink.waitFor(before + 4);
    const badPair = pair(sink, "v2-bad-1");
    expect(badPair.response!.headers["ce-statuscode"]).toBe("400");
    expect(badPair.response!.body.toString()).toBe(bad.text);
    const missingPair = pair(sink, "v1-404-1");
    expect(missingPair.response!.headers["ce-statuscode"]).toBe("404");
    expect(missingPair.response!.headers["ce-modelname"]).toBe("absent");
  });

  it("routes that are not inference are not logged; sent events are counted on /metrics", async () => {
    await sink.waitFor(sink.events.length);
    const before = sink.events.length;
    expect((await get(`${running.url}/v2/models/iris`)).status).toBe(200);
    expect((await get(`${running.url}/v1/models/iris`)).status).toBe(200);
    await running.server.payloadLog.idle();
    expect(sink.events.length).toBe(before);
    const metrics = (await get(`${running.url}/metrics`)).text;
    expect(sample(metrics, 'tserve_payload_log_sent_total{type="request"}')).toBeGreaterThanOrEqual(5);
    expect(sample(metrics, 'tserve_payload_log_sent_total{type="response"}')).toBeGreaterThanOrEqual(5);
  });
});

describe("payload logging modes and per-model settings", () => {
  it("--logger_mode request sends only the requests", async () => {
    const sink = await startSink();
    const running = await startWith({ dirs: [IRIS_DIR], payloadLog: { url: sink.url, mode: "request" } });
    try {
      expect((await post(`${running.url}/v1/models/iris:predict`, { instances: [IRIS_ROW] }, { "x-request-id": "mode-1" })).status).toBe(200);
      expect((await post(`${running.url}/v2/models/iris/infer`, { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: IRIS_ROW }] })).status).toBe(200);
      await sink.waitFor(2);
      await running.server.payloadLog.idle();
      expect(sink.events).toHaveLength(2);
      expect(sink.events.every((e) => e.headers["ce-type"] === "org.kubeflow.serving.inference.request")).toBe(true);
    } finally {
      await running.server.stop();
      await sink.close();
    }
  });

  it("model-settings.json logger {url, mode} sends that model's events to its own sink, without --logger_url", async () => {
    const own = await startSink();
    const repo = await tempRepo({ iris: IRIS_DIR, other: IRIS_DIR });
    const settings = JSON.parse(await readFile(join(IRIS_DIR, "model-settings.json"), "utf8"));
    await writeFile(join(repo, "iris", "model-settings.json"), JSON.stringify({ ...settings, logger: { url: own.url, mode: "response" } }));
    await writeFile(join(repo, "other", "model-settings.json"), JSON.stringify({ ...settings, name: "other" }));
    const running = await startWith({ modelRepository: repo });
    try {
      expect((await post(`${running.url}/v1/models/iris:predict`, { instances: [IRIS_ROW] }, { "x-request-id": "own-1" })).status).toBe(200);
      expect((await post(`${running.url}/v1/models/other:predict`, { instances: [IRIS_ROW] }, { "x-request-id": "other-1" })).status).toBe(200);
      await own.waitFor(1);
      await running.server.payloadLog.idle();
      expect(own.events).toHaveLength(1);
      expect(own.events[0].headers["ce-type"]).toBe("org.kubeflow.serving.inference.response");
      expect(own.events[0].headers["ce-id"]).toBe("own-1");
      expect(own.events[0].headers["ce-modelname"]).toBe("iris");
    } finally {
      await running.server.stop();
      await own.close();
    }
  });

  it("an unknown logger key or mode in model-settings.json is refused at load", async () => {
    const { parseModelSettings } = await import("../../packages/server/src/model/index.ts");
    expect(() => parseModelSettings({ logger: { url: "http://sink/", mode: "both" } })).toThrow(/logger/);
    expect(() => parseModelSettings({ logger: { uri: "http://sink/" } })).toThrow(/logger/);
    expect(parseModelSettings({ logger: { url: "http://sink/", mode: "request" } }).logger).toEqual({ url: "http://sink/", mode: "request" });
  });
});

describe("a sink that is down or slow never holds up inference", () => {
  it("a closed port: answers as fast as without a logger, events dropped and counted (network)", async () => {
    const closed = await startSink();
    const url = closed.url;
    await closed.close();
    const running = await startWith({ dirs: [IRIS_DIR], payloadLog: { url, timeoutMs: 1000 } });
    try {
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const r = await post(`${running.url}/v1/models/iris:predict`, { instances: [IRIS_ROW] });
        expect(r.status).toBe(200);
        expect(performance.now() - started).toBeLessThan(500);
      }
      await running.server.payloadLog.idle();
      const metrics = (await get(`${running.url}/metrics`)).text;
      expect(sample(metrics, 'tserve_payload_log_dropped_total{reason="network"}')).toBe(10);
    } finally {
      await running.server.stop();
    }
  });

  it("a sink that never answers: inference is not delayed; events time out or overflow the queue, counted", async () => {
    const slow = await startSink({ hang: true });
    const running = await startWith({ dirs: [IRIS_DIR], payloadLog: { url: slow.url, timeoutMs: 1000, queueSize: 2, concurrency: 1 } });
    try {
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const r = await post(`${running.url}/v2/models/iris/infer`, { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: IRIS_ROW }] });
        expect(r.status).toBe(200);
        // Far less than one send's deadline: the answer did not wait for the sink.
        expect(performance.now() - started).toBeLessThan(500);
      }
      let metrics = (await get(`${running.url}/metrics`)).text;
      // 10 events, one sender, room for 2 waiting: most are dropped at once.
      expect(sample(metrics, 'tserve_payload_log_dropped_total{reason="queue_full"}')).toBeGreaterThanOrEqual(5);
      await running.server.payloadLog.idle();
      metrics = (await get(`${running.url}/metrics`)).text;
      expect(sample(metrics, 'tserve_payload_log_dropped_total{reason="timeout"}')).toBeGreaterThanOrEqual(1);
      expect(sample(metrics, 'tserve_payload_log_sent_total{type="request"}')).toBe(0);
    } finally {
      await running.server.stop();
      await slow.close();
    }
  });
});

describe("payload logging on the other families' inference routes", () => {
  it("a Seldon component's /api/v1.0/predictions is logged under its model, a 500 marked", async () => {
    const { ModelServer, SeldonComponent } = await import("../../packages/server/src/index.ts");
    const sink = await startSink();
    const echo = { predict: (x: unknown) => { if (JSON.stringify(x).includes("9")) throw new Error("nine"); return x; } };
    const component = new SeldonComponent(echo as never, "echo");
    const server = new ModelServer({ httpPort: 0, host: "127.0.0.1", enableGrpc: false, seldon: true, logger: { log() {} }, payloadLog: { url: sink.url } });
    await server.start([component]);
    try {
      const url = `http://127.0.0.1:${server.port}/api/v1.0/predictions`;
      const ok = await post(url, { data: { ndarray: [[1, 2]] } }, { "x-request-id": "seldon-1" });
      expect(ok.status).toBe(200);
      const failed = await post(url, { data: { ndarray: [[9]] } }, { "x-request-id": "seldon-2" });
      expect(failed.status).toBe(500);
      await sink.waitFor(4);
      const first = pair(sink, "seldon-1");
      expect(first.request!.headers["ce-modelname"]).toBe("echo");
      expect(JSON.parse(first.request!.body.toString())).toEqual({ data: { ndarray: [[1, 2]] } });
      expect(first.response!.body.toString()).toBe(ok.text);
      expect(pair(sink, "seldon-2").response!.headers["ce-statuscode"]).toBe("500");
    } finally {
      await server.stop();
      await sink.close();
    }
  });
  it("an InferenceGraph's POST / is logged once (its in-process steps are not), under the one model served", async () => {
    const sink = await startSink();
    const running = await startWith({
      dirs: [IRIS_DIR],
      graph: { nodes: { root: { routerType: "Sequence", steps: [{ name: "iris", serviceName: "iris" }] } } } as never,
      payloadLog: { url: sink.url },
    });
    try {
      const r = await post(`${running.url}/`, { instances: [IRIS_ROW] }, { "x-request-id": "graph-1" });
      expect(r.status, r.text).toBe(200);
      await sink.waitFor(2);
      await running.server.payloadLog.idle();
      expect(sink.events).toHaveLength(2);
      const { request, response } = pair(sink, "graph-1");
      expect(request!.headers["ce-modelname"]).toBe("iris");
      expect(response!.body.toString()).toBe(r.text);
    } finally {
      await running.server.stop();
      await sink.close();
    }
  });
});
