/**
 * OpenBayes predictors over real HTTP: every constructor argument (none, onnx, config, modelDir, an unknown name),
 * every predict argument (json, payload, data, params, headers, request, and combinations), JSON and MessagePack
 * both ways, every kind of answer, the errors, limitConcurrency and the run() background task.
 */
import { join } from "node:path";
import { decode, encode } from "@msgpack/msgpack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ModelServer, OpenBayesPredictor, type PredictArgs, type PredictorClass, type PredictorInit, ServingError } from "../../packages/server/src/index.ts";
import { startServer } from "../helpers/server.ts";
import { expectError, FIXTURES } from "./util.ts";

const IRIS_DIR = join(FIXTURES, "openbayes", "iris");
const EMPTY_DIR = join(FIXTURES, "openbayes", "single");
const MSGPACK_TYPES = ["application/msgpack", "application/x-msgpack", "application/vnd.msgpack", "application/vnd.messagepack"];
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46]);

interface Logged {
  level: string;
  message: string;
}

interface Served {
  server: ModelServer;
  url: string;
  model: OpenBayesPredictor;
  logs: Logged[];
}

const running: ModelServer[] = [];

async function serve(cls: PredictorClass, modelDir = IRIS_DIR): Promise<Served> {
  const logs: Logged[] = [];
  const model = new OpenBayesPredictor(cls, "predictor", { modelDir });
  const { server, url } = await startServer(
    { openbayes: true, enableGrpc: false, logger: { log: (level, message) => logs.push({ level, message }) } },
    [model],
  );
  running.push(server);
  return { server, url, model, logs };
}

/** Starting must fail: the server's start() rejects with the predictor's startup error. */
async function startupError(cls: PredictorClass, modelDir = IRIS_DIR): Promise<string> {
  const model = new OpenBayesPredictor(cls, "predictor", { modelDir });
  try {
    const { server } = await startServer({ openbayes: true, enableGrpc: false }, [model]);
    running.push(server);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("the server started");
}

async function call(url: string, init: { body?: string | Uint8Array; headers?: Record<string, string>; path?: string } = {}) {
  const r = await fetch(`${url}${init.path ?? "/"}`, { method: "POST", headers: init.headers, body: init.body });
  const bytes = Buffer.from(await r.arrayBuffer());
  const text = bytes.toString("utf8");
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, bytes, text, json };
}

const postJson = (url: string, body: unknown, headers: Record<string, string> = {}, path = "/") =>
  call(url, { body: JSON.stringify(body), headers: { "content-type": "application/json", ...headers }, path });

afterAll(async () => {
  await Promise.all(running.map((s) => s.stop()));
});

describe("constructor arguments", () => {
  it("none: a constructor without arguments (and no onnx session created)", async () => {
    class NoArgs {
      predict() {
        return { result: "It works!" };
      }
    }
    const { url, model } = await serve(NoArgs);
    const r = await call(url);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ result: "It works!" });
    expect(model.session).toBeUndefined();
  });

  it("onnx: an InferenceSession of the first *.onnx beside the predictor", async () => {
    class WithOnnx {
      private readonly session: PredictorInit["onnx"];
      constructor({ onnx }: PredictorInit) {
        this.session = onnx;
      }
      async predict({ json }: PredictArgs) {
        const { Tensor } = await import("onnxruntime-node");
        const input = new Tensor("float32", Float32Array.from(json.features as number[]), [1, 4]);
        const out = await this.session.run({ input });
        return { inputs: this.session.inputNames, probabilities: Array.from(out.probabilities.data as Float32Array) };
      }
    }
    const { url, model } = await serve(WithOnnx);
    expect(model.session).toBeDefined();
    const r = await postJson(url, { features: [6.8, 2.8, 4.8, 1.4] });
    expect(r.status, r.text).toBe(200);
    expect(r.json.inputs).toEqual(["input"]);
    expect(r.json.probabilities).toHaveLength(3);
    // The iris request of the README: versicolor, 0.80.
    expect(r.json.probabilities[1]).toBeCloseTo(0.8015, 3);
  });

  it("onnx through a non-destructured argument, read after construction", async () => {
    class Later {
      constructor(private readonly init: PredictorInit) {}
      predict() {
        return { outputs: this.init.onnx.outputNames };
      }
    }
    const { url } = await serve(Later);
    expect((await call(url)).json).toEqual({ outputs: ["probabilities"] });
  });

  it("onnx with no *.onnx file is a startup error naming the folder", async () => {
    class NeedsOnnx {
      constructor({ onnx }: PredictorInit) {
        void onnx;
      }
      predict() {
        return {};
      }
    }
    const message = await startupError(NeedsOnnx, EMPTY_DIR);
    expect(message).toContain("asks for onnx");
    expect(message).toContain("no *.onnx file");
    expect(message).toContain(EMPTY_DIR);
  });

  it("config: limitConcurrency(n) answers 503 to requests past n in flight", async () => {
    const held: (() => void)[] = [];
    let entered: () => void = () => {};
    class Limited {
      constructor({ config }: PredictorInit) {
        config.limitConcurrency(1);
      }
      async predict({ json }: PredictArgs) {
        if (json.hold) {
          const wait = new Promise<void>((resolve) => held.push(resolve));
          entered();
          await wait;
        }
        return { done: json.id };
      }
    }
    const { url, model } = await serve(Limited);
    expect(model.concurrencyLimit).toBe(1);
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const first = postJson(url, { id: 1, hold: true });
    await inside;
    expect(model.requestsInFlight).toBe(1);
    const second = await postJson(url, { id: 2 });
    expectError(second, 503, "at most 1");
    held.forEach((release) => release());
    expect((await first).json).toEqual({ done: 1 });
    // Once the first is done, there is room again.
    expect((await postJson(url, { id: 3 })).json).toEqual({ done: 3 });
  });

  it("config.limit_concurrency (OpenBayes's spelling) and a bad limit", async () => {
    class Snake {
      constructor({ config }: PredictorInit) {
        config.limit_concurrency(4);
      }
      predict() {
        return [];
      }
    }
    expect((await serve(Snake)).model.concurrencyLimit).toBe(4);
    class Zero {
      constructor({ config }: PredictorInit) {
        config.limitConcurrency(0);
      }
      predict() {
        return [];
      }
    }
    expect(await startupError(Zero)).toContain("limitConcurrency needs a whole number >= 1, got 0");
  });

  it("modelDir: the predictor's folder", async () => {
    class Dir {
      private readonly dir: string;
      constructor({ modelDir }: PredictorInit) {
        this.dir = modelDir;
      }
      predict() {
        return { dir: this.dir };
      }
    }
    const { url, model } = await serve(Dir);
    expect((await call(url)).json).toEqual({ dir: IRIS_DIR });
    expect(model.session).toBeUndefined();
  });

  it("onnx, config and modelDir together", async () => {
    class All {
      readonly names: string[];
      constructor({ onnx, config, modelDir }: PredictorInit) {
        config.limitConcurrency(2);
        this.names = [onnx.inputNames[0], modelDir];
      }
      predict() {
        return this.names;
      }
    }
    const { url, model } = await serve(All);
    expect((await call(url)).json).toEqual(["input", IRIS_DIR]);
    expect(model.concurrencyLimit).toBe(2);
  });

  it("an unknown name is a startup error, as in OpenBayes", async () => {
    class Unknown {
      constructor({ weights }: { weights: string }) {
        void weights;
      }
      predict() {
        return {};
      }
    }
    const message = await startupError(Unknown as unknown as PredictorClass);
    expect(message).toContain("asks for 'weights'");
    expect(message).toContain("onnx, config, modelDir");
  });

  it("a constructor that throws is a startup error with its message", async () => {
    class Broken {
      constructor() {
        throw new Error("weights.bin is missing");
      }
      predict() {
        return {};
      }
    }
    expect(await startupError(Broken)).toContain("its constructor threw Error: weights.bin is missing");
  });

  it("predict asking for an unknown name is a startup error", async () => {
    class BadPredict {
      predict({ body }: { body: unknown }) {
        return body;
      }
    }
    const message = await startupError(BadPredict as unknown as PredictorClass);
    expect(message).toContain("predict() asks for 'body'");
    expect(message).toContain("json, payload, data, params, args, headers, request");
  });
});

describe("predict arguments", () => {
  let url: string;

  /** Answers with whichever argument ?arg= names (each getter is read only when asked for). */
  class Args {
    predict(args: PredictArgs) {
      const name = args.params.arg as keyof PredictArgs;
      const value = args[name];
      if (Buffer.isBuffer(value)) return { type: "Buffer", text: value.toString("utf8") };
      return { type: typeof value, value };
    }
  }

  beforeAll(async () => {
    url = (await serve(Args)).url;
  });

  it("json: JSON by Content-Type", async () => {
    const r = await postJson(url, { threshold: 0.3, nested: [1, { a: null }] }, {}, "/?arg=json");
    expect(r.json).toEqual({ type: "object", value: { threshold: 0.3, nested: [1, { a: null }] } });
    const charset = await call(url, { path: "/?arg=json", body: "[1,2]", headers: { "content-type": "application/json; charset=utf-8" } });
    expect(charset.json).toEqual({ type: "object", value: [1, 2] });
  });

  it.each(MSGPACK_TYPES)("json: MessagePack sent as %s", async (type) => {
    const r = await call(url, { path: "/?arg=json", body: encode({ threshold: 0.5, ids: [1, 2, 3] }), headers: { "content-type": type } });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ type: "object", value: { threshold: 0.5, ids: [1, 2, 3] } });
  });

  it("json: 400 for a body that is neither JSON nor MessagePack, for bad JSON, bad MessagePack and an empty body", async () => {
    expectError(await call(url, { path: "/?arg=json", body: "hello", headers: { "content-type": "text/plain" } }), 400, "Expected a JSON or MessagePack body", "text/plain");
    expectError(await call(url, { path: "/?arg=json", body: "{}" }), 400, "Expected a JSON or MessagePack body");
    expectError(await call(url, { path: "/?arg=json", body: "{not json", headers: { "content-type": "application/json" } }), 400, "not valid JSON");
    expectError(await call(url, { path: "/?arg=json", body: Buffer.from([0xc1]), headers: { "content-type": "application/msgpack" } }), 400, "not valid MessagePack");
    expectError(await call(url, { path: "/?arg=json", headers: { "content-type": "application/json" } }), 400, "empty");
  });

  it("payload: parsed like json, else the raw bytes (never a 400)", async () => {
    expect((await postJson(url, { a: 1 }, {}, "/?arg=payload")).json).toEqual({ type: "object", value: { a: 1 } });
    const packed = await call(url, { path: "/?arg=payload", body: encode(["x", 2]), headers: { "content-type": "application/x-msgpack" } });
    expect(packed.json).toEqual({ type: "object", value: ["x", 2] });
    const text = await call(url, { path: "/?arg=payload", body: "plain words", headers: { "content-type": "text/plain" } });
    expect(text.json).toEqual({ type: "Buffer", text: "plain words" });
    const broken = await call(url, { path: "/?arg=payload", body: "{broken", headers: { "content-type": "application/json" } });
    expect(broken.json).toEqual({ type: "Buffer", text: "{broken" });
  });

  it("data: always the raw body as a Buffer, whatever the Content-Type", async () => {
    const r = await call(url, { path: "/?arg=data", body: '{"a": 1}', headers: { "content-type": "application/json" } });
    expect(r.json).toEqual({ type: "Buffer", text: '{"a": 1}' });
    expect((await call(url, { path: "/?arg=data" })).json).toEqual({ type: "Buffer", text: "" });
  });

  it("params (and args): the query string, first value of a repeated key", async () => {
    const r = await call(url, { path: "/?arg=params&foo=bar&n=1&n=2&empty=&sp=a%20b" });
    expect(r.json).toEqual({ type: "object", value: { arg: "params", foo: "bar", n: "1", empty: "", sp: "a b" } });
    expect((await call(url, { path: "/?arg=args&x=y" })).json).toEqual({ type: "object", value: { arg: "args", x: "y" } });
  });

  it("headers: lower-cased names", async () => {
    const r = await call(url, { path: "/?arg=headers", body: "x", headers: { "X-Request-ID": "abc", "Content-Type": "text/plain", Authorization: "Bearer t" } });
    expect(r.json.type).toBe("object");
    expect(r.json.value).toMatchObject({ "x-request-id": "abc", "content-type": "text/plain", authorization: "Bearer t" });
    for (const k of Object.keys(r.json.value)) expect(k).toBe(k.toLowerCase());
  });

  it("request: a web-standard Request", async () => {
    class UsesRequest {
      async predict({ request }: PredictArgs) {
        const u = new URL(request.url);
        return {
          isRequest: request instanceof Request,
          method: request.method,
          path: u.pathname,
          q: u.searchParams.getAll("q"),
          type: request.headers.get("content-type"),
          token: request.headers.get("x-token"),
          body: await request.json(),
        };
      }
    }
    const { url: u } = await serve(UsesRequest);
    const r = await call(u, { path: "/?q=1&q=2", body: '{"hello":"world"}', headers: { "content-type": "application/json", "x-token": "t0k" } });
    expect(r.json).toEqual({ isRequest: true, method: "POST", path: "/", q: ["1", "2"], type: "application/json", token: "t0k", body: { hello: "world" } });
  });

  it("combinations: json with params and headers; data with request; payload with params", async () => {
    class Combos {
      predict({ json, params, headers }: PredictArgs) {
        return { message: `Param foo is ${params.foo}`, name: json.name, agent: headers["x-agent"] };
      }
    }
    const a = await serve(Combos);
    expect((await postJson(a.url, { name: "n" }, { "x-agent": "test" }, "/?foo=bar")).json).toEqual({ message: "Param foo is bar", name: "n", agent: "test" });

    class DataAndRequest {
      predict({ data, request }: PredictArgs) {
        return { bytes: data.byteLength, method: request.method };
      }
    }
    const b = await serve(DataAndRequest);
    expect((await call(b.url, { body: Buffer.alloc(300, 7), headers: { "content-type": "application/octet-stream" } })).json).toEqual({ bytes: 300, method: "POST" });

    class PayloadAndParams {
      predict({ payload, params }: PredictArgs) {
        return { kind: Buffer.isBuffer(payload) ? "bytes" : typeof payload, scale: Number(params.scale) };
      }
    }
    const c = await serve(PayloadAndParams);
    expect((await call(c.url, { path: "/?scale=3", body: "raw", headers: { "content-type": "text/plain" } })).json).toEqual({ kind: "bytes", scale: 3 });
  });

  it("arguments are lazy: a predictor that reads only data never trips over a body json would refuse", async () => {
    class OnlyData {
      predict({ data }: PredictArgs) {
        return `${data.byteLength} bytes`;
      }
    }
    const { url: u } = await serve(OnlyData);
    const r = await call(u, { body: "{broken", headers: { "content-type": "application/json" } });
    expect(r.status).toBe(200);
    expect(r.text).toBe("7 bytes");
  });

  it("predict may be a field holding a function; a class without predict does not start", async () => {
    class Field {
      predict = ({ params }: PredictArgs) => ({ field: params.x });
    }
    const { url: u } = await serve(Field);
    expect((await call(u, { path: "/?x=1" })).json).toEqual({ field: "1" });
    class NoPredict {}
    expect(await startupError(NoPredict as unknown as PredictorClass)).toContain("it has no predict() method");
  });

  it("predict may be sync or async", async () => {
    class Async {
      async predict({ json }: PredictArgs) {
        await new Promise((r) => setTimeout(r, 5));
        return { twice: json.x * 2 };
      }
    }
    const { url: u } = await serve(Async);
    expect((await postJson(u, { x: 21 })).json).toEqual({ twice: 42 });
  });
});

describe("answers", () => {
  let url: string;

  /** Answers with the kind ?kind= names. */
  class Kinds {
    predict({ params }: PredictArgs): unknown {
      switch (params.kind) {
        case "object":
          return { label: "cat", score: 0.9, bytes: Buffer.from("hi"), floats: Float32Array.of(0.5, 1.5), big: 7n };
        case "array":
          return [1, "two", { three: 3 }];
        case "string":
          return "class 1";
        case "png":
          return PNG;
        case "jpeg":
          return new Uint8Array(JPEG);
        case "bytes":
          return Buffer.from([1, 2, 3, 4]);
        case "response":
          return new Response("created!", { status: 201, headers: { "content-type": "text/x-custom", "x-extra": "yes", "set-cookie": "a=1" } });
        case "stream":
          return new Response(new Blob(["s1-", "s2"]).stream(), { headers: { "content-type": "text/plain" } });
        case "number":
          return 42;
        case "null":
          return null;
        default:
          return undefined;
      }
    }
  }

  beforeAll(async () => {
    url = (await serve(Kinds)).url;
  });

  it("an object is JSON by default, with bytes as base64 and typed arrays as lists", async () => {
    const r = await call(url, { path: "/?kind=object" });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    expect(r.json).toEqual({ label: "cat", score: 0.9, bytes: Buffer.from("hi").toString("base64"), floats: [0.5, 1.5], big: 7 });
  });

  it.each([["*/*"], ["application/json"], ["application/*"], ["text/html, */*;q=0.1"]])("Accept %s -> JSON", async (accept) => {
    const r = await call(url, { path: "/?kind=array", headers: { accept } });
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    expect(r.json).toEqual([1, "two", { three: 3 }]);
  });

  it.each(MSGPACK_TYPES)("Accept %s -> MessagePack, bytes as bin", async (type) => {
    const r = await call(url, { path: "/?kind=object", headers: { accept: type } });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe(type);
    const value = decode(new Uint8Array(r.bytes)) as Record<string, unknown>;
    expect(value).toEqual({ label: "cat", score: 0.9, bytes: new Uint8Array(Buffer.from("hi")), floats: [0.5, 1.5], big: 7 });
  });

  it("Accept picks by q: MessagePack preferred over JSON, JSON refused with q=0", async () => {
    const r = await call(url, { path: "/?kind=array", headers: { accept: "application/json;q=0.5, application/msgpack" } });
    expect(r.headers.get("content-type")).toBe("application/msgpack");
    expect(decode(r.bytes)).toEqual([1, "two", { three: 3 }]);
    const refused = await call(url, { path: "/?kind=array", headers: { accept: "application/json;q=0, */*" } });
    expect(refused.headers.get("content-type")).toBe("application/msgpack");
  });

  it("406 when Accept names only types the predictor cannot answer in", async () => {
    expectError(await call(url, { path: "/?kind=object", headers: { accept: "text/html" } }), 406, "text/html");
    expectError(await call(url, { path: "/?kind=array", headers: { accept: "application/xml, text/csv;q=0.9" } }), 406);
    // Strings and bytes have their own type: Accept does not apply.
    expect((await call(url, { path: "/?kind=string", headers: { accept: "image/png" } })).status).toBe(200);
  });

  it("MessagePack in, MessagePack out", async () => {
    class Echo {
      predict({ json }: PredictArgs) {
        return { echoed: json };
      }
    }
    const { url: u } = await serve(Echo);
    const r = await call(u, { body: encode({ blob: new Uint8Array([9, 8, 7]), n: 1.25 }), headers: { "content-type": "application/msgpack", accept: "application/msgpack" } });
    expect(decode(new Uint8Array(r.bytes))).toEqual({ echoed: { blob: new Uint8Array([9, 8, 7]), n: 1.25 } });
  });

  it("a string is text/plain", async () => {
    const r = await call(url, { path: "/?kind=string" });
    expect(r.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(r.text).toBe("class 1");
  });

  it("PNG bytes are image/png, JPEG bytes image/jpeg, other bytes application/octet-stream", async () => {
    const png = await call(url, { path: "/?kind=png" });
    expect(png.headers.get("content-type")).toBe("image/png");
    expect(png.bytes.equals(PNG)).toBe(true);
    const jpeg = await call(url, { path: "/?kind=jpeg" });
    expect(jpeg.headers.get("content-type")).toBe("image/jpeg");
    expect(jpeg.bytes.equals(JPEG)).toBe(true);
    const other = await call(url, { path: "/?kind=bytes" });
    expect(other.headers.get("content-type")).toBe("application/octet-stream");
    expect([...other.bytes]).toEqual([1, 2, 3, 4]);
  });

  it("a web Response is sent as it is: status, headers and body (streamed bodies too)", async () => {
    const r = await call(url, { path: "/?kind=response" });
    expect(r.status).toBe(201);
    expect(r.headers.get("content-type")).toBe("text/x-custom");
    expect(r.headers.get("x-extra")).toBe("yes");
    expect(r.headers.get("set-cookie")).toBe("a=1");
    expect(r.text).toBe("created!");
    const s = await call(url, { path: "/?kind=stream" });
    expect(s.text).toBe("s1-s2");
  });

  it.each(["undefined", "number", "null"])("%s is an empty 500, and the reason is logged", async (kind) => {
    const { url: u, logs } = await serve(Kinds);
    const r = await call(u, { path: `/?kind=${kind}` });
    expect(r.status).toBe(500);
    expect(r.bytes.byteLength).toBe(0);
    expect(logs.some((l) => l.level === "error" && l.message.includes("predict() returned"))).toBe(true);
  });
});

describe("errors", () => {
  let served: Served;

  class Failing {
    predict({ params }: PredictArgs) {
      if (params.fail === "serving") throw new ServingError("threshold must be between 0 and 1", 422);
      if (params.fail === "default") throw new ServingError("bad input");
      if (params.fail === "boom") throw new TypeError("cannot read weights of undefined");
      if (params.fail === "async") return Promise.reject(new Error("async failure"));
      return { ok: true };
    }
  }

  beforeAll(async () => {
    served = await serve(Failing);
  });

  it("ServingError answers {error} with its status (400 by default)", async () => {
    expect(expectError(await call(served.url, { path: "/?fail=serving" }), 422)).toBe("threshold must be between 0 and 1");
    expect(expectError(await call(served.url, { path: "/?fail=default" }), 400)).toBe("bad input");
  });

  it("any other exception is a 500 with the stack logged, and the server keeps serving", async () => {
    const before = served.logs.length;
    expectError(await call(served.url, { path: "/?fail=boom" }), 500, "cannot read weights of undefined");
    const logged = served.logs.slice(before).find((l) => l.level === "error");
    expect(logged?.message).toContain("TypeError: cannot read weights of undefined");
    expect(logged?.message).toMatch(/\n\s+at /);
    expectError(await call(served.url, { path: "/?fail=async" }), 500, "async failure");
    const ok = await call(served.url);
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ ok: true });
  });

  it("GET / answers a status message (HEAD / too, without a body)", async () => {
    const r = await fetch(`${served.url}/`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: "ok", model: "predictor" });
    const head = await fetch(`${served.url}/`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  it("V1 :predict reaches the same predict with the body as json", async () => {
    class Echo {
      predict({ json, headers }: PredictArgs) {
        return { echoed: json, type: headers["content-type"] };
      }
    }
    const { url } = await serve(Echo);
    const r = await postJson(url, { instances: [1] }, {}, "/v1/models/predictor:predict");
    expect(r.json).toEqual({ echoed: { instances: [1] }, type: "application/json" });
  });
});

describe("run(): a background task", () => {
  it("starts after load, gets a signal that aborts on shutdown", async () => {
    let signal: AbortSignal | undefined;
    let ticks = 0;
    class Background {
      async run(options: { signal: AbortSignal }) {
        signal = options.signal;
        while (!options.signal.aborted) {
          ticks++;
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      predict() {
        return { ticks };
      }
    }
    const { url, server, model } = await serve(Background);
    expect(signal?.aborted).toBe(false);
    await expect.poll(async () => (await call(url)).json.ticks, { timeout: 20_000 }).toBeGreaterThan(2);
    await server.stop();
    expect(signal?.aborted).toBe(true);
    await model.runTask;
  });

  it("a failing run() is logged and does not stop serving", async () => {
    class FailingRun {
      async run() {
        throw new Error("lost the connection to the queue");
      }
      predict() {
        return "still serving";
      }
    }
    const { url, model, logs } = await serve(FailingRun);
    await model.runTask;
    expect(logs.some((l) => l.level === "error" && l.message.includes("run() failed") && l.message.includes("lost the connection to the queue"))).toBe(true);
    expect((await call(url)).text).toBe("still serving");
  });
});
