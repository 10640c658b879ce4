/**
 * A Seldon MODEL component over real HTTP: every payload kind, Seldon's response rules (mirrored data kind, names,
 * ints, puid, tags, metrics), the *Raw methods, the request forms (JSON, ?json=, form, multipart) and every error
 * path with Seldon's status body, plus V1/V2 clients reaching the same predict.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NDArray, SeldonError, SeldonResponse } from "../../packages/server/src/index.ts";
import { SeldonNotImplementedError } from "../../packages/server/src/runtime/index.ts";
import {
  expectSeldonError,
  postJson,
  type Reply,
  sample,
  scrape,
  type SeldonRunning,
  send,
  startSeldon,
} from "../fixtures/seldon/harness.ts";

/** Echoes every payload kind: arrays as they are, strings and bytes transformed so the answer proves it ran. */
class Echo {
  predict(X: unknown, names: string[], meta: Record<string, unknown>) {
    if (typeof X === "string") return `echo:${X}`;
    if (X instanceof Uint8Array) return Uint8Array.from(X).reverse();
    if (X instanceof NDArray) return new SeldonResponse(X, { dtype: X.dtype, names: names.join(","), sawPuid: String(meta.puid ?? "") });
    return { received: X, kind: typeof X };
  }
}

/** The seed's UserCustomException: its own HTTP status and body. */
class UserCustomException extends Error {
  statusCode = 404;
  constructor(
    message: string,
    readonly applicationErrorCode: number,
    httpStatusCode?: number,
  ) {
    super(message);
    if (httpStatusCode !== undefined) this.statusCode = httpStatusCode;
  }
  toJSON() {
    return { status: { status: this.statusCode, message: this.message, app_code: this.applicationErrorCode } };
  }
}

/** Misbehaves on command (strData), answers "ok:<text>" otherwise. */
class Faulty {
  private badMetricNext = false;
  predict(X: unknown) {
    switch (X) {
      case "forbidden":
        throw new SeldonError("not allowed for this user", 403);
      case "custom":
        throw new UserCustomException("Test-Error-Msg", 1402, 402);
      case "crash":
        throw new Error("boom: division by zero");
      case "type-error":
        return (undefined as unknown as { x: number[] }).x;
      case "thrown-string":
        throw "plain string thrown";
      case "snake-case": {
        // Python-style spelling of the same idea: status_code and to_dict().
        const e = Object.assign(new Error("conflict"), { status_code: 409, to_dict: () => ({ error: "version conflict", retry: false }) });
        throw e;
      }
      case "status-only":
        throw Object.assign(new Error("slow down"), { statusCode: 429 });
      case "number":
        return 42;
      case "undefined":
        return undefined;
      case "badmetric":
        this.badMetricNext = true;
        return "fine";
      default:
        return `ok:${String(X)}`;
    }
  }
  metrics() {
    if (!this.badMetricNext) return [];
    this.badMetricNext = false;
    return [{ type: "COUNTER", key: "broken", value: "one" }];
  }
}

const isCors = (r: Reply) => r.headers.get("access-control-allow-origin") === "*";

describe("Seldon MODEL: payload kinds over /api/v1.0/predictions", () => {
  let s: SeldonRunning;
  let url: string;
  beforeAll(async () => {
    s = await startSeldon(new Echo(), "echo");
    url = `${s.url}/api/v1.0/predictions`;
  });
  afterAll(async () => s?.server.stop());

  it("data.ndarray in -> ndarray out; ints stay ints (seldon-core #3681); names t:i; puid echoed", async () => {
    const r = await postJson(url, { data: { names: ["a", "b"], ndarray: [[1, 2], [3, 4]] }, meta: { puid: "puid-1" } });
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    expect(r.text).toContain('"ndarray":[[1,2],[3,4]]');
    expect(r.json).toEqual({
      data: { names: ["t:0", "t:1"], ndarray: [[1, 2], [3, 4]] },
      meta: { puid: "puid-1", tags: { dtype: "int64", names: "a,b", sawPuid: "puid-1" } },
    });
  });

  it("floats come back as floats", async () => {
    const r = await postJson(url, { data: { ndarray: [[0.5, 1.25]] } });
    expect(r.json.data.ndarray).toEqual([[0.5, 1.25]]);
    expect(r.json.meta.tags.dtype).toBe("float64");
  });

  it("a 1-D result has names []", async () => {
    const r = await postJson(url, { data: { ndarray: [1, 2, 3] } });
    expect(r.json.data).toEqual({ names: [], ndarray: [1, 2, 3] });
  });

  it("strings in data.ndarray reach predict and come back as ndarray", async () => {
    const r = await postJson(url, { data: { ndarray: [["a", "b"]] } });
    expect(r.status, r.text).toBe(200);
    expect(r.json.data).toEqual({ names: ["t:0", "t:1"], ndarray: [["a", "b"]] });
    expect(r.json.meta.tags.dtype).toBe("string");
  });

  it("data.tensor in -> tensor out with the shape kept", async () => {
    const r = await postJson(url, { data: { tensor: { shape: [2, 3], values: [1, 2, 3, 4.5, 5, 6] } } });
    expect(r.status, r.text).toBe(200);
    expect(r.json.data).toEqual({ names: ["t:0", "t:1", "t:2"], tensor: { shape: [2, 3], values: [1, 2, 3, 4.5, 5, 6] } });
  });

  it("data.tftensor in -> tftensor out in Seldon's camelCase, keeping DT_FLOAT (snake_case and camelCase requests)", async () => {
    const snake = await postJson(url, {
      data: { tftensor: { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: 1 }, { size: 2 }] }, float_val: [1.5, 2] } },
    });
    expect(snake.status, snake.text).toBe(200);
    expect(snake.json.data).toEqual({
      names: ["t:0", "t:1"],
      tftensor: { dtype: "DT_FLOAT", tensorShape: { dim: [{ size: "1" }, { size: "2" }] }, floatVal: [1.5, 2] },
    });

    const camel = await postJson(url, {
      data: { tftensor: { dtype: "DT_FLOAT", tensorShape: { dim: [{ size: "2" }] }, floatVal: [3, 4] } },
    });
    expect(camel.status, camel.text).toBe(200);
    // A float tensor stays a float tensor even though its values are whole numbers.
    expect(camel.json.data.tftensor).toEqual({ dtype: "DT_FLOAT", tensorShape: { dim: [{ size: "2" }] }, floatVal: [3, 4] });
  });

  it("strData in -> the method gets the string -> strData out", async () => {
    const r = await postJson(url, { strData: "hello wörld" });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ strData: "echo:hello wörld", meta: {} });
  });

  it("binData in -> the method gets the bytes -> base64 binData out", async () => {
    const bytes = Buffer.from([0, 255, 128, 10, 13, 7]);
    const r = await postJson(url, { binData: bytes.toString("base64") });
    expect(r.status, r.text).toBe(200);
    expect(Object.keys(r.json).sort()).toEqual(["binData", "meta"]);
    expect([...Buffer.from(r.json.binData, "base64")]).toEqual([7, 13, 10, 128, 255, 0]);
  });

  it("jsonData in -> the method gets the parsed value -> a dict out is jsonData", async () => {
    const r = await postJson(url, { jsonData: { text: "hi", n: [1, 2] }, meta: { puid: "j" } });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ jsonData: { received: { text: "hi", n: [1, 2] }, kind: "object" }, meta: { puid: "j" } });
  });

  it("/predict and /api/v0.1/predictions are the same predict", async () => {
    for (const path of ["/predict", "/api/v0.1/predictions"]) {
      const r = await postJson(`${s.url}${path}`, { strData: path });
      expect(r.status, r.text).toBe(200);
      expect(r.json.strData).toBe(`echo:${path}`);
    }
  });
});

describe("Seldon MODEL: load()", () => {
  let s: SeldonRunning;
  class Lazy {
    loads = 0;
    weights: number[] | undefined;
    async load() {
      this.loads++;
      await new Promise((r) => setImmediate(r));
      this.weights = [10, 20];
    }
    predict(X: NDArray) {
      if (!this.weights) throw new Error("predict before load");
      return X.map((v: number, i) => v * this.weights![i % 2]);
    }
  }
  let lazy: Lazy;
  beforeAll(async () => {
    lazy = new Lazy();
    s = await startSeldon(lazy, "lazy");
  });
  afterAll(async () => s?.server.stop());

  it("runs once before the first request", async () => {
    for (let i = 0; i < 2; i++) {
      const r = await postJson(`${s.url}/api/v1.0/predictions`, { data: { ndarray: [[1, 1]] } });
      expect(r.status, r.text).toBe(200);
      expect(r.json.data.ndarray).toEqual([[10, 20]]);
    }
    expect(lazy.loads).toBe(1);
  });
});

describe("Seldon MODEL: request forms", () => {
  let s: SeldonRunning;
  beforeAll(async () => {
    s = await startSeldon(new Echo(), "echo");
  });
  afterAll(async () => s?.server.stop());

  it("GET /predict?json=...", async () => {
    const json = JSON.stringify({ data: { ndarray: [[5, 6]] }, meta: { puid: "q" } });
    const r = await send(`${s.url}/predict?json=${encodeURIComponent(json)}`);
    expect(r.status, r.text).toBe(200);
    expect(r.json.data.ndarray).toEqual([[5, 6]]);
    expect(r.json.meta.puid).toBe("q");
  });

  it("an application/x-www-form-urlencoded json= field", async () => {
    const r = await send(`${s.url}/api/v1.0/predictions`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ json: JSON.stringify({ strData: "from a form" }) }).toString(),
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.strData).toBe("echo:from a form");
  });

  it("curl -d '{…}' (a JSON body labelled form-urlencoded) and text/plain JSON are read as JSON", async () => {
    for (const type of ["application/x-www-form-urlencoded", "text/plain"]) {
      const r = await send(`${s.url}/api/v1.0/predictions`, {
        method: "POST",
        headers: { "content-type": type },
        body: JSON.stringify({ data: { ndarray: [[1, 2]] } }),
      });
      expect(r.status, `${type}: ${r.text}`).toBe(200);
      expect(r.json.data.ndarray).toEqual([[1, 2]]);
    }
  });

  it("multipart/form-data with a JSON data field and a JSON meta field", async () => {
    const form = new FormData();
    form.append("data", JSON.stringify({ names: ["x", "y"], ndarray: [[7, 8]] }));
    form.append("meta", JSON.stringify({ puid: "multi" }));
    const r = await send(`${s.url}/api/v1.0/predictions`, { method: "POST", body: form });
    expect(r.status, r.text).toBe(200);
    expect(r.json.data).toEqual({ names: ["t:0", "t:1"], ndarray: [[7, 8]] });
    expect(r.json.meta.puid).toBe("multi");
    expect(r.json.meta.tags.names).toBe("x,y");
  });

  it("multipart strData is kept as raw text (not parsed as JSON)", async () => {
    const form = new FormData();
    form.append("strData", '{"not": "parsed"}');
    const r = await send(`${s.url}/predict`, { method: "POST", body: form });
    expect(r.status, r.text).toBe(200);
    expect(r.json.strData).toBe('echo:{"not": "parsed"}');
  });

  it("a multipart strData file is read as UTF-8 text", async () => {
    const form = new FormData();
    form.append("strData", new Blob([Buffer.from("naïve text file", "utf8")]), "note.txt");
    const r = await send(`${s.url}/predict`, { method: "POST", body: form });
    expect(r.status, r.text).toBe(200);
    expect(r.json.strData).toBe("echo:naïve text file");
  });

  it("a multipart binData file reaches the method as its exact bytes", async () => {
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0x0d, 0x0a]);
    const form = new FormData();
    form.append("binData", new Blob([bytes], { type: "image/png" }), "image.png");
    const r = await send(`${s.url}/api/v1.0/predictions`, { method: "POST", body: form });
    expect(r.status, r.text).toBe(200);
    expect([...Buffer.from(r.json.binData, "base64")]).toEqual([...bytes].reverse());
  });

  it("a multipart field that is not JSON is a 400", async () => {
    const form = new FormData();
    form.append("data", "{not json");
    const r = await send(`${s.url}/api/v1.0/predictions`, { method: "POST", body: form });
    expectSeldonError(r, 400, "MICROSERVICE_BAD_DATA", /Invalid JSON in form field "data"/);
  });
});

describe("Seldon MODEL: names, tags, metrics and SeldonResponse", () => {
  let classifier: SeldonRunning;
  let tagged: SeldonRunning;
  let quiet: SeldonRunning;

  /** The seed's runtime metrics and tags example. */
  class Model {
    predict(X: NDArray) {
      const runtimeMetrics = { type: "COUNTER", key: "instance_counter", value: X.length };
      const runtimeTags = { runtime: "tag", shared: "right one" };
      return new SeldonResponse(X, runtimeTags, runtimeMetrics as never);
    }
    metrics() {
      return [{ type: "COUNTER", key: "requests_counter", value: 1 }];
    }
    tags() {
      return { static: "tag", shared: "not right one" };
    }
  }

  beforeAll(async () => {
    classifier = await startSeldon(
      {
        classNames: ["setosa", "versicolor", "virginica"],
        predict: (X: NDArray) => [...X].map(() => [0.1, 0.7, 0.2]),
      },
      "iris",
    );
    tagged = await startSeldon(new Model(), "tagged");
    quiet = await startSeldon(new Model(), "quiet", { includeMetricsInResponse: false });
  });
  afterAll(async () => {
    await classifier?.server.stop();
    await tagged?.server.stop();
    await quiet?.server.stop();
  });

  it("names come from classNames for 2-D results", async () => {
    const r = await postJson(`${classifier.url}/api/v1.0/predictions`, { data: { ndarray: [[5.1, 3.5, 1.4, 0.2]] } });
    expect(r.json.data).toEqual({ names: ["setosa", "versicolor", "virginica"], ndarray: [[0.1, 0.7, 0.2]] });
  });

  it("tags: request, then tags(), then SeldonResponse tags (the seed's example)", async () => {
    const r = await postJson(`${tagged.url}/api/v1.0/predictions`, {
      data: { ndarray: [[1], [2]] },
      meta: { tags: { request: "tag", shared: "from the request", runtime: "from the request" } },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.meta.tags).toEqual({ request: "tag", runtime: "tag", shared: "right one", static: "tag" });
  });

  it("metrics: the request's, then metrics(), then the runtime ones", async () => {
    const r = await postJson(`${tagged.url}/api/v1.0/predictions`, {
      data: { ndarray: [[1], [2], [3]] },
      meta: { metrics: [{ key: "upstream", type: "GAUGE", value: 7 }] },
    });
    expect(r.json.meta.metrics).toEqual([
      { key: "upstream", type: "GAUGE", value: 7 },
      { key: "requests_counter", type: "COUNTER", value: 1 },
      { key: "instance_counter", type: "COUNTER", value: 3 },
    ]);
  });

  it("INCLUDE_METRICS_IN_CLIENT_RESPONSE=false keeps the component's metrics out of the answer, not out of Prometheus", async () => {
    const r = await postJson(`${quiet.url}/api/v1.0/predictions`, {
      data: { ndarray: [[1], [2]] },
      meta: { metrics: [{ key: "upstream", type: "GAUGE", value: 7 }] },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.meta.metrics).toEqual([{ key: "upstream", type: "GAUGE", value: 7 }]);
    expect(r.json.meta.tags.shared).toBe("right one");
    const none = await postJson(`${quiet.url}/api/v1.0/predictions`, { data: { ndarray: [[1]] } });
    expect(none.json.meta.metrics).toBeUndefined();
    const text = await scrape(quiet.url);
    expect(sample(text, "requests_counter_total", { model_name: "quiet", method: "predict" })).toBe(2);
    expect(sample(text, "instance_counter_total", { model_name: "quiet", method: "predict" })).toBe(3);
  });
});

describe("Seldon MODEL: predictRaw and a missing predict", () => {
  let raw: SeldonRunning;
  let empty: SeldonRunning;
  beforeAll(async () => {
    raw = await startSeldon(
      {
        predictRaw(msg: { strData?: string; jsonData?: unknown; data?: { ndarray?: unknown[] } }) {
          if (msg.strData === "teapot") return { status: { code: 418, info: "I'm a teapot", status: "FAILURE" } };
          if (msg.strData === "accepted") return { status: { code: 202, status: "SUCCESS" }, strData: "queued" };
          if (msg.jsonData === undefined) throw new SeldonNotImplementedError();
          // Mixed types, as the seed's multi-type example builds with dtype=object.
          return {
            jsonData: { raw: true, got: msg.jsonData },
            meta: { metrics: [{ type: "COUNTER", key: "raw_requests", value: 1, tags: { path: "raw" } }] },
          };
        },
        predict: (X: NDArray) => X.map((v: number) => v + 100),
      },
      "raw",
    );
    empty = await startSeldon({}, "empty");
  });
  afterAll(async () => {
    await raw?.server.stop();
    await empty?.server.stop();
  });

  it("predictRaw's answer is sent as it is, and its meta.metrics reach Prometheus", async () => {
    const first = await postJson(`${raw.url}/api/v1.0/predictions`, { jsonData: [1, "two", 3.5] });
    expect(first.status, first.text).toBe(200);
    expect(first.json).toEqual({
      jsonData: { raw: true, got: [1, "two", 3.5] },
      meta: { metrics: [{ type: "COUNTER", key: "raw_requests", value: 1, tags: { path: "raw" } }] },
    });
    await postJson(`${raw.url}/api/v1.0/predictions`, { jsonData: {} });
    expect(sample(await scrape(raw.url), "raw_requests_total", { model_name: "raw", method: "predict", path: "raw" })).toBe(2);
  });

  it("SeldonNotImplementedError from predictRaw falls through to predict", async () => {
    const r = await postJson(`${raw.url}/api/v1.0/predictions`, { data: { ndarray: [[1, 2]] } });
    expect(r.status, r.text).toBe(200);
    expect(r.json.data.ndarray).toEqual([[101, 102]]);
  });

  it("status.code in the answer becomes the HTTP status", async () => {
    const teapot = await postJson(`${raw.url}/api/v1.0/predictions`, { strData: "teapot" });
    expect(teapot.status).toBe(418);
    expect(teapot.json).toEqual({ status: { code: 418, info: "I'm a teapot", status: "FAILURE" } });
    const accepted = await postJson(`${raw.url}/predict`, { strData: "accepted" });
    expect(accepted.status).toBe(202);
    expect(accepted.json.strData).toBe("queued");
  });

  it("a component without predict answers an empty array in the request's kind", async () => {
    const nd = await postJson(`${empty.url}/api/v1.0/predictions`, { data: { ndarray: [[1, 2]] } });
    expect(nd.status, nd.text).toBe(200);
    expect(nd.json).toEqual({ data: { names: [], ndarray: [] }, meta: {} });
    const tensor = await postJson(`${empty.url}/api/v1.0/predictions`, { data: { tensor: { shape: [1, 2], values: [1, 2] } } });
    expect(tensor.json.data).toEqual({ names: [], tensor: { shape: [0], values: [] } });
  });
});

describe("Seldon MODEL: errors", () => {
  let s: SeldonRunning;
  let url: string;
  beforeAll(async () => {
    s = await startSeldon(new Faulty(), "faulty");
    url = `${s.url}/api/v1.0/predictions`;
  });
  afterAll(async () => s?.server.stop());

  /** The server still answers a good request after an error. */
  async function stillServes(): Promise<void> {
    const r = await postJson(url, { strData: "fine" });
    expect(r.status, r.text).toBe(200);
    expect(r.json.strData).toBe("ok:fine");
  }

  it("an empty body is 400 Can't find JSON in data", async () => {
    const r = await send(url, { method: "POST", headers: { "content-type": "application/json" }, body: "" });
    expectSeldonError(r, 400, "MICROSERVICE_BAD_DATA", /^Can't find JSON in data/);
    expect(isCors(r)).toBe(true);
    const noType = await send(url, { method: "POST" });
    expectSeldonError(noType, 400, "MICROSERVICE_BAD_DATA", /^Can't find JSON in data/);
    const getNoJson = await send(`${s.url}/predict`);
    expectSeldonError(getNoJson, 400, "MICROSERVICE_BAD_DATA", /^Can't find JSON in data/);
    await stillServes();
  });

  it("a body that is not JSON is a 400 naming the problem", async () => {
    const r = await postJson(url, "{ data: ");
    expectSeldonError(r, 400, "MICROSERVICE_BAD_DATA", /Invalid JSON in request body/);
    await stillServes();
  });

  it("a message without a known payload field is 400 Invalid request data type", async () => {
    expectSeldonError(await postJson(url, { foo: [1, 2] }), 400, "MICROSERVICE_BAD_DATA", /Invalid request data type/);
    expectSeldonError(await postJson(url, { data: { ndarray: 5 } }), 400, "MICROSERVICE_BAD_DATA", /Invalid request data type: data\.ndarray/);
    expectSeldonError(await postJson(url, [1, 2, 3]), 400, "MICROSERVICE_BAD_DATA", /Invalid request data type/);
    expectSeldonError(await postJson(url, { strData: 5 }), 400, "MICROSERVICE_BAD_DATA", /strData must be a string/);
    expectSeldonError(await postJson(url, { binData: "%%%not base64" }), 400, "MICROSERVICE_BAD_DATA", /binData is not valid base64/);
    await stillServes();
  });

  it("a tensor whose shape does not match its values is a 400", async () => {
    const r = await postJson(url, { data: { tensor: { shape: [2, 2], values: [1, 2, 3] } } });
    expectSeldonError(r, 400, "MICROSERVICE_BAD_DATA", /shape \[2, 2\].*4 values.*3/);
    await stillServes();
  });

  it("SeldonError(message, 403) answers 403 with Seldon's status body", async () => {
    const r = await postJson(url, { strData: "forbidden" });
    expect(r.json).toEqual({ status: { status: 1, info: "not allowed for this user", code: -1, reason: "MICROSERVICE_BAD_DATA" } });
    expectSeldonError(r, 403, "MICROSERVICE_BAD_DATA");
    expect(isCors(r)).toBe(true);
    await stillServes();
  });

  it("a user error class with statusCode 402 and toJSON answers exactly that (the seed's UserCustomException)", async () => {
    const r = await postJson(url, { strData: "custom" });
    expect(r.status, r.text).toBe(402);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    expect(r.json).toEqual({ status: { status: 402, message: "Test-Error-Msg", app_code: 1402 } });
    await stillServes();
  });

  it("any other exception is 500 MICROSERVICE_INTERNAL_ERROR with str(e) as info", async () => {
    const r = await postJson(url, { strData: "crash" });
    expect(r.json).toEqual({ status: { status: 1, info: "boom: division by zero", code: -1, reason: "MICROSERVICE_INTERNAL_ERROR" } });
    expectSeldonError(r, 500, "MICROSERVICE_INTERNAL_ERROR");
    await stillServes();
    expectSeldonError(await postJson(url, { strData: "type-error" }), 500, "MICROSERVICE_INTERNAL_ERROR", /Cannot read properties of undefined/);
    const str = await postJson(url, { strData: "thrown-string" });
    expectSeldonError(str, 500, "MICROSERVICE_INTERNAL_ERROR", /^plain string thrown$/);
    await stillServes();
  });

  it("status_code/to_dict spellings work too; a status without a body gets Seldon's body with that status", async () => {
    const snake = await postJson(url, { strData: "snake-case" });
    expect(snake.status, snake.text).toBe(409);
    expect(snake.json).toEqual({ error: "version conflict", retry: false });
    const statusOnly = await postJson(url, { strData: "status-only" });
    expectSeldonError(statusOnly, 429, "MICROSERVICE_BAD_DATA", /^slow down$/);
    await stillServes();
  });

  it("returning a number or undefined is 400 Unknown data type returned as payload", async () => {
    for (const what of ["number", "undefined"]) {
      const r = await postJson(url, { strData: what });
      expectSeldonError(r, 400, "MICROSERVICE_BAD_DATA", /^Unknown data type returned as payload \(must be list or np array\)/);
    }
    await stillServes();
  });

  it("a bad metric from metrics() is 500 MICROSERVICE_BAD_METRIC", async () => {
    const r = await postJson(url, { strData: "badmetric" });
    expectSeldonError(r, 500, "MICROSERVICE_BAD_METRIC", /^Bad metric created during request: .*broken/);
    await stillServes();
  });
});

describe("Seldon MODEL: CORS", () => {
  let s: SeldonRunning;
  beforeAll(async () => {
    s = await startSeldon(new Echo(), "echo");
  });
  afterAll(async () => s?.server.stop());

  it("every Seldon route answers with Access-Control-Allow-Origin: *", async () => {
    expect(isCors(await postJson(`${s.url}/api/v1.0/predictions`, { strData: "x" }))).toBe(true);
    expect(isCors(await postJson(`${s.url}/predict`, { strData: "x" }))).toBe(true);
    expect(isCors(await postJson(`${s.url}/transform-input`, { strData: "x" }))).toBe(true);
    expect(isCors(await send(`${s.url}/health/ping`))).toBe(true);
    expect(isCors(await send(`${s.url}/health/status`))).toBe(true);
    expect(isCors(await send(`${s.url}/metadata`))).toBe(true);
    expect(isCors(await postJson(`${s.url}/route`, { strData: "x" }))).toBe(true);
  });

  it("an OPTIONS preflight is 204 with the allowed methods and headers", async () => {
    for (const path of ["/api/v1.0/predictions", "/predict", "/api/v1.0/feedback", "/aggregate", "/route", "/health/status", "/health/ping", "/metadata", "/api/v1.0/metadata"]) {
      const r = await fetch(`${s.url}${path}`, {
        method: "OPTIONS",
        headers: { origin: "http://ui.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
      });
      expect(r.status, path).toBe(204);
      expect(r.headers.get("access-control-allow-origin")).toBe("*");
      expect(r.headers.get("access-control-allow-methods")).toMatch(/POST/);
      expect(r.headers.get("access-control-allow-headers")).toMatch(/content-type/i);
    }
  });
});

describe("Seldon MODEL: the same component through V1 and V2", () => {
  let s: SeldonRunning;
  beforeAll(async () => {
    class Halver {
      scale = 0.5;
      predict(X: NDArray) {
        return X.map((v: number) => v * this.scale);
      }
    }
    s = await startSeldon(new Halver(), "halver");
  });
  afterAll(async () => s?.server.stop());

  it("V1 :predict with instances", async () => {
    const r = await postJson(`${s.url}/v1/models/halver:predict`, { instances: [[1, 2], [3, 4]] });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ predictions: [[0.5, 1], [1.5, 2]] });
  });

  it("V2 infer (REST)", async () => {
    const r = await postJson(`${s.url}/v2/models/halver/infer`, {
      id: "req-1",
      inputs: [{ name: "x", shape: [2, 2], datatype: "FP32", data: [1, 2, 3, 4] }],
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.model_name).toBe("halver");
    expect(r.json.id).toBe("req-1");
    expect(r.json.outputs).toHaveLength(1);
    expect(r.json.outputs[0]).toMatchObject({ shape: [2, 2], datatype: "FP64" });
    expect(r.json.outputs[0].data).toEqual([0.5, 1, 1.5, 2]);
  });

  it("V2 FP32 in gives float out even when the answer is whole numbers", async () => {
    const r = await postJson(`${s.url}/v2/models/halver/infer`, {
      inputs: [{ name: "x", shape: [2], datatype: "FP32", data: [2, 4] }],
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.outputs[0]).toMatchObject({ shape: [2], datatype: "FP64", data: [1, 2] });
  });

  it("strings: V2 BYTES and V1 string instances reach predict as a string array", async () => {
    const shouter = await startSeldon({ predict: (X: NDArray) => X.map((v: string) => v.toUpperCase()) }, "shouter");
    try {
      const v2 = await postJson(`${shouter.url}/v2/models/shouter/infer`, {
        inputs: [{ name: "text", shape: [2], datatype: "BYTES", data: ["hello", "wörld"] }],
      });
      expect(v2.status, v2.text).toBe(200);
      expect(v2.json.outputs[0]).toMatchObject({ datatype: "BYTES", shape: [2], data: ["HELLO", "WÖRLD"] });
      const v1 = await postJson(`${shouter.url}/v1/models/shouter:predict`, { instances: ["a", "b"] });
      expect(v1.json).toEqual({ predictions: ["A", "B"] });
    } finally {
      await shouter.server.stop();
    }
  });

  it("the Seldon route answers the same numbers", async () => {
    const r = await postJson(`${s.url}/api/v1.0/predictions`, { data: { ndarray: [[1, 2], [3, 4]] } });
    expect(r.json.data.ndarray).toEqual([[0.5, 1], [1.5, 2]]);
  });
});
