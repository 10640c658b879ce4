import { describe, expect, it } from "vitest";
import { SeldonError, seldonErrorReply } from "../../../../packages/server/src/protocol/seldon/errors.ts";
import {
  decodeSeldonRequest,
  parseFeedback,
  parseMessageList,
  parseSeldonMessage,
  type SeldonHttpRequest,
} from "../../../../packages/server/src/protocol/seldon/request.ts";

const enc = new TextEncoder();
const EMPTY = new Uint8Array(0);

function request(over: Partial<SeldonHttpRequest>): SeldonHttpRequest {
  return { method: "POST", body: EMPTY, query: {}, ...over };
}

function seldonError(fn: () => unknown): SeldonError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SeldonError);
    expect((err as SeldonError).status).toBe(400);
    expect((err as SeldonError).reason).toBe("MICROSERVICE_BAD_DATA");
    return err as SeldonError;
  }
  throw new Error("expected a SeldonError");
}

async function formRequest(form: FormData): Promise<SeldonHttpRequest> {
  const response = new Response(form);
  return request({
    contentType: response.headers.get("content-type")!,
    body: new Uint8Array(await response.arrayBuffer()),
  });
}

describe("decodeSeldonRequest: JSON bodies", () => {
  it("parses a JSON body", () => {
    const body = enc.encode('{"data":{"names":["a","b"],"ndarray":[[1,2]]}}');
    expect(decodeSeldonRequest(request({ contentType: "application/json", body }))).toEqual({
      data: { names: ["a", "b"], ndarray: [[1, 2]] },
    });
  });

  it("parses a JSON body whatever its content type says, or with none", () => {
    const body = enc.encode('{"strData":"hi"}');
    expect(decodeSeldonRequest(request({ body }))).toEqual({ strData: "hi" });
    expect(decodeSeldonRequest(request({ contentType: "text/plain", body }))).toEqual({ strData: "hi" });
  });

  it("answers 400 \"Can't find JSON in data\" for a missing or blank body", () => {
    expect(seldonError(() => decodeSeldonRequest(request({}))).message).toBe("Can't find JSON in data");
    expect(seldonError(() => decodeSeldonRequest(request({ method: "GET" }))).message).toBe("Can't find JSON in data");
    expect(seldonError(() => decodeSeldonRequest(request({ body: enc.encode("  \n") }))).message).toBe(
      "Can't find JSON in data",
    );
  });

  it("answers 400 naming the parser's complaint for invalid JSON", () => {
    const err = seldonError(() => decodeSeldonRequest(request({ contentType: "application/json", body: enc.encode("{data:") })));
    expect(err.message).toMatch(/^Invalid JSON in request body: /);
    const reply = seldonErrorReply(err);
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ status: { status: 1, info: err.message, code: -1, reason: "MICROSERVICE_BAD_DATA" } });
  });

  it("answers 400 for a JSON null", () => {
    expect(seldonError(() => decodeSeldonRequest(request({ body: enc.encode("null") }))).message).toBe(
      "Invalid Data Format - empty json",
    );
  });
});

describe("decodeSeldonRequest: json= in the query string or a form body", () => {
  it("reads ?json= on a GET", () => {
    const query = { json: '{"data":{"ndarray":[[5.1,3.5,1.4,0.2]]}}' };
    expect(decodeSeldonRequest(request({ method: "GET", query }))).toEqual({ data: { ndarray: [[5.1, 3.5, 1.4, 0.2]] } });
  });

  it("takes the first of repeated json= parameters", () => {
    const query = { json: ['{"strData":"first"}', '{"strData":"second"}'] };
    expect(decodeSeldonRequest(request({ method: "GET", query }))).toEqual({ strData: "first" });
  });

  it("answers 400 for invalid JSON in ?json=", () => {
    const err = seldonError(() => decodeSeldonRequest(request({ method: "GET", query: { json: "{nope" } })));
    expect(err.message).toMatch(/^Invalid JSON in query parameter "json": /);
  });

  it("reads json= from an application/x-www-form-urlencoded body", () => {
    const body = enc.encode(`json=${encodeURIComponent('{"jsonData":{"a":[1,"x"]}}')}&other=1`);
    const req = request({ contentType: "application/x-www-form-urlencoded; charset=UTF-8", body });
    expect(decodeSeldonRequest(req)).toEqual({ jsonData: { a: [1, "x"] } });
  });

  it("accepts a JSON body labelled as a form (curl -d) but not other form bodies", () => {
    const contentType = "application/x-www-form-urlencoded";
    expect(decodeSeldonRequest(request({ contentType, body: enc.encode('{"strData":"x"}') }))).toEqual({ strData: "x" });
    const err = seldonError(() => decodeSeldonRequest(request({ contentType, body: enc.encode("a=1&b=2") })));
    expect(err.message).toBe("Can't find JSON in data: a form-encoded request needs a json= field");
  });

  it("answers 400 for invalid JSON in a json= form field", () => {
    const req = request({ contentType: "application/x-www-form-urlencoded", body: enc.encode("json=%7Bbad") });
    expect(seldonError(() => decodeSeldonRequest(req)).message).toMatch(/^Invalid JSON in form field "json": /);
  });
});

describe("decodeSeldonRequest: multipart/form-data", () => {
  const CT = "multipart/form-data; boundary=----b";
  const part = (headers: string, body: string) => `------b\r\n${headers}\r\n\r\n${body}\r\n`;

  it("JSON-parses each form field", () => {
    const body = enc.encode(
      part('Content-Disposition: form-data; name="data"', '{"names":["x"],"ndarray":[[1]]}') +
        part('Content-Disposition: form-data; name="meta"', '{"puid":"abc","tags":{"t":1}}') +
        "------b--\r\n",
    );
    expect(decodeSeldonRequest(request({ contentType: CT, body }))).toEqual({
      data: { names: ["x"], ndarray: [[1]] },
      meta: { puid: "abc", tags: { t: 1 } },
    });
  });

  it("keeps a strData field as raw text", () => {
    const body = enc.encode(part('Content-Disposition: form-data; name="strData"', "not {json}") + "------b--\r\n");
    expect(decodeSeldonRequest(request({ contentType: CT, body }))).toEqual({ strData: "not {json}" });
  });

  it("base64-encodes a binData file and reads other files as UTF-8 text", () => {
    const body = enc.encode(
      part('Content-Disposition: form-data; name="binData"; filename="x.bin"', "hello") +
        part('Content-Disposition: form-data; name="strData"; filename="note.txt"', "héllo\r\nworld") +
        "------b--\r\n",
    );
    expect(decodeSeldonRequest(request({ contentType: CT, body }))).toEqual({
      binData: "aGVsbG8=",
      strData: "héllo\r\nworld",
    });
  });

  it("answers 400 for a form field that is not JSON", () => {
    const body = enc.encode(part('Content-Disposition: form-data; name="data"', "[1,2") + "------b--\r\n");
    const err = seldonError(() => decodeSeldonRequest(request({ contentType: CT, body })));
    expect(err.message).toMatch(/^Invalid JSON in form field "data": /);
  });

  it("answers 400 for a non-binData file that is not UTF-8", async () => {
    const form = new FormData();
    form.append("strData", new Blob([new Uint8Array([0xff, 0xfe, 0x00])]), "x.bin");
    const req = await formRequest(form);
    expect(seldonError(() => decodeSeldonRequest(req)).message).toBe(
      'File "strData" is not UTF-8 text; send binary content as a file named "binData".',
    );
  });

  it("answers 400 for a malformed multipart body", () => {
    const body = enc.encode(part('Content-Disposition: form-data; name="data"', "{}"));
    expect(seldonError(() => decodeSeldonRequest(request({ contentType: CT, body }))).message).toBe(
      "Malformed multipart/form-data body: missing closing delimiter",
    );
    expect(seldonError(() => decodeSeldonRequest(request({ contentType: "multipart/form-data", body }))).message).toMatch(
      /no boundary parameter/,
    );
  });

  it("round-trips a FormData with a binary binData file holding every byte value", async () => {
    const binary = new Uint8Array(512);
    for (let i = 0; i < binary.length; i++) binary[i] = i % 256;
    binary.set(enc.encode("\r\n--"), 100);
    const form = new FormData();
    form.append("binData", new Blob([binary]), "image.raw");
    form.append("meta", '{"tags":{"source":"form"}}');
    const decoded = decodeSeldonRequest(await formRequest(form)) as { binData: string; meta: unknown };
    expect(Buffer.from(decoded.binData, "base64").equals(Buffer.from(binary))).toBe(true);
    expect(decoded.meta).toEqual({ tags: { source: "form" } });
    expect(parseSeldonMessage(decoded).binData).toBe(decoded.binData);
  });

  it("takes the first of repeated fields, and a file overrides a field of the same name", async () => {
    const form = new FormData();
    form.append("jsonData", '{"n":1}');
    form.append("jsonData", '{"n":2}');
    form.append("strData", "from field");
    form.append("strData", new Blob(["from file"]), "s.txt");
    expect(decodeSeldonRequest(await formRequest(form))).toEqual({ jsonData: { n: 1 }, strData: "from file" });
  });

  it("keeps a field named __proto__ as a plain property", async () => {
    const form = new FormData();
    form.append("__proto__", '{"polluted":true}');
    const decoded = decodeSeldonRequest(await formRequest(form)) as Record<string, unknown>;
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.hasOwn(decoded, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("parseSeldonMessage: valid messages", () => {
  it("accepts each payload kind", () => {
    const messages = [
      { data: { names: ["a", "b"], tensor: { shape: [2, 2], values: [1, 2, 3, 4] } } },
      { data: { ndarray: [[1, "x"], [true, null]] } },
      { data: { tftensor: { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: 1 }] }, float_val: [1] } } },
      { data: { names: [] } },
      { strData: "hello" },
      { binData: "aGVsbG8=" },
      { binData: "aGVs\nbG8=" },
      { jsonData: { any: ["thing"] } },
      { jsonData: null },
      {},
      { meta: { puid: "p1" } },
    ];
    for (const m of messages) expect(parseSeldonMessage(m)).toBe(m);
  });

  it("accepts a full meta and a status", () => {
    const message = {
      status: { code: 200, status: "SUCCESS" },
      meta: {
        puid: "abc",
        tags: { a: 1, b: { nested: true } },
        routing: { router: -1, ab: 0 },
        requestPath: { model: "seldonio/mock:1.0" },
        metrics: [
          { key: "requests", type: "COUNTER", value: 1 },
          { key: "latency", type: "TIMER", value: 20.5, tags: { path: "x" } },
        ],
      },
      data: { ndarray: [] },
    };
    expect(parseSeldonMessage(message)).toEqual(message);
  });

  it("reads metrics in protobuf's JSON form: no type is COUNTER, no value is 0, a type may be its enum number", () => {
    // What SeldonClient sends back in a feedback's response after json_to_seldon_message / MessageToJson.
    const feedback = parseFeedback({
      request: { data: { ndarray: [[1.0, 2.0]] } },
      response: {
        meta: { metrics: [{ key: "mycounter", value: 1.0 }, { key: "mygauge", type: "GAUGE" }, { key: "t", type: 2, value: 3 }] },
        data: { ndarray: [[1.0, 2.0]] },
      },
      reward: 1.0,
    });
    expect(feedback.response?.meta?.metrics).toEqual([
      { key: "mycounter", type: "COUNTER", value: 1 },
      { key: "mygauge", type: "GAUGE", value: 0 },
      { key: "t", type: "TIMER", value: 3 },
    ]);
    expect(parseSeldonMessage({ meta: { metrics: [{ key: "c", type: null, value: 2 }] }, strData: "x" }).meta?.metrics).toEqual([
      { key: "c", type: "COUNTER", value: 2 },
    ]);
  });

  it("accepts a scalar tensor (shape [] holds one value) and an empty one", () => {
    expect(() => parseSeldonMessage({ data: { tensor: { shape: [], values: [3] } } })).not.toThrow();
    expect(() => parseSeldonMessage({ data: { tensor: { shape: [0, 4], values: [] } } })).not.toThrow();
  });
});

describe("parseSeldonMessage: each invalid field is a 400 naming it", () => {
  const cases: [string, unknown, string][] = [
    ["a non-object", [1, 2], "Invalid request data type: the message must be a JSON object, got an array"],
    ["a string", "x", "Invalid request data type: the message must be a JSON object, got a string"],
    [
      "two payloads",
      { data: { ndarray: [] }, strData: "x" },
      "Invalid request data type: the message must carry only one of data, binData, strData, jsonData, got data and strData",
    ],
    ["data not an object", { data: [1] }, "Invalid request data type: data must be an object, got an array"],
    [
      "tensor and ndarray together",
      { data: { tensor: { shape: [1], values: [1] }, ndarray: [1] } },
      "Invalid request data type: data must hold only one of tensor, ndarray, tftensor, got tensor and ndarray",
    ],
    [
      "tensor values not matching shape",
      { data: { tensor: { shape: [2, 3], values: [1, 2, 3, 4, 5] } } },
      "Invalid request data type: data.tensor has shape [2, 3], which needs 6 values, but has 5",
    ],
    [
      "a fractional shape",
      { data: { tensor: { shape: [1.5], values: [1] } } },
      "Invalid request data type: data.tensor.shape[0] must be a non-negative integer, got 1.5",
    ],
    [
      "a negative shape",
      { data: { tensor: { shape: [-1], values: [] } } },
      "Invalid request data type: data.tensor.shape[0] must be a non-negative integer, got -1",
    ],
    [
      "a missing shape",
      { data: { tensor: { values: [1] } } },
      "Invalid request data type: data.tensor.shape is required",
    ],
    [
      "a string among tensor values",
      { data: { tensor: { shape: [2], values: [1, "2"] } } },
      "Invalid request data type: data.tensor.values[1] must be a number, got a string",
    ],
    ["ndarray not an array", { data: { ndarray: { a: 1 } } }, "Invalid request data type: data.ndarray must be an array, got an object"],
    ["tftensor not an object", { data: { tftensor: [1] } }, "Invalid request data type: data.tftensor must be an object, got an array"],
    ["names not strings", { data: { names: ["a", 1], ndarray: [] } }, "Invalid request data type: data.names[1] must be a string, got a number"],
    ["strData not a string", { strData: 5 }, "Invalid request data type: strData must be a string, got a number"],
    ["binData not a string", { binData: [1] }, "Invalid request data type: binData must be a base64 string, got an array"],
    ["binData not base64", { binData: "not base64!" }, "Invalid request data type: binData is not valid base64"],
    ["binData badly padded", { binData: "aGVsbG8" }, "Invalid request data type: binData is not valid base64"],
    ["meta not an object", { meta: "x" }, "Invalid request data type: meta must be an object, got a string"],
    ["puid not a string", { meta: { puid: 1 } }, "Invalid request data type: meta.puid must be a string, got a number"],
    ["tags not an object", { meta: { tags: [] } }, "Invalid request data type: meta.tags must be an object, got an array"],
    ["a fractional route", { meta: { routing: { r: 0.5 } } }, "Invalid request data type: meta.routing.r must be an integer, got 0.5"],
    ["a non-string request path", { meta: { requestPath: { m: 1 } } }, "Invalid request data type: meta.requestPath.m must be a string, got a number"],
    ["metrics not a list", { meta: { metrics: {} } }, "Invalid request data type: meta.metrics must be an array, got an object"],
    [
      "a metric with an unknown type",
      { meta: { metrics: [{ key: "k", type: "HISTOGRAM", value: 1 }] } },
      'Invalid request data type: meta.metrics[0].type must be COUNTER, GAUGE or TIMER, got "HISTOGRAM"',
    ],
    [
      "a metric without a numeric value",
      { meta: { metrics: [{ key: "k", type: "GAUGE", value: "1" }] } },
      "Invalid request data type: meta.metrics[0].value must be a number, got a string",
    ],
    ["status not an object", { status: 1 }, "Invalid request data type: status must be an object, got a number"],
  ];
  for (const [what, value, message] of cases) {
    it(`rejects ${what}`, () => {
      expect(seldonError(() => parseSeldonMessage(value)).message).toBe(message);
    });
  }
});

describe("parseFeedback", () => {
  it("accepts request, response, truth and reward", () => {
    const feedback = {
      request: { data: { ndarray: [[1, 2]] } },
      response: { data: { ndarray: [[0.9]] }, meta: { routing: { router: 1 } } },
      truth: { data: { ndarray: [[1]] } },
      reward: 1,
    };
    expect(parseFeedback(feedback)).toBe(feedback);
    expect(parseFeedback({ reward: 0.5 })).toEqual({ reward: 0.5 });
    expect(parseFeedback({})).toEqual({});
  });

  it("rejects a non-object, a bad reward and an invalid nested message", () => {
    expect(seldonError(() => parseFeedback([])).message).toBe(
      "Invalid request data type: the feedback must be a JSON object, got an array",
    );
    expect(seldonError(() => parseFeedback({ reward: "1" })).message).toBe(
      "Invalid request data type: reward must be a number, got a string",
    );
    expect(seldonError(() => parseFeedback({ truth: { data: { ndarray: 1 } } })).message).toBe(
      "Invalid request data type: truth.data.ndarray must be an array, got a number",
    );
    expect(seldonError(() => parseFeedback({ request: "x" })).message).toBe(
      "Invalid request data type: request must be a JSON object, got a string",
    );
  });
});

describe("parseMessageList", () => {
  const a = { data: { ndarray: [[1]] } };
  const b = { strData: "x" };

  it('accepts {"seldonMessages": [...]} and a bare list', () => {
    expect(parseMessageList({ seldonMessages: [a, b] })).toEqual([a, b]);
    expect(parseMessageList([a, b])).toEqual([a, b]);
  });

  it("rejects other shapes, an empty list and an invalid member", () => {
    expect(seldonError(() => parseMessageList({ data: {} })).message).toBe(
      'Invalid request data type: the aggregate request must be {"seldonMessages": [...]} or a list of messages',
    );
    expect(seldonError(() => parseMessageList({ seldonMessages: {} })).message).toBe(
      "Invalid request data type: seldonMessages must be an array, got an object",
    );
    expect(seldonError(() => parseMessageList([])).message).toBe(
      "Invalid request data type: seldonMessages is empty; aggregate needs at least one message",
    );
    expect(seldonError(() => parseMessageList({ seldonMessages: [] })).message).toMatch(/seldonMessages is empty/);
    expect(seldonError(() => parseMessageList([a, { data: { tensor: { shape: [2], values: [1] } } }])).message).toBe(
      "Invalid request data type: seldonMessages[1].data.tensor has shape [2], which needs 2 values, but has 1",
    );
  });
});
