/**
 * `node bin/tserve.js serve` configured through TSERVE_<NAME> environment variables, flags winning over them,
 * usage errors (exit 2), and KServe-only flags that are accepted without effect.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { InferenceGRPCClient } from "../../packages/server/src/index.ts";
import { envWithout, freePort, runCli, type RunningCli, startCli } from "../helpers/server.ts";
import { expectError, get, IRIS_DIR, MODULES, post, ROOT, type Running, startWith } from "./util.ts";

const SEED_CM = [
  [6.8, 2.8, 4.8, 1.4],
  [5.1, 3.5, 1.4, 0.2],
];
const SEED_MM = SEED_CM.map((row) => row.map((v) => v * 10));
const TRANSFORMER = join(MODULES, "iris-transformer.ts");

/** The environment of the parent without any TSERVE_ variable, plus `extra`. */
const cleanEnv = (extra: Record<string, string>) => envWithout([/^TSERVE_/], extra);

const children: ChildProcess[] = [];

/**
 * Starts `node bin/tserve.js serve ...args` with the given environment and waits until `url + probe` answers
 * 200 (readiness by default; pass liveness to start a server whose readiness depends on a predictor).
 */
async function serve(args: string[], env: Record<string, string>, port: number, probe = "/v2/health/ready"): Promise<RunningCli> {
  const started = await startCli(["serve", ...args], port, { env: cleanEnv(env), readyPath: probe, portFlags: "none" });
  children.push(started.child);
  return started;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await once(child, "exit");
  clearTimeout(timer);
}

/** Runs the CLI to completion: exit code and output. */
const run = (args: string[], env: Record<string, string> = {}) => runCli(args, { env: cleanEnv(env) });

async function refuses(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2000) });
    return false;
  } catch {
    return true;
  }
}

/** A node:http V1/V2 iris predictor that records which routes and headers reached it. */
class RecordingPredictor {
  readonly requests: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];
  private readonly server: Server;
  host = "";

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        this.requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
        const body = Buffer.concat(chunks);
        let answer: unknown;
        if (req.url?.endsWith(":predict")) {
          const rows = (JSON.parse(body.toString()).instances as unknown[]).length;
          answer = { predictions: Array.from({ length: rows }, () => [0.25, 0.5, 0.25]) };
        } else if (req.url?.endsWith("/infer")) {
          const len = Number(req.headers["inference-header-content-length"] ?? body.byteLength);
          const rows = JSON.parse(body.subarray(0, len).toString()).inputs[0].shape[0] as number;
          answer = {
            model_name: "iris",
            outputs: [
              {
                name: "probabilities",
                datatype: "FP32",
                shape: [rows, 3],
                data: Array.from({ length: rows }, () => [0.25, 0.5, 0.25]).flat(),
              },
            ],
          };
        } else {
          answer = { name: "iris", ready: true };
        }
        const text = JSON.stringify(answer);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(text);
      });
    });
  }

  inferencePaths(): string[] {
    return this.requests.filter((r) => r.method === "POST").map((r) => r.url);
  }

  async listen(): Promise<this> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    this.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, "close");
  }
}

describe("tserve serve configured by TSERVE_ environment variables", () => {
  let predictor: Running;
  let expected: number[][];
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  beforeAll(async () => {
    predictor = await startWith({ dirs: [IRIS_DIR], gracePeriodMs: 1000 });
    expected = (await post(`${predictor.url}/v1/models/iris:predict`, { instances: SEED_CM })).json.predictions;
  });
  afterAll(async () => {
    await Promise.all(children.map((c) => stop(c)));
    await predictor?.server.stop();
  });
  afterEach(async () => {
    while (cleanups.length > 0) {
      try {
        await cleanups.pop()!();
      } catch {
        // best effort
      }
    }
  });

  async function recording(): Promise<RecordingPredictor> {
    const fake = await new RecordingPredictor().listen();
    cleanups.push(() => fake.close());
    return fake;
  }

  function predictMm(url: string) {
    return post(`${url}/v1/models/iris:predict`, { instances: SEED_MM });
  }

  it("TSERVE_HTTP_PORT, TSERVE_MODEL_REPOSITORY, TSERVE_HOST and TSERVE_GRPC_PORT configure the server", async () => {
    const port = await freePort();
    const grpcPort = await freePort();
    const { url, child } = await serve(
      [],
      {
        TSERVE_HTTP_PORT: String(port),
        TSERVE_MODEL_REPOSITORY: "examples/iris/models",
        TSERVE_HOST: "127.0.0.1",
        TSERVE_GRPC_PORT: String(grpcPort),
      },
      port,
    );
    expect((await get(`${url}/v1/models`)).json).toEqual({ models: ["iris"] });
    const r = await post(`${url}/v1/models/iris:predict`, { instances: SEED_CM });
    expect(r.status, r.text).toBe(200);
    expect(r.json.predictions).toEqual(expected);
    const grpc = new InferenceGRPCClient(`127.0.0.1:${grpcPort}`, { timeoutMs: 5000 });
    try {
      expect(await grpc.isModelReady("iris")).toBe(true);
    } finally {
      grpc.close();
    }
    await stop(child);
  });

  it("TSERVE_ENABLE_GRPC=false turns gRPC off (boolean env values go through strtobool)", async () => {
    const port = await freePort();
    const grpcPort = await freePort();
    const { output, child } = await serve(
      ["examples/iris/models", "--host", "127.0.0.1"],
      { TSERVE_HTTP_PORT: String(port), TSERVE_ENABLE_GRPC: "false", TSERVE_GRPC_PORT: String(grpcPort) },
      port,
    );
    const grpc = new InferenceGRPCClient(`127.0.0.1:${grpcPort}`, { timeoutMs: 2000 });
    try {
      await expect(grpc.isServerLive()).rejects.toMatchObject({ status: 503 });
    } finally {
      grpc.close();
    }
    expect(output()).not.toMatch(/grpc \d+/);
    await stop(child);
  });

  it.each(["v1", "v2", "grpc-v2"] as const)(
    "TSERVE_PREDICTOR_HOST and TSERVE_PREDICTOR_PROTOCOL=%s make a module model a transformer of the tserve predictor",
    async (protocol) => {
      const port = await freePort();
      const host =
        protocol === "grpc-v2" ? `127.0.0.1:${predictor.server.grpcPort}` : `127.0.0.1:${predictor.server.port}`;
      const { url, child } = await serve(
        [TRANSFORMER, "--model_name", "iris", "--host", "127.0.0.1", "--grpc_port", "0"],
        { TSERVE_HTTP_PORT: String(port), TSERVE_PREDICTOR_HOST: host, TSERVE_PREDICTOR_PROTOCOL: protocol },
        port,
      );
      const r = await predictMm(url);
      expect(r.status, r.text).toBe(200);
      expect(r.json.probabilities).toEqual(expected);
      await stop(child);
    },
  );

  it("the predictor protocol from TSERVE_PREDICTOR_PROTOCOL decides the route the predictor sees", async () => {
    const fake = await recording();
    const port = await freePort();
    const { url, child } = await serve(
      [TRANSFORMER, "--model_name", "iris", "--host", "127.0.0.1", "--grpc_port", "0", "--http_port", String(port)],
      { TSERVE_PREDICTOR_HOST: fake.host, TSERVE_PREDICTOR_PROTOCOL: "v2" },
      port,
    );
    expect((await predictMm(url)).status).toBe(200);
    expect(fake.inferencePaths()).toEqual(["/v2/models/iris/infer"]);
    expect(fake.requests[0].headers["content-type"]).toMatch(/^application\/octet-stream/);
    await stop(child);
  });

  it("an empty TSERVE_PREDICTOR_PROTOCOL is ignored (the default v1 applies)", async () => {
    const fake = await recording();
    const port = await freePort();
    const { url, child } = await serve(
      [TRANSFORMER, "--model_name", "iris", "--host", "127.0.0.1", "--grpc_port", "0", "--http_port", String(port)],
      { TSERVE_PREDICTOR_HOST: fake.host, TSERVE_PREDICTOR_PROTOCOL: "" },
      port,
    );
    expect((await predictMm(url)).status).toBe(200);
    expect(fake.inferencePaths()).toEqual(["/v1/models/iris:predict"]);
    await stop(child);
  });

  it("TSERVE_ENABLE_PREDICTOR_HEALTH_CHECK=true: readiness follows the predictor", async () => {
    const down = await freePort();
    const port = await freePort();
    const { url, child } = await serve(
      [TRANSFORMER, "--model_name", "iris", "--host", "127.0.0.1", "--grpc_port", "0"],
      {
        TSERVE_HTTP_PORT: String(port),
        TSERVE_PREDICTOR_HOST: `127.0.0.1:${down}`,
        TSERVE_PREDICTOR_PROTOCOL: "v2",
        TSERVE_ENABLE_PREDICTOR_HEALTH_CHECK: "true",
        TSERVE_PREDICTOR_REQUEST_TIMEOUT_SECONDS: "2",
      },
      port,
      "/v2/health/live",
    );
    expect((await get(`${url}/v2/health/ready`)).status).toBe(503);
    expect((await get(`${url}/v2/models/iris/ready`)).status).toBe(503);
    expectError(await predictMm(url), 503, `127.0.0.1:${down}`);
    await stop(child);

    // The same server pointed at the live predictor is ready.
    const port2 = await freePort();
    const ok = await serve(
      [TRANSFORMER, "--model_name", "iris", "--host", "127.0.0.1", "--grpc_port", "0"],
      {
        TSERVE_HTTP_PORT: String(port2),
        TSERVE_PREDICTOR_HOST: `127.0.0.1:${predictor.server.port}`,
        TSERVE_PREDICTOR_PROTOCOL: "v2",
        TSERVE_ENABLE_PREDICTOR_HEALTH_CHECK: "1",
      },
      port2,
    );
    expect((await get(`${ok.url}/v2/models/iris/ready`)).status).toBe(200);
    await stop(ok.child);
  });

  it("TSERVE_PREDICTOR_REQUEST_RETRIES reaches the transformer (connection refused is retried)", async () => {
    const down = await freePort();
    const port = await freePort();
    const { url, child } = await serve(
      [TRANSFORMER, "--model_name", "iris", "--host", "127.0.0.1", "--grpc_port", "0"],
      {
        TSERVE_HTTP_PORT: String(port),
        TSERVE_PREDICTOR_HOST: `127.0.0.1:${down}`,
        TSERVE_PREDICTOR_REQUEST_RETRIES: "8",
      },
      port,
    );
    const pending = predictMm(url);
    await new Promise((r) => setTimeout(r, 300));
    const late = await startWith({ dirs: [IRIS_DIR], httpPort: down, gracePeriodMs: 1000 });
    cleanups.push(() => late.server.stop());
    const r = await pending;
    expect(r.status, r.text).toBe(200);
    expect(r.json.probabilities).toEqual(expected);
    await stop(child);
  });

  // ---- flags win ------------------------------------------------------------------------------------------

  it("a command-line flag wins over its environment variable (http port, model repository)", async () => {
    const envPort = await freePort();
    const flagPort = await freePort();
    const { url, child } = await serve(
      ["--http_port", String(flagPort), "--model_repository", "examples/iris/models", "--host", "127.0.0.1", "--grpc_port", "0"],
      { TSERVE_HTTP_PORT: String(envPort), TSERVE_MODEL_REPOSITORY: "does/not/exist" },
      flagPort,
    );
    expect((await get(`${url}/v1/models`)).json).toEqual({ models: ["iris"] });
    expect(await refuses(`http://127.0.0.1:${envPort}/v2/health/live`)).toBe(true);
    await stop(child);
  });

  it("--predictor_protocol and --predictor_host win over TSERVE_PREDICTOR_PROTOCOL / TSERVE_PREDICTOR_HOST", async () => {
    const fake = await recording();
    const other = await recording();
    const port = await freePort();
    const { url, child } = await serve(
      [
        TRANSFORMER,
        "--model_name",
        "iris",
        "--host",
        "127.0.0.1",
        "--grpc_port",
        "0",
        "--http_port",
        String(port),
        "--predictor_protocol",
        "v2",
        "--predictor_host",
        fake.host,
      ],
      { TSERVE_PREDICTOR_HOST: other.host, TSERVE_PREDICTOR_PROTOCOL: "v1" },
      port,
    );
    expect((await predictMm(url)).status).toBe(200);
    expect(fake.inferencePaths()).toEqual(["/v2/models/iris/infer"]);
    expect(other.requests).toEqual([]);
    await stop(child);
  });

  // ---- usage errors ---------------------------------------------------------------------------------------

  it("--predictor_protocol x exits 2 with a message naming the flag and the value", async () => {
    const r = await run(["serve", "examples/iris/models", "--predictor_protocol", "x", "--http_port", String(await freePort())]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("predictor_protocol");
    expect(r.stderr).toContain("'x'");
    expect(r.stderr).toMatch(/v1, v2 or grpc-v2/);
  });

  it("TSERVE_PREDICTOR_PROTOCOL=x exits 2 the same way", async () => {
    const r = await run(["serve", "examples/iris/models", "--http_port", String(await freePort())], {
      TSERVE_PREDICTOR_PROTOCOL: "x",
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("predictor_protocol");
    expect(r.stderr).toContain("'x'");
  });

  it("a non-numeric TSERVE_HTTP_PORT or non-boolean TSERVE_ENABLE_GRPC exits 2 naming the option", async () => {
    const port = await run(["serve", "examples/iris/models"], { TSERVE_HTTP_PORT: "eighty" });
    expect(port.code).toBe(2);
    expect(port.stderr).toContain("http_port");
    expect(port.stderr).toContain("eighty");
    const grpc = await run(["serve", "examples/iris/models", "--http_port", String(await freePort())], {
      TSERVE_ENABLE_GRPC: "maybe",
    });
    expect(grpc.code).toBe(2);
    expect(grpc.stderr).toContain("enable_grpc");
  });

  it.each([
    ["--predictor_request_retries", "1.5"],
    ["--predictor_request_retries", "-1"],
    ["--predictor_request_timeout_seconds", "0"],
  ])("%s %s is refused at startup (exit 2 naming the flag), not on every request", async (flag, value) => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        "bin/tserve.js",
        "serve",
        TRANSFORMER,
        "--model_name",
        "iris",
        "--predictor_host",
        `127.0.0.1:${predictor.server.port}`,
        flag,
        value,
        "--http_port",
        String(port),
        "--host",
        "127.0.0.1",
        "--grpc_port",
        "0",
      ],
      { cwd: ROOT, env: cleanEnv({}), stdio: ["ignore", "pipe", "pipe"] },
    );
    children.push(child);
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = once(child, "exit").then(([code]) => code as number | null);
    // Either it exits, or it starts serving: then record what a request gets, for the failure message.
    let served = "";
    const started = (async () => {
      for (let i = 0; i < 200 && child.exitCode === null; i++) {
        try {
          const r = await predictMm(`http://127.0.0.1:${port}`);
          served = `it started instead, and a predict answered ${r.status} ${r.text}`;
          return "started";
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      return "gave up";
    })();
    const outcome = await Promise.race([exited, started]);
    await stop(child);
    expect(outcome, served).toBe(2);
    expect(stderr).toContain(flag.slice(2));
  });

  it("an unknown flag exits 2 naming it", async () => {
    const r = await run(["serve", "examples/iris/models", "--no_such_flag", "1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--no_such_flag");
  });

  // ---- KServe compatibility -------------------------------------------------------------------------------

  it("KServe-only flags (--max_threads 4, --enable_docs_url false, ...) are accepted and the server serves", async () => {
    const port = await freePort();
    const { url, child } = await serve(
      [
        "examples/iris/models",
        "--max_threads",
        "4",
        "--enable_docs_url",
        "false",
        "--max_asyncio_workers",
        "8",
        "--enable_latency_logging",
        "true",
        "--configure_logging",
        "false",
        "--event-loop",
        "asyncio",
        "--protocol",
        "v2",
        "--workers",
        "1",
        "--http_port",
        String(port),
        "--host",
        "127.0.0.1",
        "--grpc_port",
        "0",
      ],
      {},
      port,
    );
    const r = await post(`${url}/v1/models/iris:predict`, { instances: SEED_CM });
    expect(r.status, r.text).toBe(200);
    expect(r.json.predictions).toEqual(expected);
    await stop(child);
  });

  it("the KServe-only flags also read TSERVE_ variables without effect (TSERVE_MAX_THREADS, TSERVE_ENABLE_DOCS_URL)", async () => {
    const port = await freePort();
    const { url, child } = await serve(
      ["examples/iris/models", "--http_port", String(port), "--host", "127.0.0.1", "--grpc_port", "0"],
      { TSERVE_MAX_THREADS: "4", TSERVE_ENABLE_DOCS_URL: "false" },
      port,
    );
    expect((await post(`${url}/v1/models/iris:predict`, { instances: SEED_CM })).status).toBe(200);
    await stop(child);
  });

  it("serve --help documents the environment variables", async () => {
    const r = await run(["serve", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("TSERVE_");
    expect(r.stdout).toContain("--predictor_host");
    expect(r.stdout).toContain("--max_threads");
  });
});
