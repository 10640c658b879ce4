/**
 * Header propagation (KServe's PROPAGATE_HEADERS): only request headers whose names match one of the patterns
 * reach the steps, at every depth of the graph; Content-Type application/json is added when missing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { call, type RunningGraph, rawCall, startGraph } from "../fixtures/graphs/harness.ts";
import { closeAll, type Received, type StepServer, startSteps } from "../fixtures/graphs/step-server.ts";

/** What node:http and the router's own request always carry, propagated or not. */
const TRANSPORT = ["host", "connection", "content-type", "content-length"];

const SENT = {
  "X-Custom-Id": "abc",
  "x-CUSTOM-trace": "t1",
  "My-Custom-Header": "mine",
  "X-Graph-Tenant": "acme",
  Authorization: "Bearer secret",
  "X-Other": "no",
  "Not-X-Custom": "no",
  "X-Request-Id": "rid-1",
};
const PROPAGATED = {
  "x-custom-id": "abc",
  "x-custom-trace": "t1",
  "my-custom-header": "mine",
  "x-graph-tenant": "acme",
};

let steps: Record<"a" | "b" | "c" | "d", StepServer>;
let graph: RunningGraph | undefined;

beforeAll(async () => {
  steps = await startSteps({ a: {}, b: {}, c: {}, d: {} });
});
afterEach(async () => {
  await graph?.stop();
  graph = undefined;
  for (const s of Object.values(steps)) s.reset();
});
afterAll(async () => closeAll(steps));

/**
 * root: Sequence [a, fan]; fan: Ensemble [b, d (serviceName through the URL template), sw]; sw: Switch [c].
 * Every kind of node and target, so "every step" means something.
 */
function deepGraph(extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "serving.kserve.io/v1alpha1",
    kind: "InferenceGraph",
    metadata: { name: "headers" },
    spec: {
      ...extra,
      nodes: {
        root: { routerType: "Sequence", steps: [{ name: "a", serviceUrl: steps.a.url }, { name: "fan", nodeName: "fan" }] },
        fan: {
          routerType: "Ensemble",
          steps: [
            { name: "b", serviceUrl: steps.b.url },
            { name: "d", serviceName: "dmodel" },
            { name: "sw", nodeName: "sw" },
          ],
        },
        sw: { routerType: "Switch", steps: [{ serviceUrl: steps.c.url, condition: "instances" }] },
      },
    },
  };
}

const everyStep = () => [steps.a, steps.b, steps.c, steps.d];
const template = () => `${steps.d.base}/v1/models/{name}:predict`;

function headerNames(r: Received): string[] {
  return Object.keys(r.headers).sort();
}

describe("header propagation", () => {
  it("matching headers (option + graph patterns, case-insensitive, unanchored) reach every step; others do not", async () => {
    graph = await startGraph(deepGraph({ propagateHeaders: ["^x-graph-"] }), {
      propagateHeaders: ["^x-custom", "Custom-Header"],
      serviceUrlTemplate: template(),
    });
    const r = await call(graph.url, { instances: [1] }, SENT);
    expect(r.status, r.text).toBe(200);
    expect(steps.d.calls[0].url).toBe("/v1/models/dmodel:predict");
    for (const s of everyStep()) {
      expect(s.calls, s.name).toHaveLength(1);
      const got = s.calls[0];
      for (const [k, v] of Object.entries(PROPAGATED)) expect(got.headers[k], `${s.name} ${k}`).toBe(v);
      for (const k of ["authorization", "x-other", "not-x-custom", "x-request-id", "user-agent", "accept"]) {
        expect(got.headers[k], `${s.name} must not get ${k}`).toBeUndefined();
      }
      expect(headerNames(got)).toEqual([...TRANSPORT, ...Object.keys(PROPAGATED)].sort());
    }
  });

  it("without patterns no request header reaches a step", async () => {
    graph = await startGraph(deepGraph(), { propagateHeaders: [], serviceUrlTemplate: template() });
    const r = await call(graph.url, { instances: [1] }, SENT);
    expect(r.status, r.text).toBe(200);
    for (const s of everyStep()) expect(headerNames(s.calls[0]), s.name).toEqual([...TRANSPORT].sort());
  });

  it("the graph's own spec.propagateHeaders work alone", async () => {
    graph = await startGraph(deepGraph({ propagateHeaders: ["tenant$"] }), { serviceUrlTemplate: template() });
    await call(graph.url, { instances: [1] }, SENT);
    for (const s of everyStep()) {
      expect(s.calls[0].headers["x-graph-tenant"]).toBe("acme");
      expect(s.calls[0].headers["x-custom-id"]).toBeUndefined();
    }
  });

  it("an invalid pattern is skipped (and logged); the valid ones still work", async () => {
    const logs: string[] = [];
    graph = await startGraph(deepGraph({ propagateHeaders: ["(unclosed"] }), {
      propagateHeaders: ["[", "^x-custom"],
      serviceUrlTemplate: template(),
      logger: { log: (_level: string, message: string) => logs.push(message) },
    });
    expect(graph.server.graphRouter?.headerPolicy.invalid).toEqual(["[", "(unclosed"]);
    expect(logs.some((l) => l.includes("'['"))).toBe(true);
    const r = await call(graph.url, { instances: [1] }, SENT);
    expect(r.status, r.text).toBe(200);
    for (const s of everyStep()) {
      expect(s.calls[0].headers["x-custom-id"]).toBe("abc");
      expect(s.calls[0].headers["x-custom-trace"]).toBe("t1");
      expect(s.calls[0].headers["my-custom-header"]).toBeUndefined();
    }
  });

  it("PROPAGATE_HEADERS from the environment applies when the option is not given", async () => {
    const before = process.env.PROPAGATE_HEADERS;
    process.env.PROPAGATE_HEADERS = "^x-custom-id$,[,^authorization$";
    try {
      graph = await startGraph(deepGraph(), { propagateHeaders: undefined, serviceUrlTemplate: template() });
    } finally {
      if (before === undefined) delete process.env.PROPAGATE_HEADERS;
      else process.env.PROPAGATE_HEADERS = before;
    }
    await call(graph.url, { instances: [1] }, SENT);
    for (const s of everyStep()) {
      expect(s.calls[0].headers["x-custom-id"]).toBe("abc");
      expect(s.calls[0].headers.authorization).toBe("Bearer secret");
      expect(s.calls[0].headers["x-custom-trace"]).toBeUndefined();
    }
  });

  it("adds Content-Type: application/json when the request's content type is not propagated", async () => {
    graph = await startGraph(deepGraph(), { propagateHeaders: ["^x-custom"], serviceUrlTemplate: template() });
    // A text/plain request...
    await call(graph.url, '{"instances":[1]}', { "content-type": "text/plain" });
    // ...and one with no Content-Type at all.
    const body = '{"instances":[2]}';
    const raw = await rawCall(`${graph.url}/`, { headers: { "content-length": body.length }, body });
    expect(raw.status).toBe(200);
    for (const s of everyStep()) {
      expect(s.calls.map((c) => c.headers["content-type"]), s.name).toEqual(["application/json", "application/json"]);
    }
  });

  it("a propagated Content-Type is kept", async () => {
    graph = await startGraph(deepGraph(), { propagateHeaders: ["^content-type$"], serviceUrlTemplate: template() });
    const r = await call(graph.url, '{"instances":[1]}', { "content-type": "application/vnd.custom+json" });
    expect(r.status, r.text).toBe(200);
    for (const s of everyStep()) expect(s.calls[0].headers["content-type"], s.name).toBe("application/vnd.custom+json");
  });

  it("propagating everything ('.*') still addresses each step with its own Host and a well-formed request", async () => {
    graph = await startGraph(deepGraph(), { propagateHeaders: [".*"], serviceUrlTemplate: template() });
    const r = await call(graph.url, { instances: [1] }, SENT);
    expect(r.status, r.text).toBe(200);
    for (const s of everyStep()) {
      expect(s.calls[0].headers["x-custom-id"]).toBe("abc");
      expect(s.calls[0].headers.authorization).toBe("Bearer secret");
      // Go's router never forwards Host (net/http keeps it out of Header); a step behind a virtual-host
      // ingress would otherwise be routed by the router's own host name.
      expect(s.calls[0].headers.host, `${s.name} Host`).toBe(`127.0.0.1:${s.port}`);
    }
  });

  it("propagating everything ('.*') works for a chunked request, whose Transfer-Encoding must not be forwarded", async () => {
    graph = await startGraph(deepGraph(), { propagateHeaders: [".*"], serviceUrlTemplate: template() });
    const r = await rawCall(`${graph.url}/`, {
      headers: { "content-type": "application/json", "x-custom-id": "abc" },
      body: '{"instances":[1,2,3]}',
      chunked: true,
    });
    expect(r.status, r.text).toBe(200);
    for (const s of everyStep()) {
      expect(s.calls, s.name).toHaveLength(1);
      expect(s.calls[0].json).toBeDefined();
      expect(s.calls[0].headers["transfer-encoding"]).toBeUndefined();
    }
  });
});
