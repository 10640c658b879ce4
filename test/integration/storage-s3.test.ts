/** downloadModel / downloadInto against a real S3-compatible server (s3rver) started in-process on a free port. */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidInput, NotFound } from "../../packages/server/src/errors/index.ts";
import { downloadInto, downloadModel, type ProgressEvent, StorageAccessDenied } from "../../packages/server/src/storage/index.ts";
import { MARKER_FILE } from "../../packages/server/src/storage/uri/index.ts";

/** A ustar archive of regular files (enough for these tests). */
function tar(entries: Record<string, string | Buffer>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, content] of Object.entries(entries)) {
    const data = Buffer.from(content);
    const h = Buffer.alloc(512);
    h.write(name, 0, 100, "utf8");
    h.write("0000644\0", 100);
    h.write("0000000\0", 108);
    h.write("0000000\0", 116);
    h.write(`${data.length.toString(8).padStart(11, "0")}\0`, 124);
    h.write(`${(1_700_000_000).toString(8).padStart(11, "0")}\0`, 136);
    h.write("        ", 148);
    h.write("0", 156);
    h.write("ustar\0", 257);
    h.write("00", 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const ONNX = Buffer.from("not really onnx, but bytes all the same\n");

let server: { close(): Promise<void>; httpServer: import("node:http").Server };
let endpoint: string;
let root: string;

async function put(key: string, body: string | Buffer, contentType = "application/octet-stream"): Promise<void> {
  // s3rver checks no V4 signatures, so an unsigned PUT stores the object.
  const r = await fetch(`${endpoint}/models/${key.split("/").map(encodeURIComponent).join("/")}`, {
    method: "PUT",
    headers: { "content-type": contentType },
    body,
  });
  if (r.status !== 200) throw new Error(`PUT ${key}: ${r.status} ${await r.text()}`);
}

async function cacheDir(): Promise<string> {
  return mkdtemp(join(root, "cache-"));
}

/** Credentials s3rver knows (it checks the access key id, not the V4 signature). */
function s3Env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    AWS_DEFAULT_REGION: "us-east-1",
    ...extra,
  };
}

async function listTree(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...(await listTree(join(dir, e.name), `${prefix}${e.name}/`)));
    else out.push(`${prefix}${e.name}`);
  }
  return out.sort();
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tserve-s3-it-"));
  const { default: S3rver } = (await import("s3rver" as string)) as { default: any };
  server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: join(root, "s3"), configureBuckets: [{ name: "models", configs: [] }] });
  const address = (await (server as any).run()) as { port: number };
  endpoint = `http://127.0.0.1:${address.port}`;

  await put("single/model.onnx", ONNX);
  await put("iris/model.onnx", ONNX);
  await put("iris/model-settings.json", '{"name":"iris"}', "application/json");
  await put("iris/1/model.onnx", Buffer.from("version one"));
  await put("iris/README.md", "# iris\n", "text/markdown");
  await put("iris/docs/notes.txt", "notes");
  await put("iris2/other.bin", "must not be downloaded with s3://models/iris");
  await put("packed/iris.tar.gz", gzipSync(tar({ "iris/model.onnx": ONNX, "iris/model-settings.json": '{"name":"iris"}' })), "application/gzip");
  await put("flat/model.tar", tar({ "model.onnx": ONNX, "labels.txt": "a\nb\n" }), "application/x-tar");
  await put("spaced/my model (1).onnx", ONNX);
}, 60_000);

afterAll(async () => {
  server.httpServer.closeAllConnections();
  await server.close();
  await rm(root, { recursive: true, force: true });
});

describe("downloadModel from S3 (s3rver)", () => {
  it("downloads one object, saved by its name in a folder named after it, with progress", async () => {
    const events: ProgressEvent[] = [];
    const cache = await cacheDir();
    const dir = await downloadModel("s3://models/single/model.onnx", { cacheDir: cache, env: s3Env(), progress: (e) => events.push(e) });
    expect(basename(dir)).toBe("model");
    expect(await readdir(dir)).toEqual(["model.onnx"]);
    expect(await readFile(join(dir, "model.onnx"))).toEqual(ONNX);
    expect(events.some((e) => e.stage === "file" && e.file === "model.onnx" && e.bytes === ONNX.length && e.total === ONNX.length)).toBe(true);
    expect(events.at(-1)).toEqual({ file: "", bytes: ONNX.length, total: ONNX.length, stage: "done" });
    // The marker beside the model folder records the URI and the etags.
    const marker = JSON.parse(await readFile(join(dirname(dir), MARKER_FILE), "utf8"));
    expect(marker).toMatchObject({ version: 1, uri: "s3://models/single/model.onnx", model: "model" });
    expect(marker.files).toEqual([{ path: "model.onnx", size: ONNX.length, etag: expect.stringMatching(/^"[0-9a-f]{32}"$/) }]);
    // Nothing but the finished folder is left in the cache.
    expect(await readdir(cache)).toEqual([basename(dirname(dir))]);
  });

  it("downloads every object under a prefix, keeping nested paths (and not the sibling iris2/)", async () => {
    const dir = await downloadModel("s3://models/iris", { cacheDir: await cacheDir(), env: s3Env() });
    expect(basename(dir)).toBe("iris");
    expect(await listTree(dir)).toEqual(["1/model.onnx", "README.md", "docs/notes.txt", "model-settings.json", "model.onnx"]);
    expect(await readFile(join(dir, "1/model.onnx"), "utf8")).toBe("version one");
    const same = await downloadModel("s3://models/iris/", { cacheDir: await cacheDir(), env: s3Env() });
    expect(await listTree(same)).toEqual(await listTree(dir));
  });

  it("applies STORAGE_ALLOW_PATTERNS and STORAGE_IGNORE_PATTERNS to a prefix", async () => {
    const allow = await downloadModel("s3://models/iris", {
      cacheDir: await cacheDir(),
      env: s3Env({ STORAGE_ALLOW_PATTERNS: '["*.onnx", "*.json"]' }),
    });
    expect(await listTree(allow)).toEqual(["1/model.onnx", "model-settings.json", "model.onnx"]);
    const ignore = await downloadModel("s3://models/iris", {
      cacheDir: await cacheDir(),
      env: s3Env({ STORAGE_IGNORE_PATTERNS: "*.md,docs/" }),
    });
    expect(await listTree(ignore)).toEqual(["1/model.onnx", "model-settings.json", "model.onnx"]);
    await expect(
      downloadModel("s3://models/iris", { cacheDir: await cacheDir(), env: s3Env({ STORAGE_ALLOW_PATTERNS: "*.safetensors" }) }),
    ).rejects.toThrow(/No model found in s3:\/\/models\/iris \(5 object\(s\) excluded/);
  });

  it("unpacks a single .tar.gz object and removes the archive", async () => {
    const cache = await cacheDir();
    const dir = await downloadModel("s3://models/packed/iris.tar.gz", { cacheDir: cache, env: s3Env() });
    // The archive held one folder, iris/: that is the model folder.
    expect(basename(dir)).toBe("iris");
    expect(await listTree(dir)).toEqual(["model-settings.json", "model.onnx"]);
    expect(await readFile(join(dir, "model.onnx"))).toEqual(ONNX);
    const top = join(cache, (await readdir(cache))[0]);
    expect((await listTree(top)).filter((f) => /\.(tar\.gz|part)$/.test(f))).toEqual([]);
    expect(JSON.parse(await readFile(join(top, MARKER_FILE), "utf8"))).toMatchObject({ model: "iris/iris", extracted: "iris.tar.gz" });
  });

  it("unpacks a prefix holding a single archive (as KServe does), into the model folder itself", async () => {
    const dir = await downloadModel("s3://models/flat", { cacheDir: await cacheDir(), env: s3Env() });
    expect(basename(dir)).toBe("flat");
    expect(await listTree(dir)).toEqual(["labels.txt", "model.onnx"]);
  });

  it("keeps odd characters in keys (signed path encoding)", async () => {
    const dir = await downloadModel("s3://models/spaced", { cacheDir: await cacheDir(), env: s3Env() });
    expect(await listTree(dir)).toEqual(["my model (1).onnx"]);
  });

  it("a missing key or bucket is NotFound naming the URI", async () => {
    const missing = downloadModel("s3://models/nope/model.onnx", { cacheDir: await cacheDir(), env: s3Env() });
    await expect(missing).rejects.toBeInstanceOf(NotFound);
    await expect(missing).rejects.toThrow("s3://models/nope/model.onnx");
    await expect(downloadModel("s3://no-such-bucket/x", { cacheDir: await cacheDir(), env: s3Env() })).rejects.toBeInstanceOf(NotFound);
  });

  it("works anonymously (awsAnonymousCredential=true, or no keys at all)", async () => {
    const anon = await downloadModel("s3://models/single/model.onnx", {
      cacheDir: await cacheDir(),
      env: s3Env({ awsAnonymousCredential: "true", AWS_ACCESS_KEY_ID: "UNKNOWN-KEY" }),
    });
    expect(await readFile(join(anon, "model.onnx"))).toEqual(ONNX);
    const nokeys = await downloadModel("s3://models/single/model.onnx", { cacheDir: await cacheDir(), env: { AWS_ENDPOINT_URL: endpoint } });
    expect(await readFile(join(nokeys, "model.onnx"))).toEqual(ONNX);
  });

  it("signs with a session token, and an unknown access key is StorageAccessDenied without leaking the secret", async () => {
    const withToken = await downloadModel("s3://models/single/model.onnx", {
      cacheDir: await cacheDir(),
      env: s3Env({ AWS_SESSION_TOKEN: "session-token" }),
    });
    expect(await readdir(withToken)).toEqual(["model.onnx"]);
    const denied = downloadModel("s3://models/iris", {
      cacheDir: await cacheDir(),
      env: s3Env({ AWS_ACCESS_KEY_ID: "AKIAUNKNOWN", AWS_SECRET_ACCESS_KEY: "TOP-SECRET-VALUE" }),
    });
    await expect(denied).rejects.toBeInstanceOf(StorageAccessDenied);
    await expect(denied).rejects.toThrow(/s3:\/\/models\/iris.*InvalidAccessKeyId/);
    await denied.catch((err: Error) => expect(`${err.message}${err.stack}`).not.toContain("TOP-SECRET-VALUE"));
  });

  it("maps STORAGE_CONFIG (a KServe storage secret) onto the S3 settings, STORAGE_OVERRIDE_CONFIG winning", async () => {
    const config = { type: "s3", access_key_id: "S3RVER", secret_access_key: "S3RVER", endpoint_url: endpoint, region: "us-east-1" };
    const dir = await downloadModel("s3://models/single/model.onnx", {
      cacheDir: await cacheDir(),
      env: { STORAGE_CONFIG: JSON.stringify(config) },
    });
    expect(await readdir(dir)).toEqual(["model.onnx"]);
    const overridden = await downloadModel("s3://models/single/model.onnx", {
      cacheDir: await cacheDir(),
      env: {
        AWS_ENDPOINT_URL: "http://127.0.0.1:9",
        STORAGE_CONFIG: JSON.stringify({ ...config, endpoint_url: "http://127.0.0.1:9" }),
        STORAGE_OVERRIDE_CONFIG: JSON.stringify({ endpoint_url: endpoint }),
      },
    });
    expect(await readdir(overridden)).toEqual(["model.onnx"]);
    await expect(downloadModel("s3://models/x", { cacheDir: await cacheDir(), env: { STORAGE_CONFIG: "{not json" } })).rejects.toBeInstanceOf(
      InvalidInput,
    );
  });

  it("reuses a completed download without asking the server again", async () => {
    const cache = await cacheDir();
    const first = await downloadModel("s3://models/iris", { cacheDir: cache, env: s3Env() });
    // An endpoint nothing listens on: a second download would fail, the cache answers instead.
    const second = await downloadModel("s3://models/iris", { cacheDir: cache, env: s3Env({ AWS_ENDPOINT_URL: "http://127.0.0.1:9" }) });
    expect(second).toBe(first);
    // A folder whose marker is gone is not trusted: it is downloaded again.
    await rm(join(dirname(first), MARKER_FILE));
    await writeFile(join(first, "stray.txt"), "left over");
    const third = await downloadModel("s3://models/iris", { cacheDir: cache, env: s3Env() });
    expect(third).toBe(first);
    expect(await listTree(third)).not.toContain("stray.txt");
  });

  it("downloadInto writes into an existing folder, KServe storage-initializer style", async () => {
    const dest = await mkdtemp(join(root, "dest-"));
    await writeFile(join(dest, "keep.txt"), "already here");
    const dir = await downloadInto("s3://models/iris", dest, { env: s3Env() });
    expect(dir).toBe(dest);
    expect(await listTree(dest)).toEqual(["1/model.onnx", "README.md", "docs/notes.txt", "keep.txt", "model-settings.json", "model.onnx"]);
    const archiveDest = join(root, "dest-archive", "models");
    const model = await downloadInto("s3://models/packed/iris.tar.gz", archiveDest, { env: s3Env() });
    expect(model).toBe(join(archiveDest, "iris"));
    expect(await listTree(archiveDest)).toEqual(["iris/model-settings.json", "iris/model.onnx"]);
  });
});
