/** `tserve pull` (KServe's storage initializer) as a real process against a real S3-compatible server (s3rver). */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/server.ts";

let server: { close(): Promise<void>; httpServer: import("node:http").Server };
let endpoint: string;
let root: string;

/** A one-file ustar archive. */
function tarOf(name: string, content: string): Buffer {
  const data = Buffer.from(content);
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write("0000644\0", 100);
  h.write("0000000\0", 108);
  h.write("0000000\0", 116);
  h.write(`${data.length.toString(8).padStart(11, "0")}\0`, 124);
  h.write("00000000000\0", 136);
  h.write("        ", 148);
  h.write("0", 156);
  h.write("ustar\0", 257);
  h.write("00", 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return Buffer.concat([h, data, Buffer.alloc((512 - (data.length % 512)) % 512), Buffer.alloc(1024)]);
}

async function put(key: string, body: string | Buffer): Promise<void> {
  const r = await fetch(`${endpoint}/models/${key}`, { method: "PUT", headers: { "content-type": "application/octet-stream" }, body });
  if (r.status !== 200) throw new Error(`PUT ${key}: ${r.status}`);
}

/** `tserve pull ARGS` with only PATH, HOME and the s3rver credentials in its environment (plus `env`). */
function runPull(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(["pull", ...args], {
    env: {
      PATH: process.env.PATH,
      HOME: root,
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      ...env,
    },
    timeoutMs: 30_000,
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tserve-pull-it-"));
  const { default: S3rver } = (await import("s3rver" as string)) as { default: any };
  server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: join(root, "s3"), configureBuckets: [{ name: "models", configs: [] }] });
  endpoint = `http://127.0.0.1:${((await (server as any).run()) as { port: number }).port}`;
  await put("iris/model.onnx", "ONNX");
  await put("iris/1/model.onnx", "V1");
  await put("packed/model.tgz", gzipSync(tarOf("model.onnx", "FROM-ARCHIVE")));
});

afterAll(async () => {
  server.httpServer.closeAllConnections();
  await server.close();
  await rm(root, { recursive: true, force: true });
});

describe("tserve pull", () => {
  it("downloads s3://models/iris into a folder, prints it, exits 0", async () => {
    const dest = join(root, "x");
    const r = await runPull(["s3://models/iris", dest]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(dest);
    expect((await readdir(dest)).sort()).toEqual(["1", "model.onnx"]);
    expect(await readFile(join(dest, "1", "model.onnx"), "utf8")).toBe("V1");
    expect(r.stderr).toContain(`copied s3://models/iris to ${dest}`);
  });

  it("takes several SRC DST pairs and unpacks a lone archive (the archive itself removed)", async () => {
    const a = join(root, "pairs", "a");
    const b = join(root, "pairs", "b");
    const r = await runPull(["s3://models/iris/model.onnx", a, "s3://models/packed/model.tgz", b]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n").sort()).toEqual([a, b]);
    expect(await readdir(a)).toEqual(["model.onnx"]);
    expect(await readdir(b)).toEqual(["model.onnx"]);
    expect(await readFile(join(b, "model.onnx"), "utf8")).toBe("FROM-ARCHIVE");
  });

  it("honours STORAGE_CONFIG in place of the AWS_* variables", async () => {
    const dest = join(root, "config");
    const r = await runPull(["s3://models/iris", dest], {
      AWS_ENDPOINT_URL: "",
      AWS_ACCESS_KEY_ID: "",
      AWS_SECRET_ACCESS_KEY: "",
      STORAGE_CONFIG: JSON.stringify({ type: "s3", endpoint_url: endpoint, access_key_id: "S3RVER", secret_access_key: "S3RVER" }),
    });
    expect(r.code, r.stderr).toBe(0);
    expect((await readdir(dest)).sort()).toEqual(["1", "model.onnx"]);
  });

  it("a missing object: a message on stderr and exit 1, leaving no temporary folder", async () => {
    const dest = join(root, "missing");
    const r = await runPull(["s3://models/nope/model.onnx", dest]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/failed to download s3:\/\/models\/nope\/model.onnx: No model found in s3:\/\/models\/nope\/model.onnx/);
    expect(r.stdout).toBe("");
    expect(await readdir(dest)).toEqual([]);
  });

  it("unsupported schemes fail with exit 1 naming them; bad usage exits 2", async () => {
    const r = await runPull(["hf://meta-llama/Llama-2-7b", join(root, "hf")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("hf://");
    const usage = await runPull(["s3://models/iris"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("SRC_URI DEST_DIR");
  });
});
