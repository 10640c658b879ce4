/**
 * OpenBayes's custom mode over real HTTP: a folder with start.sh is run as its own server on $PORT, every request
 * is proxied to it (methods, paths, headers, bodies streamed both ways), readiness follows the child, a crash turns
 * into 503s, and shutdown stops the whole process group (SIGTERM, then SIGKILL after the grace period).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CustomServerModel, type ModelServer } from "../../packages/server/src/index.ts";
import { expectError, FIXTURES, get, startWith } from "./util.ts";

const CUSTOM = join(FIXTURES, "openbayes", "custom");
const STUBBORN = join(FIXTURES, "openbayes", "custom-stubborn");
const FAILS = join(FIXTURES, "openbayes", "custom-fails");

interface Logged {
  level: string;
  message: string;
}

async function startCustom(dir: string, options: { gracePeriodMs?: number; openbayes?: boolean } = {}) {
  const logs: Logged[] = [];
  const running = await startWith({ dirs: [dir], enableGrpc: false, logger: { log: (level, message) => logs.push({ level, message }) }, ...options });
  const model = running.server.repository.get(dir.split("/").pop()!) as CustomServerModel;
  return { ...running, model, logs };
}

/** Running, not a zombie (an orphan's new parent may reap it late; it runs no more either way). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

describe("a start.sh server behind tserve", () => {
  let server: ModelServer;
  let url: string;
  let model: CustomServerModel;
  let logs: Logged[];
  const savedProduction = process.env.OPENBAYES_SERVING_PRODUCTION;

  beforeAll(async () => {
    // tserve's own environment says production: the child must not see it.
    process.env.OPENBAYES_SERVING_PRODUCTION = "1";
    ({ server, url, model, logs } = await startCustom(CUSTOM));
  });

  afterAll(async () => {
    if (savedProduction === undefined) delete process.env.OPENBAYES_SERVING_PRODUCTION;
    else process.env.OPENBAYES_SERVING_PRODUCTION = savedProduction;
    await server.stop();
  });

  it("is detected from start.sh and runs it in its folder, with PORT set and OPENBAYES_SERVING_PRODUCTION unset", async () => {
    expect(model).toBeInstanceOf(CustomServerModel);
    const r = await get(`${url}/anything`);
    expect(r.status).toBe(200);
    expect(r.json.port).toBe(model.process.port);
    expect(r.json.production).toBeNull();
    expect(logs.some((l) => l.message.includes(`[custom] starting on port ${model.process.port}`))).toBe(true);
  });

  it("proxies GET with its path, query and headers", async () => {
    const r = await fetch(`${url}/v1/models/x:predict?a=1&b=two`, { headers: { "x-request-id": "r1", authorization: "Bearer t" } });
    const body = (await r.json()) as any;
    expect(body.method).toBe("GET");
    // Every path goes to the child, V1/V2 paths included.
    expect(body.url).toBe("/v1/models/x:predict?a=1&b=two");
    expect(body.headers).toMatchObject({ "x-request-id": "r1", authorization: "Bearer t", "x-forwarded-for": "127.0.0.1", "x-forwarded-proto": "http" });
    expect(body.headers.host).toBe(new URL(url).host);
  });

  it.each(["POST", "PUT", "PATCH", "DELETE"])("proxies %s with its body", async (method) => {
    const r = await fetch(`${url}/predict`, { method, headers: { "content-type": "application/json", "x-extra": "1" }, body: '{"threshold":0.3}' });
    const body = (await r.json()) as any;
    expect(body).toMatchObject({ method, url: "/predict", body: '{"threshold":0.3}' });
    expect(body.headers).toMatchObject({ "content-type": "application/json", "x-extra": "1", "content-length": "17" });
  });

  it("streams a request body that arrives in chunks, larger than tserve's buffer limit would matter for", async () => {
    const chunks = ["one,", "two,", "three"].map((s) => new TextEncoder().encode(s));
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const r = await fetch(`${url}/upload`, { method: "POST", body: stream, duplex: "half" } as RequestInit);
    const body = (await r.json()) as any;
    expect(body.body).toBe("one,two,three");
    expect(body.headers["transfer-encoding"]).toBe("chunked");
    const big = Buffer.alloc(2 * 1024 * 1024, 97);
    const r2 = await fetch(`${url}/big`, { method: "POST", body: big });
    expect(((await r2.json()) as any).body.length).toBe(big.byteLength);
  });

  it("passes the child's status, headers (every set-cookie) and streamed body back", async () => {
    const teapot = await fetch(`${url}/teapot`);
    expect(teapot.status).toBe(418);
    expect(teapot.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    const streamed = await fetch(`${url}/stream`);
    expect(streamed.headers.get("x-custom")).toBe("streamed");
    expect(await streamed.text()).toBe("chunk 0\nchunk 1\nchunk 2\n");
    const head = await fetch(`${url}/x`, { method: "HEAD" });
    expect(head.status).toBe(200);
  });

  it("a server that drops the connection: 502 saying so, and the next request goes through", async () => {
    expectError(await get(`${url}/hangup`), 502, "The custom server of custom did not answer", "socket hang up");
    expect((await get(`${url}/after`)).json.url).toBe("/after");
  });

  it("reports readiness and liveness itself", async () => {
    expect((await get(`${url}/v2/health/ready`)).json).toEqual({ ready: true });
    expect((await get(`${url}/v2/health/live`)).json).toEqual({ live: true });
  });

  it("a child that exits: readiness 503, every request a 503 saying why, logged with its output", async () => {
    const crash = await get(`${url}/crash`);
    expect(crash.text).toBe("bye");
    await expect.poll(async () => (await get(`${url}/v2/health/ready`)).status, { timeout: 20_000 }).toBe(503);
    expectError(await get(`${url}/v2/health/ready`), 503, "sh start.sh", "exited with code 7");
    expectError(await get(`${url}/v2/health/live`), 503, "exited with code 7");
    expectError(await get(`${url}/anything`), 503, "The custom server (sh start.sh) of custom exited with code 7");
    const post = await fetch(`${url}/predict`, { method: "POST", body: "x" });
    expect(post.status).toBe(503);
    expect(logs.some((l) => l.level === "error" && l.message.includes("exited with code 7") && l.message.includes("custom server listening"))).toBe(true);
  });
});

describe("shutdown", () => {
  const servers: ModelServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  it("stops the whole process group: start.sh and the server it launched", async () => {
    const { server, url, model } = await startCustom(CUSTOM);
    servers.push(server);
    const nodePid = ((await get(`${url}/`)).json as { pid: number }).pid;
    const shPid = model.process.pid!;
    expect(nodePid).not.toBe(shPid);
    expect(alive(nodePid) && alive(shPid)).toBe(true);
    await server.stop();
    expect(alive(nodePid)).toBe(false);
    expect(alive(shPid)).toBe(false);
    expect(model.process.running).toBe(false);
  });

  it("SIGKILLs a server that ignores SIGTERM once the grace period is over", async () => {
    const { server, url, model, logs } = await startCustom(STUBBORN, { gracePeriodMs: 3_000 });
    servers.push(server);
    const nodePid = ((await get(`${url}/`)).json as { pid: number }).pid;
    await server.stop();
    expect(alive(nodePid)).toBe(false);
    expect(model.process.running).toBe(false);
    // It was asked nicely first.
    expect(logs.some((l) => l.message.includes("ignoring SIGTERM"))).toBe(true);
  });

  it("a start.sh that fails before listening is a startup error with its output", async () => {
    const error = await startCustom(FAILS, { openbayes: true }).then(
      () => undefined,
      (err: Error) => err.message,
    );
    expect(error).toContain("sh start.sh");
    expect(error).toContain("exited with code 3 before it accepted connections");
    expect(error).toContain("loading weights from /nowhere");
  });
});
