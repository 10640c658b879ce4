/**
 * BYTES elements reach a model and come back byte for byte, over every wire that carries raw bytes: TF Serving's
 * `{"b64": …}` (V1), V2 JSON and the binary extension, gRPC `bytes_contents` and raw contents. An ONNX string
 * tensor holds text only (onnxruntime-node passes NUL-terminated UTF-8 strings), so an element it cannot hold
 * exactly is refused with a 400 naming the input and the element, never changed; a TypeScript model gets the bytes.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import EchoModel from "../fixtures/modules/echo.ts";
import { Code, expectStatus, type GrpcClient, grpcClient } from "./grpc-util.ts";
import {
  binaryBody,
  expectError,
  FIXTURE_MODELS,
  post,
  postBytes,
  type Running,
  splitBinaryResponse,
  startWith,
  tempRepo,
} from "./util.ts";

const STRINGS_DIR = join(FIXTURE_MODELS, "strings");

/** `\x00\xffbin`: a NUL byte and a byte that is not UTF-8. */
const NUL_AND_FF = Buffer.from([0x00, 0xff, 0x62, 0x69, 0x6e]);
/** `\xff\xfeab`: a UTF-16 byte-order mark, not UTF-8. */
const FF_FE = Buffer.from([0xff, 0xfe, 0x61, 0x62]);
/** Valid UTF-8 that a lossy decode would change: a leading byte-order mark, accents, a 4-byte character, empty. */
const TEXTS = ["\ufeffbom first", "héllo wörld ✓", "emoji 🎉", ""];

/** BYTES elements on the wire: a 4-byte little-endian length before each element. */
function lengthPrefixed(parts: Uint8Array[]): Buffer {
  return Buffer.concat(
    parts.flatMap((p) => {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(p.byteLength, 0);
      return [len, Buffer.from(p)];
    }),
  );
}

const b64 = (b: Uint8Array) => ({ b64: Buffer.from(b).toString("base64") });
const utf8 = (s: string) => Buffer.from(s, "utf8");

describe("exact bytes into and out of BYTES tensors", () => {
  let running: Running;
  let url: string;
  let client: GrpcClient;

  beforeAll(async () => {
    running = await startWith({ dirs: [STRINGS_DIR], models: [new EchoModel("echo")] });
    url = running.url;
    client = grpcClient(running.server.grpcPort!);
  });
  afterAll(async () => {
    client?.close();
    await running?.server.stop();
  });

  /** A V2 binary-extension request with one BYTES input, every output asked for in binary. */
  async function inferBinary(model: string, input: string, parts: Uint8Array[]) {
    const blob = lengthPrefixed(parts);
    const { body, headerLength } = binaryBody(
      {
        inputs: [{ name: input, datatype: "BYTES", shape: [parts.length], parameters: { binary_data_size: blob.byteLength } }],
        parameters: { binary_data_output: true },
      },
      [blob],
    );
    return postBytes(`${url}/v2/models/${model}/infer`, body, { "inference-header-content-length": String(headerLength) });
  }

  describe("ONNX string tensor (text -> Identity -> text_bytes)", () => {
    it("V1 {b64}: valid UTF-8 comes back as the same bytes", async () => {
      const parts = TEXTS.map(utf8);
      const r = await post(`${url}/v1/models/strings:predict`, { instances: parts.map(b64) });
      expect(r.status, r.text).toBe(200);
      expect(r.json).toEqual({ predictions: parts.map(b64) });
    });

    it("V1 {b64}: a NUL byte or bytes that are not UTF-8 are a 400 naming the input and element, not a corrupted 200", async () => {
      const nul = await post(`${url}/v1/models/strings:predict`, { instances: [b64(utf8("fine")), b64(NUL_AND_FF)] });
      expectError(nul, 400, "Input 'text' element 1");
      const notUtf8 = await post(`${url}/v1/models/strings:predict`, { instances: [b64(FF_FE)] });
      expectError(notUtf8, 400, "Input 'text' element 0 is not valid UTF-8", "ONNX string tensor");
      const nulOnly = await post(`${url}/v1/models/strings:predict`, { instances: [b64(utf8("a\u0000b"))] });
      expectError(nulOnly, 400, "Input 'text' element 0", "NUL byte");
    });

    it("V2 binary extension: valid UTF-8 elements come back as the same length-prefixed bytes", async () => {
      const parts = TEXTS.map(utf8);
      const r = await inferBinary("strings", "text", parts);
      expect(r.status, r.bytes.toString()).toBe(200);
      const { header, blobs } = splitBinaryResponse(r.bytes, Number(r.headers.get("inference-header-content-length")));
      expect(header.outputs[0]).toMatchObject({ name: "text_bytes", datatype: "BYTES", shape: [parts.length] });
      expect(blobs.text_bytes.equals(lengthPrefixed(parts))).toBe(true);
    });

    it("V2 binary extension: bytes the string tensor cannot hold are a 400 naming the input", async () => {
      expectError(await toReply(await inferBinary("strings", "text", [NUL_AND_FF])), 400, "Input 'text' element 0", "NUL");
      expectError(await toReply(await inferBinary("strings", "text", [utf8("ok"), FF_FE])), 400, "Input 'text' element 1", "not valid UTF-8");
    });

    it("V2 JSON: text comes back as the same text (a leading U+FEFF included)", async () => {
      const r = await post(`${url}/v2/models/strings/infer`, {
        inputs: [{ name: "text", datatype: "BYTES", shape: [TEXTS.length], data: TEXTS }],
      });
      expect(r.status, r.text).toBe(200);
      expect(r.json.outputs[0]).toEqual({ name: "text_bytes", datatype: "BYTES", shape: [TEXTS.length], data: TEXTS });
    });

    it("V2 JSON: a NUL character or a lone surrogate is a 400 naming the input", async () => {
      const nul = await post(`${url}/v2/models/strings/infer`, {
        inputs: [{ name: "text", datatype: "BYTES", shape: [1], data: ["\u0000\u00ffbin"] }],
      });
      expectError(nul, 400, "Input 'text' element 0", "NUL");
      // JSON.stringify would escape the surrogate the same way; written by hand to be plain about what is sent.
      const lone = await post(
        `${url}/v2/models/strings/infer`,
        '{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["a\\ud800b"]}]}',
      );
      expectError(lone, 400, "Input 'text'", "element 0", "surrogate");
    });

    it("gRPC bytes_contents and raw contents: valid UTF-8 comes back exact, other bytes are INVALID_ARGUMENT", async () => {
      const parts = TEXTS.map(utf8);
      const viaContents = await client.infer({
        model_name: "strings",
        inputs: [{ name: "text", datatype: "BYTES", shape: [parts.length], contents: { bytes_contents: parts } }],
      });
      expect(Buffer.from(viaContents.raw_output_contents![0]).equals(lengthPrefixed(parts))).toBe(true);

      const viaRaw = await client.infer({
        model_name: "strings",
        inputs: [{ name: "text", datatype: "BYTES", shape: [parts.length] }],
        raw_input_contents: [lengthPrefixed(parts)],
      });
      expect(Buffer.from(viaRaw.raw_output_contents![0]).equals(lengthPrefixed(parts))).toBe(true);

      const nul = await client.fail("ModelInfer", {
        model_name: "strings",
        inputs: [{ name: "text", datatype: "BYTES", shape: [1], contents: { bytes_contents: [NUL_AND_FF] } }],
      });
      expectStatus(nul, Code.INVALID_ARGUMENT, "Input 'text' element 0", "NUL");
      const notUtf8 = await client.fail("ModelInfer", {
        model_name: "strings",
        inputs: [{ name: "text", datatype: "BYTES", shape: [2] }],
        raw_input_contents: [lengthPrefixed([utf8("ok"), FF_FE])],
      });
      expectStatus(notUtf8, Code.INVALID_ARGUMENT, "Input 'text' element 1 is not valid UTF-8");
    });
  });

  describe("TypeScript model (echo): any bytes, exactly", () => {
    it("V2 binary extension: NUL and non-UTF-8 bytes reach the model and come back unchanged", async () => {
      const parts = [NUL_AND_FF, FF_FE, utf8("text")];
      const r = await inferBinary("echo", "raw", parts);
      expect(r.status, r.bytes.toString()).toBe(200);
      const { blobs } = splitBinaryResponse(r.bytes, Number(r.headers.get("inference-header-content-length")));
      expect(blobs.raw_echo.equals(lengthPrefixed(parts))).toBe(true);
    });

    it("gRPC bytes_contents: NUL and non-UTF-8 bytes reach the model and come back unchanged", async () => {
      const parts = [NUL_AND_FF, FF_FE];
      const res = await client.infer({
        model_name: "echo",
        inputs: [{ name: "raw", datatype: "BYTES", shape: [2], contents: { bytes_contents: parts } }],
      });
      const i = (res.outputs ?? []).findIndex((o) => o.name === "raw_echo");
      expect(Buffer.from(res.raw_output_contents![i]).equals(lengthPrefixed(parts))).toBe(true);
    });
  });
});

describe("an ONNX string model with adaptive batching", () => {
  let running: Running;

  beforeAll(async () => {
    const root = await tempRepo({ strings: STRINGS_DIR });
    // A long queue delay: requests sent together are merged into one run.
    await writeFile(join(root, "strings", "model-settings.json"), JSON.stringify({ maxBatchSize: 8, maxQueueDelayMicroseconds: 300_000 }));
    running = await startWith({ modelRepository: root });
  });
  afterAll(async () => running?.server.stop());

  it("refuses the request with a NUL byte on its own: the requests sent beside it are answered", async () => {
    const infer = (data: string[]) =>
      post(`${running.url}/v2/models/strings/infer`, { inputs: [{ name: "text", datatype: "BYTES", shape: [data.length], data }] });
    const [good, bad, alsoGood] = await Promise.all([infer(["a", "b"]), infer(["x\u0000y"]), infer(["c"])]);
    expect(good.status, good.text).toBe(200);
    expect(good.json.outputs[0].data).toEqual(["a", "b"]);
    expect(alsoGood.json.outputs[0].data).toEqual(["c"]);
    expectError(bad, 400, "Input 'text' element 0", "NUL");
  });
});

/** A binary-request reply as util's Reply, for expectError. */
async function toReply(r: { status: number; headers: Headers; bytes: Buffer }) {
  const text = r.bytes.toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, json };
}
