import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  binaryBody,
  bytesElements,
  expectClose,
  FIXTURES,
  float32Bytes,
  IRIS_DIR,
  MULTI_IO_DIR,
  parseBytesElements,
  post,
  postBytes,
  type Running,
  readFloat32,
  readJson,
  splitBinaryResponse,
  startWith,
  TYPES_DIR,
} from "./util.ts";

/** JSON-encoded inputs for every types-model input except the ones given. */
function typesInputs(except: string[] = []): Record<string, unknown>[] {
  const all = [
    { name: "i64", shape: [2], datatype: "INT64", data: [5, -6] },
    { name: "i32", shape: [2], datatype: "INT32", data: [1, 2] },
    { name: "u8", shape: [2], datatype: "UINT8", data: [3, 250] },
    { name: "f64", shape: [2], datatype: "FP64", data: [1, 2] },
    { name: "flag", shape: [2], datatype: "BOOL", data: [true, false] },
    { name: "f16", shape: [2], datatype: "FP16", data: [1, 2] },
    { name: "text", shape: [2], datatype: "BYTES", data: ["a", "b"] },
  ];
  return all.filter((t) => !except.includes(t.name));
}

describe("V2 binary tensor data extension", () => {
  let running: Running;
  let url: string;
  let expected: { tolerance: number; inputs: number[][]; probabilities: number[][] };

  beforeAll(async () => {
    running = await startWith({ dirs: [IRIS_DIR, MULTI_IO_DIR, TYPES_DIR] });
    url = running.url;
    expected = await readJson(join(FIXTURES, "iris-expected.json"));
  });
  afterAll(async () => running?.server.stop());

  it("accepts binary inputs and answers in JSON by default", async () => {
    const rows = expected.inputs;
    const blob = float32Bytes(rows.flat());
    const { body, headerLength } = binaryBody(
      {
        inputs: [
          {
            name: "input",
            shape: [rows.length, 4],
            datatype: "FP32",
            parameters: { binary_data_size: blob.byteLength },
          },
        ],
      },
      [blob],
    );
    const r = await postBytes(`${url}/v2/models/iris/infer`, body, {
      "inference-header-content-length": String(headerLength),
    });
    expect(r.status, r.bytes.toString()).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    expect(r.headers.get("inference-header-content-length")).toBeNull();
    const json = JSON.parse(r.bytes.toString("utf8"));
    expect(json.outputs[0].shape).toEqual([rows.length, 3]);
    expectClose(json.outputs[0].data, expected.probabilities.flat(), expected.tolerance);
  });

  it("returns every output in binary with binary_data_output, equal to the JSON answer", async () => {
    const request = {
      inputs: [{ name: "input", shape: [7, 4], datatype: "FP32", data: expected.inputs.flat() }],
    };
    const asJson = await post(`${url}/v2/models/iris/infer`, request);
    expect(asJson.status).toBe(200);

    const r = await postBytes(
      `${url}/v2/models/iris/infer`,
      Buffer.from(JSON.stringify({ ...request, parameters: { binary_data_output: true } })),
      { "content-type": "application/json" },
    );
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/octet-stream");
    const headerLength = Number(r.headers.get("inference-header-content-length"));
    expect(headerLength).toBeGreaterThan(0);
    expect(headerLength).toBeLessThan(r.bytes.byteLength);
    const { header, blobs } = splitBinaryResponse(r.bytes, headerLength);
    expect(header.model_name).toBe("iris");
    expect(header.outputs).toEqual([
      { name: "probabilities", datatype: "FP32", shape: [7, 3], parameters: { binary_data_size: 7 * 3 * 4 } },
    ]);
    expect(header.outputs[0]).not.toHaveProperty("data");
    const floats = readFloat32(blobs.probabilities);
    // The JSON numbers are the float32 values printed exactly, so the two answers are identical.
    expect(floats).toEqual(asJson.json.outputs[0].data);
    expectClose(floats, expected.probabilities.flat(), expected.tolerance);
  });

  it("binary in, binary out", async () => {
    const blob = float32Bytes([6.8, 2.8, 4.8, 1.4]);
    const { body, headerLength } = binaryBody(
      {
        inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", parameters: { binary_data_size: 16 } }],
        outputs: [{ name: "probabilities", parameters: { binary_data: true } }],
      },
      [blob],
    );
    const r = await postBytes(`${url}/v2/models/iris/infer`, body, {
      "inference-header-content-length": String(headerLength),
    });
    expect(r.status, r.bytes.toString()).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/octet-stream");
    const { blobs } = splitBinaryResponse(r.bytes, Number(r.headers.get("inference-header-content-length")));
    expectClose(readFloat32(blobs.probabilities), expected.probabilities[0], expected.tolerance);
  });

  it("per-output binary_data picks binary for one output and JSON for the other", async () => {
    const inputs = [
      { name: "a", shape: [2, 2], datatype: "FP32", data: [1, 2, 3, 4] },
      { name: "b", shape: [2, 2], datatype: "FP32", data: [0.5, 0.5, 1, 1] },
    ];
    const r = await postBytes(
      `${url}/v2/models/multi_io/infer`,
      Buffer.from(
        JSON.stringify({
          inputs,
          outputs: [{ name: "sum", parameters: { binary_data: true } }, { name: "diff" }],
        }),
      ),
      { "content-type": "application/json" },
    );
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/octet-stream");
    const { header, blobs } = splitBinaryResponse(r.bytes, Number(r.headers.get("inference-header-content-length")));
    expect(header.outputs.map((o: { name: string }) => o.name)).toEqual(["sum", "diff"]);
    expect(header.outputs[0]).toEqual({
      name: "sum",
      datatype: "FP32",
      shape: [2, 2],
      parameters: { binary_data_size: 16 },
    });
    expect(header.outputs[1]).toEqual({ name: "diff", datatype: "FP32", shape: [2, 2], data: [0.5, 1.5, 2, 3] });
    expect(readFloat32(blobs.sum)).toEqual([1.5, 2.5, 4, 5]);
  });

  it("a per-output binary_data: false overrides binary_data_output", async () => {
    const r = await postBytes(
      `${url}/v2/models/multi_io/infer`,
      Buffer.from(
        JSON.stringify({
          parameters: { binary_data_output: true },
          inputs: [
            { name: "a", shape: [1, 2], datatype: "FP32", data: [1, 2] },
            { name: "b", shape: [1, 2], datatype: "FP32", data: [3, 4] },
          ],
          outputs: [{ name: "sum", parameters: { binary_data: false } }, { name: "diff" }],
        }),
      ),
      { "content-type": "application/json" },
    );
    expect(r.status).toBe(200);
    const { header, blobs } = splitBinaryResponse(r.bytes, Number(r.headers.get("inference-header-content-length")));
    expect(header.outputs[0]).toEqual({ name: "sum", datatype: "FP32", shape: [1, 2], data: [4, 6] });
    expect(header.outputs[1].parameters).toEqual({ binary_data_size: 8 });
    expect(readFloat32(blobs.diff)).toEqual([-2, -2]);
  });

  it("mixes a binary input with a JSON input, blobs in input order", async () => {
    const a = float32Bytes([1, 2, 3, 4]);
    const { body, headerLength } = binaryBody(
      {
        inputs: [
          { name: "a", shape: [2, 2], datatype: "FP32", parameters: { binary_data_size: a.byteLength } },
          { name: "b", shape: [2, 2], datatype: "FP32", data: [10, 10, 10, 10] },
        ],
      },
      [a],
    );
    const r = await postBytes(`${url}/v2/models/multi_io/infer`, body, {
      "inference-header-content-length": String(headerLength),
    });
    expect(r.status, r.bytes.toString()).toBe(200);
    const json = JSON.parse(r.bytes.toString("utf8"));
    expect(json.outputs[0].data).toEqual([11, 12, 13, 14]);
    expect(json.outputs[1].data).toEqual([-9, -8, -7, -6]);
  });

  it("two binary inputs are read back to back", async () => {
    const a = float32Bytes([1, 2]);
    const b = float32Bytes([0.25, -4]);
    const { body, headerLength } = binaryBody(
      {
        inputs: [
          { name: "a", shape: [1, 2], datatype: "FP32", parameters: { binary_data_size: 8 } },
          { name: "b", shape: [1, 2], datatype: "FP32", parameters: { binary_data_size: 8 } },
        ],
      },
      [a, b],
    );
    const r = await postBytes(`${url}/v2/models/multi_io/infer`, body, {
      "inference-header-content-length": String(headerLength),
    });
    expect(r.status, r.bytes.toString()).toBe(200);
    const json = JSON.parse(r.bytes.toString("utf8"));
    expect(json.outputs[0].data).toEqual([1.25, -2]);
    expect(json.outputs[1].data).toEqual([0.75, 6]);
  });

  it("BYTES in binary: length-prefixed elements in and out", async () => {
    const words = ["héllo", "", "binary ✓ data"];
    const text = bytesElements(words);
    const { body, headerLength } = binaryBody(
      {
        inputs: [
          ...typesInputs(["text"]),
          { name: "text", shape: [3], datatype: "BYTES", parameters: { binary_data_size: text.byteLength } },
        ],
        outputs: [{ name: "text_out", parameters: { binary_data: true } }, { name: "i32_out" }],
      },
      [text],
    );
    const r = await postBytes(`${url}/v2/models/types/infer`, body, {
      "inference-header-content-length": String(headerLength),
    });
    expect(r.status, r.bytes.toString()).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/octet-stream");
    const { header, blobs } = splitBinaryResponse(r.bytes, Number(r.headers.get("inference-header-content-length")));
    expect(header.outputs[0]).toEqual({
      name: "text_out",
      datatype: "BYTES",
      shape: [3],
      parameters: { binary_data_size: text.byteLength },
    });
    expect(blobs.text_out.equals(Buffer.from(text))).toBe(true);
    expect(parseBytesElements(blobs.text_out)).toEqual(words);
    expect(header.outputs[1]).toEqual({ name: "i32_out", datatype: "INT32", shape: [2], data: [2, 3] });
  });

  it("numeric datatypes in binary: INT64 (exact beyond 2^53), UINT8, BOOL, FP16, FP64", async () => {
    const big = 2n ** 60n + 3n;
    const i64 = Buffer.alloc(16);
    i64.writeBigInt64LE(big, 0);
    i64.writeBigInt64LE(-7n, 8);
    const u8 = Uint8Array.from([0, 200, 255]);
    const flag = Uint8Array.from([1, 0]);
    const f16 = Buffer.alloc(4);
    f16.writeUInt16LE(0x3e00, 0); // 1.5
    f16.writeUInt16LE(0xc400, 2); // -4
    const f64 = Buffer.alloc(8);
    f64.writeDoubleLE(0.1, 0);
    const { body, headerLength } = binaryBody(
      {
        inputs: [
          { name: "i64", shape: [2], datatype: "INT64", parameters: { binary_data_size: 16 } },
          { name: "i32", shape: [1], datatype: "INT32", data: [41] },
          { name: "u8", shape: [3], datatype: "UINT8", parameters: { binary_data_size: 3 } },
          { name: "f64", shape: [1], datatype: "FP64", parameters: { binary_data_size: 8 } },
          { name: "flag", shape: [2], datatype: "BOOL", parameters: { binary_data_size: 2 } },
          { name: "f16", shape: [2], datatype: "FP16", parameters: { binary_data_size: 4 } },
          { name: "text", shape: [1], datatype: "BYTES", data: ["t"] },
        ],
        parameters: { binary_data_output: true },
      },
      [i64, u8, f64, flag, f16],
    );
    const r = await postBytes(`${url}/v2/models/types/infer`, body, {
      "inference-header-content-length": String(headerLength),
    });
    expect(r.status, r.bytes.toString()).toBe(200);
    const { header, blobs } = splitBinaryResponse(r.bytes, Number(r.headers.get("inference-header-content-length")));
    for (const o of header.outputs) expect(o).not.toHaveProperty("data");
    expect(blobs.i64_out.readBigInt64LE(0)).toBe(big * 2n);
    expect(blobs.i64_out.readBigInt64LE(8)).toBe(-14n);
    expect(blobs.i32_out.readInt32LE(0)).toBe(42);
    expect([...blobs.u8_out]).toEqual([0, 200, 255]);
    expect(blobs.f64_out.readDoubleLE(0)).toBe(0.05);
    expect([...blobs.flag_out]).toEqual([0, 1]);
    expect([blobs.f16_out.readUInt16LE(0), blobs.f16_out.readUInt16LE(2)]).toEqual([0x4200, 0xc800]); // 3, -8
    expect(parseBytesElements(blobs.text_out)).toEqual(["t"]);
  });

  it("a zero-element binary output contributes no bytes", async () => {
    const r = await postBytes(
      `${url}/v2/models/multi_io/infer`,
      Buffer.from(
        JSON.stringify({
          parameters: { binary_data_output: true },
          inputs: [
            { name: "a", shape: [0, 2], datatype: "FP32", data: [] },
            { name: "b", shape: [0, 2], datatype: "FP32", data: [] },
          ],
        }),
      ),
      { "content-type": "application/json" },
    );
    expect(r.status, r.bytes.toString()).toBe(200);
    const headerLength = r.headers.get("inference-header-content-length");
    // Either a JSON-only answer or a header with zero-size blobs is acceptable; the sizes must be 0.
    const json = JSON.parse(r.bytes.subarray(0, headerLength ? Number(headerLength) : undefined).toString("utf8"));
    for (const o of json.outputs) {
      expect(o.shape).toEqual([0, 2]);
      expect(o.parameters?.binary_data_size ?? 0).toBe(0);
    }
    if (headerLength) expect(Number(headerLength)).toBe(r.bytes.byteLength);
  });
});
