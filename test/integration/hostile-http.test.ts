/**
 * Requests refused before any route runs keep the server's error body: node's HTTP parser refusing a request (a URL
 * past the header limit, a raw non-ASCII byte in the path) answers `{"error": …}` on a V1 server and Seldon's status
 * object on a Seldon server, with node's status, and closes the connection; and errors Fastify raises before a
 * Seldon route's handler (a content type it cannot read, a body too large) answer in Seldon's body on Seldon routes
 * while the V1 routes beside them keep `{"error": …}`.
 */
import { once } from "node:events";
import { request } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelServer, SeldonComponent, type SeldonComponentLike } from "../../packages/server/src/index.ts";
import { IRIS_DIR, rawRequest, type Running, startWith } from "./util.ts";

const quiet = { log() {} };

/** Sends raw bytes on a fresh connection; resolves with everything the server sent once it closes the connection. */
async function rawExchange(url: string, request: Buffer, timeoutMs = 5_000): Promise<{ status: number; headers: string; body: any; text: string }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const chunks: Buffer[] = [];
  socket.on("data", (c: Buffer) => chunks.push(c));
  socket.on("error", () => undefined); // a reset after the answer is one way of being closed
  await once(socket, "connect");
  socket.write(request);
  const timer = setTimeout(() => socket.destroy(new Error("server did not close the connection")), timeoutMs);
  await once(socket, "close");
  clearTimeout(timer);
  const raw = Buffer.concat(chunks).toString("utf8");
  const split = raw.indexOf("\r\n\r\n");
  const text = split >= 0 ? raw.slice(split + 4) : "";
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0), headers: split >= 0 ? raw.slice(0, split) : raw, body, text };
}

const longUrl = (path: string) => Buffer.from(`GET ${path}?q=${"x".repeat(20 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`);
const nonAsciiPath = (prefix: string) => Buffer.concat([Buffer.from(`GET ${prefix}`), Buffer.from([0xc3, 0xa9]), Buffer.from(" HTTP/1.1\r\nHost: x\r\n\r\n")]);

function expectErrorBody(r: { status: number; headers: string; body: any; text: string }, status: number, mention: RegExp): void {
  expect(r.status, r.text).toBe(status);
  expect(r.headers).toMatch(/content-type: application\/json/i);
  expect(r.body, r.text).toBeTypeOf("object");
  expect(Object.keys(r.body)).toEqual(["error"]);
  expect(r.body.error).toMatch(mention);
}

function expectSeldonBody(r: { status: number; body: any; text: string }, status: number, mention: RegExp): void {
  expect(r.status, r.text).toBe(status);
  expect(r.body, r.text).toBeTypeOf("object");
  expect(Object.keys(r.body)).toEqual(["status"]);
  expect(r.body.status).toMatchObject({ status: 1, code: -1, reason: "MICROSERVICE_BAD_DATA" });
  expect(r.body.status.info).toMatch(mention);
}

class Identity {
  predict(X: unknown): unknown {
    return X;
  }
  aggregate(Xs: unknown[]): unknown {
    return Xs[0];
  }
}

describe("node's HTTP parser refusing a request on a V1 server", () => {
  let s: Running;
  beforeAll(async () => {
    s = await startWith({ dirs: [IRIS_DIR], enableGrpc: false, headersTimeoutMs: 500 });
  });
  afterAll(async () => {
    await s?.server.stop();
  });

  it("a 20 KB URL is a 431 with {\"error\"} and the connection is closed", async () => {
    expectErrorBody(await rawExchange(s.url, longUrl("/v1/models/iris")), 431, /^Request Header Fields Too Large: .*16384 bytes/);
  });

  it("a raw non-ASCII byte in the path is a 400 with {\"error\"} saying what was wrong", async () => {
    expectErrorBody(await rawExchange(s.url, nonAsciiPath("/")), 400, /^Bad Request: .*Invalid char in url path/);
    expectErrorBody(await rawExchange(s.url, nonAsciiPath("/v1/models/")), 400, /Invalid char in url path/);
  });

  it("a HEAD request with a non-ASCII path byte gets its 400 without a body, which node's own client can read", async () => {
    const raw = await rawExchange(s.url, Buffer.concat([Buffer.from("HEAD /"), Buffer.from([0xc3, 0xa9]), Buffer.from(" HTTP/1.1\r\nHost: x\r\n\r\n")]));
    expect(raw.status).toBe(400);
    expect(raw.text).toBe("");
    const { port } = new URL(s.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: Number(port), method: "HEAD", path: "/\u00e9" }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(400);
  });

  it("headers that never finish still get 408 after --headers_timeout, in the same body", async () => {
    const r = await rawExchange(s.url, Buffer.from("GET /v2/health/live HTTP/1.1\r\nX-Slow: "));
    expectErrorBody(r, 408, /^Request Timeout: .*--headers_timeout/);
  });

  it("the server keeps answering afterwards", async () => {
    const r = await rawRequest(`${s.url}/v1/models/iris`, { method: "GET" });
    expect(r.status, r.text).toBe(200);
  });
});

describe("node's HTTP parser refusing a request on a Seldon server", () => {
  let server: ModelServer;
  let url: string;
  beforeAll(async () => {
    server = new ModelServer({ httpPort: 0, host: "127.0.0.1", enableGrpc: false, seldon: true, logger: quiet });
    await server.start([new SeldonComponent(new Identity() as SeldonComponentLike, "identity")]);
    url = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("a 20 KB URL is a 431 and a non-ASCII path byte a 400, both in Seldon's status body", async () => {
    expectSeldonBody(await rawExchange(url, longUrl("/api/v1.0/predictions")), 431, /^Request Header Fields Too Large/);
    expectSeldonBody(await rawExchange(url, nonAsciiPath("/predict")), 400, /Invalid char in url path/);
  });
});

describe("a Seldon component's routes and content types Fastify cannot read", () => {
  let server: ModelServer;
  let url: string;
  beforeAll(async () => {
    server = new ModelServer({ httpPort: 0, host: "127.0.0.1", enableGrpc: false, seldon: true, logger: quiet, maxBufferSize: 4096 });
    await server.start([new SeldonComponent(new Identity() as SeldonComponentLike, "identity")]);
    url = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server?.stop();
  });

  const message = JSON.stringify({ data: { ndarray: [[1, 2]] } });
  const bodies: Record<string, string> = {
    "/api/v1.0/predictions": message,
    "/api/v0.1/predictions": message,
    "/predict": message,
    "/route": message,
    "/transform-input": message,
    "/aggregate": JSON.stringify({ seldonMessages: [JSON.parse(message)] }),
    "/api/v1.0/feedback": JSON.stringify({ request: JSON.parse(message), reward: 1 }),
    "/send-feedback": JSON.stringify({ request: JSON.parse(message), reward: 1 }),
  };

  it("an empty or malformed content-type is a 400 in Seldon's status body, with CORS", async () => {
    for (const [path, body] of Object.entries(bodies)) {
      for (const contentType of ["", "a/b/c;;;="]) {
        const r = await rawRequest(`${url}${path}`, { headers: { "content-type": contentType }, body });
        expect(r.headers["content-type"], `${path} [${contentType}]`).toMatch(/^application\/json/);
        expect(r.headers["access-control-allow-origin"]).toBe("*");
        expectSeldonBody({ status: r.status, body: JSON.parse(r.text), text: `${path} [${contentType}]: ${r.text}` }, 400, /\S/);
      }
    }
  });

  it("a body over the size limit is a 413 in Seldon's status body", async () => {
    const big = JSON.stringify({ data: { ndarray: Array.from({ length: 2000 }, (_, i) => i) } });
    const r = await rawRequest(`${url}/api/v1.0/predictions`, { headers: { "content-type": "application/json" }, body: big });
    expectSeldonBody({ status: r.status, body: JSON.parse(r.text), text: r.text }, 413, /\S/);
  });

  it("the V1 routes beside them keep {\"error\"} for the same content type; the component still answers", async () => {
    const v1 = await rawRequest(`${url}/v1/models/identity:predict`, { headers: { "content-type": "a/b/c;;;=" }, body: '{"instances":[[1,2]]}' });
    expect(v1.status, v1.text).toBe(400);
    expect(Object.keys(JSON.parse(v1.text))).toEqual(["error"]);
    const ok = await rawRequest(`${url}/api/v1.0/predictions`, { headers: { "content-type": "application/json" }, body: message });
    expect(ok.status, ok.text).toBe(200);
    expect(JSON.parse(ok.text).data.ndarray).toEqual([[1, 2]]);
  });
});
