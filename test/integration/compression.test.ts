/**
 * HTTP compression, as Triton's clients use it: request bodies sent with `Content-Encoding: gzip` or `deflate`
 * (tritonclient.http's `request_compression_algorithm`) are inflated on every REST route before they are read, the
 * inflated size counting against --max_buffer_size; answers are compressed for `Accept-Encoding: gzip` / `deflate`
 * (`response_compression_algorithm`) in a form tritonclient inflates; gRPC messages compressed with gzip or deflate
 * (tritonclient.grpc's `compression_algorithm`) are answered.
 */
import { once } from "node:events";
import { readFile, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { connect as http2Connect } from "node:http2";
import { connect } from "node:net";
import { join } from "node:path";
import { deflateRawSync, deflateSync, gunzipSync, gzipSync, inflateSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { InferenceRESTClient, InferInput } from "../../packages/server/src/client/index.ts";
import { ModelServer, SeldonComponent, type SeldonComponentLike } from "../../packages/server/src/index.ts";
import { inferencePackageDefinition } from "../../packages/server/src/protocol/grpc/index.ts";
import { file, tar } from "../fixtures/archives/build.ts";
import { Code, f32, grpcClient } from "./grpc-util.ts";
import { FIXTURE_MODELS, FIXTURES, IRIS_DIR, type Running, readFloat32, splitBinaryResponse, startWith, tempRepo } from "./util.ts";

const PEER = join(FIXTURES, "peers", "tritonclient-http");
const SCALE_DIR = join(FIXTURE_MODELS, "scale");
const IRIS_ROW = [6.8, 2.8, 4.8, 1.4];
const IRIS_V2 = { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: IRIS_ROW }] };
const LIMIT = 1024 * 1024;
const quiet = { log() {} };

interface Exchange {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request over node:http with exactly these headers (fetch would add Accept-Encoding and inflate the answer itself). */
function exchange(url: string, options: { method?: string; headers?: Record<string, string>; body?: Uint8Array | string }): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? "POST", headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

function json(r: Exchange): any {
  return JSON.parse(r.body.toString("utf8"));
}

/** What tritonclient.http's InferResult does with an answer: inflate by Content-Encoding (exactly "gzip" or "deflate"). */
function inflatedAsTritonClient(r: Exchange): Buffer {
  const coding = r.headers["content-encoding"];
  if (coding === "gzip") return gunzipSync(r.body);
  // Python's zlib.decompress: zlib-wrapped deflate only (raw deflate would fail there).
  if (coding === "deflate") return inflateSync(r.body);
  expect(coding).toBeUndefined();
  return r.body;
}

function expectJsonError(r: Exchange, status: number, mention: RegExp): string {
  expect(r.status, r.body.toString()).toBe(status);
  expect(r.headers["content-type"]).toBe("application/json");
  const body = json(r);
  expect(Object.keys(body)).toEqual(["error"]);
  expect(body.error).toMatch(mention);
  return body.error;
}

/** The scale model's answer for x = 0, 0.5, … (the tritonclient fixture's input), asked for in plain JSON. */
async function scaleExpected(url: string): Promise<number[]> {
  const x = Array.from({ length: 1000 }, (_, i) => i * 0.5);
  const r = await exchange(`${url}/v2/models/scale/infer`, {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ inputs: [{ name: "x", shape: [1000], datatype: "FP32", data: x }] }),
  });
  expect(r.status, r.body.toString()).toBe(200);
  return json(r).outputs[0].data;
}

describe("request bodies sent compressed (Content-Encoding)", () => {
  let s: Running;

  beforeAll(async () => {
    s = await startWith({ dirs: [IRIS_DIR, SCALE_DIR], maxBufferSize: LIMIT, enableGrpc: false });
  });
  afterAll(async () => {
    await s?.server.stop();
  });
  /** Whatever a compressed request did, the server goes on answering plain ones. */
  afterEach(async () => {
    const r = await exchange(`${s.url}/v2/models/iris/infer`, { headers: { "content-type": "application/json" }, body: JSON.stringify(IRIS_V2) });
    expect(r.status, r.body.toString()).toBe(200);
  });

  for (const coding of ["gzip", "deflate"] as const) {
    it(`tritonclient's ${coding} binary request (its bytes replayed) is answered; Inference-Header-Content-Length counts the inflated body`, async () => {
      const peer = JSON.parse(await readFile(join(PEER, "requests.json"), "utf8"));
      const { file, headers } = peer.requests[coding];
      const body = await readFile(join(PEER, file));
      const r = await exchange(`${s.url}${peer.path}`, { headers, body });
      expect(r.status, r.body.toString()).toBe(200);
      // tritonclient asked for a compressed answer with the same algorithm; it inflates what it gets.
      expect(r.headers["content-encoding"]).toBe(coding);
      const plain = inflatedAsTritonClient(r);
      const headerLength = Number(r.headers["inference-header-content-length"]);
      const { header, blobs } = splitBinaryResponse(plain, headerLength);
      expect(header.model_name).toBe("scale");
      expect(header.outputs[0]).toMatchObject({ name: "y", datatype: "FP32", shape: [1000], parameters: { binary_data_size: 4000 } });
      expect(readFloat32(blobs.y)).toEqual(await scaleExpected(s.url));
    });
  }

  it("gzip and deflate bodies are read on V1 :predict, V2 JSON infer and the repository index", async () => {
    const v1 = JSON.stringify({ instances: [IRIS_ROW] });
    const v2 = JSON.stringify(IRIS_V2);
    for (const [name, compress] of [["gzip", gzipSync], ["deflate", deflateSync]] as const) {
      const p = await exchange(`${s.url}/v1/models/iris:predict`, { headers: { "content-type": "application/json", "content-encoding": name }, body: compress(v1) });
      expect(p.status, p.body.toString()).toBe(200);
      expect(json(p).predictions).toHaveLength(1);
      const i = await exchange(`${s.url}/v2/models/iris/infer`, { headers: { "content-type": "application/json", "content-encoding": name }, body: compress(v2) });
      expect(i.status, i.body.toString()).toBe(200);
      expect(json(i).outputs[0].shape).toEqual([1, 3]);
      const index = await exchange(`${s.url}/v2/repository/index`, { headers: { "content-type": "application/json", "content-encoding": name }, body: compress('{"ready": true}') });
      expect(index.status, index.body.toString()).toBe(200);
      expect(json(index).map((m: { name: string }) => m.name).sort()).toEqual(["iris", "scale"]);
    }
  });

  it("also accepted: x-gzip, any letter case, raw deflate without the zlib header, identity, and an empty compressed body", async () => {
    const v2 = JSON.stringify(IRIS_V2);
    const cases: [string, Buffer][] = [
      ["x-gzip", gzipSync(v2)],
      ["GZip", gzipSync(v2)],
      ["deflate", deflateRawSync(v2)],
      ["identity", Buffer.from(v2)],
      ["identity, gzip", gzipSync(v2)],
    ];
    for (const [header, body] of cases) {
      const r = await exchange(`${s.url}/v2/models/iris/infer`, { headers: { "content-type": "application/json", "content-encoding": header }, body });
      expect(r.status, `${header}: ${r.body.toString()}`).toBe(200);
    }
    // Nothing compressed is nothing: the route says what it says about an empty body.
    const empty = await exchange(`${s.url}/v2/models/iris/infer`, { headers: { "content-type": "application/json", "content-encoding": "gzip", "transfer-encoding": "chunked" }, body: "" });
    expectJsonError(empty, 400, /./);
  });

  it("an unknown Content-Encoding is 415, naming it and what is supported", async () => {
    for (const header of ["br", "zstd", "compress", "gzip, gzip", "deflate, br"]) {
      const r = await exchange(`${s.url}/v2/models/iris/infer`, { headers: { "content-type": "application/json", "content-encoding": header }, body: JSON.stringify(IRIS_V2) });
      const message = expectJsonError(r, 415, /Content-Encoding/);
      expect(message).toContain(header);
      expect(message).toMatch(/gzip or deflate/);
    }
  });

  it("a corrupt or cut-short gzip / deflate body is 400 saying so", async () => {
    const v2 = JSON.stringify(IRIS_V2);
    const cases: [string, Buffer][] = [
      ["gzip", Buffer.from(v2)],
      ["gzip", gzipSync(v2).subarray(0, 20)],
      ["deflate", Buffer.from("definitely not deflate data")],
      ["deflate", deflateSync(v2).subarray(0, 10)],
    ];
    for (const [coding, body] of cases) {
      const r = await exchange(`${s.url}/v2/models/iris/infer`, { headers: { "content-type": "application/json", "content-encoding": coding }, body });
      expectJsonError(r, 400, new RegExp(`not valid ${coding} data`));
    }
  });

  it("a body that inflates past --max_buffer_size is 413, though its compressed size is within it", async () => {
    const bomb = gzipSync(Buffer.alloc(64 * LIMIT), { level: 9 });
    expect(bomb.length).toBeLessThan(LIMIT);
    const r = await exchange(`${s.url}/v2/models/iris/infer`, { headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: bomb });
    expectJsonError(r, 413, /larger than the maximum of 1048576 bytes once decompressed/);
    expect(r.headers.connection).toBe("close");
    // Just inside the limit is fine (and reaches the codec, which finds no JSON in zeros).
    const fits = await exchange(`${s.url}/v2/models/iris/infer`, { headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: gzipSync(Buffer.alloc(LIMIT - 1, 0x20)) });
    expectJsonError(fits, 400, /./);
  });

  it("a compression bomb is refused while it is still arriving: the 413 comes before the rest of the body is sent", async () => {
    const bomb = gzipSync(Buffer.alloc(256 * LIMIT), { level: 9 });
    // Declares the whole bomb, sends a quarter of it (inflating to 64 MiB) and waits.
    const { hostname, port } = new URL(s.url);
    const socket = connect(Number(port), hostname);
    await once(socket, "connect");
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => undefined);
    socket.write(
      `POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${bomb.length}\r\n\r\n`,
    );
    socket.write(bomb.subarray(0, Math.floor(bomb.length / 4)));
    await once(socket, "close");
    const raw = Buffer.concat(chunks).toString("utf8");
    expect(raw).toMatch(/^HTTP\/1\.1 413 /);
    expect(raw).toMatch(/once decompressed/);
  });

  it("a Seldon component reads compressed bodies too, and answers a corrupt one in Seldon's status body", async () => {
    class Identity {
      predict(X: unknown): unknown {
        return X;
      }
    }
    const server = new ModelServer({ httpPort: 0, host: "127.0.0.1", enableGrpc: false, seldon: true, logger: quiet });
    await server.start([new SeldonComponent(new Identity() as SeldonComponentLike, "identity")]);
    try {
      const url = `http://127.0.0.1:${server.port}`;
      const ok = await exchange(`${url}/api/v1.0/predictions`, {
        headers: { "content-type": "application/json", "content-encoding": "gzip" },
        body: gzipSync(JSON.stringify({ data: { ndarray: [[1, 2]] } })),
      });
      expect(ok.status, ok.body.toString()).toBe(200);
      expect(json(ok).data.ndarray).toEqual([[1, 2]]);
      const bad = await exchange(`${url}/api/v1.0/predictions`, { headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: "not gzip" });
      expect(bad.status).toBe(400);
      expect(bad.headers["content-type"]).toBe("application/json");
      expect(json(bad).status).toMatchObject({ code: -1, reason: "MICROSERVICE_BAD_DATA" });
      expect(json(bad).status.info).toMatch(/not valid gzip data/);
    } finally {
      await server.stop();
    }
  });
});

describe("model uploads sent compressed", () => {
  let root: string;
  let s: Running;
  const TOKEN = "compression-test-token";

  beforeAll(async () => {
    root = await tempRepo();
    s = await startWith({ modelRepository: root, adminToken: TOKEN, maxBufferSize: 4096, maxUploadSize: LIMIT, enableGrpc: false });
  });
  afterAll(async () => {
    await s?.server.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const upload = (archive: Buffer) =>
    exchange(`${s.url}/v2/repository/models/scale/upload`, {
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/x-tar", "content-encoding": "deflate" },
      body: deflateSync(archive),
    });

  it("are inflated too, their inflated size counting against --max_upload_size rather than --max_buffer_size", async () => {
    const onnx = await readFile(join(SCALE_DIR, "1", "model.onnx"));
    // 200 KB once inflated: far past --max_buffer_size (4 KiB), within --max_upload_size (1 MiB).
    const ok = await upload(await tar([file("1/model.onnx", onnx), file("notes.txt", "n".repeat(200_000))]));
    expect(ok.status, ok.body.toString()).toBe(200);
    expect(json(ok)).toMatchObject({ name: "scale", state: "READY" });
    const r = await exchange(`${s.url}/v2/models/scale/infer`, { headers: { "content-type": "application/json" }, body: JSON.stringify({ inputs: [{ name: "x", shape: [1], datatype: "FP32", data: [1] }] }) });
    expect(r.status, r.body.toString()).toBe(200);

    const tooBig = await upload(await tar([file("1/model.onnx", onnx), file("notes.txt", "n".repeat(2 * LIMIT))]));
    expectJsonError(tooBig, 413, /--max_upload_size/);
  });
});

describe("answers compressed for Accept-Encoding", () => {
  let s: Running;
  /** A V1 answer well past the size worth compressing: 60 rows of iris predictions. */
  const BIG_V1 = JSON.stringify({ instances: Array.from({ length: 60 }, () => IRIS_ROW) });

  beforeAll(async () => {
    s = await startWith({ dirs: [IRIS_DIR, SCALE_DIR], enableGrpc: false });
  });
  afterAll(async () => {
    await s?.server.stop();
  });

  const predict = (acceptEncoding?: string) =>
    exchange(`${s.url}/v1/models/iris:predict`, {
      headers: { "content-type": "application/json", ...(acceptEncoding === undefined ? {} : { "accept-encoding": acceptEncoding }) },
      body: BIG_V1,
    });

  it("gzip and deflate (zlib-wrapped, as Python's zlib.decompress and tritonclient need) by Accept-Encoding, with Vary", async () => {
    const plain = await predict();
    expect(plain.status).toBe(200);
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.headers.vary).toBe("Accept-Encoding");
    for (const coding of ["gzip", "deflate"]) {
      const r = await predict(coding);
      expect(r.status).toBe(200);
      expect(r.headers["content-encoding"]).toBe(coding);
      expect(r.headers.vary).toBe("Accept-Encoding");
      expect(r.headers["content-type"]).toBe("application/json");
      expect(Number(r.headers["content-length"])).toBe(r.body.length);
      expect(r.body.length).toBeLessThan(plain.body.length);
      expect(inflatedAsTritonClient(r).equals(plain.body)).toBe(true);
    }
  });

  it("q-values choose: the highest supported one wins, gzip on a tie; q=0, identity preferred or nothing supported means no compression", async () => {
    const cases: [string, string | undefined][] = [
      ["gzip, deflate", "gzip"],
      ["deflate, gzip", "gzip"],
      ["deflate;q=1.0, gzip;q=0.5", "deflate"],
      ["gzip;q=0, deflate", "deflate"],
      ["br, gzip;q=0.1", "gzip"],
      ["*", "gzip"],
      ["*;q=0.5, gzip;q=0", "deflate"],
      ["identity", undefined],
      ["gzip;q=0.5, identity", undefined],
      ["gzip;q=0, deflate;q=0", undefined],
      ["br, zstd", undefined],
      ["", undefined],
    ];
    for (const [accept, expected] of cases) {
      const r = await predict(accept);
      expect(r.status).toBe(200);
      expect(r.headers["content-encoding"], accept).toBe(expected);
    }
  });

  it("a binary V2 answer keeps Inference-Header-Content-Length counting the uncompressed body, as Triton's does", async () => {
    const x = Float32Array.from({ length: 1000 }, (_, i) => i * 0.5);
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: "x", shape: [1000], datatype: "FP32", parameters: { binary_data_size: 4000 } }], outputs: [{ name: "y", parameters: { binary_data: true } }] }));
    const r = await exchange(`${s.url}/v2/models/scale/infer`, {
      headers: { "content-type": "application/octet-stream", "inference-header-content-length": String(header.length), "accept-encoding": "gzip" },
      body: Buffer.concat([header, Buffer.from(x.buffer)]),
    });
    expect(r.status, r.body.toString()).toBe(200);
    expect(r.headers["content-encoding"]).toBe("gzip");
    const { header: answer, blobs } = splitBinaryResponse(gunzipSync(r.body), Number(r.headers["inference-header-content-length"]));
    expect(answer.outputs[0].name).toBe("y");
    expect(readFloat32(blobs.y)).toEqual(await scaleExpected(s.url));
  });

  it("errors are never compressed (tritonclient reads an error body without inflating it); small answers go as they are", async () => {
    const name = "m".repeat(1000);
    const missing = await exchange(`${s.url}/v2/models/${name}`, { method: "GET", headers: { "accept-encoding": "gzip" } });
    expect(missing.status).toBe(404);
    expect(missing.headers["content-encoding"]).toBeUndefined();
    expect(missing.body.length).toBeGreaterThan(1024);
    expect(json(missing).error).toContain(name);
    const live = await exchange(`${s.url}/v2/health/live`, { method: "GET", headers: { "accept-encoding": "gzip" } });
    expect(live.status).toBe(200);
    expect(live.headers["content-encoding"]).toBeUndefined();
    expect(json(live)).toEqual({ live: true });
  });

  it("fetch (which asks for gzip and inflates by itself) reads the same answers", async () => {
    const r = await fetch(`${s.url}/v1/models/iris:predict`, { method: "POST", headers: { "content-type": "application/json" }, body: BIG_V1 });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-encoding")).toBe("gzip");
    expect(((await r.json()) as { predictions: unknown[] }).predictions).toHaveLength(60);
  });
});

describe("tserve's REST client: requestCompression and responseCompression, as tritonclient's", () => {
  let s: Running;

  beforeAll(async () => {
    s = await startWith({ dirs: [SCALE_DIR], enableGrpc: false });
  });
  afterAll(async () => {
    await s?.server.stop();
  });

  it("sends a compressed body with Content-Encoding, asks for a compressed answer and reads it, on either transport", async () => {
    const x = Float32Array.from({ length: 1000 }, (_, i) => i * 0.5);
    const expected = await scaleExpected(s.url);
    const sent: { headers: Record<string, string>; body: Buffer }[] = [];
    const recording = async (input: string, init: RequestInit) => {
      sent.push({ headers: init.headers as Record<string, string>, body: Buffer.from(init.body as Uint8Array) });
      return fetch(input, init);
    };
    const cases: ["gzip" | "deflate", InferenceRESTClient][] = [
      ["gzip", new InferenceRESTClient(s.url, { requestCompression: "gzip", responseCompression: "gzip" })],
      ["deflate", new InferenceRESTClient(s.url, { requestCompression: "deflate", responseCompression: "deflate" })],
      ["gzip", new InferenceRESTClient(s.url, { requestCompression: "gzip", responseCompression: "deflate", fetch: recording })],
    ];
    for (const [coding, client] of cases) {
      try {
        const result = await client.infer("scale", [new InferInput("x", [1000], "FP32", x)]);
        expect(Array.from(result.asTypedArray("y") as Float32Array)).toEqual(expected);
        // Per call, either way round.
        const plain = await client.infer("scale", [new InferInput("x", [1000], "FP32", x)], { requestCompression: coding === "gzip" ? "deflate" : "gzip" });
        expect(Array.from(plain.asTypedArray("y") as Float32Array)).toEqual(expected);
      } finally {
        client.close();
      }
    }
    expect(sent[0].headers["content-encoding"]).toBe("gzip");
    expect(sent[0].headers["accept-encoding"]).toBe("deflate");
    expect(gunzipSync(sent[0].body).length).toBeGreaterThan(4000);
    expect(() => new InferenceRESTClient(s.url, { requestCompression: "br" as never })).toThrow(/gzip" or "deflate/);
  });
});

describe("gRPC messages compressed with gzip or deflate", () => {
  let s: Running;

  beforeAll(async () => {
    s = await startWith({ dirs: [IRIS_DIR] });
  });
  afterAll(async () => {
    await s?.server.stop();
  });

  const irisRequest = { model_name: "iris", inputs: [{ name: "input", datatype: "FP32", shape: ["1", "4"] }], raw_input_contents: [f32(IRIS_ROW)] };

  it("a client channel with grpc.default_compression_algorithm = gzip (or deflate) is answered", async () => {
    for (const algorithm of [1, 2]) {
      const client = grpcClient(s.server.grpcPort!, { "grpc.default_compression_algorithm": algorithm });
      try {
        expect(await client.call("ServerReady")).toEqual({ ready: true });
        const res = await client.call<any>("ModelInfer", irisRequest);
        expect(res.outputs[0].shape.map(Number)).toEqual([1, 3]);
        expect(res.raw_output_contents[0].length).toBe(12);
      } finally {
        client.close();
      }
    }
  });

  /** A ModelInfer call written frame by frame: the message compressed with `coding`, the compressed flag set. */
  async function rawCompressedInfer(
    coding: "gzip" | "deflate",
    port = s.server.grpcPort!,
    request: unknown = irisRequest,
  ): Promise<{ status: string | undefined; details: string | undefined; message: Buffer }> {
    const method = (inferencePackageDefinition()["inference.GRPCInferenceService"] as Record<string, { requestSerialize(v: unknown): Buffer }>).ModelInfer;
    const message = method.requestSerialize(request);
    // gRPC's deflate is the zlib format, like HTTP's.
    const compressed = coding === "gzip" ? gzipSync(message) : deflateSync(message);
    const prefix = Buffer.alloc(5);
    prefix[0] = 1;
    prefix.writeUInt32BE(compressed.length, 1);
    const session = http2Connect(`http://127.0.0.1:${port}`);
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": "/inference.GRPCInferenceService/ModelInfer",
        "content-type": "application/grpc",
        te: "trailers",
        "grpc-encoding": coding,
        "grpc-accept-encoding": "identity",
      });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let details: string | undefined;
      const statusOf = (h: Record<string, unknown>) => {
        if (h["grpc-status"] !== undefined) status = String(h["grpc-status"]);
        if (h["grpc-message"] !== undefined) details = decodeURIComponent(String(h["grpc-message"]));
      };
      stream.on("response", statusOf); // a trailers-only answer
      stream.on("trailers", statusOf);
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.end(Buffer.concat([prefix, compressed]));
      await once(stream, "close");
      return { status, details, message: Buffer.concat(chunks) };
    } finally {
      session.close();
    }
  }

  for (const coding of ["gzip", "deflate"] as const) {
    it(`a ModelInfer message sent ${coding}-compressed (grpc-encoding: ${coding}), as tritonclient.grpc's compression_algorithm sends it, is answered`, async () => {
      const { status, message } = await rawCompressedInfer(coding);
      expect(status).toBe(String(Code.OK));
      expect(message[0]).toBe(0); // the answer comes uncompressed, as asked
      const method = (inferencePackageDefinition()["inference.GRPCInferenceService"] as Record<string, { responseDeserialize(b: Buffer): any }>).ModelInfer;
      const res = method.responseDeserialize(message.subarray(5, 5 + message.readUInt32BE(1)));
      expect(res.model_name).toBe("iris");
      expect(res.raw_output_contents[0].length).toBe(12);
    });
  }

  it("a message that inflates past the gRPC receive limit is RESOURCE_EXHAUSTED, though it is small on the wire", async () => {
    const small = await startWith({ dirs: [IRIS_DIR], enableGrpc: true, grpcMaxReceiveMessageLength: 64 * 1024 });
    try {
      const zeros = { model_name: "iris", inputs: [{ name: "input", datatype: "FP32", shape: ["1", "4"] }], raw_input_contents: [Buffer.alloc(LIMIT)] };
      const { status, details } = await rawCompressedInfer("gzip", small.server.grpcPort!, zeros);
      expect(status).toBe(String(Code.RESOURCE_EXHAUSTED));
      expect(details).toMatch(/decompresses to a size larger than 65536/);
    } finally {
      await small.server.stop();
    }
  });
});
