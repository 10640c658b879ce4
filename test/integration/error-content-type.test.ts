/**
 * Every JSON error answer, on every route and family, has the content type exactly `application/json`, as KServe,
 * Triton, Seldon and KServe's graph router send it. KServe's Python SDK depends on it: its REST client
 * (kserve/inference_client.py, `_construct_http_status_error`) reads the `error` text of a failed answer only when
 * `response.headers["content-type"] == "application/json"`, and shows no message at all otherwise (Fastify's default,
 * `application/json; charset=utf-8`, was such a case). Successful JSON answers match KServe's exactly too.
 */
import { once } from "node:events";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toGraph } from "../../packages/server/src/graph/spec.ts";
import { ModelServer, OpenBayesPredictor, type PredictArgs, SeldonComponent, type SeldonComponentLike } from "../../packages/server/src/index.ts";
import { startGraph as startSeldonGraph } from "../fixtures/seldon/graphs/harness.ts";
import { FIXTURES, IRIS_DIR, type Running, startWith } from "./util.ts";

const quiet = { log() {} };
const IRIS_V2 = { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [6.8, 2.8, 4.8, 1.4] }] };

interface Answer {
  status: number;
  contentType: string | null;
  body: any;
}

async function call(url: string, init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array } = {}): Promise<Answer> {
  const r = await fetch(url, { method: init.method ?? (init.body === undefined ? "GET" : "POST"), headers: init.headers, body: init.body });
  const text = await r.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: r.status, contentType: r.headers.get("content-type"), body };
}

/** KServe's SDK's reading of a failed answer: the error text when the type is exactly application/json, else "". */
function kserveSdkErrorText(a: Answer): unknown {
  if (a.contentType !== "application/json") return "";
  return typeof a.body === "object" && a.body !== null && "error" in a.body ? a.body.error : a.body;
}

/** A `{"error": …}` answer that KServe's SDK shows in full. */
function expectSdkReadable(a: Answer, status: number, mention?: RegExp): void {
  expect(a.status, JSON.stringify(a.body)).toBe(status);
  expect(a.contentType).toBe("application/json");
  const text = kserveSdkErrorText(a);
  expect(typeof text).toBe("string");
  expect((text as string).length).toBeGreaterThan(0);
  if (mention) expect(text).toMatch(mention);
}

describe("V1, V2, TF Serving, repository and metrics routes, and errors raised before any route", () => {
  let s: Running;
  let small: Running;

  beforeAll(async () => {
    s = await startWith({ dirs: [IRIS_DIR], enableGrpc: false, modelControlMode: "none" });
    small = await startWith({ dirs: [IRIS_DIR], enableGrpc: false, maxBufferSize: 2048 });
  });
  afterAll(async () => {
    await s?.server.stop();
    await small?.server.stop();
  });

  it("V1 and TF Serving: an unknown model (404) and a malformed body (400)", async () => {
    expectSdkReadable(await call(`${s.url}/v1/models/nope`), 404, /nope/);
    expectSdkReadable(await call(`${s.url}/v1/models/nope:predict`, { body: '{"instances": [[1]]}' }), 404, /nope/);
    expectSdkReadable(await call(`${s.url}/v1/models/iris:predict`, { body: "{instances" }), 400, /JSON/);
    expectSdkReadable(await call(`${s.url}/v1/models/iris/metadata`.replace("iris", "nope")), 404);
  });

  it("V2: an unknown model (404) and a malformed or wrong request (400)", async () => {
    expectSdkReadable(await call(`${s.url}/v2/models/nope`), 404, /nope/);
    expectSdkReadable(await call(`${s.url}/v2/models/nope/infer`, { body: JSON.stringify(IRIS_V2) }), 404, /nope/);
    expectSdkReadable(await call(`${s.url}/v2/models/iris/infer`, { headers: { "content-type": "application/json" }, body: '{"inputs": [' }), 400);
    expectSdkReadable(await call(`${s.url}/v2/models/iris/infer`, { headers: { "content-type": "application/json" }, body: '{"inputs": "x"}' }), 400, /inputs/);
  });

  it("repository: a refused load (403) and an unknown model's unload", async () => {
    expectSdkReadable(await call(`${s.url}/v2/repository/models/iris/load`, { body: "{}" }), 403, /--model_control_mode/);
    expectSdkReadable(await call(`${s.url}/v2/repository/models/nope/unload`, { body: "{}" }), 403);
  });

  it("the not-found handler (any path, any method, and under /metrics)", async () => {
    expectSdkReadable(await call(`${s.url}/nope`), 404, /Not Found/);
    expectSdkReadable(await call(`${s.url}/metrics/nope`), 404, /Not Found/);
    expectSdkReadable(await call(`${s.url}/v2/models/iris/infer`, { method: "PUT", body: "{}" }), 404, /Not Found/);
    expectSdkReadable(await call(`${s.url}/v2/models/iris`, { method: "DELETE" }), 404, /Not Found/);
  });

  it("413 (body too large), 415 (unsupported Content-Encoding) and 400 (bad URL encoding, corrupt gzip)", async () => {
    expectSdkReadable(await call(`${small.url}/v2/models/iris/infer`, { headers: { "content-type": "application/json" }, body: "x".repeat(4096) }), 413, /--max_buffer_size/);
    expectSdkReadable(await call(`${s.url}/v2/models/iris/infer`, { headers: { "content-type": "application/json", "content-encoding": "br" }, body: "{}" }), 415, /Content-Encoding/);
    expectSdkReadable(await call(`${s.url}/v2/models/%E0%A4%A/ready`), 400);
    expectSdkReadable(await call(`${s.url}/v1/models/iris:predict`, { headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: "not gzip" }), 400, /gzip/);
  });

  it("431 from node's HTTP parser (a URL past the header limit) is exactly application/json too", async () => {
    const { hostname, port } = new URL(s.url);
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => undefined);
    await once(socket, "connect");
    socket.write(`GET /v2/models/iris?q=${"x".repeat(20 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await once(socket, "close");
    const raw = Buffer.concat(chunks).toString("utf8");
    expect(raw).toMatch(/^HTTP\/1\.1 431 /);
    expect(raw).toMatch(/\r\nContent-Type: application\/json\r\n/i);
  });

  it("successful V1, V2, repository and health answers are exactly application/json, as KServe's", async () => {
    const answers = [
      await call(`${s.url}/v1/models/iris`),
      await call(`${s.url}/v1/models/iris:predict`, { body: JSON.stringify({ instances: [[6.8, 2.8, 4.8, 1.4]] }) }),
      await call(`${s.url}/v2`),
      await call(`${s.url}/v2/health/ready`),
      await call(`${s.url}/v2/models/iris`),
      await call(`${s.url}/v2/models/iris/infer`, { headers: { "content-type": "application/json" }, body: JSON.stringify(IRIS_V2) }),
      await call(`${s.url}/v2/repository/index`, { body: "{}" }),
    ];
    for (const a of answers) {
      expect(a.status, JSON.stringify(a.body)).toBe(200);
      expect(a.contentType).toBe("application/json");
    }
  });
});

describe("Seldon: a component and a graph answer their status body as exactly application/json (as Seldon's Flask wrapper and executor)", () => {
  class Identity {
    predict(X: unknown): unknown {
      return X;
    }
  }

  it("a Seldon component's errors, raised by its routes or before them", async () => {
    const server = new ModelServer({ httpPort: 0, host: "127.0.0.1", enableGrpc: false, seldon: true, logger: quiet, maxBufferSize: 2048 });
    await server.start([new SeldonComponent(new Identity() as SeldonComponentLike, "identity")]);
    try {
      const url = `http://127.0.0.1:${server.port}`;
      const errors = [
        await call(`${url}/api/v1.0/predictions`, { headers: { "content-type": "application/json" }, body: "{bad" }),
        await call(`${url}/api/v1.0/predictions`, { headers: { "content-type": "application/json" }, body: "x".repeat(4096) }),
        await call(`${url}/api/v1.0/predictions`, { headers: { "content-type": "application/json", "content-encoding": "br" }, body: "{}" }),
      ];
      expect(errors.map((e) => e.status)).toEqual([400, 413, 415]);
      for (const e of errors) {
        expect(e.contentType).toBe("application/json");
        expect(Object.keys(e.body)).toEqual(["status"]);
      }
      const ok = await call(`${url}/api/v1.0/predictions`, { headers: { "content-type": "application/json" }, body: JSON.stringify({ data: { ndarray: [[1]] } }) });
      expect(ok.status).toBe(200);
      expect(ok.contentType).toBe("application/json");
    } finally {
      await server.stop();
    }
  });

  it("a Seldon graph's errors", async () => {
    const graph = await startSeldonGraph("routing.yaml");
    try {
      const bad = await call(`${graph.url}/api/v1.0/predictions`, { headers: { "content-type": "application/json" }, body: "{bad" });
      expect(bad.status).toBe(400);
      expect(bad.contentType).toBe("application/json");
      expect(Object.keys(bad.body)).toEqual(["status"]);
    } finally {
      await graph.server.stop();
    }
  });
});

describe("KServe InferenceGraph (as KServe's router: Content-Type application/json on its error answer)", () => {
  let server: ModelServer;
  let url: string;

  beforeAll(async () => {
    server = new ModelServer({
      httpPort: 0,
      host: "127.0.0.1",
      enableGrpc: false,
      logger: quiet,
      propagateHeaders: [],
      graph: toGraph({ nodes: { root: { routerType: "Switch", steps: [{ serviceUrl: "http://127.0.0.1:9/never", condition: "never.there" }] } } }, "test graph"),
    });
    await server.start();
    url = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("a request no route matches (404) and a path the graph server does not serve", async () => {
    const none = await call(`${url}/`, { headers: { "content-type": "application/json" }, body: "{}" });
    expect(none.status).toBe(404);
    expect(none.contentType).toBe("application/json");
    expect(kserveSdkErrorText(none)).toMatch(/Failed to process request/);
    expectSdkReadable(await call(`${url}/nope/deeper`, { method: "PUT", body: "{}" }), 404);
  });
});

describe("OpenBayes predictor ({\"error\": …} as exactly application/json)", () => {
  let server: ModelServer;
  let url: string;

  beforeAll(async () => {
    class Echo {
      predict({ json }: PredictArgs) {
        return { echoed: json };
      }
    }
    const model = new OpenBayesPredictor(Echo, "predictor", { modelDir: join(FIXTURES, "openbayes", "single") });
    server = new ModelServer({ httpPort: 0, host: "127.0.0.1", enableGrpc: false, openbayes: true, logger: quiet });
    await server.start([model]);
    url = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("a malformed body and a corrupt compressed one are 400s SDKs can read; an answer is exactly application/json", async () => {
    expectSdkReadable(await call(`${url}/`, { headers: { "content-type": "application/json" }, body: "{bad" }), 400);
    expectSdkReadable(await call(`${url}/`, { headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: "{bad" }), 400, /gzip/);
    const ok = await call(`${url}/`, { headers: { "content-type": "application/json" }, body: '{"a": 1}' });
    expect(ok.status).toBe(200);
    expect(ok.contentType).toBe("application/json");
    expect(ok.body).toEqual({ echoed: { a: 1 } });
  });
});
