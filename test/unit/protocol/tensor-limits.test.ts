/**
 * Every codec that sizes memory from what the client declares checks the declaration first: against what the
 * body carries, and against `maxTensorElements` (one budget per request). Each refusal is a 400 naming the limit.
 */
import { encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { isTServeError } from "../../../packages/server/src/errors/index.ts";
import { grpc, seldon, v1, v2 } from "../../../packages/server/src/protocol/index.ts";
import { decodeJsonBody } from "../../../packages/server/src/protocol/openbayes/index.ts";
import { decodeSeldonMessage } from "../../../packages/server/src/protocol/seldon/grpc/index.ts";
import { seldonErrorReply } from "../../../packages/server/src/protocol/seldon/index.ts";
import { BYTES_ELEMENT_WEIGHT, type TensorMetadata } from "../../../packages/server/src/tensor/index.ts";

const enc = new TextEncoder();
const LIMIT = /limit of \d+ tensor elements.*--max_tensor_elements/;

/** The 400 a call throws (any TServeError with status 400). */
function badRequest(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    expect(isTServeError(err), String(err)).toBe(true);
    expect((err as { status: number }).status).toBe(400);
    return err as Error;
  }
  throw new Error("expected a 400");
}

describe("V2 REST decode", () => {
  const json = (inputs: unknown[]) => enc.encode(JSON.stringify({ inputs }));

  it("refuses a declared shape past the limit before reading data", () => {
    const e = badRequest(() => v2.decodeInferRequest(json([{ name: "x", datatype: "FP32", shape: [300000000], data: [1] }])));
    expect(e.message).toMatch(/Input 'x'.*300000000/);
    expect(e.message).toMatch(LIMIT);
  });

  it("refuses [N, 0] shapes that hold nothing but would nest N arrays", () => {
    const e = badRequest(() => v2.decodeInferRequest(json([{ name: "x", datatype: "FP32", shape: [2 ** 31, 0], data: [] }])));
    expect(e.message).toMatch(/empty arrays/);
  });

  it("applies the configured limit to all inputs together", () => {
    const inputs = [
      { name: "a", datatype: "INT32", shape: [3], data: [1, 2, 3] },
      { name: "b", datatype: "INT32", shape: [3], data: [1, 2, 3] },
    ];
    expect(v2.decodeInferRequest(json(inputs), undefined, { maxTensorElements: 6 }).inputs).toHaveLength(2);
    const e = badRequest(() => v2.decodeInferRequest(json(inputs), undefined, { maxTensorElements: 5 }));
    expect(e.message).toMatch(/Input 'b'.*limit of 5 tensor elements/);
  });

  it("refuses a binary shape past the limit, whatever binary_data_size says", () => {
    const header = enc.encode(
      JSON.stringify({ inputs: [{ name: "x", datatype: "FP32", shape: [1 << 30], parameters: { binary_data_size: 4 } }] }),
    );
    const body = new Uint8Array(header.byteLength + 4);
    body.set(header);
    const e = badRequest(() => v2.decodeInferRequest(body, String(header.byteLength)));
    expect(e.message).toMatch(LIMIT);
  });

  it("counts each BYTES element as BYTES_ELEMENT_WEIGHT (each is an object on the heap)", () => {
    expect(BYTES_ELEMENT_WEIGHT).toBe(16);
    const bytes = (n: number) => json([{ name: "s", datatype: "BYTES", shape: [n], data: Array(n).fill("") }]);
    expect(v2.decodeInferRequest(bytes(2), undefined, { maxTensorElements: 32 }).inputs[0].shape).toEqual([2]);
    const e = badRequest(() => v2.decodeInferRequest(bytes(3), undefined, { maxTensorElements: 32 }));
    expect(e.message).toMatch(/3 BYTES elements, each counted as 16, more than the limit of 32 /);
    // 16 Mi empty elements fit in a 64 MiB body but would take gigabytes of heap: refused at the default limit.
    const header = enc.encode(
      JSON.stringify({ inputs: [{ name: "s", datatype: "BYTES", shape: [16 * 1024 * 1024], parameters: { binary_data_size: 0 } }] }),
    );
    expect(badRequest(() => v2.decodeInferRequest(header)).message).toMatch(LIMIT);
  });

  it("refuses BYTES binary data with more elements than the shape before making a view of each", () => {
    const blob = new Uint8Array(4 * 1000); // a thousand empty elements
    const header = enc.encode(
      JSON.stringify({ inputs: [{ name: "s", datatype: "BYTES", shape: [1], parameters: { binary_data_size: blob.byteLength } }] }),
    );
    const body = new Uint8Array(header.byteLength + blob.byteLength);
    body.set(header);
    body.set(blob, header.byteLength);
    const e = badRequest(() => v2.decodeInferRequest(body, String(header.byteLength)));
    expect(e.message).toMatch(/more than the 1 elements the shape needs/);
  });
});

describe("OIP gRPC decode", () => {
  it("refuses typed contents whose shape is past the limit", () => {
    const e = badRequest(() =>
      grpc.decodeModelInferRequest({
        model_name: "m",
        inputs: [{ name: "x", datatype: "FP32", shape: ["300000000"] as unknown as number[], contents: { fp32_contents: [1] } }],
      }),
    );
    expect(e.message).toMatch(/Input 'x'.*300000000/);
    expect(e.message).toMatch(LIMIT);
  });

  it("refuses raw contents whose shape is past the configured limit, and accepts them under it", () => {
    const msg = (n: number) => ({
      model_name: "m",
      inputs: [{ name: "x", datatype: "UINT8", shape: [n] }],
      raw_input_contents: [new Uint8Array(n)],
    });
    expect(grpc.decodeModelInferRequest(msg(8), { maxTensorElements: 8 }).request.inputs[0].shape).toEqual([8]);
    expect(badRequest(() => grpc.decodeModelInferRequest(msg(9), { maxTensorElements: 8 })).message).toMatch(/limit of 8 /);
  });
});

describe("V1 / TF Serving decode", () => {
  const x: TensorMetadata[] = [{ name: "x", datatype: "FP32", shape: [-1, -1] }];

  it("bounds row and columnar requests by the configured limit", () => {
    const rows = { instances: [[1, 2], [3, 4]] };
    expect(v1.v1ToInferRequest(rows, x, { maxTensorElements: 4 }).request.inputs[0].shape).toEqual([2, 2]);
    expect(badRequest(() => v1.v1ToInferRequest(rows, x, { maxTensorElements: 3 })).message).toMatch(LIMIT);
    expect(badRequest(() => v1.v1ToInferRequest({ inputs: [[1, 2], [3, 4]] }, x, { maxTensorElements: 3 })).message).toMatch(
      /Input 'x'.*limit of 3 /,
    );
  });

  it("bounds :classify / :regress examples", () => {
    const plan = v1.planExamples(
      { name: "m", inputs: [{ name: "x", datatype: "FP32", shape: [-1, 2] }], outputs: [{ name: "y", datatype: "FP32", shape: [-1] }] },
      {},
      "regress",
    );
    const request = v1.parseExamplesRequest({ examples: [{ x: [1, 2] }, { x: [3, 4] }] }, "regress");
    expect(v1.examplesToInferRequest(request, plan, { maxTensorElements: 4 }).inputs[0].shape).toEqual([2, 2]);
    expect(badRequest(() => v1.examplesToInferRequest(request, plan, { maxTensorElements: 3 })).message).toMatch(LIMIT);
  });
});

describe("Seldon messages", () => {
  const tftensor = (t: unknown) => ({ data: { tftensor: t } });
  /** The body of the issue. */
  const broadcast = JSON.parse(
    '{"data":{"tftensor":{"dtype":"DT_FLOAT","tensor_shape":{"dim":[{"size":300000000}]},"float_val":[1]}}}',
  );

  it("refuses a one-value tftensor broadcast past the limit, with Seldon's 400 body", () => {
    const e = badRequest(() => seldon.parseSeldonMessage(broadcast));
    expect(e.message).toMatch(/^Invalid request data/);
    expect(e.message).toMatch(LIMIT);
    const reply = seldonErrorReply(e);
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ status: { status: 1, code: -1, reason: "MICROSERVICE_BAD_DATA" } });
  });

  it("broadcasts within the configured limit, and the component's conversion allows what parsing allowed", () => {
    const msg = seldon.parseSeldonMessage(
      tftensor({ dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: 2 }, { size: 3 }] }, float_val: [7] }),
      { maxTensorElements: 6 },
    );
    const x = seldon.messagePayload(msg) as seldon.NDArray;
    expect(x.shape).toEqual([2, 3]);
    expect(Array.from(x.data as Float64Array)).toEqual([7, 7, 7, 7, 7, 7]);
    expect(() =>
      seldon.parseSeldonMessage(tftensor({ dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: 7 }] }, float_val: [7] }), {
        maxTensorElements: 6,
      }),
    ).toThrow(/limit of 6 /);
    // A message no one checked converts under the default limit.
    expect(() => seldon.tfTensorToArray(broadcast.data.tftensor)).toThrow(LIMIT);
  });

  it("broadcasts strings and booleans once, not once per element", () => {
    const s = seldon.tfTensorToArray({ dtype: "DT_STRING", tensor_shape: { dim: [{ size: 3 }] }, string_val: [Buffer.from("hi").toString("base64")] });
    expect(s.toArray()).toEqual(["hi", "hi", "hi"]);
    const b = seldon.tfTensorToArray({ dtype: "DT_BOOL", tensor_shape: { dim: [{ size: 2 }] }, bool_val: [true] });
    expect(b.toArray()).toEqual([true, true]);
  });

  it("answers malformed tftensor fields with 400, never a TypeError", () => {
    const cases: [unknown, RegExp][] = [
      [{ dtype: "DT_FLOAT", tensor_shape: { dim: "x" }, float_val: [1] }, /tensor_shape\.dim: must be a list/],
      [{ dtype: "DT_FLOAT", tensor_shape: { dim: [null] }, float_val: [1] }, /tensor_shape\.dim\[0\]: must be an object/],
      [{ dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: "x" }] }, float_val: [1] }, /dim\[0\]\.size: must be an integer/],
      [{ dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: 1.5 }] }, float_val: [1] }, /dim\[0\]\.size/],
      [{ dtype: "DT_FLOAT", tensor_shape: "x", float_val: [1] }, /tensor_shape: must be an object/],
      [{ dtype: "constructor", float_val: [1] }, /unsupported dtype "constructor"/],
      [{ dtype: "__proto__", float_val: [1] }, /unsupported dtype "__proto__"/],
      [{ dtype: {}, float_val: [1] }, /unsupported dtype \{\}/],
      [{ float_val: [1] }, /unsupported dtype/],
      [{ dtype: "DT_FLOAT", float_val: "1" }, /float_val: must be a list/],
      [{ dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: 3 }] }, float_val: [1, 2] }, /needs 3 values \(or one, repeated\), but has 2/],
    ];
    for (const [t, message] of cases) {
      const e = badRequest(() => seldon.parseSeldonMessage(tftensor(t)));
      expect(e.message, JSON.stringify(t)).toMatch(message);
      expect(seldonErrorReply(e).body).toMatchObject({ status: { reason: "MICROSERVICE_BAD_DATA" } });
      // The component's own conversion (a message that skipped parsing) is just as careful.
      if (typeof t === "object" && t !== null && !/needs 3/.test(String(message))) {
        expect(() => seldon.tfTensorToArray(t as never)).toThrow(seldon.SeldonError);
      }
    }
  });

  it("bounds tensor and ndarray payloads by the limit too", () => {
    const limits = { maxTensorElements: 4 };
    expect(() => seldon.parseSeldonMessage({ data: { tensor: { shape: [2, 2], values: [1, 2, 3, 4] } } }, limits)).not.toThrow();
    expect(badRequest(() => seldon.parseSeldonMessage({ data: { tensor: { shape: [5], values: [1, 2, 3, 4, 5] } } }, limits)).message).toMatch(
      LIMIT,
    );
    // [N, 0] with no values: nothing to carry, but a billion rows to nest.
    expect(badRequest(() => seldon.parseSeldonMessage({ data: { tensor: { shape: [1e9, 0], values: [] } } })).message).toMatch(/empty arrays/);
    expect(badRequest(() => seldon.parseSeldonMessage({ data: { ndarray: [[1, 2], [3, 4], [5]] } }, limits)).message).toMatch(
      /ndarray: 5 elements, more than the limit of 4 /,
    );
  });

  it("gives an aggregate's messages, and a feedback's parts, one budget between them", () => {
    const one = (n: number) => tftensor({ dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: n }] }, float_val: [1] });
    expect(() => seldon.parseMessageList([one(3), one(3)], { maxTensorElements: 6 })).not.toThrow();
    expect(badRequest(() => seldon.parseMessageList([one(3), one(3), one(3)], { maxTensorElements: 6 })).message).toMatch(
      /seldonMessages\[2\].*limit of 6 /,
    );
    expect(() => seldon.parseFeedback({ request: one(4), truth: one(4) }, { maxTensorElements: 6 })).toThrow(/truth.*limit of 6 /);
  });

  it("applies the same checks to what arrives over Seldon gRPC", () => {
    const proto = { data: { tftensor: { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: "300000000" }] }, float_val: [1] } } };
    expect(badRequest(() => seldon.parseSeldonMessage(decodeSeldonMessage(proto))).message).toMatch(LIMIT);
    const enumNumber = { data: { tftensor: { dtype: 1, tensor_shape: { dim: [{ size: "2" }] }, float_val: [1, 2] } } };
    expect(badRequest(() => seldon.parseSeldonMessage(decodeSeldonMessage(enumNumber as never))).message).toMatch(/unsupported dtype "1"/);
  });
});

describe("OpenBayes MessagePack bodies", () => {
  const array32 = (n: number) => {
    const b = Buffer.alloc(5);
    b[0] = 0xdd;
    b.writeUInt32BE(n, 1);
    return b;
  };

  it("refuses arrays the body cannot hold before the decoder allocates them", () => {
    // 100 nested headers each declaring ten million entries: without the check, gigabytes of empty slots.
    const body = Buffer.concat(Array.from({ length: 100 }, () => array32(10_000_000)));
    expect(badRequest(() => decodeJsonBody(body, "application/msgpack")).message).toMatch(/cannot hold them/);
    expect(badRequest(() => decodeJsonBody(Buffer.concat([Buffer.from([0xdf, 0, 0, 0, 9])]), "application/msgpack")).message).toMatch(
      /a map of 9 entries/,
    );
  });

  it("refuses arrays longer than the limit and decodes everything else as before", () => {
    expect(badRequest(() => decodeJsonBody(array32(2 ** 32 - 1), "application/msgpack")).message).toMatch(LIMIT);
    expect(badRequest(() => decodeJsonBody(encode([1, 2, 3, 4]), "application/msgpack", { maxTensorElements: 3 })).message).toMatch(
      /limit of 3 /,
    );
    const value = { a: [1, -2, 1.5, 2 ** 40, null, true, "s".repeat(300)], b: new Uint8Array([1, 2]), c: Array.from({ length: 70_000 }, (_, i) => i), d: [[], {}] };
    expect(decodeJsonBody(encode(value), "application/msgpack")).toEqual(value);
    // Truncated and malformed bodies are still the decoder's 400.
    expect(badRequest(() => decodeJsonBody(Buffer.from([0xa5, 0x61]), "application/msgpack")).message).toMatch(/not valid MessagePack/);
    expect(badRequest(() => decodeJsonBody(Buffer.from([0x92, 0x01]), "application/msgpack")).message).toMatch(/cannot hold them/);
    expect(badRequest(() => decodeJsonBody(Buffer.from([0xc1]), "application/msgpack")).message).toMatch(/not valid MessagePack/);
  });
});
