import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidInput } from "../../../packages/server/src/errors/index.ts";
import { SeldonError } from "../../../packages/server/src/protocol/seldon/errors.ts";
import { NDArray } from "../../../packages/server/src/protocol/seldon/ndarray.ts";
import type { SeldonMetric } from "../../../packages/server/src/protocol/seldon/types.ts";
import {
  isSeldonComponent,
  loadSeldonComponent,
  SeldonComponent,
  type SeldonMethod,
  type SeldonMetricsSink,
  SeldonNotImplementedError,
} from "../../../packages/server/src/runtime/index.ts";
import { FIXTURES } from "../../helpers/server.ts";

const LOADER = join(FIXTURES, "seldon", "loader");

class RecordingSink implements SeldonMetricsSink {
  readonly records: { method: SeldonMethod; metrics: SeldonMetric[] }[] = [];
  readonly rewards: number[] = [];
  record(_c: SeldonComponent, method: SeldonMethod, metrics: SeldonMetric[]): void {
    this.records.push({ method, metrics });
  }
  feedback(_c: SeldonComponent, reward: number): void {
    this.rewards.push(reward);
  }
}

async function loaded(user: object, name = "c", options = {}): Promise<SeldonComponent> {
  const c = new SeldonComponent(user, name, options);
  await c.load();
  return c;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("SeldonComponent: method dispatch", () => {
  it("passes X as an NDArray, the names and the meta to predict", async () => {
    const seen: unknown[] = [];
    const c = await loaded({
      predict(X: NDArray, names: string[], meta: unknown) {
        seen.push(X, names, meta);
        return X;
      },
    });
    const out = await c.seldonPredict({ data: { names: ["a", "b"], ndarray: [[1, 2]] }, meta: { puid: "p" } });
    expect(seen[0]).toBeInstanceOf(NDArray);
    expect((seen[0] as NDArray).shape).toEqual([1, 2]);
    expect(seen[1]).toEqual(["a", "b"]);
    expect(seen[2]).toEqual({ puid: "p" });
    expect(out).toEqual({ data: { names: ["t:0", "t:1"], ndarray: [[1, 2]] }, meta: { puid: "p" } });
  });

  it("awaits async methods", async () => {
    const c = await loaded({
      async predict(X: NDArray) {
        await new Promise((r) => setImmediate(r));
        return X.map((v: number) => v + 1);
      },
    });
    expect((await c.seldonPredict({ data: { ndarray: [1, 2] } })).data?.ndarray).toEqual([2, 3]);
  });

  it("accepts Seldon's snake_case spellings", async () => {
    const calls: string[] = [];
    const c = await loaded({
      class_names: ["x", "y"],
      transform_input(X: NDArray) {
        calls.push("transform_input");
        return X.map((v: number) => v * 10);
      },
      transform_output(X: NDArray) {
        calls.push("transform_output");
        return X.map((v: number) => -v);
      },
      send_feedback() {
        calls.push("send_feedback");
        return [[1, 1]];
      },
      health_status() {
        return "fine";
      },
      init_metadata() {
        return { platform: "snake" };
      },
    });
    expect((await c.seldonTransformInput({ data: { ndarray: [[1, 2]] } })).data).toEqual({ names: ["x", "y"], ndarray: [[10, 20]] });
    expect((await c.seldonTransformOutput({ data: { ndarray: [[1, 2]] } })).data).toEqual({ names: ["x", "y"], ndarray: [[-1, -2]] });
    expect((await c.seldonSendFeedback({ request: { data: { ndarray: [[1]] } }, reward: 1 })).data?.ndarray).toEqual([[1, 1]]);
    expect((await c.seldonHealthStatus()).strData).toBe("fine");
    expect((c.seldonMetadata() as { platform: string }).platform).toBe("snake");
    expect(calls).toEqual(["transform_input", "transform_output", "send_feedback"]);
    expect(c.has("transformInput")).toBe(true);
    expect(c.has("route")).toBe(false);
  });

  it("classNames may be a method", async () => {
    const c = await loaded({
      classNames: () => ["cat", "dog"],
      predict: () => [[0.2, 0.8]],
    });
    expect((await c.seldonPredict({ data: { ndarray: [[1]] } })).data?.names).toEqual(["cat", "dog"]);
  });

  it("uses predict_raw's answer as it is, and its meta.metrics reach the sink", async () => {
    const sink = new RecordingSink();
    const c = await loaded({
      predict_raw(msg: { data: { ndarray: number[][] } }) {
        return { data: { ndarray: msg.data.ndarray.map((r) => r.length) }, meta: { metrics: [{ type: "COUNTER", key: "raw_calls", value: 1 }] } };
      },
      predict: () => {
        throw new Error("predict must not run");
      },
    });
    c.metricsSink = sink;
    const out = await c.seldonPredict({ data: { ndarray: [[1, 2, 3]] } });
    expect(out).toEqual({ data: { ndarray: [3] }, meta: { metrics: [{ type: "COUNTER", key: "raw_calls", value: 1 }] } });
    expect(sink.records).toEqual([{ method: "predict", metrics: [{ type: "COUNTER", key: "raw_calls", value: 1 }] }]);
  });

  it("falls through to the plain method when a Raw method throws SeldonNotImplementedError", async () => {
    const c = await loaded({
      predictRaw() {
        throw new SeldonNotImplementedError();
      },
      predict: () => [[42]],
      routeRaw() {
        throw new SeldonNotImplementedError("no raw routing");
      },
      route: () => 0,
    });
    expect((await c.seldonPredict({ data: { ndarray: [[1]] } })).data?.ndarray).toEqual([[42]]);
    expect((await c.seldonRoute({ data: { ndarray: [[1]] } })).data?.ndarray).toEqual([[0]]);
  });

  it("recognises a SeldonNotImplementedError from another copy by its name", async () => {
    class SeldonNotImplementedErrorCopy extends Error {
      override name = "SeldonNotImplementedError";
    }
    const c = await loaded({
      transformInputRaw() {
        throw new SeldonNotImplementedErrorCopy("copy");
      },
      transformInput: () => "plain",
    });
    expect((await c.seldonTransformInput({ strData: "x" })).strData).toBe("plain");
  });

  it("any other error from a Raw method propagates", async () => {
    const c = await loaded({
      predictRaw() {
        throw new SeldonError("raw refused", 409);
      },
      predict: () => [[1]],
    });
    const err = await rejection(c.seldonPredict({ data: { ndarray: [[1]] } }));
    expect(err).toBeInstanceOf(SeldonError);
    expect((err as SeldonError).status).toBe(409);
  });

  it("a Raw method that does not return a message object is a 500", async () => {
    for (const bad of [42, "text", null, [1, 2]]) {
      const c = await loaded({ predictRaw: () => bad });
      const err = (await rejection(c.seldonPredict({ data: { ndarray: [[1]] } }))) as SeldonError;
      expect(err).toBeInstanceOf(SeldonError);
      expect(err.status).toBe(500);
      expect(err.message).toMatch(/predictRaw\(\) must return a SeldonMessage object/);
    }
  });

  it("missing predict answers [], missing transforms pass the input through", async () => {
    const c = await loaded({});
    expect(await c.seldonPredict({ data: { ndarray: [[1, 2]] } })).toEqual({ data: { names: [], ndarray: [] }, meta: {} });
    expect((await c.seldonTransformInput({ data: { ndarray: [[1, 2]] } })).data?.ndarray).toEqual([[1, 2]]);
    expect((await c.seldonTransformOutput({ strData: "same" })).strData).toBe("same");
    expect((await c.seldonTransformOutput({ jsonData: { a: 1 } })).jsonData).toEqual({ a: 1 });
  });

  it("missing route and aggregate are 400s", async () => {
    const c = await loaded({});
    const route = (await rejection(c.seldonRoute({ data: { ndarray: [[1]] } }))) as SeldonError;
    expect(route.status).toBe(400);
    expect(route.message).toBe("Route not defined");
    const aggregate = (await rejection(c.seldonAggregate([{ data: { ndarray: [[1]] } }]))) as SeldonError;
    expect(aggregate.status).toBe(400);
    expect(aggregate.message).toBe("Aggregate not defined");
  });

  it("route must return an integer (or a SeldonResponse of one)", async () => {
    for (const bad of ["1", 1.5, null, [1]]) {
      const c = await loaded({ route: () => bad });
      const err = (await rejection(c.seldonRoute({ data: { ndarray: [[1]] } }))) as SeldonError;
      expect(err.status).toBe(400);
      expect(err.message).toMatch(/^Routing response must be int but got /);
    }
  });
});

describe("SeldonComponent: feedback", () => {
  it("hands features, names, reward, truth and this unit's routing to sendFeedback", async () => {
    const calls: unknown[][] = [];
    const sink = new RecordingSink();
    const c = await loaded(
      {
        sendFeedback(...args: unknown[]) {
          calls.push(args);
        },
      },
      "router",
      { unitId: "my-router" },
    );
    c.metricsSink = sink;
    const out = await c.seldonSendFeedback({
      request: { data: { names: ["f1", "f2"], ndarray: [[1, 2]] } },
      response: { meta: { routing: { "my-router": 1, other: 0 } }, data: { ndarray: [[0.9]] } },
      reward: 0.5,
      truth: { data: { ndarray: [[1]] } },
    });
    expect(calls).toHaveLength(1);
    const [features, names, reward, truth, routing] = calls[0];
    expect((features as NDArray).toArray()).toEqual([[1, 2]]);
    expect(names).toEqual(["f1", "f2"]);
    expect(reward).toBe(0.5);
    expect((truth as NDArray).toArray()).toEqual([[1]]);
    expect(routing).toBe(1);
    // No return value -> an empty ndarray.
    expect(out.data?.ndarray).toEqual([]);
    expect(out.meta).toEqual({});
    expect(sink.rewards).toEqual([0.5]);
  });

  it("routing is undefined when the response does not record this unit", async () => {
    let routing: unknown = "untouched";
    const c = await loaded({ sendFeedback: (_f: unknown, _n: unknown, _r: unknown, _t: unknown, r: unknown) => void (routing = r) }, "unit");
    await c.seldonSendFeedback({ request: { data: { ndarray: [[1]] } }, response: { meta: { routing: { elsewhere: 2 } } } });
    expect(routing).toBeUndefined();
  });

  it("a zero or missing reward is not counted", async () => {
    const sink = new RecordingSink();
    const c = await loaded({});
    c.metricsSink = sink;
    await c.seldonSendFeedback({ request: { data: { ndarray: [[1]] } }, reward: 0 });
    await c.seldonSendFeedback({ request: { data: { ndarray: [[1]] } } });
    expect(sink.rewards).toEqual([]);
  });
});

describe("SeldonComponent: metrics and metadata", () => {
  it("records metrics() and runtime metrics under the method that ran", async () => {
    const sink = new RecordingSink();
    const c = await loaded({
      metrics: () => [{ type: "COUNTER", key: "calls", value: 1 }],
      route: () => 0,
      transformInput: (X: unknown) => X,
    });
    c.metricsSink = sink;
    await c.seldonRoute({ data: { ndarray: [[1]] } });
    await c.seldonTransformInput({ data: { ndarray: [[1]] } });
    await c.seldonHealthStatus();
    expect(sink.records.map((r) => r.method)).toEqual(["router", "inputtransform", "health"]);
  });

  it("a bad metric from metrics() is a 500 MICROSERVICE_BAD_METRIC", async () => {
    const c = await loaded({ predict: () => [[1]], metrics: () => [{ type: "HISTOGRAM", key: "h", value: 1 }] });
    const err = (await rejection(c.seldonPredict({ data: { ndarray: [[1]] } }))) as SeldonError;
    expect(err.status).toBe(500);
    expect(err.reason).toBe("MICROSERVICE_BAD_METRIC");
    expect(err.message).toMatch(/^Bad metric created during request: /);
  });

  it("validates initMetadata() at load; invalid metadata fails only seldonMetadata()", async () => {
    const c = await loaded({ initMetadata: () => ({ inputs: [{ name: "x", datatype: "FLOAT", shape: [1] }] }), predict: () => [1] });
    expect(c.ready).toBe(true);
    expect(c.metadataError).toMatch(/datatype/);
    const err = (() => {
      try {
        c.seldonMetadata();
      } catch (e) {
        return e as SeldonError;
      }
      throw new Error("expected a throw");
    })();
    expect(err.status).toBe(500);
    expect(err.reason).toBe("MICROSERVICE_BAD_METADATA");
    expect(err.message).toBe("Model metadata unavailable");
    expect((await c.seldonPredict({ data: { ndarray: [1] } })).data?.ndarray).toEqual([1]);
  });

  it("an initMetadata() that throws makes metadata unavailable, not the load", async () => {
    const c = await loaded({
      initMetadata() {
        throw new Error("no metadata file");
      },
    });
    expect(c.ready).toBe(true);
    expect(c.metadataError).toMatch(/no metadata file/);
  });

  it("the user's load() runs once, before the component is ready", async () => {
    let loads = 0;
    const c = new SeldonComponent({ load: async () => void loads++ }, "c");
    expect(c.ready).toBe(false);
    await c.load();
    expect(loads).toBe(1);
    expect(c.ready).toBe(true);
  });

  it("exposes V2 tensors from the metadata to V2 clients", async () => {
    const c = await loaded({
      initMetadata: () => ({
        platform: "p",
        inputs: [{ name: "input", datatype: "BYTES", shape: [1] }, { messagetype: "ndarray", schema: { names: ["a"] } }],
        outputs: [{ name: "output", datatype: "FP32", shape: [-1, 2] }],
      }),
    });
    expect(c.metadata()).toEqual({
      name: "c",
      platform: "p",
      inputs: [{ name: "input", datatype: "BYTES", shape: [1] }],
      outputs: [{ name: "output", datatype: "FP32", shape: [-1, 2] }],
    });
    expect(isSeldonComponent(c)).toBe(true);
    expect(isSeldonComponent({})).toBe(false);
  });
});

describe("loadSeldonComponent: which export is the component", () => {
  it("the default export class, constructed with the parameters", async () => {
    const c = await loadSeldonComponent(join(FIXTURES, "seldon", "MyModel.ts"), "my", { args: { scale: 3 } });
    expect(c.name).toBe("my");
    await c.load();
    const out = await c.seldonPredict({ data: { ndarray: [[1, 2]] } });
    expect(out.data?.ndarray).toEqual([[3, 6]]);
  });

  it("the export named after the file, over other classes", async () => {
    const c = await loadSeldonComponent(join(FIXTURES, "seldon", "ParamEcho.ts"), "echo", { args: { a: 1 } });
    await c.load();
    expect((await c.seldonPredict({ data: { ndarray: [] } })).jsonData).toEqual({ params: { a: 1 }, types: { a: "number" } });
  });

  it("the only exported class, whatever its name", async () => {
    const c = await loadSeldonComponent(join(LOADER, "OnlyClass.ts"), "only", { args: { threshold: 2 } });
    await c.load();
    expect((await c.seldonPredict({ data: { ndarray: [1, 2, 3] } })).data?.ndarray).toEqual([0, 0, 1]);
  });

  it("an exported object is used as it is", async () => {
    const c = await loadSeldonComponent(join(LOADER, "ObjectComponent.ts"), "obj");
    await c.load();
    await c.seldonPredict({ strData: "x" });
    expect((c.user as { calls: number }).calls).toBe(1);
  });

  it("refuses several candidate classes, a tserve Model and a failing constructor", async () => {
    const two = await rejection(loadSeldonComponent(join(LOADER, "TwoClasses.ts"), "two"));
    expect(two).toBeInstanceOf(InvalidInput);
    expect(two.message).toMatch(/several classes \(First, Second\)/);
    const model = await rejection(loadSeldonComponent(join(LOADER, "ModelSubclass.ts"), "m"));
    expect(model).toBeInstanceOf(InvalidInput);
    expect(model.message).toMatch(/without --seldon/);
    const throws = await rejection(loadSeldonComponent(join(LOADER, "Throws.ts"), "t"));
    expect(throws).toBeInstanceOf(InvalidInput);
    expect(throws.message).toMatch(/cannot open weights\.bin/);
  });
});
