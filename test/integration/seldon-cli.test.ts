/**
 * The `tserve serve … --seldon` command line: --parameters (and PREDICTIVE_UNIT_PARAMETERS) typed into the
 * constructor, INCLUDE_METRICS_IN_CLIENT_RESPONSE, MODEL_METADATA, PREDICTIVE_UNIT_ID/IMAGE, a model folder with
 * `{"runtime": "seldon"}`, a component importing "tserve" by name, bad parameters, and the default port 9000.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { envWithout, freePort, runCli, type RunningCli, startCli, stopCli } from "../helpers/server.ts";
import { expectSeldonError, postJson, sample, scrape, send } from "../fixtures/seldon/harness.ts";

/** The environment without anything that would change what these tests check. */
const cleanEnv = (extra: Record<string, string> = {}) =>
  envWithout([/^TSERVE_/, /^PREDICTIVE_UNIT_/, "INCLUDE_METRICS_IN_CLIENT_RESPONSE", "MODEL_METADATA", "SELDON_DEPLOYMENT_ID", "PREDICTOR_ID"], extra);

const children: ChildProcess[] = [];

/** Starts `node bin/tserve.js serve ARGS` and waits until Seldon's /health/ping answers on `port` (default 9000). */
async function startSeldonCli(args: string[], options: { port?: number; env?: Record<string, string> } = {}): Promise<RunningCli> {
  const portArgs = options.port === undefined ? [] : ["--http_port", String(options.port)];
  const started = await startCli(["serve", ...args, ...portArgs, "--host", "127.0.0.1", "--enable_grpc", "false"], options.port ?? 9000, {
    env: cleanEnv(options.env),
    portFlags: "none",
    readyPath: "/health/ping",
    // Our own log line names the port, so a foreign server on the same port is never mistaken for ours.
    readyOutput: "listening on",
    timeoutMs: 45_000,
  });
  children.push(started.child);
  return started;
}

/** Runs `node bin/tserve.js ARGS` to completion. */
const run = (args: string[], env: Record<string, string> = {}) => runCli(args, { env: cleanEnv(env), timeoutMs: 30_000 });

async function isFree(port: number): Promise<boolean> {
  const srv = createServer();
  return new Promise((resolve) => {
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

afterAll(async () => {
  for (const c of children) await stopCli(c);
});

// Each test starts a real CLI process; on a busy 2-core machine tsx's first compile can take a while.
describe("tserve serve --seldon", { timeout: 90_000 }, () => {
  it("--parameters reach the constructor; env INCLUDE_METRICS_IN_CLIENT_RESPONSE, MODEL_METADATA and PREDICTIVE_UNIT_* apply", async () => {
    const { child, url } = await startSeldonCli(
      ["test/fixtures/seldon/MyModel.ts", "--seldon", "--parameters", '[{"name":"scale","value":"3","type":"INT"}]'],
      {
        port: await freePort(),
        env: {
          INCLUDE_METRICS_IN_CLIENT_RESPONSE: "false",
          MODEL_METADATA: "platform: from-env\ncustom:\n  team: vision\n",
          PREDICTIVE_UNIT_ID: "classifier",
          PREDICTIVE_UNIT_IMAGE: "registry.example/my-model:1.2",
        },
      },
    );
    const r = await postJson(`${url}/api/v1.0/predictions`, { data: { ndarray: [[1, 2], [3, 4]] }, meta: { puid: "cli" } });
    expect(r.status, r.text).toBe(200);
    expect(r.json.data).toEqual({ names: ["t:0", "t:1"], ndarray: [[3, 6], [9, 12]] });
    expect(r.json.meta.puid).toBe("cli");
    expect(r.json.meta.tags).toEqual({ static: "tag", runtime: "t" });
    expect(r.json.meta.requestPath).toEqual({ classifier: "registry.example/my-model:1.2" });
    // Not in the answer, but in Prometheus.
    expect(r.json.meta.metrics).toBeUndefined();
    const text = await scrape(url);
    expect(sample(text, "rows_total", { method: "predict", model_name: "MyModel", model_image: "registry.example/my-model:1.2" })).toBe(2);
    expect(sample(text, "mygauge", { method: "predict", model_name: "MyModel" })).toBe(100);

    const meta = await send(`${url}/metadata`);
    expect(meta.status, meta.text).toBe(200);
    expect(meta.json).toEqual({ name: "MyModel", versions: [], platform: "from-env", inputs: [], outputs: [], custom: { team: "vision" } });

    // The component's SeldonError(…, 403) crosses the CLI's module loading intact.
    expectSeldonError(await postJson(`${url}/predict`, { data: { ndarray: [[999]] } }), 403, "MICROSERVICE_BAD_DATA", "no 999");
    // V1 reaches the same component.
    const v1 = await postJson(`${url}/v1/models/MyModel:predict`, { instances: [[1, 1]] });
    expect(v1.json).toEqual({ predictions: [[3, 3]] });
    await stopCli(child);
  });

  it("PREDICTIVE_UNIT_PARAMETERS gives INT, FLOAT, DOUBLE, STRING and BOOL their types", async () => {
    const parameters = [
      { name: "epochs", value: "12", type: "INT" },
      { name: "threshold", value: "0.75", type: "FLOAT" },
      { name: "alpha", value: "1e-4", type: "DOUBLE" },
      { name: "label", value: "v2 model", type: "STRING" },
      { name: "verbose", value: "true", type: "BOOL" },
    ];
    const { child, url } = await startSeldonCli(["test/fixtures/seldon/ParamEcho.ts", "--seldon"], {
      port: await freePort(),
      env: { PREDICTIVE_UNIT_PARAMETERS: JSON.stringify(parameters) },
    });
    const r = await postJson(`${url}/api/v1.0/predictions`, { strData: "params?" });
    expect(r.status, r.text).toBe(200);
    expect(r.json.jsonData).toEqual({
      params: { epochs: 12, threshold: 0.75, alpha: 0.0001, label: "v2 model", verbose: true },
      types: { epochs: "number", threshold: "number", alpha: "number", label: "string", verbose: "boolean" },
    });
    await stopCli(child);
  });

  it("a bad parameter value stops the CLI with MICROSERVICE_BAD_PARAMETER", async () => {
    const port = String(await freePort());
    const bad = await run([
      "serve",
      "test/fixtures/seldon/MyModel.ts",
      "--seldon",
      "--enable_grpc",
      "false",
      "--http_port",
      port,
      "--parameters",
      '[{"name":"scale","value":"two","type":"INT"}]',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.code).not.toBeNull();
    expect(bad.stderr).toMatch(/MICROSERVICE_BAD_PARAMETER/);
    expect(bad.stderr).toMatch(/scale/);
    expect(bad.stderr).toMatch(/"two"/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);

    const unknownType = await run(
      ["serve", "test/fixtures/seldon/MyModel.ts", "--seldon", "--enable_grpc", "false", "--http_port", port],
      { PREDICTIVE_UNIT_PARAMETERS: '[{"name":"scale","value":"2","type":"LONG"}]' },
    );
    expect(unknownType.code).not.toBe(0);
    expect(unknownType.stderr).toMatch(/MICROSERVICE_BAD_PARAMETER/);
    expect(unknownType.stderr).toMatch(/LONG/);

    const notJson = await run(["serve", "test/fixtures/seldon/MyModel.ts", "--seldon", "--enable_grpc", "false", "--http_port", port, "--parameters", "scale=2"]);
    expect(notJson.code).not.toBe(0);
    expect(notJson.stderr).toMatch(/MICROSERVICE_BAD_PARAMETER/);
    expect(notJson.stderr).toMatch(/not valid JSON/);
  });

  it('a model folder whose model-settings.json says {"runtime": "seldon"} is served as a component without --seldon', async () => {
    const { child, url } = await startSeldonCli(["test/fixtures/seldon/folder-model", "--model_name", "folder"], { port: await freePort() });
    const r = await postJson(`${url}/api/v1.0/predictions`, { data: { ndarray: [[1, 2]] } });
    expect(r.status, r.text).toBe(200);
    expect(r.json.data).toEqual({ names: ["low", "high"], ndarray: [[11, 12]] });
    expect((await send(`${url}/metadata`)).json.name).toBe("folder");
    await stopCli(child);
  });

  it('a component importing "tserve" by name works, and its SeldonError keeps its status', async () => {
    const { child, url } = await startSeldonCli(["test/fixtures/seldon/TserveImport.mjs", "--seldon"], { port: await freePort() });
    const ok = await postJson(`${url}/api/v1.0/predictions`, { data: { ndarray: [[1]] } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.meta.tags).toEqual({ imported: "tserve" });
    expectSeldonError(await postJson(`${url}/api/v1.0/predictions`, { data: { ndarray: [] } }), 422, "MICROSERVICE_BAD_DATA", "empty input");
    await stopCli(child);
  });

  it("a component file outside any package (a temp folder) loads and answers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tserve-seldon-"));
    writeFileSync(join(dir, "Doubler.ts"), "export default class Doubler {\n  predict(X: { map(f: (v: number) => number): unknown }) {\n    return X.map((v) => v * 2);\n  }\n}\n");
    const { child, url } = await startSeldonCli([join(dir, "Doubler.ts"), "--seldon"], { port: await freePort() });
    const answer = await postJson(`${url}/api/v1.0/predictions`, { data: { ndarray: [[1, 2.5]] } });
    expect(answer.status).toBe(200);
    expect(answer.json.data.ndarray).toEqual([[2, 5]]);
    await stopCli(child);
  });

  it("--help documents --seldon, --parameters and the 9000 default", async () => {
    const help = await run(["serve", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--seldon/);
    expect(help.stdout).toMatch(/--parameters/);
    expect(help.stdout).toMatch(/9000/);
  });

  it("--seldon listens on 9000 when no port is given (checked only when 9000 is free)", async (ctx) => {
    if (!(await isFree(9000))) ctx.skip();
    let started: Awaited<ReturnType<typeof startSeldonCli>>;
    try {
      started = await startSeldonCli(["test/fixtures/seldon/MyModel.ts", "--seldon", "--model_name", "port-default-probe"]);
    } catch (err) {
      // Someone took 9000 between the check and the start: nothing to learn here.
      if (/EADDRINUSE/.test(String(err))) ctx.skip();
      throw err;
    }
    const { child, url, output } = started;
    expect(output()).toMatch(/listening on http:\/\/127\.0\.0\.1:9000/);
    const meta = await send(`${url}/metadata`);
    expect(meta.json.name).toBe("port-default-probe");
    await stopCli(child);
  });
});
