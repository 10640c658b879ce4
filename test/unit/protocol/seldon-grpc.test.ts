/**
 * Seldon's gRPC codec: proto-loader objects <-> Seldon's REST-JSON messages, checked through the real
 * serializers of prediction.proto (wire bytes and back), plus the error -> gRPC status mapping.
 */
import { describe, expect, it } from "vitest";
import { SeldonError } from "../../../packages/server/src/protocol/seldon/index.ts";
import type { SeldonFeedback, SeldonMessage } from "../../../packages/server/src/protocol/seldon/index.ts";
import {
  decodeFeedback,
  decodeSeldonMessage,
  decodeSeldonMessageList,
  encodeFeedback,
  encodeSeldonMessage,
  encodeSeldonMessageList,
  float32ToNumber,
  grpcCodeOfSeldonStatus,
  jsonToValue,
  SELDON_SERVICES,
  seldonGrpcError,
  seldonPackageDefinition,
  valueToJson,
} from "../../../packages/server/src/protocol/seldon/grpc/index.ts";

const defs = seldonPackageDefinition() as unknown as Record<string, Record<string, { requestSerialize: (x: unknown) => Buffer; requestDeserialize: (b: Buffer) => any }>>;
const predict = defs["seldon.protos.Model"].Predict;
const aggregate = defs["seldon.protos.Combiner"].Aggregate;
const feedback = defs["seldon.protos.Model"].SendFeedback;

/** REST JSON -> proto object -> wire -> proto object -> REST JSON. */
const roundTrip = (msg: SeldonMessage): SeldonMessage => decodeSeldonMessage(predict.requestDeserialize(predict.requestSerialize(encodeSeldonMessage(msg))));

describe("prediction.proto", () => {
  it("loads the seven Seldon services with their methods", () => {
    for (const s of SELDON_SERVICES) expect(defs[`seldon.protos.${s}`]).toBeDefined();
    expect(Object.keys(defs["seldon.protos.Generic"]).sort()).toEqual(["Aggregate", "Route", "SendFeedback", "TransformInput", "TransformOutput"]);
    expect(Object.keys(defs["seldon.protos.Model"]).sort()).toEqual(["Predict", "SendFeedback"]);
    expect(Object.keys(defs["seldon.protos.Router"]).sort()).toEqual(["Route", "SendFeedback"]);
    expect(Object.keys(defs["seldon.protos.Transformer"])).toEqual(["TransformInput"]);
    expect(Object.keys(defs["seldon.protos.OutputTransformer"])).toEqual(["TransformOutput"]);
    expect(Object.keys(defs["seldon.protos.Combiner"])).toEqual(["Aggregate"]);
    expect(Object.keys(defs["seldon.protos.Seldon"]).sort()).toEqual(["Predict", "SendFeedback"]);
  });

  it("uses seldon-core's field numbers (SeldonMessage.strData = 5, Meta.puid = 1)", () => {
    // field 5, wire type 2 (length-delimited) -> tag 0x2a; then length 2, "hi"
    expect([...predict.requestSerialize({ strData: "hi" })]).toEqual([0x2a, 2, 0x68, 0x69]);
    // meta (2) { puid (1) "p" } -> 0x12 3 0x0a 1 'p'
    expect([...predict.requestSerialize({ meta: { puid: "p" } })]).toEqual([0x12, 3, 0x0a, 1, 0x70]);
  });
});

describe("google.protobuf.Value <-> JSON", () => {
  it("maps every JSON kind both ways", () => {
    const doc = { a: 1, b: "x", c: true, d: null, e: [1, [2, "y"], { f: false }], g: { h: { i: 0 } } };
    expect(valueToJson(jsonToValue(doc))).toEqual(doc);
    expect(valueToJson(undefined)).toBeNull();
    expect(jsonToValue(NaN)).toEqual({ nullValue: "NULL_VALUE" });
    expect(jsonToValue(3n)).toEqual({ numberValue: 3 });
  });

  it("survives the wire as jsonData, zeros and empty containers included", () => {
    const jsonData = { zero: 0, empty: "", no: false, list: [], obj: {}, nested: [[0.5, -1]] };
    expect(roundTrip({ jsonData })).toEqual({ jsonData });
    expect(roundTrip({ jsonData: 0 })).toEqual({ jsonData: 0 });
    expect(roundTrip({ jsonData: null })).toEqual({ jsonData: null });
  });
});

describe("SeldonMessage", () => {
  it("ndarray with names and a full meta", () => {
    const msg: SeldonMessage = {
      meta: {
        puid: "abc",
        tags: { model: "m", score: 0.5, list: [1, 2] },
        routing: { router: 1, other: -1 },
        requestPath: { unit: "image:1" },
        metrics: [{ key: "k", type: "GAUGE", value: 0.1, tags: { a: "b" } }, { key: "t", type: "TIMER", value: 12 }],
      },
      data: { names: ["a", "b"], ndarray: [[1, 2.5], ["x", true]] },
    };
    expect(roundTrip(msg)).toEqual(msg);
  });

  it("tensor: shape int32, values double", () => {
    const msg: SeldonMessage = { data: { names: [], tensor: { shape: [2, 2], values: [1, 2.25, -3, 0] } } };
    expect(roundTrip(msg)).toEqual(msg);
  });

  it("tftensor: dtype by name, int64 as strings, string_val base64", () => {
    const f: SeldonMessage = { data: { names: [], tftensor: { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: "1" }, { size: "2" }] }, float_val: [0.1, 2] } } };
    expect(roundTrip(f)).toEqual(f);
    const i: SeldonMessage = { data: { tftensor: { dtype: "DT_INT64", tensor_shape: { dim: [{ size: 2 }] }, int64_val: [1, "9007199254740993"] } } };
    expect(roundTrip(i).data!.tftensor).toEqual({ dtype: "DT_INT64", tensor_shape: { dim: [{ size: "2" }] }, int64_val: ["1", "9007199254740993"] });
    const s: SeldonMessage = { data: { names: [], tftensor: { dtype: "DT_STRING", tensor_shape: { dim: [{ size: "1" }] }, string_val: [Buffer.from("héllo").toString("base64")] } } };
    expect(roundTrip(s)).toEqual(s);
  });

  it("binData bytes <-> base64, strData, status enums", () => {
    const bin = Buffer.from([0, 1, 2, 255]).toString("base64");
    expect(roundTrip({ binData: bin })).toEqual({ binData: bin });
    expect(roundTrip({ binData: "" })).toEqual({ binData: "" });
    expect(roundTrip({ strData: "" })).toEqual({ strData: "" });
    expect(roundTrip({ strData: "hello", status: { code: 402, info: "x", reason: "R", status: 1 } })).toEqual({
      strData: "hello",
      status: { code: 402, info: "x", reason: "R", status: "FAILURE" },
    });
    expect(roundTrip({ status: { status: "SUCCESS" } }).status).toEqual({ status: "SUCCESS" });
  });

  it("encodes what a component returns as JSON would (typed arrays, toJSON, undefined fields)", () => {
    const answer = { data: { names: [], ndarray: [{ toJSON: () => [1, 2] }], tensor: undefined }, meta: { puid: undefined } };
    expect(roundTrip(answer as unknown as SeldonMessage)).toEqual({ data: { names: [], ndarray: [[1, 2]] }, meta: {} });
  });

  it("customData (Any) passes through as type_url + base64", () => {
    const m = decodeSeldonMessage(predict.requestDeserialize(predict.requestSerialize({ customData: { type_url: "type.x/y", value: Buffer.from("z") } })));
    expect(m).toEqual({ customData: { type_url: "type.x/y", value: Buffer.from("z").toString("base64") } });
    expect(decodeSeldonMessage(predict.requestDeserialize(predict.requestSerialize(encodeSeldonMessage(m))))).toEqual(m);
  });

  it("data.names is always present, as in REST answers", () => {
    expect(roundTrip({ data: { ndarray: [1] } })).toEqual({ data: { names: [], ndarray: [1] } });
    expect(roundTrip({ data: {} })).toEqual({ data: { names: [] } });
  });

  it("an empty message decodes to {}", () => {
    expect(decodeSeldonMessage(predict.requestDeserialize(Buffer.alloc(0)))).toEqual({});
    expect(decodeSeldonMessage(undefined)).toEqual({});
  });

  it("an answer that is not an object is a 500", () => {
    expect(() => encodeSeldonMessage([1, 2])).toThrow(SeldonError);
  });
});

describe("SeldonMessageList and Feedback", () => {
  it("round-trips a message list", () => {
    const list = { seldonMessages: [{ data: { names: ["a"], ndarray: [[1]] } }, { strData: "s" }] };
    expect(decodeSeldonMessageList(aggregate.requestDeserialize(aggregate.requestSerialize(encodeSeldonMessageList(list))))).toEqual(list);
    expect(encodeSeldonMessageList(list.seldonMessages)).toEqual(encodeSeldonMessageList(list));
  });

  it("round-trips feedback, reward as the float32 it is", () => {
    const fb: SeldonFeedback = {
      request: { data: { names: [], ndarray: [[1, 2]] } },
      response: { meta: { routing: { r: 1 } }, data: { names: ["p"], ndarray: [[0.9]] } },
      reward: 0.3,
      truth: { data: { names: [], ndarray: [[1]] } },
    };
    expect(decodeFeedback(feedback.requestDeserialize(feedback.requestSerialize(encodeFeedback(fb))))).toEqual(fb);
  });

  it("float32ToNumber gives the shortest decimal of the float", () => {
    expect(float32ToNumber(Math.fround(0.1))).toBe(0.1);
    expect(float32ToNumber(Math.fround(1 / 3))).toBe(0.33333334);
    expect(float32ToNumber(5)).toBe(5);
  });
});

describe("errors -> gRPC status", () => {
  it("maps Seldon's HTTP statuses", () => {
    expect([400, 404, 501, 503, 504, 500, 403, 402].map(grpcCodeOfSeldonStatus)).toEqual([3, 5, 12, 14, 4, 13, 13, 13]);
  });

  it("uses Seldon's info as details", () => {
    expect(seldonGrpcError(new SeldonError("bad X"))).toEqual({ code: 3, details: "bad X", httpStatus: 400, reason: "MICROSERVICE_BAD_DATA" });
    expect(seldonGrpcError(new Error("boom"))).toMatchObject({ code: 13, details: "boom", httpStatus: 500, reason: "MICROSERVICE_INTERNAL_ERROR" });
    const custom = Object.assign(new Error("Test-Error-Msg"), { statusCode: 404, toJSON: () => ({ status: { status: 404, message: "custom msg" } }) });
    expect(seldonGrpcError(custom)).toEqual({ code: 5, details: "custom msg", httpStatus: 404 });
    expect(seldonGrpcError("plain")).toMatchObject({ code: 13, httpStatus: 500 });
  });
});
