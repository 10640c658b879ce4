/** Shared helpers for the integration tests: real servers, real HTTP, and the binary tensor wire format. */
import { cp, mkdtemp, readFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { type Model, ModelServer, type ModelServerOptions } from "../../packages/server/src/index.ts";
import { discoverModel } from "../../packages/server/src/model/index.ts";
import { FIXTURES, IRIS_REPO, ROOT } from "../helpers/server.ts";

export { FIXTURES, IRIS_REPO, ROOT };

export const IRIS_DIR = join(IRIS_REPO, "iris");
export const FIXTURE_MODELS = join(FIXTURES, "models");
export const MULTI_IO_DIR = join(FIXTURE_MODELS, "multi_io");
export const TYPES_DIR = join(FIXTURE_MODELS, "types");
/** scale with `{"versionPolicy": {"all": {}}}`: versions 1, 2 and 3 all served. */
export const VERSIONED_REPO = join(FIXTURES, "repos", "versioned");
export const SCALE_ALL_DIR = join(VERSIONED_REPO, "scale");
export const MODULES = join(FIXTURES, "modules");
export const MODULE_REPO = join(FIXTURES, "repos", "modules");

const quiet = { log() {} };

export interface Running {
  server: ModelServer;
  url: string;
}

/**
 * Starts a real ModelServer on a free port serving the given model folders (each read with its own
 * model-settings.json) and model instances. Stop it with `server.stop()`.
 */
export async function startWith(
  options: { dirs?: string[]; models?: Model[] } & ModelServerOptions = {},
): Promise<Running> {
  const { dirs = [], models = [], ...serverOptions } = options;
  const sources = await Promise.all(dirs.map((d) => discoverModel(d)));
  const server = new ModelServer({ httpPort: 0, grpcPort: 0, host: "127.0.0.1", logger: quiet, ...serverOptions });
  await server.start(models, sources);
  return { server, url: `http://127.0.0.1:${server.port}` };
}

/** Copies model folders into a fresh temporary repository: `{ name: sourceDir }`. */
export async function tempRepo(models: Record<string, string> = {}): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "tserve-it-"));
  for (const [name, dir] of Object.entries(models)) await cp(dir, join(root, name), { recursive: true });
  return root;
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function toReply(r: Response): Promise<Reply> {
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, json };
}

export async function get(url: string): Promise<Reply> {
  return toReply(await fetch(url));
}

/** POSTs a JSON body (objects are stringified; strings are sent as they are). */
export async function post(url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return toReply(
    await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
}

/** POSTs a model archive to `POST /v2/repository/models/{name}/upload`. */
export async function uploadArchive(url: string, name: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<Reply> {
  return toReply(
    await fetch(`${url}/v2/repository/models/${encodeURIComponent(name)}/upload`, {
      method: "POST",
      headers: { "content-type": "application/gzip", ...headers },
      body,
    }),
  );
}

/** POSTs raw bytes and returns the raw response bytes (for binary tensor bodies). */
export async function postBytes(
  url: string,
  body: Uint8Array,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/octet-stream", ...headers },
    body,
  });
  return { status: r.status, headers: r.headers, bytes: Buffer.from(await r.arrayBuffer()) };
}

/** A request over node:http with full control over headers (e.g. a Content-Length that does not match). */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string | number>; body?: Uint8Array | string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? "POST", headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** Asserts a `{"error": "..."}` JSON body with the given status, and that the message names each of `mentions`. */
export function expectError(reply: Reply, status: number, ...mentions: string[]): string {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.headers.get("content-type") ?? "").toMatch(/^application\/json/);
  expect(reply.json).toBeTypeOf("object");
  expect(Object.keys(reply.json)).toEqual(["error"]);
  expect(reply.json.error).toBeTypeOf("string");
  expect(reply.json.error.length).toBeGreaterThan(0);
  for (const m of mentions) expect(reply.json.error).toContain(m);
  return reply.json.error;
}

export function float32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/** BYTES elements on the wire: a 4-byte little-endian length before each element. */
export function bytesElements(values: string[]): Uint8Array {
  const parts = values.map((v) => Buffer.from(v, "utf8"));
  const out = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.writeUInt32LE(p.byteLength, offset);
    p.copy(out, offset + 4);
    offset += 4 + p.byteLength;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

export function parseBytesElements(buf: Buffer): string[] {
  const out: string[] = [];
  let offset = 0;
  while (offset < buf.byteLength) {
    const len = buf.readUInt32LE(offset);
    out.push(buf.subarray(offset + 4, offset + 4 + len).toString("utf8"));
    offset += 4 + len;
  }
  return out;
}

/** A binary-extension request body: the JSON header followed by the blobs, plus its header length. */
export function binaryBody(header: unknown, blobs: Uint8Array[]): { body: Uint8Array; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([json, ...blobs]), headerLength: json.byteLength };
}

/** Splits a binary-extension response into its JSON header and each binary output's bytes, by name. */
export function splitBinaryResponse(
  bytes: Buffer,
  headerLength: number,
): { header: any; blobs: Record<string, Buffer> } {
  const header = JSON.parse(bytes.subarray(0, headerLength).toString("utf8"));
  const blobs: Record<string, Buffer> = {};
  let offset = headerLength;
  for (const o of header.outputs as { name: string; parameters?: { binary_data_size?: number } }[]) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) continue;
    blobs[o.name] = bytes.subarray(offset, offset + size);
    offset += size;
  }
  expect(offset).toBe(bytes.byteLength);
  return { header, blobs };
}

export function readFloat32(buf: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i < buf.byteLength; i += 4) out.push(buf.readFloatLE(i));
  return out;
}

export async function readJson<T = any>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, "utf8")) as T;
}

/** Element-wise closeness of two nested number arrays. */
export function expectClose(actual: unknown, expected: unknown, tolerance: number): void {
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual)).toBe(true);
    expect((actual as unknown[]).length).toBe(expected.length);
    expected.forEach((e, i) => {
      expectClose((actual as unknown[])[i], e, tolerance);
    });
    return;
  }
  expect(typeof actual).toBe("number");
  expect(Math.abs((actual as number) - (expected as number))).toBeLessThanOrEqual(tolerance);
}
