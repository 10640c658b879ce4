import { generateKeyPairSync, sign, X509Certificate } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createDispatcher,
  NetworkError,
  open,
  send,
  sharedDispatcher,
  TimeoutError,
} from "../../../packages/server/src/net/index.ts";

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

let server: Server;
let base: string;
let handler: Handler;
const sockets = new Set<Socket>();
let connections = 0;

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    handler(req, res, Buffer.concat(chunks));
  });
  server.on("connection", (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  handler = (_req, res) => res.end("ok");
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, "close");
});

describe("send", () => {
  it("buffers the answer: status, headers and body", async () => {
    handler = (req, res, body) => {
      res.writeHead(201, { "content-type": "text/plain", "x-echo": req.headers["x-in"] ?? "" });
      res.end(`${req.method} ${req.url} ${body.toString()}`);
    };
    const reply = await send({ method: "POST", url: `${base}/path?q=1`, headers: { "x-in": "v" }, body: "hello" });
    expect(reply.status).toBe(201);
    expect(reply.headers["x-echo"]).toBe("v");
    expect(reply.body.toString()).toBe("POST /path?q=1 hello");
  });

  it("pools: sequential calls over one owned dispatcher reuse one server-side connection", async () => {
    handler = (_req, res) => res.end("ok");
    const pool = createDispatcher();
    const before = connections;
    try {
      for (let i = 0; i < 5; i++) await send({ method: "POST", url: `${base}/x`, body: Buffer.from("{}"), dispatcher: pool });
      expect(connections - before).toBe(1);
    } finally {
      await pool.destroy();
    }
  });

  it("shared dispatchers: one per option set", () => {
    expect(sharedDispatcher({})).toBe(sharedDispatcher({}));
    expect(sharedDispatcher({ tls: { ca: Buffer.from("a"), rejectUnauthorized: false } })).toBe(
      sharedDispatcher({ tls: { rejectUnauthorized: false, ca: Buffer.from("a") } }),
    );
    expect(sharedDispatcher({ tls: { ca: Buffer.from("a") } })).not.toBe(sharedDispatcher({ tls: { ca: Buffer.from("b") } }));
    expect(sharedDispatcher({ connectTimeoutMs: 100 })).not.toBe(sharedDispatcher({}));
  });

  it("timeoutMs bounds the whole exchange, including a body that stalls", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial");
    };
    const started = Date.now();
    const err = await send({ method: "GET", url: `${base}/stall`, timeoutMs: 80 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ phase: "exchange", timeoutMs: 80 });
    expect((err as Error).message).toContain("timed out after 80 ms");
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("idleTimeoutMs limits silence, not the whole exchange", async () => {
    handler = (_req, res) => {
      res.writeHead(200);
      let n = 0;
      const tick = setInterval(() => {
        res.write("x");
        if (++n === 4) {
          clearInterval(tick);
          res.end();
        }
      }, 30);
    };
    const slowButSteady = await send({ method: "GET", url: `${base}/drip`, idleTimeoutMs: 100 });
    expect(slowButSteady.body.toString()).toBe("xxxx");
    handler = () => {};
    const err = await send({ method: "GET", url: `${base}/silent`, idleTimeoutMs: 60 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ phase: "idle" });
  });

  it("a refused connection is a NetworkError with Node's code and message", async () => {
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, "close");
    const err = (await send({ method: "GET", url: `http://127.0.0.1:${port}/` }).catch((e: unknown) => e)) as NetworkError;
    expect(err).toBeInstanceOf(NetworkError);
    expect(err.code).toBe("ECONNREFUSED");
    expect(err.message).toContain("ECONNREFUSED");
  });

  it("a connection dropped before the answer is ECONNRESET, 'socket hang up'", async () => {
    handler = (req) => req.socket.destroy();
    const pool = createDispatcher();
    try {
      const err = (await send({ method: "POST", url: `${base}/drop`, body: "x", dispatcher: pool }).catch((e: unknown) => e)) as NetworkError;
      expect(err).toBeInstanceOf(NetworkError);
      expect([err.code, err.message]).toEqual(["ECONNRESET", "socket hang up"]);
    } finally {
      await pool.destroy();
    }
  });

  it("the caller's signal aborts with its reason", async () => {
    handler = () => {};
    const controller = new AbortController();
    const reason = new Error("stop");
    setTimeout(() => controller.abort(reason), 30);
    await expect(send({ method: "GET", url: `${base}/wait`, signal: controller.signal })).rejects.toBe(reason);
  });

  it("open streams both ways: a streamed request body and a streamed answer", async () => {
    handler = (req, res, body) => {
      res.writeHead(200, { "x-te": req.headers["transfer-encoding"] ?? "" });
      res.write("a");
      setTimeout(() => res.end(`|${body.toString()}`), 20);
    };
    const reply = await open({ method: "POST", url: `${base}/stream`, body: Readable.from([Buffer.from("one,"), Buffer.from("two")]) });
    expect(reply.headers["x-te"]).toBe("chunked");
    const chunks: Buffer[] = [];
    for await (const c of reply.body) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe("a|one,two");
  });

  it("a streamed body cut off mid-way fails with a NetworkError", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("part", () => res.destroy());
    };
    const reply = await open({ method: "GET", url: `${base}/cut` });
    const read = (async () => {
      for await (const _c of reply.body) {
        // drain
      }
    })();
    await expect(read).rejects.toBeInstanceOf(NetworkError);
  });

  it("passes TLS options: a self-signed server is refused, then trusted with its certificate as ca", async () => {
    const { cert, key } = selfSigned();
    const { createServer: createHttpsServer } = await import("node:https");
    const tlsServer = createHttpsServer({ cert, key }, (_req, res) => res.end("secure"));
    tlsServer.listen(0, "127.0.0.1");
    await once(tlsServer, "listening");
    const url = `https://localhost:${(tlsServer.address() as AddressInfo).port}/`;
    try {
      const refused = (await send({ method: "GET", url }).catch((e: unknown) => e)) as NetworkError;
      expect(refused).toBeInstanceOf(NetworkError);
      expect(refused.code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
      expect((await send({ method: "GET", url, tls: { ca: cert } })).body.toString()).toBe("secure");
      expect((await send({ method: "GET", url, tls: { rejectUnauthorized: false } })).body.toString()).toBe("secure");
    } finally {
      tlsServer.closeAllConnections();
      tlsServer.close();
    }
  });
});

/** A self-signed certificate for localhost, built with node:crypto alone (a minimal DER encoder). */
function selfSigned(): { cert: string; key: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const der = (tag: number, ...parts: Buffer[]) => {
    const body = Buffer.concat(parts);
    const len = body.length < 128 ? Buffer.from([body.length]) : body.length < 256 ? Buffer.from([0x81, body.length]) : Buffer.from([0x82, body.length >> 8, body.length & 255]);
    return Buffer.concat([Buffer.from([tag]), len, body]);
  };
  const seq = (...p: Buffer[]) => der(0x30, ...p);
  const oid = (hex: string) => der(0x06, Buffer.from(hex, "hex"));
  const utf8 = (s: string) => der(0x0c, Buffer.from(s));
  const time = (d: Date) => der(0x17, Buffer.from(d.toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z"));
  const ecdsaSha256 = seq(oid("2a8648ce3d040302"));
  const name = seq(der(0x31, seq(oid("550403"), utf8("localhost"))));
  const now = Date.now();
  const san = seq(oid("551d11"), der(0x04, seq(der(0x82, Buffer.from("localhost")))));
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))),
    der(0x02, Buffer.from([1])),
    ecdsaSha256,
    name,
    seq(time(new Date(now - 3_600_000)), time(new Date(now + 86_400_000))),
    name,
    publicKey.export({ type: "spki", format: "der" }),
    der(0xa3, seq(san)),
  );
  const signature = sign("sha256", tbs, privateKey);
  const certDer = seq(tbs, ecdsaSha256, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const pem = `-----BEGIN CERTIFICATE-----\n${certDer.toString("base64").match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE-----\n`;
  new X509Certificate(pem); // throws if the encoding is wrong
  return { cert: pem, key: privateKey.export({ type: "pkcs8", format: "pem" }) as string };
}
