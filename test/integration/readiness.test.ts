/**
 * Readiness tells the truth (Triton's --strict-readiness and --exit-on-error, both on by default in the CLI): a
 * model that fails to load stops `tserve serve` with the reason; with --exit_on_error false the server starts but
 * /v2/health/ready and gRPC ServerReady say not ready until that model loads or is unloaded on purpose, while a
 * model unloaded on purpose never holds readiness back. --strict_readiness false relaxes it to "the server is up".
 */
import { type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { InferenceGRPCClient } from "../../packages/server/src/client/index.ts";
import { Model, type ModelServer } from "../../packages/server/src/index.ts";
import { envWithout, freePort, runCli, startCli, startServer, stopCli } from "../helpers/server.ts";
import { expectError, get, post, ROOT } from "./util.ts";

const TSERVE = pathToFileURL(join(ROOT, "packages", "server", "src", "index.ts")).href;

/** A module model that answers `{"predictions": ["<name>"]}`. */
const GOOD = `import { Model } from ${JSON.stringify(TSERVE)};

export default class Good extends Model {
  override predict(): unknown {
    return { predictions: [this.name] };
  }
}
`;

/** A module model whose load() throws until the file `fix` exists. */
const brokenUntil = (fix: string) => `import { existsSync } from "node:fs";
import { Model } from ${JSON.stringify(TSERVE)};

export default class Broken extends Model {
  override load(): void {
    if (!existsSync(${JSON.stringify(fix)})) throw new Error("weights are missing");
    this.ready = true;
  }

  override predict(): unknown {
    return { predictions: ["fixed"] };
  }
}
`;

const HANGING = `import { Model } from ${JSON.stringify(TSERVE)};

export default class Hanging extends Model {
  override load(): Promise<void> {
    return new Promise(() => {});
  }
}
`;

const roots: string[] = [];

/** A temporary repository: one folder with a model.ts per entry. */
async function writeRepo(models: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "tserve-readiness-"));
  roots.push(root);
  for (const [name, source] of Object.entries(models)) {
    await mkdir(join(root, name));
    await writeFile(join(root, name, "model.ts"), source);
  }
  return root;
}

afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

/** The CLI's environment without any TSERVE_ setting of the test runner's. */
const cleanEnv = (extra: NodeJS.ProcessEnv = {}) => envWithout([/^TSERVE_/], extra);

async function serverReady(url: string): Promise<number> {
  return (await get(`${url}/v2/health/ready`)).status;
}

async function grpcReady(port: number): Promise<boolean> {
  const client = new InferenceGRPCClient(`127.0.0.1:${port}`);
  try {
    return await client.isServerReady();
  } finally {
    client.close();
  }
}

describe("tserve serve --exit_on_error (default true): a model that fails to load at start ends the command", () => {
  it("a load() that throws: exit 1, the failure logged with the model's name and reason", async () => {
    const root = await writeRepo({ good: GOOD, broken: brokenUntil("/nonexistent/fix") });
    const r = await runCli(["serve", "--model_repository", root, "--http_port", String(await freePort()), "--grpc_port", "0", "--host", "127.0.0.1"], {
      env: cleanEnv(),
    });
    expect(r.code, r.output).toBe(1);
    expect(r.output).toMatch(/failed to load model broken: [^\n]*weights are missing/);
    expect(r.stderr).toMatch(/tserve: failed to load all models: broken: [^\n]*weights are missing/);
    expect(r.stderr).toContain("--exit_on_error false");
    expect(r.output).not.toContain("tserve listening");
  });

  it("a load() that hangs past --model_load_timeout: exit 1 naming the timeout", async () => {
    const root = await writeRepo({ good: GOOD, hanging: HANGING });
    const r = await runCli(
      ["serve", "--model_repository", root, "--model_load_timeout", "1", "--http_port", String(await freePort()), "--grpc_port", "0", "--host", "127.0.0.1"],
      { env: cleanEnv() },
    );
    expect(r.code, r.output).toBe(1);
    expect(r.stderr).toContain("failed to load all models: hanging: load() did not finish within 1 s (--model_load_timeout)");
    expect(r.output).not.toContain("tserve listening");
  });

  it("TSERVE_EXIT_ON_ERROR=false in the environment starts the server instead", async () => {
    const root = await writeRepo({ good: GOOD, broken: brokenUntil("/nonexistent/fix") });
    const { child, url } = await startCli(["serve", "--model_repository", root], await freePort(), {
      env: cleanEnv({ TSERVE_EXIT_ON_ERROR: "false" }),
      readyPath: "/v2/health/live",
    });
    try {
      expect((await post(`${url}/v1/models/good:predict`, { instances: [1] })).json).toEqual({ predictions: ["good"] });
      expect(await serverReady(url)).toBe(503);
    } finally {
      await stopCli(child);
    }
  });
});

describe("--exit_on_error false: the server starts but is not ready while a model that should serve does not", () => {
  let root: string;
  let fix: string;
  let child: ChildProcess;
  let url: string;
  let grpcPort: number;
  let output: () => string;

  beforeAll(async () => {
    root = await writeRepo({ good: GOOD, other: GOOD });
    fix = join(root, "fixed");
    await mkdir(join(root, "broken"));
    await writeFile(join(root, "broken", "model.ts"), brokenUntil(fix));
    grpcPort = await freePort();
    ({ child, url, output } = await startCli(
      ["serve", "--model_repository", root, "--exit_on_error", "false", "--model_control_mode", "explicit", "--grpc_port", String(grpcPort)],
      await freePort(),
      { env: cleanEnv(), readyPath: "/v2/health/live" },
    ));
  }, 40_000);

  afterAll(async () => {
    if (child) await stopCli(child);
  });

  it("REST /v2/health/ready is 503 and gRPC ServerReady false; live, and the good models serve", async () => {
    expectError(await get(`${url}/v2/health/ready`), 503);
    expect(await grpcReady(grpcPort)).toBe(false);
    expect((await get(`${url}/v2/health/live`)).status).toBe(200);
    expect((await get(`${url}/v2/models/good/ready`)).status).toBe(200);
    expect((await post(`${url}/v1/models/good:predict`, { instances: [1] })).json).toEqual({ predictions: ["good"] });
    expectError(await post(`${url}/v1/models/broken:predict`, { instances: [1] }), 503, "broken");
    expect(output()).toMatch(/failed to load model broken: [^\n]*weights are missing/);
    expect(output()).toMatch(/not ready \(strict readiness\) until these load or are unloaded: broken \(UNAVAILABLE\)/);
  });

  it("unloading the broken model on purpose makes the server ready; unloading a good one keeps it ready", async () => {
    expect((await post(`${url}/v2/repository/models/broken/unload`, {})).status).toBe(200);
    expect(await serverReady(url)).toBe(200);
    expect(await grpcReady(grpcPort)).toBe(true);
    // Triton's rule: a version unloaded on purpose does not hold readiness back.
    expect((await post(`${url}/v2/repository/models/other/unload`, {})).status).toBe(200);
    expect(await serverReady(url)).toBe(200);
    expect(await grpcReady(grpcPort)).toBe(true);
  });

  it("a load that fails again makes it not ready; once the model loads, it is ready", async () => {
    expect((await post(`${url}/v2/repository/models/broken/load`, {})).status).toBeGreaterThanOrEqual(400);
    expect(await serverReady(url)).toBe(503);
    expect(await grpcReady(grpcPort)).toBe(false);
    await writeFile(fix, "");
    const loaded = await post(`${url}/v2/repository/models/broken/load`, {});
    expect(loaded.status, loaded.text).toBe(200);
    expect(await serverReady(url)).toBe(200);
    expect(await grpcReady(grpcPort)).toBe(true);
    expect((await post(`${url}/v1/models/broken:predict`, { instances: [1] })).json).toEqual({ predictions: ["fixed"] });
  });
});

describe("--strict_readiness false: ready whenever the server is up", () => {
  let child: ChildProcess | undefined;
  afterEach(async () => {
    if (child) await stopCli(child);
    child = undefined;
  });

  it("--strict-readiness=false (dashes too): REST and gRPC say ready despite the broken model, whose own readiness says not", async () => {
    const root = await writeRepo({ good: GOOD, broken: brokenUntil("/nonexistent/fix") });
    const grpcPort = await freePort();
    const cli = await startCli(
      ["serve", "--model_repository", root, "--exit-on-error", "false", "--strict-readiness=false", "--grpc_port", String(grpcPort)],
      await freePort(),
      { env: cleanEnv() },
    );
    child = cli.child;
    expect(await serverReady(cli.url)).toBe(200);
    expect(await grpcReady(grpcPort)).toBe(true);
    expectError(await get(`${cli.url}/v2/models/broken/ready`), 503, "broken");
    expect(cli.output()).not.toContain("strict readiness");
  });

  it("TSERVE_STRICT_READINESS=false in the environment", async () => {
    const root = await writeRepo({ good: GOOD, broken: brokenUntil("/nonexistent/fix") });
    const cli = await startCli(["serve", "--model_repository", root, "--exit_on_error", "false"], await freePort(), {
      env: cleanEnv({ TSERVE_STRICT_READINESS: "false" }),
    });
    child = cli.child;
    expect(await serverReady(cli.url)).toBe(200);
  });

  it("--help lists both flags with their Triton meaning", async () => {
    const r = await runCli(["serve", "--help"], { env: cleanEnv() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--exit_on_error, --exit-on-error\n\s+Triton's --exit-on-error[^\n]*\(default true\)/);
    expect(r.stdout).toMatch(/--strict_readiness, --strict-readiness\n\s+Triton's --strict-readiness[^\n]*\(default true\)/);
  });
});

class Good extends Model {
  unloaded = false;
  override predict(): unknown {
    return { predictions: [this.name] };
  }
  override unload(): void {
    this.unloaded = true;
    this.ready = false;
  }
}

class Broken extends Model {
  override load(): void {
    throw new Error("weights are missing");
  }
}

describe("ModelServer in code", () => {
  let server: ModelServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it("by default starts and serves the models that loaded, not ready (REST and gRPC) while one failed", async () => {
    const started = await startServer({}, [new Good("good"), new Broken("broken")]);
    server = started.server;
    expect(await serverReady(started.url)).toBe(503);
    expect(await grpcReady(server.grpcPort!)).toBe(false);
    expect((await post(`${started.url}/v1/models/good:predict`, { instances: [1] })).json).toEqual({ predictions: ["good"] });
  });

  it("exitOnError: start() rejects naming the failed model and why, and unloads the ones that loaded", async () => {
    const good = new Good("good");
    await expect(startServer({ exitOnError: true }, [good, new Broken("broken")])).rejects.toThrow(
      /^failed to load all models: broken: .*weights are missing$/,
    );
    expect(good.unloaded).toBe(true);
  });

  it("strictReadiness false: ready despite the failed model", async () => {
    const started = await startServer({ strictReadiness: false }, [new Good("good"), new Broken("broken")]);
    server = started.server;
    expect(await serverReady(started.url)).toBe(200);
    expect(await grpcReady(server.grpcPort!)).toBe(true);
  });

  it("a healthy server stays ready when a model is unloaded on purpose, and is not ready once shutdown begins", async () => {
    const started = await startServer({ exitOnError: true }, [new Good("a"), new Good("b")]);
    server = started.server;
    expect(await serverReady(started.url)).toBe(200);
    await server.dataplane.unload("a");
    expect(await serverReady(started.url)).toBe(200);
    expect(await server.dataplane.ready()).toBe(true);
    server.dataplane.markStopping();
    expect(await server.dataplane.ready()).toBe(false);
  });
});
