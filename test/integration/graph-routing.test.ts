/**
 * InferenceGraph routing over real HTTP: a real ModelServer runs the graph; every step is a small node:http
 * server that records what it receives and answers as scripted (KServe router semantics).
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { call, NO_ROUTE, ROUTER_ERROR, type RunningGraph, rawCall, startGraph } from "../fixtures/graphs/harness.ts";
import { type StepServer, startStep } from "../fixtures/graphs/step-server.ts";

const steps: StepServer[] = [];
let graph: RunningGraph | undefined;

async function step(name: string, script: Parameters<typeof startStep>[1] = {}): Promise<StepServer> {
  const s = await startStep(name, script);
  steps.push(s);
  return s;
}

async function serve(spec: Record<string, unknown>): Promise<string> {
  graph = await startGraph(spec);
  return graph.url;
}

afterEach(async () => {
  await graph?.stop();
  graph = undefined;
});
afterAll(async () => {
  await Promise.all(steps.map((s) => s.close()));
});

const INPUT = { instances: [[6.8, 2.8, 4.8, 1.4]] };

function expectRouterError(r: { status: number; json: any; headers?: Headers }, status: number, ...mentions: string[]): void {
  expect(r.status, JSON.stringify(r.json)).toBe(status);
  expect(Object.keys(r.json ?? {}).sort()).toEqual(["cause", "error"]);
  expect(r.json.error).toBe(ROUTER_ERROR);
  expect(typeof r.json.cause).toBe("string");
  for (const m of mentions) expect(r.json.cause).toContain(m);
}

describe("Sequence", () => {
  it("by default every step gets the node input, and the node answers with the last step", async () => {
    const a = await step("a");
    const b = await step("b");
    const url = await serve({ nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: a.url }, { serviceUrl: b.url }] } } });
    const r = await call(url, INPUT);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ step: "b", received: INPUT });
    expect(a.calls.map((c) => c.json)).toEqual([INPUT]);
    expect(b.calls.map((c) => c.json)).toEqual([INPUT]);
    expect(a.calls[0].method).toBe("POST");
    expect(a.calls[0].url).toBe("/a");
    // Strictly in order: b is called only after a answered.
    expect(b.calls[0].arrivedAt).toBeGreaterThanOrEqual(a.calls[0].answeredAt!);
  });

  it("data: $response feeds the previous answer on; $request feeds the node input", async () => {
    const a = await step("a", { body: { predictions: [1, 2], from: "a" } });
    const b = await step("b");
    const c = await step("c");
    const url = await serve({
      nodes: {
        root: {
          routerType: "Sequence",
          steps: [
            { serviceUrl: a.url },
            { serviceUrl: b.url, data: "$response" },
            { serviceUrl: c.url, data: "$request" },
          ],
        },
      },
    });
    const r = await call(url, INPUT);
    expect(r.status).toBe(200);
    expect(b.calls[0].json).toEqual({ predictions: [1, 2], from: "a" });
    expect(c.calls[0].json).toEqual(INPUT);
    expect(r.json).toEqual({ step: "c", received: INPUT });
  });

  it("$response on the first step is the node input", async () => {
    const a = await step("a");
    const url = await serve({ nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: a.url, data: "$response" }] } } });
    await call(url, INPUT);
    expect(a.calls[0].json).toEqual(INPUT);
  });

  it("passes bodies through byte for byte", async () => {
    const raw = '{"b":1,  "a":[1.50, 2e3]}';
    const a = await step("a", { body: '{"x" :  1.0}', contentType: "application/json" });
    const b = await step("b", { body: "done", contentType: "text/plain" });
    const url = await serve({
      nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: a.url }, { serviceUrl: b.url, data: "$response" }] } },
    });
    const r = await call(url, raw);
    expect(a.calls[0].body).toBe(raw);
    expect(b.calls[0].body).toBe('{"x" :  1.0}');
    expect(r.text).toBe("done");
  });

  it("answers with the last step's status", async () => {
    const a = await step("a");
    const b = await step("b", { status: 201, body: { created: true } });
    const url = await serve({ nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: a.url }, { serviceUrl: b.url }] } } });
    const r = await call(url, INPUT);
    expect(r.status).toBe(201);
    expect(r.json).toEqual({ created: true });
  });

  it("a condition met by the previous response runs the step", async () => {
    const a = await step("a", { body: { predictions: [0.9], label: "dog" } });
    const b = await step("b");
    const url = await serve({
      nodes: {
        root: { routerType: "Sequence", steps: [{ serviceUrl: a.url }, { serviceUrl: b.url, data: "$response", condition: "label" }] },
      },
    });
    const r = await call(url, INPUT);
    expect(r.status).toBe(200);
    expect(b.calls).toHaveLength(1);
    expect(r.json).toEqual({ step: "b", received: { predictions: [0.9], label: "dog" } });
  });

  it("a condition unmet by the previous response returns that response with 200 and skips the rest", async () => {
    const a = await step("a", { body: { predictions: [0.1] } });
    const b = await step("b");
    const c = await step("c");
    const url = await serve({
      nodes: {
        root: {
          routerType: "Sequence",
          steps: [{ serviceUrl: a.url }, { serviceUrl: b.url, condition: "label" }, { serviceUrl: c.url }],
        },
      },
    });
    const r = await call(url, INPUT);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ predictions: [0.1] });
    expect(b.calls).toHaveLength(0);
    expect(c.calls).toHaveLength(0);
  });

  it("the condition is checked against the previous response, not the node input", async () => {
    const a = await step("a", { body: { other: 1 } });
    const b = await step("b");
    const url = await serve({
      nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: a.url }, { serviceUrl: b.url, condition: "instances" }] } },
    });
    // The node input has `instances`; a's answer does not.
    const r = await call(url, INPUT);
    expect(b.calls).toHaveLength(0);
    expect(r.json).toEqual({ other: 1 });
  });

  it("an unmet condition after a Soft failure returns the failed response with its status, never an error body with 200", async () => {
    const a = await step("a", { status: 500, body: { error: "soft failure" } });
    const b = await step("b");
    const url = await serve({
      nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: a.url }, { serviceUrl: b.url, condition: "label" }] } },
    });
    const r = await call(url, INPUT);
    expect(r.status).toBe(500);
    expect(r.json).toEqual({ error: "soft failure" });
    expect(b.calls).toHaveLength(0);
  });

  it("conditions may use GJSON paths into arrays and nested objects", async () => {
    const a = await step("a", { body: { result: { classes: ["cat", "dog"] } } });
    const yes = await step("yes");
    const no = await step("no");
    const url = await serve({
      nodes: {
        root: {
          routerType: "Sequence",
          steps: [
            { serviceUrl: a.url },
            { serviceUrl: yes.url, condition: "result.classes.1", data: "$response" },
          ],
        },
        other: {
          routerType: "Sequence",
          steps: [{ serviceUrl: a.url }, { serviceUrl: no.url, condition: "result.classes.2" }],
        },
      },
    });
    const r = await call(url, INPUT);
    expect(r.status).toBe(200);
    expect(yes.calls).toHaveLength(1);
    expect(no.calls).toHaveLength(0);
  });

  it("a condition on a non-JSON previous response is a 500 router error", async () => {
    const a = await step("a", { body: "not json at all" });
    const b = await step("b");
    const url = await serve({
      nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: a.url }, { name: "gated", serviceUrl: b.url, condition: "x" }] } },
    });
    const r = await call(url, INPUT);
    expectRouterError(r, 500);
    expect(b.calls).toHaveLength(0);
  });

  it("a Hard step's non-2xx stops the sequence with that status and body", async () => {
    const a = await step("a", { status: 503, body: { error: "a is down", code: 7 } });
    const b = await step("b");
    const url = await serve({
      nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: a.url, dependency: "Hard" }, { serviceUrl: b.url }] } },
    });
    const r = await call(url, INPUT);
    expect(r.status).toBe(503);
    expect(r.json).toEqual({ error: "a is down", code: 7 });
    expect(b.calls).toHaveLength(0);
  });

  it("a Hard step's non-JSON failure body is returned as it is", async () => {
    const a = await step("a", { status: 422, body: "unprocessable: bad shape" });
    const b = await step("b");
    const url = await serve({
      nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: a.url, dependency: "Hard" }, { serviceUrl: b.url }] } },
    });
    const r = await call(url, INPUT);
    expect(r.status).toBe(422);
    expect(r.text).toBe("unprocessable: bad shape");
    expect(r.headers.get("content-type") ?? "").not.toMatch(/application\/json/);
    expect(b.calls).toHaveLength(0);
  });

  it("a Soft step's non-2xx (explicit or by default) does not stop the sequence", async () => {
    const a = await step("a", { status: 500, body: { error: "soft" } });
    const b = await step("b", { status: 404, body: { error: "default soft" } });
    const c = await step("c");
    const url = await serve({
      nodes: {
        root: {
          routerType: "Sequence",
          steps: [
            { serviceUrl: a.url, dependency: "Soft" },
            { serviceUrl: b.url, data: "$response" },
            { serviceUrl: c.url, data: "$response" },
          ],
        },
      },
    });
    const r = await call(url, INPUT);
    expect(r.status).toBe(200);
    expect(b.calls[0].json).toEqual({ error: "soft" });
    expect(c.calls[0].json).toEqual({ error: "default soft" });
    expect(r.json).toEqual({ step: "c", received: { error: "default soft" } });
  });

  it("a Soft last step's failure is the node's answer", async () => {
    const a = await step("a");
    const b = await step("b", { status: 500, body: { error: "last" } });
    const url = await serve({ nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: a.url }, { serviceUrl: b.url }] } } });
    const r = await call(url, INPUT);
    expect(r.status).toBe(500);
    expect(r.json).toEqual({ error: "last" });
  });

  it("mapPredictionsToInstances turns predictions into instances and drops other fields", async () => {
    const a = await step("a", { body: { predictions: [[0.1, 0.9], [0.8, 0.2]], model_name: "a", id: "x" } });
    const b = await step("b");
    const url = await serve({
      nodes: {
        root: {
          routerType: "Sequence",
          steps: [{ serviceUrl: a.url }, { serviceUrl: b.url, data: "$response", mapPredictionsToInstances: true }],
        },
      },
    });
    const r = await call(url, INPUT);
    expect(r.status).toBe(200);
    expect(b.calls[0].json).toEqual({ instances: [[0.1, 0.9], [0.8, 0.2]] });
  });

  it("mapPredictionsToInstances leaves empty or non-array predictions alone", async () => {
    const a = await step("a", (_req, i) => ({ body: i === 0 ? { predictions: [], keep: 1 } : { predictions: "x", keep: 2 } }));
    const b = await step("b");
    const url = await serve({
      nodes: {
        root: {
          routerType: "Sequence",
          steps: [{ serviceUrl: a.url }, { serviceUrl: b.url, data: "$response", mapPredictionsToInstances: true }],
        },
      },
    });
    await call(url, INPUT);
    await call(url, INPUT);
    expect(b.calls.map((c) => c.json)).toEqual([
      { predictions: [], keep: 1 },
      { predictions: "x", keep: 2 },
    ]);
  });

  it("nodeName steps run nested nodes, which take the step's input and answer as a step", async () => {
    const a = await step("a", { body: { predictions: [1] } });
    const b = await step("b", { body: { predictions: [2] } });
    const c = await step("c");
    const d = await step("d");
    const url = await serve({
      nodes: {
        root: {
          routerType: "Sequence",
          steps: [
            { name: "first", serviceUrl: a.url },
            { name: "inner", nodeName: "inner", data: "$response" },
            { name: "last", serviceUrl: d.url, data: "$response" },
          ],
        },
        inner: {
          routerType: "Sequence",
          steps: [{ serviceUrl: b.url }, { serviceUrl: c.url, data: "$response", mapPredictionsToInstances: true }],
        },
      },
    });
    const r = await call(url, INPUT);
    expect(r.status).toBe(200);
    // inner's input is a's answer: its first step gets that, its second gets b's answer mapped.
    expect(b.calls[0].json).toEqual({ predictions: [1] });
    expect(c.calls[0].json).toEqual({ instances: [2] });
    expect(d.calls[0].json).toEqual({ step: "c", received: { instances: [2] } });
    expect(r.json.step).toBe("d");
  });

  it("a Hard nested node's failure stops the outer sequence", async () => {
    const a = await step("a", { status: 502, body: { error: "inner down" } });
    const b = await step("b");
    const url = await serve({
      nodes: {
        root: { routerType: "Sequence", steps: [{ nodeName: "inner", dependency: "Hard" }, { serviceUrl: b.url }] },
        inner: { routerType: "Sequence", steps: [{ serviceUrl: a.url }] },
      },
    });
    const r = await call(url, INPUT);
    expect(r.status).toBe(502);
    expect(r.json).toEqual({ error: "inner down" });
    expect(b.calls).toHaveLength(0);
  });
});

describe("Switch", () => {
  async function animals() {
    const cat = await step("cat");
    const dog = await step("dog");
    const any = await step("any");
    const url = await serve({
      nodes: {
        root: {
          routerType: "Switch",
          steps: [
            { serviceUrl: cat.url, condition: "cat" },
            { serviceUrl: dog.url, condition: "dog" },
            { serviceUrl: any.url, condition: "animal" },
          ],
        },
      },
    });
    return { cat, dog, any, url };
  }

  it("runs only the first step whose condition matches the node input", async () => {
    const { cat, dog, any, url } = await animals();
    const r1 = await call(url, { dog: 1, animal: true });
    expect(r1.status).toBe(200);
    expect(r1.json).toEqual({ step: "dog", received: { dog: 1, animal: true } });
    const r2 = await call(url, { animal: true, cat: { name: "Tom" }, dog: 2 });
    expect(r2.json.step).toBe("cat");
    const r3 = await call(url, { animal: "bird" });
    expect(r3.json.step).toBe("any");
    expect(cat.calls).toHaveLength(1);
    expect(dog.calls).toHaveLength(1);
    expect(any.calls).toHaveLength(1);
    expect(dog.calls[0].json).toEqual({ dog: 1, animal: true });
  });

  it("no match is a 404 with KServe's body", async () => {
    const { cat, dog, any, url } = await animals();
    const r = await call(url, { fish: 1 });
    expect(r.status).toBe(404);
    expect(r.json).toEqual(NO_ROUTE);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    expect(cat.calls.length + dog.calls.length + any.calls.length).toBe(0);
  });

  it("a non-JSON input is a 404 with the same body", async () => {
    const { cat, url } = await animals();
    for (const body of ["cat dog animal", '{"cat": ', ""]) {
      const r = await call(url, body, { "content-type": "text/plain" });
      expect(r.status, body).toBe(404);
      expect(r.json).toEqual(NO_ROUTE);
    }
    expect(cat.calls).toHaveLength(0);
  });

  it("answers with the chosen step's status and body", async () => {
    const teapot = await step("teapot", { status: 418, body: { short: "and stout" } });
    const url = await serve({ nodes: { root: { routerType: "Switch", steps: [{ serviceUrl: teapot.url, condition: "tea" }] } } });
    const r = await call(url, { tea: "earl grey" });
    expect(r.status).toBe(418);
    expect(r.json).toEqual({ short: "and stout" });
  });

  it("conditions are checked against the Switch node's own input (here, the previous step's answer)", async () => {
    const classify = await step("classify", { body: { label: "dog" } });
    const dog = await step("dog");
    const url = await serve({
      nodes: {
        root: { routerType: "Sequence", steps: [{ serviceUrl: classify.url }, { nodeName: "route", data: "$response" }] },
        route: {
          routerType: "Switch",
          steps: [
            { serviceUrl: dog.url, condition: "instances" },
            { serviceUrl: dog.url, condition: "label" },
          ],
        },
      },
    });
    const r = await call(url, INPUT);
    expect(r.status).toBe(200);
    expect(dog.calls.map((c) => c.json)).toEqual([{ label: "dog" }]);
  });

  it("takes KServe's documented condition form [@this].#(field==VALUE)", async () => {
    const allow = await step("allow");
    const deny = await step("deny");
    const url = await serve({
      nodes: {
        root: {
          routerType: "Switch",
          steps: [
            { serviceUrl: allow.url, condition: "[@this].#(decision_picker==ALLOW)" },
            { serviceUrl: deny.url, condition: "[@this].#(decision_picker==DENY)" },
          ],
        },
      },
    });
    expect((await call(url, { decision_picker: "ALLOW" })).json.step).toBe("allow");
    expect((await call(url, { decision_picker: "DENY" })).json.step).toBe("deny");
    expect((await call(url, { decision_picker: "MAYBE" })).status).toBe(404);
  });
});

describe("Ensemble", () => {
  it("calls its steps in parallel: the total time is about the slowest step, not the sum", async () => {
    const a = await step("a", { delayMs: 400 });
    const b = await step("b", { delayMs: 400 });
    const c = await step("c", { delayMs: 400 });
    const url = await serve({
      nodes: {
        root: {
          routerType: "Ensemble",
          steps: [
            { name: "a", serviceUrl: a.url },
            { name: "b", serviceUrl: b.url },
            { name: "c", serviceUrl: c.url },
          ],
        },
      },
    });
    await call(url, INPUT); // warm up connections
    for (const s of [a, b, c]) s.reset();
    const r = await call(url, INPUT);
    expect(r.status).toBe(200);
    expect(r.ms).toBeGreaterThanOrEqual(390);
    expect(r.ms).toBeLessThan(900); // sequential would be >= 1200
    const arrivals = [a, b, c].map((s) => s.calls[0].arrivedAt);
    expect(Math.max(...arrivals) - Math.min(...arrivals)).toBeLessThan(200);
  });

  it("combines the answers into an object keyed by step name, or index for unnamed steps", async () => {
    const a = await step("a", { body: { predictions: [1] } });
    const b = await step("b", { body: { predictions: [2] } });
    const c = await step("c", { body: { predictions: [3] } });
    const url = await serve({
      nodes: {
        root: {
          routerType: "Ensemble",
          steps: [{ name: "first", serviceUrl: a.url }, { serviceUrl: b.url }, { name: "third", serviceUrl: c.url }],
        },
      },
    });
    const r = await call(url, INPUT);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    expect(r.json).toEqual({ first: { predictions: [1] }, "1": { predictions: [2] }, third: { predictions: [3] } });
    // Every step gets the same node input.
    for (const s of [a, b, c]) expect(s.calls[0].json).toEqual(INPUT);
  });

  it("the first Hard failure, in step order, answers with its own status and body", async () => {
    const ok = await step("ok", { delayMs: 50 });
    const slowHard = await step("slowHard", { status: 503, body: { error: "first hard" }, delayMs: 200 });
    const fastHard = await step("fastHard", { status: 500, body: { error: "second hard" } });
    const url = await serve({
      nodes: {
        root: {
          routerType: "Ensemble",
          steps: [
            { name: "ok", serviceUrl: ok.url },
            { name: "slowHard", serviceUrl: slowHard.url, dependency: "Hard" },
            { name: "fastHard", serviceUrl: fastHard.url, dependency: "Hard" },
          ],
        },
      },
    });
    const r = await call(url, INPUT);
    expect(r.status).toBe(503);
    expect(r.json).toEqual({ error: "first hard" });
  });

  it("a Hard failure with a non-JSON body is returned as it is", async () => {
    const ok = await step("ok");
    const hard = await step("hard", { status: 429, body: "slow down" });
    const url = await serve({
      nodes: {
        root: {
          routerType: "Ensemble",
          steps: [
            { name: "ok", serviceUrl: ok.url },
            { name: "hard", serviceUrl: hard.url, dependency: "Hard" },
          ],
        },
      },
    });
    const r = await call(url, INPUT);
    expect(r.status).toBe(429);
    expect(r.text).toBe("slow down");
  });

  it("a Soft failure is included in the result, which is still a 200", async () => {
    const ok = await step("ok", { body: { predictions: [1] } });
    const soft = await step("soft", { status: 500, body: { error: "soft failure" } });
    const url = await serve({
      nodes: {
        root: {
          routerType: "Ensemble",
          steps: [
            { name: "ok", serviceUrl: ok.url, dependency: "Hard" },
            { name: "soft", serviceUrl: soft.url, dependency: "Soft" },
          ],
        },
      },
    });
    const r = await call(url, INPUT);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ ok: { predictions: [1] }, soft: { error: "soft failure" } });
  });

  it("a step that does not answer with a JSON object is a 500 router error", async () => {
    for (const body of ["plain text", "[1, 2, 3]", "42", "null", ""]) {
      const ok = await step("ok");
      const odd = await step("odd", { body, contentType: "application/json" });
      const url = await serve({
        nodes: { root: { routerType: "Ensemble", steps: [{ name: "ok", serviceUrl: ok.url }, { name: "odd", serviceUrl: odd.url }] } },
      });
      const r = await call(url, INPUT);
      expectRouterError(r, 500);
      await graph?.stop();
      graph = undefined;
    }
  });

  it("nodeName steps of an Ensemble run their nodes in parallel too", async () => {
    const a = await step("a", { delayMs: 500, body: { predictions: ["a"] } });
    const b = await step("b", { delayMs: 500, body: { predictions: ["b"] } });
    const url = await serve({
      nodes: {
        root: { routerType: "Ensemble", steps: [{ name: "left", nodeName: "left" }, { name: "right", nodeName: "right" }] },
        left: { routerType: "Sequence", steps: [{ serviceUrl: a.url }] },
        right: { routerType: "Sequence", steps: [{ serviceUrl: b.url }] },
      },
    });
    await call(url, INPUT);
    const r = await call(url, INPUT);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ left: { predictions: ["a"] }, right: { predictions: ["b"] } });
    // Run one after the other, b would arrive >= 500 ms after a.
    expect(Math.abs(a.calls[1].arrivedAt - b.calls[1].arrivedAt)).toBeLessThan(250);
    expect(r.ms).toBeLessThan(950);
  });
});

describe("Splitter", () => {
  /** Sends n requests, `concurrency` at a time. */
  async function hammer(url: string, n: number, concurrency = 32): Promise<number[]> {
    const statuses: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          next++;
          statuses.push((await call(url, INPUT)).status);
        }
      }),
    );
    return statuses;
  }

  it("2,000 requests split 70/30 land within statistical bounds", async () => {
    const heavy = await step("heavy", { body: { via: "heavy" } });
    const light = await step("light", { body: { via: "light" } });
    const url = await serve({
      nodes: {
        root: {
          routerType: "Splitter",
          steps: [
            { serviceUrl: heavy.url, weight: 70 },
            { serviceUrl: light.url, weight: 30 },
          ],
        },
      },
    });
    const n = 2000;
    const statuses = await hammer(url, n);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(heavy.calls.length + light.calls.length).toBe(n);
    const share = heavy.calls.length / n;
    // sd of the share is sqrt(0.7*0.3/2000) ~ 1 point: 5 points is ~5 sd.
    expect(Math.abs(share - 0.7), `heavy got ${heavy.calls.length}/${n}`).toBeLessThan(0.05);
    // Pearson chi-square, 1 degree of freedom: 15.14 is p = 0.0001.
    const chi2 = (heavy.calls.length - 0.7 * n) ** 2 / (0.7 * n) + (light.calls.length - 0.3 * n) ** 2 / (0.3 * n);
    expect(chi2).toBeLessThan(15.14);
  }, 60_000);

  it("a three-way split reaches every step in proportion", async () => {
    const s = await Promise.all(["x", "y", "z"].map((n) => step(n)));
    const url = await serve({
      nodes: {
        root: {
          routerType: "Splitter",
          steps: [
            { serviceUrl: s[0].url, weight: 50 },
            { serviceUrl: s[1].url, weight: 25 },
            { serviceUrl: s[2].url, weight: 25 },
          ],
        },
      },
    });
    const n = 1200;
    await hammer(url, n);
    const expected = [0.5, 0.25, 0.25].map((w) => w * n);
    const chi2 = s.reduce((sum, st, i) => sum + (st.calls.length - expected[i]) ** 2 / expected[i], 0);
    // 2 degrees of freedom: 18.42 is p = 0.0001.
    expect(chi2, s.map((st) => st.calls.length).join("/")).toBeLessThan(18.42);
  }, 60_000);

  it("weights 100/0 always pick the first step; 0/100 always the second", async () => {
    const first = await step("first");
    const second = await step("second");
    let url = await serve({
      nodes: { root: { routerType: "Splitter", steps: [{ serviceUrl: first.url, weight: 100 }, { serviceUrl: second.url, weight: 0 }] } },
    });
    await hammer(url, 300);
    expect(first.calls).toHaveLength(300);
    expect(second.calls).toHaveLength(0);
    await graph!.stop();
    first.reset();
    url = await serve({
      nodes: { root: { routerType: "Splitter", steps: [{ serviceUrl: first.url, weight: 0 }, { serviceUrl: second.url, weight: 100 }] } },
    });
    await hammer(url, 300);
    expect(first.calls).toHaveLength(0);
    expect(second.calls).toHaveLength(300);
  }, 60_000);

  it("answers with the picked step's status and body, on the node input", async () => {
    const only = await step("only", { status: 202, body: { accepted: true } });
    const url = await serve({ nodes: { root: { routerType: "Splitter", steps: [{ serviceUrl: only.url, weight: 100 }] } } });
    const r = await call(url, INPUT);
    expect(r.status).toBe(202);
    expect(r.json).toEqual({ accepted: true });
    expect(only.calls[0].json).toEqual(INPUT);
  });
});

describe("the router's reply", () => {
  it("drops step response headers", async () => {
    const a = await step("a", { headers: { "x-step-secret": "s3cr3t", "set-cookie": "session=1" } });
    const url = await serve({ nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: a.url }] } } });
    const r = await call(url, INPUT);
    expect(r.status).toBe(200);
    expect(r.headers.get("x-step-secret")).toBeNull();
    expect(r.headers.get("set-cookie")).toBeNull();
  });

  it("is application/json only when the body is JSON", async () => {
    const a = await step("a", (req) => (req.json?.text ? { body: "hello", contentType: "application/json" } : { body: { hello: 1 }, contentType: "text/plain" }));
    const url = await serve({ nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: a.url }] } } });
    const text = await call(url, { text: true });
    expect(text.text).toBe("hello");
    expect(text.headers.get("content-type") ?? "").not.toMatch(/application\/json/);
    const json = await call(url, { text: false });
    expect(json.json).toEqual({ hello: 1 });
    expect(json.headers.get("content-type")).toMatch(/^application\/json/);
  });

  it("the graph runs on POST / only when it is not standalone", async () => {
    const a = await step("a");
    const url = await serve({ nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: a.url }] } } });
    expect((await call(`${url}/`, INPUT)).status).toBe(200);
    expect((await call(`${url}/some/path`, INPUT)).status).toBe(404);
    expect(a.calls).toHaveLength(1);
  });

  it("a request without a content type still reaches the steps", async () => {
    const a = await step("a");
    const url = await serve({ nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: a.url }] } } });
    const body = '{"instances":[1]}';
    const r = await rawCall(`${url}/`, { headers: { "content-length": body.length }, body });
    expect(r.status).toBe(200);
    expect(a.calls[0].body).toBe(body);
    expect(a.calls[0].headers["content-type"]).toBe("application/json");
  });
});
