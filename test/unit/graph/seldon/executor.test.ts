import { describe, expect, it } from "vitest";
import { InvalidInput } from "../../../../packages/server/src/errors/index.ts";
import { SeldonGraphExecutor, type SeldonStepMethod } from "../../../../packages/server/src/graph/seldon/executor.ts";
import { RandomABTestUnit } from "../../../../packages/server/src/graph/seldon/random-abtest.ts";
import { RemoteSeldonUnit } from "../../../../packages/server/src/graph/seldon/remote-unit.ts";
import { type SeldonGraphNode, toSeldonGraphSpec } from "../../../../packages/server/src/graph/seldon/spec.ts";
import type { SeldonUnit } from "../../../../packages/server/src/graph/seldon/unit.ts";
import { SeldonError } from "../../../../packages/server/src/protocol/seldon/errors.ts";
import type { SeldonMessage } from "../../../../packages/server/src/protocol/seldon/types.ts";
import { type Call, type FakeBehaviour, FakeUnit, path } from "./fake-unit.ts";

const ctx = { headers: {} };
const request = (meta: SeldonMessage["meta"] = {}): SeldonMessage => ({ data: { names: [], ndarray: [] }, meta });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An executor over a bare graph whose nodes are FakeUnits (behaviours by node name), sharing one call log. */
function build(root: Record<string, unknown>, behaviours: Record<string, FakeBehaviour> = {}, extra: { timeoutMs?: number; random?: () => number } = {}) {
  const log: Call[] = [];
  const units = new Map<string, FakeUnit>();
  const steps: { node: string; method: SeldonStepMethod; ok: boolean }[] = [];
  const spec = toSeldonGraphSpec(root, "test", { deploymentName: "dep" });
  const executor = new SeldonGraphExecutor(spec, {
    ...extra,
    resolveUnit: (node: SeldonGraphNode) => {
      if (node.implementation === "RANDOM_ABTEST") return undefined;
      const unit = new FakeUnit(node.name, behaviours[node.name], log);
      units.set(node.name, unit);
      return unit;
    },
    observer: { step: (node, method, _seconds, ok) => steps.push({ node, method, ok }) },
  });
  const called = () => log.map((c) => `${c.unit}.${c.method}`);
  return { executor, log, units, steps, called };
}

async function failure(p: Promise<unknown>): Promise<SeldonError> {
  try {
    await p;
  } catch (err) {
    return err as SeldonError;
  }
  throw new Error("expected a rejection");
}

describe("SeldonGraphExecutor.predict", () => {
  it("calls a single model, generating a Seldon-style puid and filling meta", async () => {
    const { executor, called } = build({ name: "m" }, { m: { predict: (msg) => ({ data: { ndarray: [1] }, meta: { puid: msg.meta?.puid, tags: { m: 1 } } }) } });
    const out = await executor.predict(request({ tags: { client: "x" } }), ctx);
    expect(called()).toEqual(["m.predict"]);
    expect(out.data).toEqual({ ndarray: [1] });
    expect(out.meta?.puid).toMatch(/^[0-9a-v]{26}$/);
    expect(out.meta?.tags).toEqual({ client: "x", m: 1 });
    expect(out.meta?.routing).toEqual({});
    expect(out.meta?.requestPath).toEqual({ m: "tserve" });
  });

  it("keeps the request's puid (or the seldon-puid header) on the response and passes it to every unit", async () => {
    const { executor, log } = build({ name: "t", type: "TRANSFORMER", children: [{ name: "m" }] });
    const out = await executor.predict(request({ puid: "given" }), ctx);
    expect(out.meta?.puid).toBe("given");
    expect(log.map((c) => (c.arg as SeldonMessage).meta?.puid)).toEqual(["given", "given"]);
    expect((await executor.predict(request(), { headers: { "seldon-puid": "from-header" } })).meta?.puid).toBe("from-header");
  });

  it("runs input transformer, model, then output transformer last", async () => {
    const { executor, called } = build({
      name: "out",
      type: "OUTPUT_TRANSFORMER",
      children: [{ name: "tin", type: "TRANSFORMER", children: [{ name: "m" }] }],
    });
    const out = await executor.predict(request(), ctx);
    expect(called()).toEqual(["tin.transformInput", "m.predict", "out.transformOutput"]);
    expect(path(out)).toEqual(["in:tin", "m", "out:out"]);
    expect(out.meta?.requestPath).toEqual({ out: "tserve", tin: "tserve", m: "tserve" });
  });

  it("feeds a MODEL's output to its child", async () => {
    const { executor, called } = build({ name: "a", children: [{ name: "b" }] });
    const out = await executor.predict(request(), ctx);
    expect(called()).toEqual(["a.predict", "b.predict"]);
    expect(path(out)).toEqual(["a", "b"]);
  });

  it("follows a methods list (TRANSFORM_INPUT + TRANSFORM_OUTPUT on one node)", async () => {
    const { executor, called } = build({ name: "both", methods: ["TRANSFORM_INPUT", "TRANSFORM_OUTPUT"], children: [{ name: "m" }] });
    const out = await executor.predict(request(), ctx);
    expect(called()).toEqual(["both.transformInput", "m.predict", "both.transformOutput"]);
    expect(path(out)).toEqual(["in:both", "m", "out:both"]);
  });

  describe("routers", () => {
    const routerGraph = { name: "r", type: "ROUTER", children: [{ name: "a" }, { name: "b" }, { name: "c" }] };

    it("route N calls child N only and records it", async () => {
      const { executor, called } = build(routerGraph, { r: { route: 1 } });
      const out = await executor.predict(request(), ctx);
      expect(called()).toEqual(["r.route", "b.predict"]);
      expect(path(out)).toEqual(["b"]);
      expect(out.meta?.routing).toEqual({ r: 1 });
      expect(out.meta?.requestPath).toEqual({ r: "tserve", b: "tserve" });
    });

    it("route -1 calls all children in parallel and answers the first child's output", async () => {
      let running = 0;
      let peak = 0;
      const slow = (name: string): FakeBehaviour => ({
        predict: async () => {
          running++;
          peak = Math.max(peak, running);
          await sleep(20);
          running--;
          return { data: { ndarray: [name] } };
        },
      });
      const { executor, called } = build(routerGraph, { r: { route: -1 }, a: slow("a"), b: slow("b"), c: slow("c") });
      const out = await executor.predict(request(), ctx);
      expect(called().sort()).toEqual(["a.predict", "b.predict", "c.predict", "r.route"]);
      expect(peak).toBe(3);
      expect(path(out)).toEqual(["a"]);
      expect(out.meta?.routing).toEqual({ r: -1 });
    });

    it("route -2 returns the router's input without calling children", async () => {
      const { executor, called } = build(
        { name: "t", type: "TRANSFORMER", children: [routerGraph] },
        { r: { route: -2 } },
      );
      const out = await executor.predict(request(), ctx);
      expect(called()).toEqual(["t.transformInput", "r.route"]);
      expect(path(out)).toEqual(["in:t"]);
      expect(out.meta?.routing).toEqual({ r: -2 });
    });

    it("reads the route from a tensor too", async () => {
      const { executor, called } = build(routerGraph, { r: { route: async () => ({ data: { tensor: { shape: [1, 1], values: [2] } } }) } });
      await executor.predict(request(), ctx);
      expect(called()).toEqual(["r.route", "c.predict"]);
    });

    it.each([[3], [-3], [1.5], ["1"], [true]])("rejects route %j with a 500 naming the router", async (route) => {
      const { executor, called } = build(routerGraph, { r: { route } });
      const err = await failure(executor.predict(request(), ctx));
      expect(err).toBeInstanceOf(SeldonError);
      expect(err.status).toBe(500);
      expect(err.message).toMatch(/Router 'r' returned route .*; expected an integer from -2 to 2/);
      expect(called()).toEqual(["r.route"]);
    });

    it("rejects a route answer with no data", async () => {
      const { executor } = build(routerGraph, { r: { route: async () => ({ meta: {} }) } });
      expect((await failure(executor.predict(request(), ctx))).message).toMatch(/Router 'r' returned route nothing/);
    });

    it("records every router on the path in meta.routing, even when the last unit answers its own meta", async () => {
      const { executor } = build(
        {
          name: "r1",
          type: "ROUTER",
          children: [{ name: "r2", type: "ROUTER", children: [{ name: "m1" }, { name: "m2" }] }, { name: "m3" }],
        },
        { r1: { route: 0 }, r2: { route: 1 }, m2: { predict: async () => ({ data: { ndarray: [] }, meta: { routing: { bogus: 3 } } }) } },
      );
      const out = await executor.predict(request(), ctx);
      expect(out.meta?.routing).toEqual({ r1: 0, r2: 1 });
      expect(Object.keys(out.meta?.requestPath ?? {})).toEqual(["r1", "r2", "m2"]);
    });

    it("records routers inside parallel branches", async () => {
      const { executor } = build(
        {
          name: "top",
          type: "ROUTER",
          children: [
            { name: "ra", type: "ROUTER", children: [{ name: "a1" }, { name: "a2" }] },
            { name: "rb", type: "ROUTER", children: [{ name: "b1" }, { name: "b2" }] },
          ],
        },
        { top: { route: -1 }, ra: { route: 1 }, rb: { route: 0 } },
      );
      const out = await executor.predict(request(), ctx);
      expect(out.meta?.routing).toEqual({ top: -1, ra: 1, rb: 0 });
      expect(path(out)).toEqual(["a2"]);
    });

    it("runs the built-in RANDOM_ABTEST with the injected random source", async () => {
      const draws = [0.1, 0.9, 0.29, 0.3];
      const { executor } = build(
        { name: "ab", implementation: "RANDOM_ABTEST", parameters: [{ name: "ratioA", value: "0.3", type: "FLOAT" }], children: [{ name: "a" }, { name: "b" }] },
        {},
        { random: () => draws.shift()! },
      );
      const answers: unknown[] = [];
      for (let i = 0; i < 4; i++) answers.push((await executor.predict(request(), ctx)).meta?.routing);
      expect(answers).toEqual([{ ab: 0 }, { ab: 1 }, { ab: 0 }, { ab: 1 }]);
      draws.push(0.5);
      expect((await executor.predict(request(), ctx)).meta?.requestPath).toEqual({ ab: "RANDOM_ABTEST", b: "tserve" });
    });
  });

  describe("combiners", () => {
    it("aggregates child outputs in child order, not completion order", async () => {
      const { executor, log } = build(
        { name: "c", type: "COMBINER", children: [{ name: "slow" }, { name: "fast" }] },
        { slow: { predict: async () => (await sleep(30), { data: { ndarray: ["slow"] } }) } },
      );
      const out = await executor.predict(request(), ctx);
      const aggregated = log.find((c) => c.method === "aggregate")!.arg as SeldonMessage[];
      expect(aggregated.map(path)).toEqual([["slow"], ["fast"]]);
      expect(path(out)).toEqual([["slow"], ["fast"]]);
      expect(out.meta?.routing).toEqual({});
    });

    it("stops at a failing child with its status and never calls the combiner (seldon-core#2480)", async () => {
      const { executor, called } = build(
        { name: "c", type: "COMBINER", children: [{ name: "ok" }, { name: "bad" }] },
        { bad: { predict: async () => Promise.reject(new SeldonError("forbidden input", 403)) } },
      );
      const err = await failure(executor.predict(request(), ctx));
      expect(err).toBeInstanceOf(SeldonError);
      expect(err.status).toBe(403);
      expect(err.message).toBe("forbidden input");
      expect(called()).not.toContain("c.aggregate");
    });

    it("stops a chain at the failing step", async () => {
      const { executor, called } = build(
        { name: "out", type: "OUTPUT_TRANSFORMER", children: [{ name: "t", type: "TRANSFORMER", children: [{ name: "m" }] }] },
        { t: { transformInput: async () => Promise.reject(new SeldonError("no", 422)) } },
      );
      expect((await failure(executor.predict(request(), ctx))).status).toBe(422);
      expect(called()).toEqual(["t.transformInput"]);
    });
  });

  it("merges tags from every step, later steps winning, routers included (seldon-core#1823)", async () => {
    const { executor } = build(
      { name: "t", type: "TRANSFORMER", children: [{ name: "r", type: "ROUTER", children: [{ name: "m" }] }] },
      {
        t: { transformInput: async () => ({ data: { ndarray: [] }, meta: { tags: { shared: "t", t: true } } }) },
        r: { route: async () => ({ data: { ndarray: [[0]] }, meta: { tags: { router: "picked 0", shared: "r" } } }) },
        m: { predict: async () => ({ data: { ndarray: [] }, meta: { tags: { shared: "m" }, requestPath: { m: "seldonio/m:1" } } }) },
      },
    );
    const out = await executor.predict(request({ tags: { client: 1, shared: "client" } }), ctx);
    expect(out.meta?.tags).toEqual({ client: 1, shared: "m", t: true, router: "picked 0" });
    expect(out.meta?.requestPath).toEqual({ t: "tserve", r: "tserve", m: "seldonio/m:1" });
  });

  it("names the implementation or image in requestPath", async () => {
    const spec = toSeldonGraphSpec({
      kind: "SeldonDeployment",
      metadata: { name: "d" },
      spec: {
        predictors: [
          {
            name: "p",
            componentSpecs: [{ spec: { containers: [{ name: "img", image: "me/img:2" }] } }],
            graph: { name: "sk", implementation: "SKLEARN_SERVER", children: [{ name: "img" }] },
          },
        ],
      },
    });
    const executor = new SeldonGraphExecutor(spec, { resolveUnit: (n) => new FakeUnit(n.name) });
    expect((await executor.predict(request(), ctx)).meta?.requestPath).toEqual({ sk: "SKLEARN_SERVER", img: "me/img:2" });
  });

  it("fails a call that outlives timeoutMs with 504", async () => {
    const { executor, steps } = build({ name: "m" }, { m: { predict: async () => (await sleep(200), request()) } }, { timeoutMs: 30 });
    const err = await failure(executor.predict(request(), ctx));
    expect(err.status).toBe(504);
    expect(err.message).toMatch(/'m' did not answer predict within 0.03 s/);
    expect(steps).toEqual([{ node: "m", method: "predict", ok: false }]);
  });

  it("rejects a unit that answers no message", async () => {
    const { executor } = build({ name: "m" }, { m: { predict: async () => undefined as unknown as SeldonMessage } });
    const err = await failure(executor.predict(request(), ctx));
    expect(err.status).toBe(500);
    expect(err.message).toMatch(/'m' answered predict with no SeldonMessage/);
  });

  it("reports every component call to the observer", async () => {
    const { executor, steps } = build(
      { name: "c", type: "COMBINER", children: [{ name: "r", type: "ROUTER", children: [{ name: "m" }] }] },
      { r: { route: 0 } },
    );
    await executor.predict(request(), ctx);
    expect(steps).toEqual([
      { node: "r", method: "route", ok: true },
      { node: "m", method: "predict", ok: true },
      { node: "c", method: "aggregate", ok: true },
    ]);
  });
});

describe("SeldonGraphExecutor.sendFeedback", () => {
  const nested = {
    name: "r1",
    type: "ROUTER",
    children: [
      { name: "r2", type: "ROUTER", children: [{ name: "m1" }, { name: "m2" }] },
      { name: "m3" },
    ],
  };

  it("reaches every router on the recorded path and only the chosen children, children first (seldon-core#2827)", async () => {
    const { executor, called, log } = build(nested);
    const feedback = { request: request(), response: { data: { ndarray: [] }, meta: { routing: { r1: 0, r2: 1 } } }, reward: 1 };
    const answer = await executor.sendFeedback(feedback, ctx);
    expect(called()).toEqual(["m2.sendFeedback", "r2.sendFeedback", "r1.sendFeedback"]);
    // Each router's component receives the whole feedback (its adapter reads routing[its name]).
    expect(log.every((c) => c.arg === feedback)).toBe(true);
    expect(answer).toEqual({ data: { names: [], ndarray: ["r1"] }, meta: {} });
  });

  it("round-trips: the routing a prediction records steers its feedback", async () => {
    const { executor, called, log } = build(nested, { r1: { route: 0 }, r2: { route: 0 } });
    const req = request();
    const response = await executor.predict(req, ctx);
    log.length = 0;
    await executor.sendFeedback({ request: req, response, reward: 0.5 }, ctx);
    expect(called()).toEqual(["m1.sendFeedback", "r2.sendFeedback", "r1.sendFeedback"]);
  });

  it("sends to all children when no routing was recorded", async () => {
    const { executor, called } = build(nested);
    await executor.sendFeedback({ request: request(), reward: 1 }, ctx);
    expect(called().sort()).toEqual(["m1.sendFeedback", "m2.sendFeedback", "m3.sendFeedback", "r1.sendFeedback", "r2.sendFeedback"]);
    expect(called().at(-1)).toBe("r1.sendFeedback");
  });

  it("sends to no children of a router that answered -2", async () => {
    const { executor, called } = build(nested);
    await executor.sendFeedback({ response: { meta: { routing: { r1: -2 } } }, reward: 1 }, ctx);
    expect(called()).toEqual(["r1.sendFeedback"]);
  });

  it("skips transformers and combiners, and answers an empty message when the root takes no feedback", async () => {
    const { executor, called } = build({
      name: "c",
      type: "COMBINER",
      children: [{ name: "t", type: "TRANSFORMER", children: [{ name: "m" }] }, { name: "n" }],
    });
    const answer = await executor.sendFeedback({ reward: 1 }, ctx);
    expect(called().sort()).toEqual(["m.sendFeedback", "n.sendFeedback"]);
    expect(answer).toEqual({ data: { names: [], ndarray: [] }, meta: {} });
  });

  it("rejects a recorded route outside the node's children", async () => {
    const { executor, called } = build(nested);
    const err = await failure(executor.sendFeedback({ response: { meta: { routing: { r1: 5 } } } }, ctx));
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/Feedback routing for 'r1' is 5/);
    expect(called()).toEqual([]);
  });

  it("propagates a component's feedback error", async () => {
    const { executor } = build(nested, { m3: { sendFeedback: async () => Promise.reject(new SeldonError("nope", 409)) } });
    expect((await failure(executor.sendFeedback({ response: { meta: { routing: { r1: 1 } } } }, ctx))).status).toBe(409);
  });
});

describe("SeldonGraphExecutor: resolution, health, metadata, close", () => {
  it("falls back to RANDOM_ABTEST and REST endpoints, and names a node nothing resolves", () => {
    const spec = toSeldonGraphSpec({
      name: "ab",
      implementation: "RANDOM_ABTEST",
      children: [{ name: "remote", endpoint: { service_host: "127.0.0.1", service_port: 9 } }, { name: "local" }],
    });
    const local = new FakeUnit("local");
    const seen: string[] = [];
    const executor = new SeldonGraphExecutor(spec, {
      resolveUnit: (n) => {
        seen.push(n.name);
        return n.name === "local" ? local : undefined;
      },
    });
    expect(seen).toEqual(["ab", "remote", "local"]);
    expect(executor.nodeNames()).toEqual(["ab", "remote", "local"]);
    expect(() => new SeldonGraphExecutor(spec, { resolveUnit: () => undefined })).toThrow(InvalidInput);
    expect(() => new SeldonGraphExecutor(spec)).toThrow(/Seldon graph node 'local' has no component/);
    const sk = toSeldonGraphSpec({ name: "sk", implementation: "SKLEARN_SERVER" });
    expect(() => new SeldonGraphExecutor(sk)).toThrow(/'sk' \(implementation SKLEARN_SERVER\) has no component/);
  });

  it("uses the built-ins only when resolveUnit declines", async () => {
    const spec = toSeldonGraphSpec({ name: "ab", implementation: "RANDOM_ABTEST", children: [{ name: "a" }, { name: "b" }] });
    const custom = new FakeUnit("ab", { route: 1 });
    const executor = new SeldonGraphExecutor(spec, { resolveUnit: (n) => (n.name === "ab" ? custom : new FakeUnit(n.name)) });
    expect((await executor.predict(request(), ctx)).meta?.routing).toEqual({ ab: 1 });
    expect(custom.calls.map((c) => c.method)).toEqual(["route"]);
  });

  it("is healthy only when every unit is", async () => {
    expect(await build({ name: "a", children: [{ name: "b" }] }).executor.healthy()).toBe(true);
    expect(await build({ name: "a", children: [{ name: "b" }] }, { b: { healthy: false } }).executor.healthy()).toBe(false);
    const throwing = build({ name: "a" }, { a: { healthy: () => Promise.reject(new Error("down")) } });
    expect(await throwing.executor.healthy()).toBe(false);
  });

  it("answers Seldon's graph metadata, recording a failing unit's error", async () => {
    const { executor } = build(
      { name: "t", type: "TRANSFORMER", children: [{ name: "c", type: "COMBINER", children: [{ name: "m1" }, { name: "m2" }] }] },
      {
        t: { metadata: { name: "t", inputs: [{ name: "raw", datatype: "BYTES", shape: [-1] }], outputs: [] } },
        c: { metadata: { name: "c", inputs: [], outputs: [{ name: "avg", datatype: "FP32", shape: [-1, 1] }] } },
        m2: { metadata: () => Promise.reject(new Error("MICROSERVICE_BAD_METADATA")) },
      },
    );
    const md = await executor.metadata();
    expect(md.name).toBe("dep");
    expect(Object.keys(md.models)).toEqual(["t", "c", "m1", "m2"]);
    expect(md.models.m2).toEqual({ name: "m2", error: "MICROSERVICE_BAD_METADATA" });
    expect(md.graphinputs).toEqual([{ name: "raw", datatype: "BYTES", shape: [-1] }]);
    expect(md.graphoutputs).toEqual([{ name: "avg", datatype: "FP32", shape: [-1, 1] }]);
  });

  it("takes the graph outputs from the last model of a chain", async () => {
    const { executor } = build(
      { name: "a", children: [{ name: "b" }] },
      { a: { metadata: { inputs: ["a-in"], outputs: ["a-out"] } }, b: { metadata: { inputs: ["b-in"], outputs: ["b-out"] } } },
    );
    const md = await executor.metadata();
    expect(md.graphinputs).toEqual(["a-in"]);
    expect(md.graphoutputs).toEqual(["b-out"]);
  });

  it("closes each unit once, even when nodes share it", async () => {
    const shared = new FakeUnit("shared");
    const spec = toSeldonGraphSpec({ name: "a", children: [{ name: "b" }] });
    const units: SeldonUnit[] = [];
    const executor = new SeldonGraphExecutor(spec, {
      resolveUnit: () => {
        units.push(shared);
        return shared;
      },
    });
    await executor.close();
    expect(units).toHaveLength(2);
    expect(shared.closed).toBe(1);
  });

  it("builds remote units for endpoints and RANDOM_ABTEST units for A/B nodes", () => {
    const spec = toSeldonGraphSpec({
      name: "ab",
      implementation: "RANDOM_ABTEST",
      children: [
        { name: "x", endpoint: { service_host: "127.0.0.1", service_port: 9 } },
        { name: "y", endpoint: { service_host: "127.0.0.1", service_port: 10 } },
      ],
    });
    const executor = new SeldonGraphExecutor(spec);
    // Reached through the private map only to assert the resolution choice.
    const root = (executor as unknown as { root: { unit: unknown; children: { unit: unknown }[] } }).root;
    expect(root.unit).toBeInstanceOf(RandomABTestUnit);
    expect(root.children[0].unit).toBeInstanceOf(RemoteSeldonUnit);
    expect((root.children[1].unit as RemoteSeldonUnit).baseUrl).toBe("http://127.0.0.1:10");
    return executor.close();
  });
});
