import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SeldonGraphExecutor } from "../../../../packages/server/src/graph/seldon/executor.ts";
import { forwardedHeaders, RemoteSeldonUnit } from "../../../../packages/server/src/graph/seldon/remote-unit.ts";
import { toSeldonGraphSpec } from "../../../../packages/server/src/graph/seldon/spec.ts";
import { SeldonError } from "../../../../packages/server/src/protocol/seldon/errors.ts";

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The client's port: one value means one pooled connection. */
  clientPort?: number;
}

type Handler = (req: Received, res: ServerResponse) => void;

let server: Server;
let port: number;
let handler: Handler = (req, res) => echo(req, res);
const received: Received[] = [];
const units: RemoteSeldonUnit[] = [];

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

/** Echoes Seldon-style: the request's data back, with a tag naming the path. */
const echo: Handler = (req, res) => {
  if (req.method === "GET" && req.url === "/health/status") return json(res, 200, { data: { ndarray: [] } });
  if (req.method === "GET" && req.url === "/metadata") return json(res, 200, { name: "remote", inputs: [{ name: "x" }], outputs: [] });
  const body = req.body ? JSON.parse(req.body) : {};
  json(res, 200, { data: body.data ?? { ndarray: body.seldonMessages?.length ?? "fb" }, meta: { tags: { path: req.url } } });
};

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), clientPort: req.socket.remotePort };
      received.push(r);
      handler(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterEach(async () => {
  await Promise.all(units.splice(0).map((u) => u.close()));
  received.length = 0;
  handler = echo;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function unit(options: { timeoutMs?: number; forwardHeaders?: string[] } = {}, target: { host: string; port: number } | string = { host: "127.0.0.1", port }) {
  const u = new RemoteSeldonUnit("remote", target, options);
  units.push(u);
  return u;
}

const ctx = { headers: {} };
const msg = { data: { names: ["a"], ndarray: [[1, 2]] }, meta: { puid: "abc" } };

async function failure(p: Promise<unknown>): Promise<SeldonError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(SeldonError);
    return err as SeldonError;
  }
  throw new Error("expected a rejection");
}

describe("RemoteSeldonUnit", () => {

  it("POSTs each method's JSON to its Seldon path and answers the reply", async () => {
    handler = echo;
    const u = unit();
    expect(u.baseUrl).toBe(`http://127.0.0.1:${port}`);
    expect(await u.predict(msg, ctx)).toEqual({ data: msg.data, meta: { tags: { path: "/predict" } } });
    await u.transformInput(msg, ctx);
    await u.transformOutput(msg, ctx);
    await u.route(msg, ctx);
    expect((await u.aggregate([msg, msg], ctx)).data).toEqual({ ndarray: 2 });
    await u.sendFeedback({ request: msg, response: msg, reward: 1 }, ctx);
    expect(received.map((r) => `${r.method} ${r.url}`)).toEqual([
      "POST /predict",
      "POST /transform-input",
      "POST /transform-output",
      "POST /route",
      "POST /aggregate",
      "POST /send-feedback",
    ]);
    expect(JSON.parse(received[0].body)).toEqual(msg);
    expect(received[0].headers["content-type"]).toBe("application/json");
    expect(received[0].headers["seldon-puid"]).toBe("abc");
    expect(JSON.parse(received[4].body)).toEqual({ seldonMessages: [msg, msg] });
    expect(JSON.parse(received[5].body)).toEqual({ request: msg, response: msg, reward: 1 });
    // Keep-alive: one connection served them all.
    expect(new Set(received.map((r) => r.headers.connection))).toEqual(new Set(["keep-alive"]));
    expect(new Set(received.map((r) => r.clientPort)).size).toBe(1);
  });

  it("checks health with GET /health/status and reads GET /metadata", async () => {
    handler = echo;
    const u = unit();
    expect(await u.healthy()).toBe(true);
    expect(await u.metadata()).toEqual({ name: "remote", inputs: [{ name: "x" }], outputs: [] });
    expect(received.map((r) => `${r.method} ${r.url}`)).toEqual(["GET /health/status", "GET /metadata"]);
    handler = (_req, res) => json(res, 500, { status: { info: "sick", reason: "MICROSERVICE_INTERNAL_ERROR" } });
    expect(await u.healthy()).toBe(false);
    const err = await failure(u.metadata());
    expect(err.status).toBe(500);
  });

  it("propagates a Seldon error body with the remote's status, info and reason", async () => {
    handler = (_req, res) =>
      json(res, 403, { status: { status: 1, info: "Not allowed to see that", code: -1, reason: "MICROSERVICE_BAD_DATA" } });
    const err = await failure(unit().predict(msg, ctx));
    expect(err.status).toBe(403);
    expect(err.message).toBe("Not allowed to see that");
    expect(err.reason).toBe("MICROSERVICE_BAD_DATA");
  });

  it("keeps a custom error's message and status (a user exception body)", async () => {
    handler = (_req, res) => json(res, 402, { status: { status: 402, message: "Payment required", app_code: 1402 } });
    const err = await failure(unit().route(msg, ctx));
    expect(err.status).toBe(402);
    expect(err.message).toBe("Payment required");
  });

  it("quotes the start of a non-Seldon error body as an internal error", async () => {
    handler = (_req, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end(`<html><body>Bad gateway ${"x".repeat(500)}</body></html>`);
    };
    const err = await failure(unit().predict(msg, ctx));
    expect(err.status).toBe(502);
    expect(err.reason).toBe("MICROSERVICE_INTERNAL_ERROR");
    expect(err.message).toMatch(new RegExp(`^Seldon microservice 'remote' at 127.0.0.1:${port}/predict answered HTTP 502: <html><body>Bad gateway x+…$`));
    expect(err.message.length).toBeLessThan(320);
  });

  it("rejects a 2xx reply that is not JSON", async () => {
    handler = (_req, res) => {
      res.writeHead(200);
      res.end("fine");
    };
    const err = await failure(unit().predict(msg, ctx));
    expect(err.status).toBe(502);
    expect(err.message).toMatch(/not JSON: fine/);
  });

  it("answers 503 naming host:port when nobody listens", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const u = unit({}, { host: "127.0.0.1", port: deadPort });
    const err = await failure(u.predict(msg, ctx));
    expect(err.status).toBe(503);
    expect(err.message).toBe(`Seldon microservice 'remote' at 127.0.0.1:${deadPort} refused the connection`);
    expect(await u.healthy()).toBe(false);
  });

  it("answers 504 when the microservice outlives the timeout", async () => {
    handler = (_req, res) => {
      setTimeout(() => json(res, 200, {}), 1_000).unref();
    };
    const started = Date.now();
    const err = await failure(unit({ timeoutMs: 80 }).predict(msg, ctx));
    expect(err.status).toBe(504);
    expect(err.message).toMatch(/\/predict did not answer within 0.08 s/);
    expect(Date.now() - started).toBeLessThan(900);
  });

  it("forwards tracing and authorization headers only", async () => {
    handler = echo;
    const headers = {
      "x-request-id": "req-1",
      traceparent: "00-abc-def-01",
      tracestate: "k=v",
      b3: "a-b-1",
      "x-b3-traceid": "t1",
      "x-b3-spanid": "s1",
      authorization: "Bearer token",
      cookie: "secret=1",
      host: "client.example",
      "content-length": "999",
      "x-custom": ["a", "b"],
    };
    await unit({ forwardHeaders: ["X-Custom"] }).predict(msg, { headers });
    const got = received[0].headers;
    expect(got).toMatchObject({
      "x-request-id": "req-1",
      traceparent: "00-abc-def-01",
      tracestate: "k=v",
      b3: "a-b-1",
      "x-b3-traceid": "t1",
      "x-b3-spanid": "s1",
      authorization: "Bearer token",
      "x-custom": "a, b",
    });
    expect(got.cookie).toBeUndefined();
    expect(got.host).toBe(`127.0.0.1:${port}`);
    expect(got["content-length"]).toBe(String(Buffer.byteLength(received[0].body)));
    expect(forwardedHeaders({ "X-Request-ID": "r", other: "o" })).toEqual({ "x-request-id": "r" });
  });

  it("serves graph nodes with a REST endpoint through the executor", async () => {
    handler = echo;
    const spec = toSeldonGraphSpec({
      name: "t",
      type: "TRANSFORMER",
      endpoint: { service_host: "127.0.0.1", service_port: port },
      children: [{ name: "m", endpoint: { service_host: "127.0.0.1", httpPort: port } }],
    });
    const executor = new SeldonGraphExecutor(spec, { timeoutMs: 2_000 });
    try {
      const out = await executor.predict(msg, { headers: { traceparent: "tp" } });
      expect(received.map((r) => r.url)).toEqual(["/transform-input", "/predict"]);
      expect(received.every((r) => r.headers.traceparent === "tp")).toBe(true);
      expect(out.data).toEqual(msg.data);
      expect(out.meta).toMatchObject({ puid: "abc", routing: {}, requestPath: { t: "tserve", m: "tserve" } });
      expect(await executor.healthy()).toBe(true);
    } finally {
      await executor.close();
    }
  });
});
