/**
 * `tserve seldon-graph` and `tserve serve --seldon_graph` as real processes: bad deployment files stop the command
 * with exit code 2 and a message saying what is wrong; a node with a REST `endpoint` is served by a second tserve
 * (`serve Scale.ts --seldon`); the default port is 8000; `serve --seldon_graph` serves the graph beside V1/V2.
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectSeldonError, get, GRAPHS, post, sample, scrape } from "../fixtures/seldon/graphs/harness.ts";
import { envWithout, freePort, runCli, type RunningCli, startCli, stopCli } from "../helpers/server.ts";

/** The environment without TSERVE_* and Seldon variables that would change what these tests check. */
const cleanEnv = () => envWithout([/^TSERVE_/, /^PREDICTIVE_UNIT_/, "PROPAGATE_HEADERS"]);

const children: ChildProcess[] = [];

afterAll(async () => {
  await Promise.all(children.map(stopCli));
});

/** Runs `node bin/tserve.js ARGS` to completion. */
const run = (args: string[]) => runCli(args, { env: cleanEnv(), timeoutMs: 30_000 });

/** Starts `node bin/tserve.js ARGS` (gRPC off, 127.0.0.1) and waits until `readyPath` answers 200 on `port` (default 8000). */
async function startSeldon(args: string[], port: number | undefined, readyPath: string): Promise<RunningCli> {
  const portArgs = port === undefined ? [] : ["--http_port", String(port)];
  const started = await startCli([...args, ...portArgs, "--host", "127.0.0.1", "--enable_grpc", "false"], port ?? 8000, {
    env: cleanEnv(),
    portFlags: "none",
    readyPath,
    // Our own log line names the port: a foreign server on the same port is never taken for ours.
    readyOutput: "listening on",
    timeoutMs: 45_000,
  });
  children.push(started.child);
  return started;
}

async function isFree(port: number): Promise<boolean> {
  const srv = createServer();
  try {
    srv.listen(port, "0.0.0.0");
    await once(srv, "listening");
    srv.close();
    await once(srv, "close");
    return true;
  } catch {
    return false;
  }
}

describe("tserve seldon-graph: a bad deployment file stops the command with exit code 2 and says what is wrong", () => {
  const cases: [string, RegExp][] = [
    ["invalid/not-yaml.yaml", /invalid\/not-yaml\.yaml is neither valid YAML nor JSON/],
    ["invalid/wrong-kind.yaml", /kind is "InferenceGraph", expected SeldonDeployment/],
    ["invalid/no-predictors.yaml", /spec\.predictors must be a non-empty list/],
    ["invalid/duplicate-names.yaml", /two graph nodes are named 'twin'; node names must be unique/],
    ["invalid/bad-type.yaml", /graph node 'm' has type "PREDICTOR"; expected one of MODEL, ROUTER, COMBINER, TRANSFORMER, OUTPUT_TRANSFORMER/],
    ["invalid/abtest-three-children.yaml", /graph node 'ab' is a RANDOM_ABTEST and needs exactly 2 children \(it has 3\)/],
    ["invalid/bad-parameter.yaml", /graph node 'm' parameter 0 \('factor'\) is a FLOAT but its value is 'ten'/],
    ["invalid/grpc-endpoint.yaml", /graph node 'remote' has a GRPC endpoint; only REST endpoints are supported/],
    ["invalid/no-component.yaml", /Seldon graph node 'orphan' has no component: nothing local serves it and it has no REST endpoint/],
    ["invalid/missing-module.yaml", /invalid\/Ghost\.ts does not exist/],
    ["no-such-file.yaml", /Cannot read SeldonDeployment file .*no-such-file\.yaml/],
  ];

  it.each(cases)("%s", async (file, message) => {
    const port = await freePort();
    const { code, stderr } = await run(["seldon-graph", `${GRAPHS}${file}`, "--http_port", String(port), "--enable_grpc", "false"]);
    expect(code, stderr).toBe(2);
    expect(stderr).toMatch(/^tserve: /m);
    expect(stderr).toMatch(message);
    // A user error, not a crash: no stack trace.
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(await isFree(port)).toBe(true);
  });

  it("serve --seldon_graph refuses a bad file the same way", async () => {
    const { code, stderr } = await run(["serve", "--seldon_graph", `${GRAPHS}invalid/duplicate-names.yaml`, "--enable_grpc", "false", "--http_port", String(await freePort())]);
    expect(code, stderr).toBe(2);
    expect(stderr).toMatch(/two graph nodes are named 'twin'/);
  });

  it("seldon-graph without a file prints its usage and exits 2", async () => {
    const { code, stderr } = await run(["seldon-graph", "--http_port", "8000"]);
    expect(code).toBe(2);
    expect(stderr).toContain("Usage: tserve seldon-graph DEPLOYMENT.yaml");
  });
});

describe("a node with a REST endpoint, served by a second tserve (serve Scale.ts --seldon)", () => {
  let remote: RunningCli;
  let graph: RunningCli;
  let dir: string;
  const parameters = [
    { name: "factor", value: "3", type: "FLOAT" },
    { name: "tag", value: "remote", type: "STRING" },
    { name: "failOn", value: "999", type: "INT" },
    { name: "failStatus", value: "409", type: "INT" },
  ];

  beforeAll(async () => {
    const [remotePort, graphPort] = [await freePort(), await freePort()];
    remote = await startSeldon(["serve", `${GRAPHS}Scale.ts`, "--seldon", "--parameters", JSON.stringify(parameters)], remotePort, "/health/ping");
    // A JSON deployment (YAML's superset) written here, since the endpoint's port is only known now.
    dir = mkdtempSync(join(tmpdir(), "seldon-graph-remote-"));
    const deployment = {
      apiVersion: "machinelearning.seldon.io/v1",
      kind: "SeldonDeployment",
      metadata: { name: "remote-graph" },
      spec: {
        predictors: [
          {
            name: "default",
            graph: {
              name: "r",
              type: "ROUTER",
              modelUri: `${GRAPHS}Pick.ts`,
              parameters: [{ name: "route", value: "1", type: "INT" }],
              children: [
                { name: "local", type: "MODEL", modelUri: `${GRAPHS}Scale.ts`, parameters: [{ name: "factor", value: "10", type: "FLOAT" }] },
                { name: "remote", type: "MODEL", endpoint: { service_host: "127.0.0.1", service_port: remotePort, type: "REST" } },
              ],
            },
          },
        ],
      },
    };
    writeFileSync(join(dir, "deployment.json"), JSON.stringify(deployment));
    graph = await startSeldon(["seldon-graph", join(dir, "deployment.json")], graphPort, "/ready");
  });

  afterAll(async () => {
    if (graph) expect(await stopCli(graph.child), graph.output()).toBe(0);
    if (remote) await stopCli(remote.child);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the router sends the request over REST; the remote component's answer and tags come back", async () => {
    const r = await post(`${graph.url}/api/v1.0/predictions`, { data: { ndarray: [[2, 4]] } });
    expect(r.status, r.text).toBe(200);
    expect(r.json.data.ndarray).toEqual([[6, 12]]);
    expect(r.json.meta.routing).toEqual({ r: 1 });
    expect(r.json.meta.tags).toEqual({ remote: true });
    expect(Object.keys(r.json.meta.requestPath).sort()).toEqual(["r", "remote"]);
  });

  it("the remote component's error keeps its status and message", async () => {
    expectSeldonError(await post(`${graph.url}/api/v1.0/predictions`, { data: { ndarray: [[999]] } }), 409, "remote refuses 999");
  });

  it("feedback reaches the remote component along meta.routing", async () => {
    const request = { data: { ndarray: [[1]] } };
    const response = (await post(`${graph.url}/api/v1.0/predictions`, request)).json;
    const before = await scrape(remote.url);
    const r = await post(`${graph.url}/api/v1.0/feedback`, { request, response, reward: 2 });
    expect(r.status, r.text).toBe(200);
    const after = await scrape(remote.url);
    const delta = (name: string) => (sample(after, name, { model_name: "Scale" }) ?? 0) - (sample(before, name, { model_name: "Scale" }) ?? 0);
    expect(delta("seldon_api_model_feedback_total")).toBe(1);
    expect(delta("seldon_api_model_feedback_reward_total")).toBe(2);
    expect(sample(await scrape(graph.url), "seldon_api_executor_client_requests_seconds_count", { model_name: "remote", method: "send-feedback" })).toBe(1);
  });

  it("the graph's metadata includes the remote component's own", async () => {
    const r = await get(`${graph.url}/api/v1.0/metadata`);
    expect(r.json.name).toBe("remote-graph");
    expect(r.json.models.remote).toMatchObject({ name: "scale-3", platform: "fixture" });
  });

  it("when the remote stops, the graph is not ready and predictions answer 503 naming it", async () => {
    await stopCli(remote.child);
    expectSeldonError(await get(`${graph.url}/ready`), 503, "graph not ready");
    expect((await get(`${graph.url}/live`)).status).toBe(200);
    expectSeldonError(await post(`${graph.url}/api/v1.0/predictions`, { data: { ndarray: [[1]] } }), 503, /'remote' at 127\.0\.0\.1:\d+ refused the connection/);
  });
});

describe("tserve seldon-graph and serve --seldon_graph", () => {
  it("seldon-graph listens on 8000 when no port is given (checked only when 8000 is free)", async (ctx) => {
    if (!(await isFree(8000))) ctx.skip();
    const s = await startSeldon(["seldon-graph", `${GRAPHS}routing.yaml`], undefined, "/ready");
    try {
      const r = await post(`${s.url}/api/v1.0/predictions`, { data: { ndarray: [[1, 2]] } });
      expect([r.status, r.json.data.ndarray]).toEqual([200, [[100, 200]]]);
      expect(s.output()).toContain("listening on http://127.0.0.1:8000");
    } finally {
      expect(await stopCli(s.child)).toBe(0);
    }
  });

  it("serve --seldon_graph serves the graph beside the V1/V2 routes of its nodes (an ONNX folder among them)", async () => {
    const s = await startSeldon(["serve", "--seldon_graph", `${GRAPHS}onnx.yaml`], await freePort(), "/ready");
    try {
      expect((await get(`${s.url}/v2/health/ready`)).status).toBe(200);
      const graph = await post(`${s.url}/api/v1.0/predictions`, { data: { ndarray: [[6.8, 2.8, 4.8, 1.4]] } });
      expect(graph.status, graph.text).toBe(200);
      expect(graph.json.meta.routing).toEqual({ pick: 0 });
      const v1 = await post(`${s.url}/v1/models/iris:predict`, { instances: [[6.8, 2.8, 4.8, 1.4]] });
      expect(v1.status, v1.text).toBe(200);
      expect(graph.json.data.ndarray).toEqual(v1.json.predictions);
      const metrics = await scrape(s.url);
      expect(sample(metrics, "seldon_api_executor_server_requests_seconds_count", { deployment_name: "onnx", service: "predictions", code: "200" })).toBe(1);
      expect(sample(metrics, "seldon_api_executor_client_requests_seconds_count", { model_name: "iris", method: "predict" })).toBe(1);
    } finally {
      expect(await stopCli(s.child)).toBe(0);
    }
  });
});
