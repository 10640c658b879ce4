/** downloadModel over plain http(s) against a local node:http server: KServe's rules, retries, resume safety, cache. */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadGateway, NotFound, UpstreamTimeout } from "../../packages/server/src/errors/index.ts";
import { downloadModel } from "../../packages/server/src/storage/index.ts";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const MODEL = Buffer.alloc(256 * 1024, 7);

let server: Server;
let base: string;
let port: number;
let root: string;
const routes = new Map<string, Handler>();
const hits = new Map<string, number>();
const seenHeaders = new Map<string, IncomingMessage["headers"]>();

function route(path: string, handler: Handler): string {
  routes.set(path, handler);
  return `${base}${path}`;
}

function octet(body: Buffer, type = "application/octet-stream"): Handler {
  return (_req, res) => {
    res.writeHead(200, { "content-type": type, "content-length": body.length, etag: '"v1"' });
    res.end(body);
  };
}

async function cacheDir(): Promise<string> {
  return mkdtemp(join(root, "cache-"));
}

/** A one-file ustar archive. */
function tarOf(name: string, content: Buffer): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write("0000644\0", 100);
  h.write("0000000\0", 108);
  h.write("0000000\0", 116);
  h.write(`${content.length.toString(8).padStart(11, "0")}\0`, 124);
  h.write("00000000000\0", 136);
  h.write("        ", 148);
  h.write("0", 156);
  h.write("ustar\0", 257);
  h.write("00", 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return Buffer.concat([h, content, Buffer.alloc((512 - (content.length % 512)) % 512), Buffer.alloc(1024)]);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tserve-http-it-"));
  server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    hits.set(path, (hits.get(path) ?? 0) + 1);
    seenHeaders.set(path, req.headers);
    const handler = routes.get(path);
    if (handler) handler(req, res);
    else {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("no such file");
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await rm(root, { recursive: true, force: true });
});

describe("downloadModel over http(s)", () => {
  it("saves an application/octet-stream file by its name, in a folder named after it", async () => {
    const url = route("/files/model.onnx", octet(MODEL));
    const dir = await downloadModel(url, { cacheDir: await cacheDir(), env: {} });
    expect(basename(dir)).toBe("model");
    expect(await readdir(dir)).toEqual(["model.onnx"]);
    expect((await readFile(join(dir, "model.onnx"))).equals(MODEL)).toBe(true);
  });

  it("refuses an HTML answer (a login or error page) with a clear BadGateway", async () => {
    const url = route("/login/model.onnx", (_req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end("<html>please sign in</html>");
    });
    const cache = await cacheDir();
    const attempt = downloadModel(url, { cacheDir: cache, env: {} });
    await expect(attempt).rejects.toBeInstanceOf(BadGateway);
    await expect(attempt).rejects.toThrow(/Content-Type 'text\/html; charset=utf-8'.*application\/octet-stream/);
    expect(await readdir(cache)).toEqual([]);
  });

  it("a 404 is NotFound naming the URI", async () => {
    const attempt = downloadModel(`${base}/missing/model.onnx`, { cacheDir: await cacheDir(), env: {} });
    await expect(attempt).rejects.toBeInstanceOf(NotFound);
    await expect(attempt).rejects.toThrow(`${base}/missing/model.onnx was not found (404)`);
  });

  it("follows redirects", async () => {
    route("/real/model.onnx", octet(MODEL));
    const url = route("/moved/model.onnx", (_req, res) => {
      res.writeHead(302, { location: "/real/model.onnx" });
      res.end();
    });
    const dir = await downloadModel(url, { cacheDir: await cacheDir(), env: {} });
    // Saved under the name the URI gave, wherever the bytes came from.
    expect(await readdir(dir)).toEqual(["model.onnx"]);
    expect((await readFile(join(dir, "model.onnx"))).equals(MODEL)).toBe(true);
  });

  it("sends the <hostname>-headers of each host, and no credentials across hosts", async () => {
    route("/private/model.onnx", (req, res) => {
      if (req.headers.authorization !== "Bearer s3cret") {
        res.writeHead(401, { "content-type": "text/plain" });
        res.end("unauthorized");
        return;
      }
      res.writeHead(302, { location: `http://localhost:${port}/elsewhere/model.onnx` });
      res.end();
    });
    route("/elsewhere/model.onnx", octet(MODEL));
    const env = { "127.0.0.1-headers": JSON.stringify({ Authorization: "Bearer s3cret", "X-Team": "ml" }), "localhost-headers": '{"X-Other":"1"}' };
    const dir = await downloadModel(`${base}/private/model.onnx`, { cacheDir: await cacheDir(), env });
    expect((await readFile(join(dir, "model.onnx"))).equals(MODEL)).toBe(true);
    expect(seenHeaders.get("/private/model.onnx")).toMatchObject({ authorization: "Bearer s3cret", "x-team": "ml" });
    const elsewhere = seenHeaders.get("/elsewhere/model.onnx")!;
    expect(elsewhere.authorization).toBeUndefined();
    expect(elsewhere["x-team"]).toBeUndefined();
    expect(elsewhere["x-other"]).toBe("1");
    // Without the header: the server's 401 is StorageAccessDenied (403-class), naming the URI.
    await expect(downloadModel(`${base}/private/model.onnx`, { cacheDir: await cacheDir(), env: {} })).rejects.toThrow(
      /Access to .*\/private\/model.onnx was denied \(401\)/,
    );
  });

  it("times out (UpstreamTimeout) when the server goes quiet, per the configured timeout", async () => {
    const stalled = route("/stall/model.onnx", () => {
      // never answers
    });
    const attempt = downloadModel(stalled, { cacheDir: await cacheDir(), env: {}, timeoutMs: 200, maxAttempts: 1 });
    await expect(attempt).rejects.toBeInstanceOf(UpstreamTimeout);
    await expect(attempt).rejects.toThrow(/stall\/model.onnx sent nothing for 200 ms/);
    const midway = route("/stall-body/model.onnx", (_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": MODEL.length });
      res.write(MODEL.subarray(0, 1000));
    });
    const cache = await cacheDir();
    await expect(downloadModel(midway, { cacheDir: cache, env: {}, timeoutMs: 200, maxAttempts: 1 })).rejects.toBeInstanceOf(UpstreamTimeout);
    expect(await readdir(cache)).toEqual([]);
  });

  it("retries 5xx answers and cut-off bodies with backoff, then succeeds", async () => {
    let calls = 0;
    const url = route("/flaky/model.onnx", (_req, res) => {
      calls++;
      if (calls === 1) {
        res.writeHead(503, { "content-type": "text/plain" });
        res.end("busy");
      } else if (calls === 2) {
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": MODEL.length });
        res.write(MODEL.subarray(0, 100), () => res.destroy());
      } else {
        octet(MODEL)(_req, res);
      }
    });
    const dir = await downloadModel(url, { cacheDir: await cacheDir(), env: {}, maxAttempts: 3 });
    expect(calls).toBe(3);
    expect((await readFile(join(dir, "model.onnx"))).equals(MODEL)).toBe(true);

    const broken = route("/broken/model.onnx", (_req, res) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end("boom");
    });
    const failing = downloadModel(broken, { cacheDir: await cacheDir(), env: {}, maxAttempts: 2 });
    await expect(failing).rejects.toBeInstanceOf(BadGateway);
    await expect(failing).rejects.toThrow(/broken\/model.onnx answered 500: boom/);
    expect(hits.get("/broken/model.onnx")).toBe(2);
  });

  it("unpacks a downloaded .tar.gz and removes it", async () => {
    const url = route("/packages/iris.tar.gz", octet(gzipSync(tarOf("model.onnx", MODEL)), "application/gzip"));
    const dir = await downloadModel(url, { cacheDir: await cacheDir(), env: {} });
    expect(basename(dir)).toBe("iris");
    expect(await readdir(dir)).toEqual(["model.onnx"]);
    expect((await readFile(join(dir, "model.onnx"))).equals(MODEL)).toBe(true);
  });

  it("reuses the cache: a second call does not hit the server", async () => {
    const url = route("/cached/model.onnx", octet(MODEL));
    const cache = await cacheDir();
    const first = await downloadModel(url, { cacheDir: cache, env: {} });
    const second = await downloadModel(url, { cacheDir: cache, env: {} });
    expect(second).toBe(first);
    expect(hits.get("/cached/model.onnx")).toBe(1);
    // Concurrent calls in one process share one download.
    const other = route("/cached-concurrent/model.onnx", octet(MODEL));
    const [a, b] = await Promise.all([downloadModel(other, { cacheDir: cache, env: {} }), downloadModel(other, { cacheDir: cache, env: {} })]);
    expect(a).toBe(b);
    expect(hits.get("/cached-concurrent/model.onnx")).toBe(1);
  });

  it("an aborted download leaves neither a final folder nor a temporary one", async () => {
    const url = route("/slow/model.onnx", (_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": MODEL.length });
      res.write(MODEL.subarray(0, 1000));
    });
    const cache = await cacheDir();
    const controller = new AbortController();
    const attempt = downloadModel(url, {
      cacheDir: cache,
      env: {},
      signal: controller.signal,
      progress: (e) => {
        if (e.bytes > 0) controller.abort();
      },
    });
    await expect(attempt).rejects.toMatchObject({ name: "AbortError" });
    expect(await readdir(cache)).toEqual([]);
  });

  it("a crashed download (killed process) leaves no final folder; the next call cleans up and succeeds", async () => {
    let release: (() => void) | undefined;
    let served = 0;
    const url = route("/crash/model.onnx", (_req, res) => {
      served++;
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": MODEL.length });
      if (served === 1) {
        // First attempt: half the file, then silence until the client dies.
        res.write(MODEL.subarray(0, MODEL.length / 2));
        release = () => res.destroy();
      } else {
        res.end(MODEL);
      }
    });
    const cache = await cacheDir();
    const script = join(root, "crash-child.mts");
    const storage = resolve("packages/server/src/storage/index.ts");
    await writeFile(
      script,
      `import { downloadModel } from ${JSON.stringify(storage)};\n` +
        `await downloadModel(${JSON.stringify(url)}, { cacheDir: ${JSON.stringify(cache)}, env: {}, progress: (e) => { if (e.bytes > 0) console.log("progress"); } });\n`,
    );
    const child = spawn(process.execPath, ["--import", "tsx", script], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((ok, fail) => {
      child.stdout.on("data", () => ok());
      child.once("exit", (code) => fail(new Error(`child exited early (${code})`)));
    });
    child.kill("SIGKILL");
    await once(child, "exit");
    release?.();

    // The interrupted attempt left its temporary folder (with a .part file), and no final folder.
    const left = await readdir(cache);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/^[0-9a-f]{64}\.tmp-\d+-[0-9a-f]+$/);
    expect(await readdir(join(cache, left[0], "model"))).toEqual(["model.onnx.part"]);

    const dir = await downloadModel(url, { cacheDir: cache, env: {} });
    expect((await readFile(join(dir, "model.onnx"))).equals(MODEL)).toBe(true);
    expect(await readdir(cache)).toEqual([left[0].replace(/\.tmp-.*$/, "")]);
  });
});
