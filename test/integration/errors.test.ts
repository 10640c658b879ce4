import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  binaryBody,
  expectError,
  float32Bytes,
  get,
  IRIS_DIR,
  MULTI_IO_DIR,
  post,
  postBytes,
  type Reply,
  type Running,
  rawRequest,
  SCALE_ALL_DIR,
  startWith,
  TYPES_DIR,
} from "./util.ts";

const GOOD_ROW = [6.8, 2.8, 4.8, 1.4];
const GOOD_V2 = { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: GOOD_ROW }] };

function toReply(r: { status: number; headers: Headers; bytes: Buffer }): Reply {
  const text = r.bytes.toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, json };
}

describe('errors: {"error": message}, the right status, and the server keeps serving', () => {
  let running: Running;
  let url: string;
  let small: Running;
  const SMALL_LIMIT = 2048;

  beforeAll(async () => {
    running = await startWith({ dirs: [IRIS_DIR, MULTI_IO_DIR, TYPES_DIR, SCALE_ALL_DIR] });
    url = running.url;
    small = await startWith({ dirs: [IRIS_DIR], maxBufferSize: SMALL_LIMIT });
  });
  afterAll(async () => {
    await running?.server.stop();
    await small?.server.stop();
  });

  /** After every error, a good V1 and a good V2 request must still succeed. */
  afterEach(async () => {
    for (const base of [url, small.url]) {
      const v2 = await post(`${base}/v2/models/iris/infer`, GOOD_V2);
      expect(v2.status, v2.text).toBe(200);
      expect(v2.json.outputs[0].shape).toEqual([1, 3]);
      const v1 = await post(`${base}/v1/models/iris:predict`, { instances: [GOOD_ROW] });
      expect(v1.status, v1.text).toBe(200);
      expect(v1.json.predictions).toHaveLength(1);
    }
  });

  describe("malformed requests", () => {
    it("malformed JSON on V2 infer is 400", async () => {
      const msg = expectError(await post(`${url}/v2/models/iris/infer`, '{"inputs": [ {"name": "input",'), 400);
      expect(msg).toMatch(/JSON/);
    });

    it("malformed JSON on V1 predict is 400", async () => {
      const msg = expectError(await post(`${url}/v1/models/iris:predict`, "{instances: [[1,2,3,4]]}"), 400);
      expect(msg).toMatch(/JSON/);
    });

    it("an empty body is 400 on V1 and V2", async () => {
      expectError(await post(`${url}/v2/models/iris/infer`, ""), 400);
      expectError(await post(`${url}/v1/models/iris:predict`, ""), 400);
    });

    it("a V2 body that is not an object, or without an inputs list, is 400", async () => {
      expectError(await post(`${url}/v2/models/iris/infer`, [1, 2, 3]), 400);
      expectError(await post(`${url}/v2/models/iris/infer`, { inputs: "input" }), 400, "inputs");
      expectError(await post(`${url}/v2/models/iris/infer`, { inputs: [] }), 400, "inputs");
    });

    it("an unknown datatype is 400 and names it", async () => {
      const r = await post(`${url}/v2/models/iris/infer`, {
        inputs: [{ name: "input", shape: [1, 4], datatype: "FLOAT32", data: GOOD_ROW }],
      });
      expectError(r, 400, "input", "FLOAT32");
    });

    it("a negative or fractional dimension is 400", async () => {
      const r = await post(`${url}/v2/models/iris/infer`, {
        inputs: [{ name: "input", shape: [-1, 4], datatype: "FP32", data: GOOD_ROW }],
      });
      expectError(r, 400, "input");
    });

    it("the same input twice is 400", async () => {
      const r = await post(`${url}/v2/models/iris/infer`, { inputs: [GOOD_V2.inputs[0], GOOD_V2.inputs[0]] });
      expectError(r, 400, "input");
    });

    it("a non-number in FP32 data is 400 and names the input", async () => {
      const r = await post(`${url}/v2/models/iris/infer`, {
        inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [1, "two", 3, 4] }],
      });
      expectError(r, 400, "input");
    });

    it("an out-of-range UINT8 value is 400 and names the input", async () => {
      const r = await post(`${url}/v2/models/types/infer`, {
        inputs: [
          { name: "i64", shape: [1], datatype: "INT64", data: [1] },
          { name: "i32", shape: [1], datatype: "INT32", data: [1] },
          { name: "u8", shape: [1], datatype: "UINT8", data: [256] },
          { name: "f64", shape: [1], datatype: "FP64", data: [1] },
          { name: "flag", shape: [1], datatype: "BOOL", data: [true] },
          { name: "f16", shape: [1], datatype: "FP16", data: [1] },
          { name: "text", shape: [1], datatype: "BYTES", data: ["x"] },
        ],
      });
      expectError(r, 400, "u8", "256");
    });
  });

  describe("requests the model cannot take", () => {
    it("INT32 sent to an FP32 input is 400 and names the input and both types", async () => {
      const r = await post(`${url}/v2/models/iris/infer`, {
        inputs: [{ name: "input", shape: [1, 4], datatype: "INT32", data: [7, 3, 5, 2] }],
      });
      expectError(r, 400, "input", "INT32", "FP32");
    });

    it("data length != product(shape) is 400 and names the input", async () => {
      const r = await post(`${url}/v2/models/iris/infer`, {
        inputs: [{ name: "input", shape: [2, 4], datatype: "FP32", data: GOOD_ROW }],
      });
      expectError(r, 400, "input");
    });

    it("a shape the model does not accept is 400 and names the input", async () => {
      const wrongWidth = await post(`${url}/v2/models/iris/infer`, {
        inputs: [{ name: "input", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }],
      });
      expectError(wrongWidth, 400, "input", "[1,3]");
      const wrongRank = await post(`${url}/v2/models/iris/infer`, {
        inputs: [{ name: "input", shape: [4], datatype: "FP32", data: GOOD_ROW }],
      });
      expectError(wrongRank, 400, "input");
    });

    it("a V1 row with the wrong width is 400 and names the input", async () => {
      expectError(await post(`${url}/v1/models/iris:predict`, { instances: [[1, 2, 3]] }), 400, "input");
    });

    it("ragged V1 instances are 400", async () => {
      expectError(
        await post(`${url}/v1/models/iris:predict`, {
          instances: [
            [1, 2, 3, 4],
            [1, 2],
          ],
        }),
        400,
        "input",
      );
    });

    it("a missing input is 400 and names it", async () => {
      const r = await post(`${url}/v2/models/multi_io/infer`, {
        inputs: [{ name: "a", shape: [1, 2], datatype: "FP32", data: [1, 2] }],
      });
      expectError(r, 400, "'b'");
    });

    it("an input the model does not have is 400 and names it", async () => {
      const r = await post(`${url}/v2/models/iris/infer`, {
        inputs: [GOOD_V2.inputs[0], { name: "extra_feature", shape: [1], datatype: "FP32", data: [1] }],
      });
      expectError(r, 400, "extra_feature");
    });

    it("an unknown output name is 400 and names it", async () => {
      const r = await post(`${url}/v2/models/iris/infer`, { ...GOOD_V2, outputs: [{ name: "logits_typo" }] });
      expectError(r, 400, "logits_typo");
    });

    it("a missing input named in V1 instances is 400 and names it", async () => {
      const r = await post(`${url}/v1/models/multi_io:predict`, { instances: [{ a: [1, 2] }] });
      expectError(r, 400, "'b'");
    });
  });

  describe("not found", () => {
    it("an unknown model is 404 on V2 infer, metadata and ready, and on V1", async () => {
      const body = { inputs: [{ name: "x", shape: [1], datatype: "FP32", data: [1] }] };
      expectError(await post(`${url}/v2/models/no_such_model/infer`, body), 404, "no_such_model");
      expectError(await get(`${url}/v2/models/no_such_model`), 404, "no_such_model");
      expectError(await get(`${url}/v2/models/no_such_model/ready`), 404, "no_such_model");
      expectError(await post(`${url}/v1/models/no_such_model:predict`, { instances: [[1]] }), 404, "no_such_model");
    });

    it("an unknown version is 404 and names model and version", async () => {
      const body = { inputs: [{ name: "x", shape: [1], datatype: "FP32", data: [1] }] };
      expectError(await post(`${url}/v2/models/scale/versions/42/infer`, body), 404, "scale", "42");
      expectError(await get(`${url}/v2/models/scale/versions/42`), 404, "scale", "42");
      expectError(await post(`${url}/v1/models/scale/versions/42:predict`, { instances: [1] }), 404, "scale", "42");
    });

    it("a non-numeric version is 400 and names it", async () => {
      const body = { inputs: [{ name: "x", shape: [1], datatype: "FP32", data: [1] }] };
      expectError(await post(`${url}/v2/models/scale/versions/latest/infer`, body), 400, "latest");
      expectError(await get(`${url}/v2/models/scale/versions/v2`), 400, "v2");
      expectError(await post(`${url}/v1/models/scale/versions/abc:predict`, { instances: [1] }), 400, "abc");
    });

    it('a malformed percent-encoding in the URL is 400 with an {"error"} body', async () => {
      expectError(await get(`${url}/v2/models/%E0%A4%A`), 400);
      expectError(await post(`${url}/v2/models/%E0%A4%A/infer`, GOOD_V2), 400);
      expectError(await post(`${url}/v1/models/%E0%A4%A:predict`, { instances: [GOOD_ROW] }), 400);
    });

    it("an unknown route is 404 with an error body", async () => {
      expectError(await get(`${url}/no/such/route`), 404, "/no/such/route");
      expectError(await post(`${url}/v2/models/iris/frobnicate`, {}), 404);
      expectError(await get(`${url}/v3`), 404);
    });
  });

  describe("body size", () => {
    it("a body over maxBufferSize is 413 with an error body", async () => {
      const big = { inputs: [{ name: "input", shape: [200, 4], datatype: "FP32", data: new Array(800).fill(1.2345) }] };
      expect(JSON.stringify(big).length).toBeGreaterThan(SMALL_LIMIT);
      const msg = expectError(await post(`${small.url}/v2/models/iris/infer`, big), 413);
      expect(msg).toContain(String(SMALL_LIMIT));
      expectError(await post(`${small.url}/v1/models/iris:predict`, { instances: big.inputs[0].data }), 413);
      // The same body is fine on the server with the default limit.
      expect((await post(`${url}/v2/models/iris/infer`, big)).status).toBe(200);
    });

    it("a chunked body over maxBufferSize is 413 too", async () => {
      const body = JSON.stringify({ instances: new Array(400).fill(GOOD_ROW) });
      const r = await rawRequest(`${small.url}/v1/models/iris:predict`, {
        headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
        body,
      });
      expect(r.status).toBe(413);
      expect(Object.keys(JSON.parse(r.text))).toEqual(["error"]);
    });
  });

  describe("binary extension errors", () => {
    const infer = (base: string, body: Uint8Array, headerLength: number | string) =>
      postBytes(`${base}/v2/models/iris/infer`, body, { "inference-header-content-length": String(headerLength) }).then(
        toReply,
      );

    it("Inference-Header-Content-Length larger than the body is 400", async () => {
      const { body } = binaryBody(GOOD_V2, []);
      expectError(await infer(url, body, body.byteLength + 100), 400, "Inference-Header-Content-Length");
    });

    it("a non-numeric Inference-Header-Content-Length is 400", async () => {
      const { body } = binaryBody(GOOD_V2, []);
      expectError(await infer(url, body, "lots"), 400, "Inference-Header-Content-Length");
    });

    it("an Inference-Header-Content-Length that cuts the JSON short is 400", async () => {
      const { body, headerLength } = binaryBody(GOOD_V2, []);
      expectError(await infer(url, body, headerLength - 5), 400);
    });

    it("binary_data_size larger than the bytes sent is 400 and names the input", async () => {
      const blob = float32Bytes(GOOD_ROW).subarray(0, 12);
      const { body, headerLength } = binaryBody(
        { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", parameters: { binary_data_size: 16 } }] },
        [blob],
      );
      expectError(await infer(url, body, headerLength), 400, "input", "16");
    });

    it("binary_data_size that does not fit the shape and datatype is 400 and names the input", async () => {
      const blob = float32Bytes(GOOD_ROW).subarray(0, 12);
      const { body, headerLength } = binaryBody(
        { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", parameters: { binary_data_size: 12 } }] },
        [blob],
      );
      expectError(await infer(url, body, headerLength), 400, "input", "12");
    });

    it("bytes left over after the declared binary inputs are 400", async () => {
      const blob = float32Bytes([...GOOD_ROW, 9]);
      const { body, headerLength } = binaryBody(
        { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", parameters: { binary_data_size: 16 } }] },
        [blob],
      );
      expectError(await infer(url, body, headerLength), 400);
    });

    it("both data and binary_data_size on one input is 400 and names it", async () => {
      const blob = float32Bytes(GOOD_ROW);
      const { body, headerLength } = binaryBody(
        {
          inputs: [
            { name: "input", shape: [1, 4], datatype: "FP32", data: GOOD_ROW, parameters: { binary_data_size: 16 } },
          ],
        },
        [blob],
      );
      expectError(await infer(url, body, headerLength), 400, "input");
    });

    it("a truncated BYTES element in binary is 400 and names the input", async () => {
      const bad = Buffer.alloc(6);
      bad.writeUInt32LE(10, 0); // claims 10 bytes, only 2 follow
      const { body, headerLength } = binaryBody(
        {
          inputs: [
            { name: "i64", shape: [1], datatype: "INT64", data: [1] },
            { name: "i32", shape: [1], datatype: "INT32", data: [1] },
            { name: "u8", shape: [1], datatype: "UINT8", data: [1] },
            { name: "f64", shape: [1], datatype: "FP64", data: [1] },
            { name: "flag", shape: [1], datatype: "BOOL", data: [true] },
            { name: "f16", shape: [1], datatype: "FP16", data: [1] },
            { name: "text", shape: [1], datatype: "BYTES", parameters: { binary_data_size: 6 } },
          ],
        },
        [bad],
      );
      const r = toReply(
        await postBytes(`${url}/v2/models/types/infer`, body, {
          "inference-header-content-length": String(headerLength),
        }),
      );
      expectError(r, 400, "text");
    });
  });
});
