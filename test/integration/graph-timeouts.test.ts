/**
 * Graph timeouts: routerTimeouts.serviceClient bounds every step call, a step's own `timeout` bounds that step,
 * and spec.timeout bounds the whole graph; each answers 504 with the router's error body.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import SlowModel from "../fixtures/modules/slow.ts";
import { call, ROUTER_ERROR, type RunningGraph, startGraph } from "../fixtures/graphs/harness.ts";
import { type StepServer, startStep } from "../fixtures/graphs/step-server.ts";

const steps: StepServer[] = [];
let graph: RunningGraph | undefined;

async function step(name: string, script: Parameters<typeof startStep>[1] = {}): Promise<StepServer> {
  const s = await startStep(name, script);
  steps.push(s);
  return s;
}

afterEach(async () => {
  await graph?.stop();
  graph = undefined;
});
afterAll(async () => {
  await Promise.all(steps.map((s) => s.close()));
});

function expect504(r: { status: number; json: any; text: string }, ...mentions: string[]): void {
  expect(r.status, r.text).toBe(504);
  expect(r.json?.error).toBe(ROUTER_ERROR);
  expect(typeof r.json?.cause).toBe("string");
  for (const m of mentions) expect(r.json.cause).toContain(m);
}

describe("routerTimeouts.serviceClient", () => {
  it("a step slower than serviceClient is a 504 whose cause names the step's target", async () => {
    const slow = await step("slow", { delayMs: 3_000 });
    graph = await startGraph({
      routerTimeouts: { serviceClient: 0.3 },
      nodes: { root: { routerType: "Sequence", steps: [{ name: "slow", serviceUrl: slow.url }] } },
    });
    const r = await call(graph.url, { instances: [1] });
    expect504(r, slow.url);
    expect(r.ms).toBeGreaterThanOrEqual(280);
    expect(r.ms).toBeLessThan(2_000);
  });

  it("applies to each step call, not to the sum of them", async () => {
    const a = await step("a", { delayMs: 200 });
    const b = await step("b", { delayMs: 200 });
    const c = await step("c", { delayMs: 200 });
    graph = await startGraph({
      routerTimeouts: { serviceClient: 0.45 },
      nodes: {
        root: { routerType: "Sequence", steps: [{ serviceUrl: a.url }, { serviceUrl: b.url }, { serviceUrl: c.url }] },
      },
    });
    const r = await call(graph.url, { instances: [1] });
    expect(r.status, r.text).toBe(200);
    expect(r.ms).toBeGreaterThanOrEqual(580);
  });

  it("a step that sends its headers at once but its body too late is a 504 too", async () => {
    const trickle = await step("trickle", { bodyDelayMs: 3_000 });
    graph = await startGraph({
      routerTimeouts: { serviceClient: 0.3 },
      nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: trickle.url }] } },
    });
    const r = await Promise.race([
      call(graph.url, { instances: [1] }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the graph did not answer within 2.5 s")), 2_500)),
    ]);
    expect504(r, trickle.url);
    expect(r.ms).toBeLessThan(2_000);
  });

  it("a Soft step that times out lets the sequence go on", async () => {
    const slow = await step("slow", { delayMs: 3_000 });
    const next = await step("next");
    graph = await startGraph({
      routerTimeouts: { serviceClient: 0.3 },
      nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: slow.url }, { serviceUrl: next.url, data: "$response" }] } },
    });
    const r = await call(graph.url, { instances: [1] });
    expect(r.status, r.text).toBe(200);
    // The next step got the timeout's error body as the previous response.
    expect(next.calls.at(-1)!.json.error).toBe(ROUTER_ERROR);
    expect(next.calls.at(-1)!.json.cause).toContain(slow.url);
  });

  it("a Hard step that times out in an Ensemble answers 504", async () => {
    const fast = await step("fast");
    const slow = await step("slow", { delayMs: 3_000 });
    graph = await startGraph({
      routerTimeouts: { serviceClient: 0.3 },
      nodes: {
        root: {
          routerType: "Ensemble",
          steps: [
            { name: "fast", serviceUrl: fast.url },
            { name: "slow", serviceUrl: slow.url, dependency: "Hard" },
          ],
        },
      },
    });
    const r = await call(graph.url, { instances: [1] });
    expect504(r, slow.url);
  });
});

describe("step-level timeout", () => {
  it("bounds that step only", async () => {
    const limited = await step("limited", { delayMs: 3_000 });
    const patient = await step("patient", { delayMs: 600 });
    graph = await startGraph({
      nodes: {
        root: {
          routerType: "Ensemble",
          steps: [
            { name: "patient", serviceUrl: patient.url },
            { name: "limited", serviceUrl: limited.url, timeout: 0.3 },
          ],
        },
      },
    });
    const r = await call(graph.url, { instances: [1] });
    // limited timed out (a Soft failure whose error body is an object) while patient took its 600 ms.
    expect(r.status, r.text).toBe(200);
    expect(r.json.patient.step).toBe("patient");
    expect(r.json.limited.error).toBe(ROUTER_ERROR);
    expect(r.json.limited.cause).toContain(limited.url);
    expect(r.ms).toBeGreaterThanOrEqual(580);
  });

  it("a Hard step over its own timeout is a 504 naming its target", async () => {
    const limited = await step("limited", { delayMs: 3_000 });
    graph = await startGraph({
      nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: limited.url, timeout: 0.25, dependency: "Hard" }] } },
    });
    const r = await call(graph.url, { instances: [1] });
    expect504(r, limited.url);
    expect(r.ms).toBeLessThan(2_000);
  });

  it("overrides serviceClient for its step", async () => {
    const slowish = await step("slowish", { delayMs: 500 });
    graph = await startGraph({
      routerTimeouts: { serviceClient: 0.2 },
      nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: slowish.url, timeout: 2 }] } },
    });
    const r = await call(graph.url, { instances: [1] });
    expect(r.status, r.text).toBe(200);
    expect(r.json.step).toBe("slowish");
  });

  it("bounds an in-process model step too", async () => {
    graph = await startGraph(
      {
        nodes: { root: { routerType: "Sequence", steps: [{ name: "slow", serviceName: "slow", timeout: 0.3, dependency: "Hard" }] } },
      },
      { serviceUrlTemplate: "http://127.0.0.1:9/v1/models/{name}:predict" },
    );
    // The model is registered after start: serviceName resolution happens per call.
    await graph.server.repository.register(new SlowModel("slow"));
    const ok = await call(graph.url, { instances: [1], ms: 10 });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json).toEqual({ predictions: [1] });
    const late = await call(graph.url, { instances: [1], ms: 2_000 });
    expect504(late, "slow");
    expect(late.ms).toBeLessThan(1_500);
  });
});

describe("spec.timeout (whole graph)", () => {
  it("a graph slower than spec.timeout is a 504, though each step is within its own limits", async () => {
    const a = await step("a", { delayMs: 400 });
    const b = await step("b", { delayMs: 400 });
    graph = await startGraph({
      timeout: 0.6,
      routerTimeouts: { serviceClient: 5 },
      nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: a.url }, { serviceUrl: b.url }] } },
    });
    const r = await call(graph.url, { instances: [1] });
    // 504 itself shows the graph was cut short (both steps would have answered 200 after ~800 ms).
    expect504(r);
    expect(r.ms).toBeGreaterThanOrEqual(580);
    expect(r.ms).toBeLessThan(1_500);
  });

  it("a graph within spec.timeout answers normally", async () => {
    const a = await step("a", { delayMs: 50 });
    graph = await startGraph({ timeout: 2, nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: a.url }] } } });
    const r = await call(graph.url, { instances: [1] });
    expect(r.status).toBe(200);
    expect(r.json.step).toBe("a");
  });

  it("is given as a string with seconds, too", async () => {
    const a = await step("a", { delayMs: 2_000 });
    graph = await startGraph({ timeout: "0.3s", nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: a.url }] } } });
    const r = await call(graph.url, { instances: [1] });
    expect504(r);
    expect(r.ms).toBeLessThan(1_500);
  });
});
