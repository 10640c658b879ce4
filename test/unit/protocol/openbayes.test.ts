/** The OpenBayes codec, without a server: body decoding, Accept negotiation, answer encoding, lazy arguments, errors. */
import { decode, encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { InvalidInput, NotAcceptable } from "../../../packages/server/src/errors/index.ts";
import {
  bytesContentType,
  createPredictArgs,
  decodeJsonBody,
  decodePayload,
  encodeAnswer,
  encodeJson,
  encodeMsgpack,
  isServingError,
  negotiateAnswer,
  openBayesErrorReply,
  type PredictInput,
  ServingError,
} from "../../../packages/server/src/protocol/openbayes/index.ts";

const bytes = (s: string) => Buffer.from(s, "utf8");

describe("decodeJsonBody / decodePayload", () => {
  it("parses JSON (and +json types) and every MessagePack alias", () => {
    expect(decodeJsonBody(bytes('{"a":[1,2]}'), "application/json; charset=utf-8")).toEqual({ a: [1, 2] });
    expect(decodeJsonBody(bytes("[true]"), "application/cloudevents+json")).toEqual([true]);
    for (const t of ["application/msgpack", "application/x-msgpack", "application/vnd.msgpack", "application/vnd.messagepack", "Application/MsgPack"]) {
      expect(decodeJsonBody(encode({ t }), t)).toEqual({ t });
    }
  });

  it("refuses other types, broken JSON or MessagePack and empty bodies with a 400", () => {
    const cases: [Uint8Array, string | undefined, string][] = [
      [bytes("a=1"), "application/x-www-form-urlencoded", "got Content-Type: application/x-www-form-urlencoded"],
      [bytes("{}"), undefined, "got no Content-Type"],
      [bytes("{"), "application/json", "not valid JSON"],
      [Buffer.from([0xff, 0xfe]), "application/json", "not UTF-8"],
      [Buffer.from([0xc1]), "application/msgpack", "not valid MessagePack"],
      [new Uint8Array(0), "application/json", "empty"],
      [new Uint8Array(0), "application/msgpack", "empty"],
    ];
    for (const [body, type, message] of cases) {
      const err = (() => {
        try {
          decodeJsonBody(body, type);
        } catch (e) {
          return e;
        }
      })();
      expect(err, `${type}`).toBeInstanceOf(InvalidInput);
      expect((err as Error).message).toContain(message);
    }
  });

  it("payload falls back to the raw bytes", () => {
    expect(decodePayload(bytes('{"x":1}'), "application/json")).toEqual({ x: 1 });
    const raw = bytes("not json");
    expect(decodePayload(raw, "application/json")).toBe(raw);
    expect(decodePayload(raw, "image/png")).toBe(raw);
  });
});

describe("negotiateAnswer", () => {
  it.each([
    [undefined, "application/json"],
    ["", "application/json"],
    ["*/*", "application/json"],
    ["application/*", "application/json"],
    ["application/json", "application/json"],
    ["application/msgpack", "application/msgpack"],
    ["application/vnd.messagepack", "application/vnd.messagepack"],
    ["text/html, application/x-msgpack;q=0.2", "application/x-msgpack"],
    ["application/json;q=0.4, application/msgpack;q=0.9", "application/msgpack"],
    ["application/json;q=0, */*", "application/msgpack"],
    ["application/json, application/msgpack", "application/json"],
  ])("Accept %j -> %s", (accept, type) => {
    expect(negotiateAnswer(accept).contentType).toBe(type);
  });

  it.each(["text/html", "application/xml, text/csv", "application/json;q=0", "*/*;q=0"])("Accept %j -> 406", (accept) => {
    expect(() => negotiateAnswer(accept)).toThrow(NotAcceptable);
  });
});

describe("encodeAnswer", () => {
  it("objects and arrays by Accept; bytes inside as base64 in JSON, bin in MessagePack", () => {
    const value = { b: Buffer.from([1, 2]), u: new Uint8Array([3]), f: Float64Array.of(0.5), i: BigInt64Array.of(9n), n: 2n ** 70n, m: new Map([["k", 1]]), s: new Set([1]) };
    const json = encodeAnswer(value, undefined);
    expect(json).toMatchObject({ kind: "body", contentType: "application/json" });
    expect(JSON.parse((json as { body: Buffer }).body.toString())).toEqual({ b: "AQI=", u: "Aw==", f: [0.5], i: [9], n: "1180591620717411303424", m: { k: 1 }, s: [1] });
    const packed = encodeAnswer(value, "application/msgpack") as { body: Buffer };
    expect(decode(new Uint8Array(packed.body))).toEqual({ b: new Uint8Array([1, 2]), u: new Uint8Array([3]), f: [0.5], i: [9], n: "1180591620717411303424", m: { k: 1 }, s: [1] });
    expect(JSON.parse(encodeJson([1, "a"]).toString())).toEqual([1, "a"]);
    expect(decode(encodeMsgpack({ d: { toJSON: () => "x" } }))).toEqual({ d: "x" });
  });

  it("circular values fail (a 500 at the route)", () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => encodeMsgpack(a)).toThrow(/circular/i);
    expect(() => encodeJson(a)).toThrow(/circular/i);
  });

  it("strings, bytes by magic number, Responses, and what cannot be sent", () => {
    expect(encodeAnswer("class 1", "image/png")).toEqual({ kind: "body", contentType: "text/plain; charset=utf-8", body: bytes("class 1") });
    expect(bytesContentType(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe("image/png");
    expect(bytesContentType(Buffer.from([0xff, 0xd8, 0xff, 0xdb]))).toBe("image/jpeg");
    expect(bytesContentType(Buffer.from([0x89, 0x50]))).toBe("application/octet-stream");
    expect(bytesContentType(new Uint8Array(0))).toBe("application/octet-stream");
    expect(encodeAnswer(new Uint8Array([0xff, 0xd8, 0xff]).buffer, undefined)).toMatchObject({ kind: "body", contentType: "image/jpeg" });
    const response = new Response("x");
    expect(encodeAnswer(response, "text/html")).toEqual({ kind: "response", response });
    for (const v of [undefined, null, 1, true, () => 1]) expect(encodeAnswer(v, undefined).kind).toBe("invalid");
    expect(() => encodeAnswer({}, "text/html")).toThrow(NotAcceptable);
  });
});

describe("createPredictArgs", () => {
  const input = (over: Partial<PredictInput> = {}): PredictInput => ({
    method: "POST",
    url: "/?a=1&a=2&b=x%20y",
    headers: { "content-type": "application/json", host: "example.test:8080", "x-multi": ["1", "2"], connection: "keep-alive" },
    body: bytes('{"k":"v"}'),
    ...over,
  });

  it("gives each argument its OpenBayes meaning", async () => {
    const args = createPredictArgs(input());
    expect(args.json).toEqual({ k: "v" });
    expect(args.payload).toEqual({ k: "v" });
    expect(Buffer.isBuffer(args.data) && args.data.toString()).toBe('{"k":"v"}');
    expect(args.params).toEqual({ a: "1", b: "x y" });
    expect(args.args).toBe(args.params);
    expect(args.headers).toEqual({ "content-type": "application/json", host: "example.test:8080", "x-multi": "1, 2", connection: "keep-alive" });
    expect(args.request.url).toBe("http://example.test:8080/?a=1&a=2&b=x%20y");
    expect(args.request.headers.get("connection")).toBeNull();
    expect(await args.request.json()).toEqual({ k: "v" });
  });

  it("is lazy and memoised: json is parsed once, and only when read", () => {
    const args = createPredictArgs(input({ headers: { "content-type": "text/plain" }, body: bytes("plain") }));
    expect(args.data.toString()).toBe("plain");
    expect(() => args.json).toThrow(InvalidInput);
    expect(() => args.json).toThrow(InvalidInput);
    expect(Buffer.isBuffer(args.payload)).toBe(true);
    const json = createPredictArgs(input());
    expect(json.json).toBe(json.json);
  });

  it("a GET-shaped request has no body; an unparseable Host falls back to localhost", () => {
    const args = createPredictArgs(input({ method: "GET", headers: { host: "bad host" }, body: new Uint8Array(0) }));
    expect(args.request.method).toBe("GET");
    expect(args.request.body).toBeNull();
    expect(new URL(args.request.url).host).toBe("localhost");
  });
});

describe("errors", () => {
  it("ServingError keeps its status (400 by default, 500 when out of range)", () => {
    expect(new ServingError("x").status).toBe(400);
    expect(new ServingError("x", 404).status).toBe(404);
    expect(new ServingError("x", 200).status).toBe(500);
    expect(isServingError(new ServingError("x"))).toBe(true);
    expect(isServingError(new Error("x"))).toBe(false);
    expect(openBayesErrorReply(new ServingError("nope", 409))).toEqual({ status: 409, body: { error: "nope" }, internal: false });
  });

  it("other errors: ours keep their status, anything else is an internal 500", () => {
    expect(openBayesErrorReply(new InvalidInput("bad"))).toEqual({ status: 400, body: { error: "bad" }, internal: false });
    const boom = openBayesErrorReply(new TypeError("boom"));
    expect(boom.status).toBe(500);
    expect(boom.body.error).toContain("boom");
    expect(boom.internal).toBe(true);
  });
});
