/**
 * Slow clients (issue 10, item 3): connections that trickle headers or a body are closed after the configured
 * timeouts, a connection limit holds, and a normal request is answered while many slow clients are connected.
 */
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { Agent, request } from "node:http";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type ModelServerOptions } from "../../packages/server/src/index.ts";
import SlowModel from "../fixtures/modules/slow.ts";
import { get, post, type Running, startWith, tempRepo } from "./util.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw TCP client: what the server sent, and whether (and when) it closed the connection. */
interface RawClient {
  socket: Socket;
  received: () => string;
  closed: Promise<void>;
  isClosed: () => boolean;
}

async function open(url: string): Promise<RawClient> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let data = "";
  let closed = false;
  socket.setEncoding("utf8");
  socket.on("data", (d: string) => (data += d));
  socket.on("error", () => undefined); // a reset is one way of being closed
  const closedPromise = once(socket, "close").then(() => {
    closed = true;
  });
  await once(socket, "connect");
  return { socket, received: () => data, closed: closedPromise, isClosed: () => closed };
}

/** Sends `text` one byte every `everyMs` until the server closes the connection (or `stop` is called). */
function trickle(client: RawClient, text: string, everyMs: number): () => void {
  let i = 0;
  const timer = setInterval(() => {
    if (client.isClosed() || client.socket.destroyed) return clearInterval(timer);
    client.socket.write(text[i++ % text.length]);
  }, everyMs);
  return () => clearInterval(timer);
}

function predictHead(contentLength: number): string {
  return `POST /v1/models/slow:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\n\r\n`;
}

/** The status line and JSON body of a raw HTTP response. */
function parse(raw: string): { status: number; body: any } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
  const text = raw.slice(raw.indexOf("\r\n\r\n") + 4);
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status, body };
}

describe("slow clients", () => {
  let running: Running | undefined;
  const clients: RawClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await running?.server.stop();
    running = undefined;
  });

  async function start(options: ModelServerOptions): Promise<string> {
    running = await startWith({ models: [new SlowModel("slow")], enableGrpc: false, gracePeriodMs: 500, ...options });
    return running.url;
  }

  async function client(url: string): Promise<RawClient> {
    const c = await open(url);
    clients.push(c);
    return c;
  }

  it("a body trickling below --min_body_rate gets 408 and its connection closed", async () => {
    const url = await start({ bodyTimeoutMs: 500, minBodyRate: 1000, requestTimeoutMs: 60_000 });
    const c = await client(url);
    c.socket.write(predictHead(10_000));
    const stop = trickle(c, "[", 50); // 20 bytes/s: never pauses, far below 1000 bytes/s
    await c.closed;
    stop();
    const reply = parse(c.received());
    expect(reply.status).toBe(408);
    expect(reply.body.error).toContain("--min_body_rate");
  });

  it("a body that stops arriving gets 408 after --body_timeout", async () => {
    const url = await start({ bodyTimeoutMs: 500, minBodyRate: 0, requestTimeoutMs: 60_000 });
    const c = await client(url);
    c.socket.write(`${predictHead(100)}{"instances": [`);
    await c.closed;
    const reply = parse(c.received());
    expect(reply.status).toBe(408);
    expect(reply.body.error).toContain("--body_timeout");
  });

  it("a request not received within --request_timeout gets 408 however steadily it trickles", async () => {
    const url = await start({ requestTimeoutMs: 1_000, bodyTimeoutMs: 60_000, minBodyRate: 0 });
    const c = await client(url);
    c.socket.write(predictHead(10_000));
    const stop = trickle(c, " ", 50);
    await c.closed;
    stop();
    const reply = parse(c.received());
    expect(reply.status).toBe(408);
    expect(reply.body.error).toContain("--request_timeout");
  });

  it("headers that trickle, and a connection that sends nothing, are closed after --headers_timeout", async () => {
    const url = await start({ headersTimeoutMs: 500 });
    const silent = await client(url);
    const slow = await client(url);
    const stop = trickle(slow, "GET /v2/health/live HTTP/1.1\r\nX-Slow: ", 50);
    await Promise.all([silent.closed, slow.closed]);
    stop();
    expect(parse(slow.received()).status).toBe(408);
  });

  it("a slow but steady body above the minimum rate, and a model slower than every timeout, are answered", async () => {
    const url = await start({ bodyTimeoutMs: 300, minBodyRate: 100, requestTimeoutMs: 60_000, headersTimeoutMs: 300 });
    const body = JSON.stringify({ instances: Array.from({ length: 100 }, (_, i) => i), ms: 1_000 });
    const c = await client(url);
    c.socket.write(predictHead(Buffer.byteLength(body)));
    // ~400 bytes/s for over a second: longer than --body_timeout, never paused, above 100 bytes/s.
    for (let i = 0; i < body.length; i += 20) {
      c.socket.write(body.slice(i, i + 20));
      await sleep(50);
    }
    // The model then takes 1 s, more than --body_timeout and --headers_timeout: answering is not the client's delay.
    while (!c.received().includes("\r\n\r\n") && !c.isClosed()) await sleep(20);
    while (parse(c.received()).body === undefined && !c.isClosed()) await sleep(20);
    const reply = parse(c.received());
    expect(reply.status).toBe(200);
    expect(reply.body.predictions).toHaveLength(100);
  });

  it("connections beyond --max_connections are closed at once while the open ones keep working", async () => {
    const url = await start({ maxConnections: 3 });
    const held = [await client(url), await client(url), await client(url)];
    await sleep(100);
    const extra = await client(url);
    await extra.closed; // the server accepts and closes it without reading
    expect(extra.received()).toBe("");
    // The three that got in are served.
    for (const c of held) {
      c.socket.write("GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n");
      while (!c.received().includes("\r\n\r\n") && !c.isClosed()) await sleep(10);
      expect(parse(c.received()).status).toBe(200);
    }
    // Once one goes, a new client gets in.
    held[0].socket.destroy();
    await held[0].closed;
    await sleep(100);
    expect((await get(`${url}/v2/health/live`)).status).toBe(200);
  });

  it("a model upload may take longer than --request_timeout as long as it keeps up --min_body_rate", async () => {
    const root = await tempRepo();
    try {
      const url = await start({ modelRepository: root, adminToken: "s3cret", requestTimeoutMs: 500, bodyTimeoutMs: 1_000, minBodyRate: 10 });
      const body = "x".repeat(600); // not an archive: the upload route reads it all, then says so
      const c = await client(url);
      c.socket.write(
        `POST /v2/repository/models/m/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      for (let i = 0; i < body.length; i += 40) {
        c.socket.write(body.slice(i, i + 40)); // 400 bytes/s for 1.5 s
        await sleep(100);
      }
      while (parse(c.received()).body === undefined && !c.isClosed()) await sleep(20);
      const reply = parse(c.received());
      expect(reply.status, c.received()).toBe(400); // the archive's verdict, not a 408
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("many requests over one keep-alive connection leave no listeners behind", async () => {
    const url = await start({});
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 40; i++) {
        const status = await new Promise<number>((resolve, reject) => {
          request(`${url}/v2/health/live`, { agent }, (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          })
            .on("error", reject)
            .end();
        });
        expect(status).toBe(200);
      }
      await sleep(50);
      expect(warnings.filter((w) => w.includes("MaxListeners"))).toEqual([]);
    } finally {
      agent.destroy();
      process.off("warning", onWarning);
    }
  });

  it("with hundreds of trickling connections open, a normal request is still answered", async () => {
    const url = await start({});
    const trickling: RawClient[] = [];
    for (let i = 0; i < 300; i++) {
      const c = await client(url);
      c.socket.write(predictHead(1_000_000));
      trickling.push(c);
    }
    const stops = trickling.map((c) => trickle(c, " ", 200));
    try {
      await sleep(300);
      const live = await get(`${url}/v2/health/live`);
      expect(live.status).toBe(200);
      const predicted = await post(`${url}/v1/models/slow:predict`, { instances: [1, 2, 3], ms: 0 });
      expect(predicted.status, predicted.text).toBe(200);
      expect(predicted.json.predictions).toEqual([1, 2, 3]);
      // The trickling clients are still connected: they are within every limit so far.
      expect(trickling.filter((c) => c.isClosed())).toHaveLength(0);
    } finally {
      for (const stop of stops) stop();
    }
  });
});
