/**
 * Seldon ROUTER, COMBINER, TRANSFORMER and OUTPUT_TRANSFORMER components, feedback, health and metadata over real
 * HTTP, with the reference's success and error paths.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NDArray, SeldonResponse } from "../../packages/server/src/index.ts";
import {
  expectSeldonError,
  postJson,
  sample,
  scrape,
  type SeldonRunning,
  send,
  startSeldon,
} from "../fixtures/seldon/harness.ts";

/** Sends rows whose first feature is above 5 to child 1, the rest to child 0; "text" to child 2. */
class FeatureRouter {
  route(X: unknown, _names: string[]) {
    if (typeof X === "string") return X === "bad" ? "one" : 2;
    const first = (X as NDArray).get(0, 0) as number;
    if (first === -1) return new SeldonResponse(-1, { ignored: "route tags" }, [{ type: "COUNTER", key: "broadcasts", value: 1 }]);
    return first > 5 ? 1 : 0;
  }
}

/** The seed's ImageNetCombiner: the average of the first two responses, as one row. */
class ImageNetCombiner {
  seen: { kinds: string[]; names: string[][] } = { kinds: [], names: [] };
  aggregate(Xs: unknown[], featuresNames: string[][]) {
    this.seen = { kinds: Xs.map((x) => (x instanceof NDArray ? "array" : typeof x)), names: featuresNames };
    if (typeof Xs[0] === "string") return (Xs as string[]).join("+");
    const a = (Xs[0] as NDArray).reshape(1, -1);
    const b = (Xs[1] as NDArray).reshape(1, -1);
    return a.map((v: number, i) => (v + (b.data[i] as number)) / 2.0);
  }
  metrics() {
    return [{ type: "GAUGE", key: "combined_inputs", value: this.seen.kinds.length }];
  }
  tags() {
    return { combiner: "imagenet" };
  }
}

/** Input transformer: standardises features; output transformer: probabilities -> the winning class. */
class Transformer {
  classNames = ["mean", "scale"];
  transformInput(X: NDArray, names: string[]) {
    return new SeldonResponse(
      X.map((v: number) => (v - 10) / 2),
      { inputNames: names.join(",") },
    );
  }
  transformOutput(X: NDArray) {
    const labels = ["cat", "dog", "bird"];
    return [...X].map((row) => {
      const r = (row as NDArray).toArray() as number[];
      return labels[r.indexOf(Math.max(...r))];
    });
  }
}

/** Remembers the last feedback; predict reports it, so the test reads it as a user would. */
class Bandit {
  last: Record<string, unknown> | undefined;
  sendFeedback(features: NDArray, names: string[], reward: number, truth: NDArray | undefined, routing: number | undefined) {
    this.last = {
      features: features.toArray(),
      names,
      reward,
      truth: truth?.toArray() ?? null,
      routing: routing ?? null,
    };
    return undefined;
  }
  predict() {
    return { lastFeedback: this.last ?? null };
  }
}

describe("Seldon ROUTER: /route", () => {
  let s: SeldonRunning;
  let bare: SeldonRunning;
  beforeAll(async () => {
    s = await startSeldon(new FeatureRouter(), "router");
    bare = await startSeldon({ predict: (X: unknown) => X }, "no-route");
  });
  afterAll(async () => {
    await s?.server.stop();
    await bare?.server.stop();
  });

  it("an int route comes back as [[route]] in an ndarray, with the puid only", async () => {
    const low = await postJson(`${s.url}/route`, { data: { ndarray: [[3, 1]] }, meta: { puid: "r1", tags: { a: "b" } } });
    expect(low.status, low.text).toBe(200);
    expect(low.json.data.ndarray).toEqual([[0]]);
    expect(low.json.meta).toEqual({ puid: "r1" });
    const high = await postJson(`${s.url}/route`, { data: { ndarray: [[9, 1]] } });
    expect(high.json.data.ndarray).toEqual([[1]]);
  });

  it("a tensor request gets a tensor route back", async () => {
    const r = await postJson(`${s.url}/route`, { data: { tensor: { shape: [1, 2], values: [7, 0] } } });
    expect(r.status, r.text).toBe(200);
    expect(r.json.data.tensor).toEqual({ shape: [1, 1], values: [1] });
  });

  it("routes on strData and via GET ?json=", async () => {
    const r = await send(`${s.url}/route?json=${encodeURIComponent(JSON.stringify({ strData: "text" }))}`);
    expect(r.status, r.text).toBe(200);
    // No data in the request and a numeric answer: a tensor, as Seldon's construct_response_json does.
    expect(r.json.data.tensor).toEqual({ shape: [1, 1], values: [2] });
  });

  it("a SeldonResponse of an int is a route (-1: every child), and its metrics are recorded", async () => {
    const r = await postJson(`${s.url}/route`, { data: { ndarray: [[-1]] } });
    expect(r.status, r.text).toBe(200);
    expect(r.json.data.ndarray).toEqual([[-1]]);
    expect(sample(await scrape(s.url), "broadcasts_total", { method: "router", model_name: "router" })).toBe(1);
  });

  it("a route that is not an int is 400 Routing response must be int", async () => {
    const r = await postJson(`${s.url}/route`, { strData: "bad" });
    expectSeldonError(r, 400, "MICROSERVICE_BAD_DATA", /^Routing response must be int but got/);
    const ok = await postJson(`${s.url}/route`, { data: { ndarray: [[9]] } });
    expect(ok.json.data.ndarray).toEqual([[1]]);
  });

  it("a component without route is 400 Route not defined", async () => {
    const r = await postJson(`${bare.url}/route`, { data: { ndarray: [[1]] } });
    expectSeldonError(r, 400, "MICROSERVICE_BAD_DATA", /^Route not defined$/);
  });
});

describe("Seldon COMBINER: /aggregate", () => {
  let s: SeldonRunning;
  let combiner: ImageNetCombiner;
  let bare: SeldonRunning;
  beforeAll(async () => {
    combiner = new ImageNetCombiner();
    s = await startSeldon(combiner, "combiner");
    bare = await startSeldon({ predict: (X: unknown) => X }, "no-aggregate");
  });
  afterAll(async () => {
    await s?.server.stop();
    await bare?.server.stop();
  });

  it('averages {"seldonMessages": [...]}; the answer mirrors the first message (ndarray)', async () => {
    const r = await postJson(`${s.url}/aggregate`, {
      seldonMessages: [
        { data: { names: ["a", "b"], ndarray: [[1, 2]] }, meta: { puid: "agg" } },
        { data: { names: ["c", "d"], tensor: { shape: [2], values: [3, 5] } } },
      ],
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.data).toEqual({ names: ["t:0", "t:1"], ndarray: [[2, 3.5]] });
    expect(r.json.meta.puid).toBe("agg");
    expect(combiner.seen).toEqual({ kinds: ["array", "array"], names: [["a", "b"], ["c", "d"]] });
  });

  it("accepts a bare list; a tensor first message gives a tensor answer", async () => {
    const r = await postJson(`${s.url}/aggregate`, [
      { data: { tensor: { shape: [1, 2], values: [0, 10] } } },
      { data: { ndarray: [[2, 20]] } },
    ]);
    expect(r.status, r.text).toBe(200);
    expect(r.json.data.tensor).toEqual({ shape: [1, 2], values: [1, 15] });
  });

  it("merges tags (later messages win, then tags()) and concatenates metrics, then the component's", async () => {
    const r = await postJson(`${s.url}/aggregate`, {
      seldonMessages: [
        {
          data: { ndarray: [[1]] },
          meta: { tags: { model: "a", onlyA: true }, metrics: [{ key: "from_a", type: "COUNTER", value: 1 }] },
        },
        {
          data: { ndarray: [[3]] },
          meta: { tags: { model: "b", combiner: "overridden" }, metrics: [{ key: "from_b", type: "GAUGE", value: 2 }] },
        },
      ],
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.data.ndarray).toEqual([[2]]);
    expect(r.json.meta.tags).toEqual({ model: "b", onlyA: true, combiner: "imagenet" });
    expect(r.json.meta.metrics).toEqual([
      { key: "from_a", type: "COUNTER", value: 1 },
      { key: "from_b", type: "GAUGE", value: 2 },
      { key: "combined_inputs", type: "GAUGE", value: 2 },
    ]);
  });

  it("strData messages reach aggregate as strings; the answer mirrors strData", async () => {
    const r = await postJson(`${s.url}/aggregate`, { seldonMessages: [{ strData: "left" }, { strData: "right" }] });
    expect(r.status, r.text).toBe(200);
    expect(r.json.strData).toBe("left+right");
    expect(combiner.seen.kinds).toEqual(["string", "string"]);
  });

  it("an empty or malformed message list is a 400", async () => {
    expectSeldonError(await postJson(`${s.url}/aggregate`, { seldonMessages: [] }), 400, "MICROSERVICE_BAD_DATA", /at least one message/);
    expectSeldonError(await postJson(`${s.url}/aggregate`, { data: { ndarray: [1] } }), 400, "MICROSERVICE_BAD_DATA", /seldonMessages/);
    expectSeldonError(
      await postJson(`${s.url}/aggregate`, { seldonMessages: [{ data: { ndarray: [1] } }, { data: { ndarray: "x" } }] }),
      400,
      "MICROSERVICE_BAD_DATA",
      /seldonMessages\[1\]\.data\.ndarray/,
    );
  });

  it("a component without aggregate is 400 Aggregate not defined", async () => {
    const r = await postJson(`${bare.url}/aggregate`, { seldonMessages: [{ data: { ndarray: [[1]] } }] });
    expectSeldonError(r, 400, "MICROSERVICE_BAD_DATA", /^Aggregate not defined$/);
  });
});

describe("Seldon TRANSFORMER and OUTPUT_TRANSFORMER", () => {
  let s: SeldonRunning;
  let bare: SeldonRunning;
  beforeAll(async () => {
    s = await startSeldon(new Transformer(), "transformer");
    bare = await startSeldon({ predict: () => [[0]] }, "plain");
  });
  afterAll(async () => {
    await s?.server.stop();
    await bare?.server.stop();
  });

  it("/transform-input runs transformInput with the features and names", async () => {
    const r = await postJson(`${s.url}/transform-input`, {
      data: { names: ["x", "y"], ndarray: [[12, 14], [10, 6]] },
      meta: { puid: "ti" },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.data).toEqual({ names: ["mean", "scale"], ndarray: [[1, 2], [0, -2]] });
    expect(r.json.meta).toEqual({ puid: "ti", tags: { inputNames: "x,y" } });
  });

  it("/transform-input keeps a tensor request a tensor", async () => {
    const r = await postJson(`${s.url}/transform-input`, { data: { tensor: { shape: [1, 2], values: [20, 30] } } });
    expect(r.json.data.tensor).toEqual({ shape: [1, 2], values: [5, 10] });
  });

  it("/transform-output runs transformOutput: strings come back as an ndarray", async () => {
    const r = await postJson(`${s.url}/transform-output`, {
      data: { tensor: { shape: [2, 3], values: [0.1, 0.8, 0.1, 0.7, 0.2, 0.1] } },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.data).toEqual({ names: [], ndarray: ["dog", "cat"] });
  });

  it("without transform methods, both pass the message's payload through", async () => {
    const nd = await postJson(`${bare.url}/transform-input`, { data: { ndarray: [[1, 2]] }, meta: { puid: "p" } });
    expect(nd.status, nd.text).toBe(200);
    expect(nd.json.data.ndarray).toEqual([[1, 2]]);
    expect(nd.json.meta.puid).toBe("p");
    const tensor = await postJson(`${bare.url}/transform-output`, { data: { tensor: { shape: [3], values: [1, 2, 3] } } });
    expect(tensor.json.data.tensor).toEqual({ shape: [3], values: [1, 2, 3] });
    const str = await postJson(`${bare.url}/transform-output`, { strData: "unchanged" });
    expect(str.json.strData).toBe("unchanged");
    const json = await postJson(`${bare.url}/transform-input`, { jsonData: { k: [1, 2] } });
    expect(json.json.jsonData).toEqual({ k: [1, 2] });
    const bin = await postJson(`${bare.url}/transform-input`, { binData: Buffer.from([1, 2, 250]).toString("base64") });
    expect([...Buffer.from(bin.json.binData, "base64")]).toEqual([1, 2, 250]);
  });

  it("transform errors use Seldon's status body", async () => {
    const r = await postJson(`${s.url}/transform-input`, { strData: "not numbers" });
    // transformInput calls X.map on a string: a plain exception -> 500.
    expectSeldonError(r, 500, "MICROSERVICE_INTERNAL_ERROR");
    expectSeldonError(await postJson(`${s.url}/transform-output`, ""), 400, "MICROSERVICE_BAD_DATA", /Can't find JSON in data/);
  });
});

describe("Seldon feedback: /send-feedback and /api/v1.0/feedback", () => {
  let s: SeldonRunning;
  beforeAll(async () => {
    s = await startSeldon(new Bandit(), "bandit", { unitId: "eg-router" });
  });
  afterAll(async () => s?.server.stop());

  async function lastFeedback(): Promise<unknown> {
    const r = await postJson(`${s.url}/api/v1.0/predictions`, { data: { ndarray: [] } });
    expect(r.status, r.text).toBe(200);
    return r.json.jsonData.lastFeedback;
  }

  it("features, names, reward, truth and this unit's routing reach sendFeedback", async () => {
    const r = await postJson(`${s.url}/api/v1.0/feedback`, {
      request: { data: { names: ["f1", "f2"], ndarray: [[1.5, 2]] } },
      response: { data: { ndarray: [[0.9]] }, meta: { routing: { "eg-router": 1, other: 0 } } },
      reward: 1,
      truth: { data: { ndarray: [[1]] } },
    });
    expect(r.status, r.text).toBe(200);
    // Nothing returned -> an empty answer.
    expect(r.json.data.ndarray).toEqual([]);
    expect(r.json.meta).toEqual({});
    expect(await lastFeedback()).toEqual({ features: [[1.5, 2]], names: ["f1", "f2"], reward: 1, truth: [[1]], routing: 1 });
  });

  it("/send-feedback (POST and GET ?json=) is the same call; no routing for this unit -> undefined", async () => {
    const body = { request: { data: { ndarray: [[3]] } }, response: { meta: { routing: { someone: 2 } } }, reward: 0.25 };
    const r = await postJson(`${s.url}/send-feedback`, body);
    expect(r.status, r.text).toBe(200);
    expect(await lastFeedback()).toEqual({ features: [[3]], names: [], reward: 0.25, truth: null, routing: null });
    const g = await send(`${s.url}/send-feedback?json=${encodeURIComponent(JSON.stringify({ ...body, reward: 0.5 }))}`);
    expect(g.status, g.text).toBe(200);
    expect(((await lastFeedback()) as { reward: number }).reward).toBe(0.5);
    const v01 = await postJson(`${s.url}/api/v0.1/feedback`, { ...body, reward: 2 });
    expect(v01.status, v01.text).toBe(200);
    expect(((await lastFeedback()) as { reward: number }).reward).toBe(2);
  });

  it("a reward that is not a number is a 400", async () => {
    const r = await postJson(`${s.url}/api/v1.0/feedback`, { request: { data: { ndarray: [[1]] } }, reward: "high" });
    expectSeldonError(r, 400, "MICROSERVICE_BAD_DATA", /reward must be a number/);
  });

  it("rewards are counted in seldon_api_model_feedback_total and summed in seldon_api_model_feedback_reward_total", async () => {
    const labels = { model_name: "bandit", method: "feedback" };
    const before = await scrape(s.url);
    const count0 = sample(before, "seldon_api_model_feedback_total", labels) ?? 0;
    const sum0 = sample(before, "seldon_api_model_feedback_reward_total", labels) ?? 0;
    for (const reward of [1, 0.5, 2]) {
      const r = await postJson(`${s.url}/api/v1.0/feedback`, { request: { data: { ndarray: [[1]] } }, reward });
      expect(r.status, r.text).toBe(200);
    }
    // A zero reward is not counted (Seldon counts truthy rewards only).
    await postJson(`${s.url}/api/v1.0/feedback`, { request: { data: { ndarray: [[1]] } }, reward: 0 });
    const after = await scrape(s.url);
    expect(after).toMatch(/^# TYPE seldon_api_model_feedback_total counter$/m);
    expect(sample(after, "seldon_api_model_feedback_total", labels)).toBe(count0 + 3);
    expect(sample(after, "seldon_api_model_feedback_reward_total", labels)).toBeCloseTo(sum0 + 3.5, 10);
  });
});

describe("Seldon health: /health/ping and /health/status", () => {
  let plain: SeldonRunning;
  let seed: SeldonRunning;
  let raw: SeldonRunning;
  let failing: SeldonRunning;

  /** The seed's ModelWithHealthEndpoint. */
  class ModelWithHealthEndpoint {
    predict(X: unknown, _featuresNames: string[]) {
      return X;
    }
    healthStatus() {
      const response = this.predict([1, 2], ["f1", "f2"]) as number[];
      if (response.length !== 2) throw new Error("health check returning bad predictions");
      return response;
    }
  }

  beforeAll(async () => {
    plain = await startSeldon({ predict: (X: unknown) => X }, "plain");
    seed = await startSeldon(new ModelWithHealthEndpoint(), "health");
    raw = await startSeldon({ healthStatusRaw: () => ({ strData: "raw health", meta: { tags: { probe: "raw" } } }), healthStatus: () => "not used" }, "raw");
    failing = await startSeldon(
      {
        healthStatus() {
          throw new Error("GPU lost");
        },
      },
      "failing",
    );
  });
  afterAll(async () => {
    for (const s of [plain, seed, raw, failing]) await s?.server.stop();
  });

  it("/health/ping answers pong as text", async () => {
    const r = await send(`${plain.url}/health/ping`);
    expect(r.status).toBe(200);
    expect(r.text).toBe("pong");
    expect(r.headers.get("content-type")).toMatch(/^text\/plain/);
  });

  it("/health/status without healthStatus answers healthy", async () => {
    const r = await send(`${plain.url}/health/status`);
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ strData: "healthy", meta: {} });
    expect((await send(`${plain.url}/api/v1.0/health/status`)).json).toEqual({ strData: "healthy", meta: {} });
  });

  it("healthStatus() returning [1, 2] gives exactly the seed's answer", async () => {
    const r = await send(`${seed.url}/health/status`);
    expect(r.status, r.text).toBe(200);
    expect(r.text).toBe('{"data":{"names":[],"tensor":{"shape":[2],"values":[1,2]}},"meta":{}}');
  });

  it("healthStatusRaw's answer is sent as it is", async () => {
    const r = await send(`${raw.url}/health/status`);
    expect(r.json).toEqual({ strData: "raw health", meta: { tags: { probe: "raw" } } });
  });

  it("a failing healthStatus() is a 500, and ping still answers", async () => {
    expectSeldonError(await send(`${failing.url}/health/status`), 500, "MICROSERVICE_INTERNAL_ERROR", /GPU lost/);
    expect((await send(`${failing.url}/health/ping`)).text).toBe("pong");
  });
});

describe("Seldon metadata: /metadata and /api/v1.0/metadata", () => {
  /** The seed's init_metadata example. */
  const seedMetadata = () => ({
    name: "model-name",
    versions: ["model-version"],
    platform: "platform-name",
    inputs: [{ name: "input", datatype: "BYTES", shape: [1] }],
    outputs: [{ name: "output", datatype: "BYTES", shape: [1] }],
  });
  const BAD_METADATA = { status: { code: -1, info: "Model metadata unavailable", reason: "MICROSERVICE_BAD_METADATA", status: 1 } };

  const servers: SeldonRunning[] = [];
  afterAll(async () => {
    for (const s of servers) await s.server.stop();
  });
  async function serve(user: object, options = {}): Promise<SeldonRunning> {
    const s = await startSeldon(user, "meta", options);
    servers.push(s);
    return s;
  }

  it("serves a valid initMetadata() (the seed's V2-tensor example) over defaults", async () => {
    const s = await serve({ initMetadata: seedMetadata, predict: (X: unknown) => X });
    const expected = { ...seedMetadata(), custom: {} };
    for (const path of ["/metadata", "/api/v1.0/metadata"]) {
      const r = await send(`${s.url}${path}`);
      expect(r.status, r.text).toBe(200);
      expect(r.json).toEqual(expected);
    }
    // V2 clients see the same tensors.
    const v2 = await send(`${s.url}/v2/models/meta`);
    expect(v2.status, v2.text).toBe(200);
    expect(v2.json.inputs).toEqual([{ name: "input", datatype: "BYTES", shape: [1] }]);
    expect(v2.json.outputs).toEqual([{ name: "output", datatype: "BYTES", shape: [1] }]);
  });

  it("without initMetadata: name and defaults", async () => {
    const s = await serve({ predict: (X: unknown) => X });
    expect((await send(`${s.url}/metadata`)).json).toEqual({ name: "meta", versions: [], platform: "", inputs: [], outputs: [], custom: {} });
  });

  it("MODEL_METADATA (YAML) is merged over initMetadata(); the environment wins", async () => {
    const yaml = ["name: env-name", "custom:", "  author: seldon-team", "inputs:", "  - messagetype: tensor", "    schema:", "      names: [a, b]", "      shape: [2]"].join("\n");
    const s = await serve({ initMetadata: seedMetadata }, { modelMetadataEnv: yaml });
    const r = await send(`${s.url}/metadata`);
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({
      name: "env-name",
      versions: ["model-version"],
      platform: "platform-name",
      inputs: [{ messagetype: "tensor", schema: { names: ["a", "b"], shape: [2] } }],
      outputs: [{ name: "output", datatype: "BYTES", shape: [1] }],
      custom: { author: "seldon-team" },
    });
  });

  it("MODEL_METADATA as JSON works too", async () => {
    const s = await serve({ initMetadata: seedMetadata }, { modelMetadataEnv: JSON.stringify({ platform: "json-platform", versions: ["v9"] }) });
    const r = await send(`${s.url}/api/v1.0/metadata`);
    expect(r.json).toMatchObject({ name: "model-name", platform: "json-platform", versions: ["v9"] });
  });

  it("invalid initMetadata() -> /metadata 500 MICROSERVICE_BAD_METADATA, predictions keep working", async () => {
    const s = await serve({
      initMetadata: () => ({ ...seedMetadata(), inputs: [{ name: "input", datatype: "FLOAT32", shape: [1] }] }),
      predict: () => [[1, 2]],
    });
    for (const path of ["/metadata", "/api/v1.0/metadata"]) {
      const r = await send(`${s.url}${path}`);
      expect(r.status, r.text).toBe(500);
      expect(r.json).toEqual(BAD_METADATA);
    }
    const p = await postJson(`${s.url}/api/v1.0/predictions`, { data: { ndarray: [[0]] } });
    expect(p.status, p.text).toBe(200);
    expect(p.json.data.ndarray).toEqual([[1, 2]]);
  });

  it("an unknown top-level key or an unreadable MODEL_METADATA is bad metadata too", async () => {
    const extra = await serve({ initMetadata: () => ({ ...seedMetadata(), author: "me" }) });
    expect((await send(`${extra.url}/metadata`)).json).toEqual(BAD_METADATA);
    const unreadable = await serve({ initMetadata: seedMetadata }, { modelMetadataEnv: "name: [unclosed" });
    const r = await send(`${unreadable.url}/metadata`);
    expect(r.status).toBe(500);
    expect(r.json).toEqual(BAD_METADATA);
    expect((await send(`${unreadable.url}/health/ping`)).text).toBe("pong");
  });
});

describe("Seldon: /seldon.json", () => {
  let s: SeldonRunning;
  beforeAll(async () => {
    s = await startSeldon({ predict: (X: unknown) => X }, "doc");
  });
  afterAll(async () => s?.server.stop());

  it("serves an OpenAPI document of the routes", async () => {
    const r = await send(`${s.url}/seldon.json`);
    expect(r.status).toBe(200);
    expect(r.json.openapi).toMatch(/^3\./);
    for (const path of ["/api/v1.0/predictions", "/predict", "/route", "/aggregate", "/api/v1.0/feedback", "/health/status", "/metadata"]) {
      expect(Object.keys(r.json.paths)).toContain(path);
    }
  });
});
