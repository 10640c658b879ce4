/**
 * Graph faults: a step whose service never answers is cut off by the default step timeout (overridable by
 * `graphStepTimeoutMs` / `--graph_step_timeout`, by `routerTimeouts.serviceClient` and by a step's `timeout`),
 * a Seldon graph's REST components by `--seldon_graph_timeout`, and a failed Soft step that ends a Sequence
 * through an unmet condition keeps its error status instead of answering 200.
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { toSeldonGraphSpec } from "../../packages/server/src/graph/index.ts";
import { call, ROUTER_ERROR, type RunningGraph, startGraph } from "../fixtures/graphs/harness.ts";
import { type StepServer, startStep } from "../fixtures/graphs/step-server.ts";
import { envWithout, freePort, runCli, type RunningCli, startCli, startServer, stopCli } from "../helpers/server.ts";

/** A node:http service that takes requests and never answers them (until it is closed). */
interface Silent {
  url: string;
  host: string;
  port: number;
  received: number;
  close(): Promise<void>;
}

async function silentServer(handler?: (req: IncomingMessage, res: ServerResponse) => void): Promise<Silent> {
  const server: Server = createServer((req, res) => {
    silent.received++;
    req.resume();
    handler?.(req, res);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  const silent: Silent = {
    url: `http://127.0.0.1:${port}/never`,
    host: "127.0.0.1",
    port,
    received: 0,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, "close").catch(() => undefined);
    },
  };
  return silent;
}

const cleanups: (() => Promise<unknown>)[] = [];
const steps: StepServer[] = [];
let graph: RunningGraph | undefined;

async function silent(handler?: (req: IncomingMessage, res: ServerResponse) => void): Promise<Silent> {
  const s = await silentServer(handler);
  cleanups.push(() => s.close());
  return s;
}

async function step(name: string, script: Parameters<typeof startStep>[1] = {}): Promise<StepServer> {
  const s = await startStep(name, script);
  steps.push(s);
  return s;
}

afterEach(async () => {
  await graph?.stop();
  graph = undefined;
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});
afterAll(async () => {
  await Promise.all(steps.map((s) => s.close()));
});

/** Fails the test instead of hanging when the graph does not answer within `ms`. */
function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}

function expect504(r: { status: number; json: any; text: string }, ...mentions: string[]): void {
  expect(r.status, r.text).toBe(504);
  expect(r.json?.error).toBe(ROUTER_ERROR);
  for (const m of mentions) expect(r.json.cause).toContain(m);
}

describe("the default step timeout", () => {
  it("a step that never answers, in a graph with no timeout at all, is a 504 naming the step once the default passes", async () => {
    const never = await silent();
    graph = await startGraph(
      { nodes: { root: { routerType: "Sequence", steps: [{ name: "stuck", serviceUrl: never.url }] } } },
      { graphStepTimeoutMs: 300 },
    );
    const r = await within(call(graph.url, { instances: [1] }), 10_000, "the graph");
    expect504(r, never.url, "0.3 s");
    expect(never.received).toBe(1);
  });

  it("a Soft step that never answers lets the sequence go on with the 504 as the previous answer", async () => {
    const never = await silent();
    const next = await step("next");
    graph = await startGraph(
      { nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: never.url }, { serviceUrl: next.url, data: "$response" }] } } },
      { graphStepTimeoutMs: 300 },
    );
    const r = await within(call(graph.url, { instances: [1] }), 10_000, "the graph");
    expect(r.status, r.text).toBe(200);
    expect(next.calls[0].json.cause).toContain(never.url);
  });

  it("bounds the whole exchange: a step that keeps sending bytes but never finishes is still a 504", async () => {
    const trickle = await silent((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write("[");
      // A byte every 50 ms: never idle long enough for a socket timeout, never done.
      const timer = setInterval(() => res.write(" "), 50);
      res.on("close", () => clearInterval(timer));
    });
    graph = await startGraph(
      { nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: trickle.url, dependency: "Hard" }] } } },
      { graphStepTimeoutMs: 400 },
    );
    const r = await within(call(graph.url, { instances: [1] }), 10_000, "the graph");
    expect504(r, trickle.url);
  });

  it("an Ensemble with one step that never answers still answers, with that step's 504 body in its place", async () => {
    const never = await silent();
    const fast = await step("fast");
    graph = await startGraph(
      {
        nodes: {
          root: {
            routerType: "Ensemble",
            steps: [
              { name: "fast", serviceUrl: fast.url },
              { name: "never", serviceUrl: never.url },
            ],
          },
        },
      },
      { graphStepTimeoutMs: 300 },
    );
    const r = await within(call(graph.url, { instances: [1] }), 10_000, "the graph");
    expect(r.status, r.text).toBe(200);
    expect(r.json.fast.step).toBe("fast");
    expect(r.json.never.error).toBe(ROUTER_ERROR);
    expect(r.json.never.cause).toContain(never.url);
  });

  it("routerTimeouts.serviceClient overrides the default", async () => {
    const slowish = await step("slowish", { delayMs: 600 });
    graph = await startGraph(
      { routerTimeouts: { serviceClient: 5 }, nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: slowish.url }] } } },
      { graphStepTimeoutMs: 200 },
    );
    const r = await call(graph.url, { instances: [1] });
    expect(r.status, r.text).toBe(200);
    expect(r.json.step).toBe("slowish");
  });

  it("a step's own timeout overrides the default", async () => {
    const slowish = await step("slowish", { delayMs: 600 });
    const never = await silent();
    graph = await startGraph(
      {
        nodes: {
          root: {
            routerType: "Sequence",
            steps: [{ serviceUrl: slowish.url, timeout: 5, dependency: "Hard" }, { serviceUrl: never.url, dependency: "Hard" }],
          },
        },
      },
      { graphStepTimeoutMs: 200 },
    );
    const r = await within(call(graph.url, { instances: [1] }), 10_000, "the graph");
    // slowish had its own 5 s; the step after it only the 0.2 s default.
    expect(slowish.calls).toHaveLength(1);
    expect504(r, never.url, "0.2 s");
  });

  it("a nodeName step's own timeout bounds the node it runs", async () => {
    const never = await silent();
    graph = await startGraph(
      {
        routerTimeouts: { serviceClient: 30 },
        nodes: {
          root: { routerType: "Sequence", steps: [{ nodeName: "inner", timeout: 0.3, dependency: "Hard" }] },
          inner: { routerType: "Sequence", steps: [{ serviceUrl: never.url }] },
        },
      },
    );
    const r = await within(call(graph.url, { instances: [1] }), 10_000, "the graph");
    expect504(r, "inner", "0.3 s");
  });

  it("a default step timeout that is not a positive number is refused at start", async () => {
    await expect(
      startGraph({ nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: "http://127.0.0.1:9/x" }] } } }, { graphStepTimeoutMs: 0 }),
    ).rejects.toThrow(/step timeout must be a positive number/);
  });
});

describe("a failed Soft step followed by a step whose condition does not match", () => {
  it("answers the failed step's 500 and body, not 200", async () => {
    const a = await step("a", { status: 500, body: { error: "soft failure" } });
    const b = await step("b");
    graph = await startGraph({
      nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: a.url }, { serviceUrl: b.url, condition: "label" }] } },
    });
    const r = await call(graph.url, { instances: [1] });
    expect(r.status, r.text).toBe(500);
    expect(r.json).toEqual({ error: "soft failure" });
    expect(b.calls).toHaveLength(0);
  });

  it("keeps another error status of the failed step (503 stays 503)", async () => {
    const a = await step("a", { status: 503, body: { error: "a is overloaded" } });
    const b = await step("b");
    const c = await step("c");
    graph = await startGraph({
      nodes: {
        root: { routerType: "Sequence", steps: [{ serviceUrl: a.url }, { serviceUrl: b.url, condition: "label" }, { serviceUrl: c.url }] },
      },
    });
    const r = await call(graph.url, { instances: [1] });
    expect(r.status, r.text).toBe(503);
    expect(r.json).toEqual({ error: "a is overloaded" });
    expect(b.calls).toHaveLength(0);
    expect(c.calls).toHaveLength(0);
  });

  it("a failed step whose body is not JSON answers its own status and body", async () => {
    const a = await step("a", { status: 502, body: "<html>bad gateway</html>", contentType: "text/html" });
    const b = await step("b");
    graph = await startGraph({
      nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: a.url }, { serviceUrl: b.url, condition: "label" }] } },
    });
    const r = await call(graph.url, { instances: [1] });
    expect(r.status, r.text).toBe(502);
    expect(r.text).toBe("<html>bad gateway</html>");
    expect(b.calls).toHaveLength(0);
  });

  it("a step that timed out keeps its 504", async () => {
    const never = await silent();
    const b = await step("b");
    graph = await startGraph(
      { nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: never.url }, { serviceUrl: b.url, condition: "label" }] } } },
      { graphStepTimeoutMs: 300 },
    );
    const r = await within(call(graph.url, { instances: [1] }), 10_000, "the graph");
    expect504(r, never.url);
    expect(b.calls).toHaveLength(0);
  });

  it("a failed Soft step whose error body meets the condition still runs the next step (KServe semantics)", async () => {
    const a = await step("a", { status: 500, body: { error: "soft failure" } });
    const b = await step("b");
    graph = await startGraph({
      nodes: {
        root: { routerType: "Sequence", steps: [{ serviceUrl: a.url }, { serviceUrl: b.url, condition: "error", data: "$response" }] },
      },
    });
    const r = await call(graph.url, { instances: [1] });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ step: "b", received: { error: "soft failure" } });
  });
});

describe("Seldon graphs: REST components honour the component timeout", () => {
  it("a component endpoint that never answers is a 504 once seldonGraphTimeoutMs passes", async () => {
    const never = await silent();
    const spec = toSeldonGraphSpec({
      name: "stuck",
      type: "MODEL",
      endpoint: { service_host: never.host, service_port: never.port },
      children: [],
    });
    const running = await startServer({ seldonGraph: spec, seldonGraphTimeoutMs: 300, enableGrpc: false });
    cleanups.push(() => running.server.stop());
    const r = await within(call(`${running.url}/api/v1.0/predictions`, { data: { ndarray: [[1, 2]] } }), 10_000, "the Seldon graph");
    expect(r.status, r.text).toBe(504);
    expect(JSON.stringify(r.json)).toContain("stuck");
    expect(never.received).toBe(1);
  });
});

// ---- the command line ------------------------------------------------------------------------------------

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

const childEnv = () => envWithout(["PROPAGATE_HEADERS"]);

const run = (args: string[]) => runCli(args, { env: childEnv() });

/** `tserve graph ARGS`, ready once GET /readyz answers 200. */
async function startGraphCli(args: string[]): Promise<RunningCli> {
  const started = await startCli(["graph", ...args], await freePort(), { env: childEnv(), readyPath: "/readyz", portFlags: "http" });
  children.push(started.child);
  return started;
}

describe("--graph_step_timeout", () => {
  it("tserve graph: a step that never answers is a 504 after --graph_step_timeout", async () => {
    const never = await silent();
    const spec = { nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: never.url }] } } };
    const running = await startGraphCli(["--graph_json", JSON.stringify(spec), "--graph_step_timeout", "0.3"]);
    cleanups.push(() => stopCli(running.child));
    const r = await within(call(`${running.url}/`, { instances: [1] }), 10_000, "tserve graph");
    expect504(r, never.url, "0.3 s");
  });

  it("tserve serve --graph: a step that never answers is a 504 after --graph_step_timeout", async () => {
    const never = await silent();
    const dir = await mkdtemp(join(tmpdir(), "tserve-graph-faults-"));
    const file = join(dir, "graph.json");
    await writeFile(file, JSON.stringify({ nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: never.url }] } } }));
    const running = await startCli(["serve", "--graph", file, "--graph_step_timeout", "0.3", "--enable_grpc", "false"], await freePort());
    cleanups.push(() => stopCli(running.child));
    const r = await within(call(`${running.url}/`, { instances: [1] }), 10_000, "tserve serve --graph");
    expect504(r, never.url, "0.3 s");
  });

  it("documents its 60 s default in --help, and refuses a value that is not positive", async () => {
    const help = await run(["graph", "--help"]);
    expect(help.code).toBe(0);
    expect(help.output).toMatch(/--graph_step_timeout, --graph-step-timeout\n[^\n]*\(default 60\)/);
    const bad = await run(["graph", "--graph_json", '{"nodes":{"root":{"routerType":"Sequence","steps":[{"serviceUrl":"http://127.0.0.1:9/x"}]}}}', "--graph_step_timeout", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain("--graph_step_timeout must be a positive number of seconds");
  });
});
