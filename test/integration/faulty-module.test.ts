/**
 * One module model's stray error (a throw in its timer, a promise it left rejected) must not end the process:
 * the CLI logs it with the model's name, marks that model not ready, reloads it, and keeps serving the others.
 * A load() that never finishes is abandoned after --model_load_timeout and (with --exit_on_error false) the server
 * starts without it. These servers are not ready while a model is down (strict readiness): they are awaited on
 * /v2/health/live.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startCli, stopCli } from "../helpers/server.ts";
import { get, post, ROOT } from "./util.ts";

const TSERVE = pathToFileURL(join(ROOT, "packages", "server", "src", "index.ts")).href;

/**
 * A module model whose `predict` answers with how many times this model has been loaded in the process (kept on
 * globalThis, so it survives re-imports), after running `onPredict`; `onLoad` runs at the end of load().
 */
function moduleModel(name: string, body: { onPredict?: string; onLoad?: string; holdReloadUntil?: string }): string {
  return `import { existsSync } from "node:fs";
import { Model } from ${JSON.stringify(TSERVE)};

const counters = ((globalThis as any).__faultyLoads ??= {});

export default class Faulty extends Model {
  override async load(): Promise<void> {
    counters[${JSON.stringify(name)}] = (counters[${JSON.stringify(name)}] ?? 0) + 1;
    ${body.holdReloadUntil ? `while (counters[${JSON.stringify(name)}] > 1 && !existsSync(${JSON.stringify(body.holdReloadUntil)})) await new Promise((r) => setTimeout(r, 20));` : ""}
    this.ready = true;
    ${body.onLoad ?? ""}
  }

  override predict(payload: any): unknown {
    ${body.onPredict ?? ""}
    return { predictions: [counters[${JSON.stringify(name)}]], instances: payload.instances };
  }
}
`;
}

/** The faulty models; `release` is a file whose creation lets the timer model's reload finish. */
const faultyModels = (release: string): Record<string, string> => ({
  healthy: moduleModel("healthy", {}),
  // A throw inside a timer the model started in predict; its reload waits for `release`.
  timer: moduleModel("timer", {
    holdReloadUntil: release,
    onPredict: `setTimeout(() => { throw new Error("timer fault from the timer model"); }, 20);`,
  }),
  // A promise the model started in predict and never awaited, rejected later; once per loaded instance, so that the
  // test's polling does not queue up rejections that fault the reloaded instance too (a reload can take ~1 ms).
  rejecter: moduleModel("rejecter", {
    onPredict: `if (!(this as any).rejected) { (this as any).rejected = true; void (async () => { await new Promise((r) => setTimeout(r, 20)); throw new Error("rejection from the rejecter model"); })(); }`,
  }),
  // A throw in a queueMicrotask callback: like every stray error, attributed by the model's file in its stack.
  microtask: moduleModel("microtask", {
    onPredict: `queueMicrotask(() => { throw new Error("microtask fault"); });`,
  }),
  // Faults shortly after every load: reloaded a few times, then left UNAVAILABLE instead of looping.
  looper: moduleModel("looper", {
    onLoad: `setTimeout(() => { throw new Error("looper fault after load"); }, 100);`,
  }),
});

// A stray throw while load() is still running: it fails that load at once (well before --model_load_timeout).
const FAULTS_WHILE_LOADING = `import { Model } from ${JSON.stringify(TSERVE)};

export default class FaultsWhileLoading extends Model {
  override async load(): Promise<void> {
    setTimeout(() => { throw new Error("fault while loading"); }, 10);
    await new Promise((r) => setTimeout(r, 30_000));
    this.ready = true;
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

async function writeRepo(models: (root: string) => Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "tserve-faulty-"));
  for (const [name, source] of Object.entries(models(root))) {
    await mkdir(join(root, name));
    await writeFile(join(root, name, "model.ts"), source);
  }
  return root;
}

interface IndexRow {
  name: string;
  state: string;
  reason: string;
}

async function indexRow(url: string, name: string): Promise<IndexRow | undefined> {
  const r = await post(`${url}/v2/repository/index`, {});
  expect(r.status, r.text).toBe(200);
  return (r.json as IndexRow[]).find((m) => m.name === name);
}

/** Polls until `check` returns a value (the server acts on a fault asynchronously); fails after 20 s. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function predict(url: string, name: string) {
  return post(`${url}/v1/models/${name}:predict`, { instances: [[1, 2]] });
}

describe("a faulty module model does not take the server down", () => {
  let root: string;
  let child: ChildProcess;
  let url: string;
  let output: () => string;

  beforeAll(async () => {
    root = await writeRepo((dir) => faultyModels(join(dir, "release")));
    // The looper may already be down when the start-up loads end: exiting on it is not what this suite is about.
    ({ child, url, output } = await startCli(["serve", "--model_repository", root, "--exit_on_error", "false"], await freePort(), {
      readyPath: "/v2/health/live",
    }));
  }, 40_000);

  afterAll(async () => {
    if (child) await stopCli(child);
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function expectHealthyServes(): Promise<void> {
    const r = await predict(url, "healthy");
    expect(r.status, r.text).toBe(200);
    expect(r.json.predictions).toEqual([1]);
  }

  it("a throw in a model's timer: logged with its name, the model is not ready, then reloaded; the others serve on", async () => {
    const first = await predict(url, "timer");
    expect(first.status, first.text).toBe(200);
    expect(first.json.predictions).toEqual([1]);

    // Its reload waits for the release file: meanwhile the model is not ready and the index says why.
    const down = await eventually("timer to go down", async () => {
      const row = await indexRow(url, "timer");
      return row?.state === "READY" ? undefined : row;
    });
    expect(down.state).toBe("UNAVAILABLE");
    expect(down.reason).toContain("uncaught exception: timer fault from the timer model");
    expect((await get(`${url}/v2/models/timer/ready`)).status).not.toBe(200);
    await expectHealthyServes();
    await writeFile(join(root, "release"), "");

    await eventually("timer to be READY again", async () => ((await indexRow(url, "timer"))?.state === "READY" ? true : undefined));
    const again = await predict(url, "timer");
    expect(again.status, again.text).toBe(200);
    expect(again.json.predictions).toEqual([2]);

    expect(output()).toMatch(/(?:ERROR |"level":"error"[^\n]*"msg":")model timer: uncaught exception in the model's code[^\n]*timer fault from the timer model/);
    expect(output()).toContain("at Timeout."); // the stack comes with it
    expect(child.exitCode).toBeNull();
  });

  it("an unhandled rejection in predict: logged with the model's name and the model reloaded", async () => {
    const first = await predict(url, "rejecter");
    expect(first.status, first.text).toBe(200);
    expect(first.json.predictions).toEqual([1]);
    await eventually("rejecter to be reloaded", async () => {
      const r = await predict(url, "rejecter");
      return r.status === 200 && r.json.predictions[0] === 2 ? true : undefined;
    });
    expect(output()).toMatch(/(?:ERROR |"level":"error"[^\n]*"msg":")model rejecter: unhandled promise rejection in the model's code[^\n]*rejection from the rejecter model/);
    await expectHealthyServes();
    expect(child.exitCode).toBeNull();
  });

  it("a throw in a queueMicrotask callback is attributed by the model's file in the stack", async () => {
    expect((await predict(url, "microtask")).status).toBe(200);
    await eventually("microtask to be reloaded", async () => {
      const r = await predict(url, "microtask");
      return r.status === 200 && r.json.predictions[0] === 2 ? true : undefined;
    });
    expect(output()).toMatch(/(?:ERROR |"level":"error"[^\n]*"msg":")model microtask: uncaught exception in the model's code[^\n]*microtask fault/);
    await expectHealthyServes();
  });

  it("a model that faults after every load is reloaded at most 3 times, then stays UNAVAILABLE with the reason", async () => {
    const row = await eventually("looper to give up", async () => {
      const r = await indexRow(url, "looper");
      return r?.reason.includes("not reloaded again") ? r : undefined;
    });
    expect(row.state).toBe("UNAVAILABLE");
    expect(row.reason).toContain("uncaught exception: looper fault after load");
    expect(row.reason).toContain("after 3 reloads within 60 s");
    expect(output().match(/loaded model looper(?:\n|")/g)).toHaveLength(4);
    await expectHealthyServes();
    expect(child.exitCode).toBeNull();
  });
});

describe("--model_load_timeout with --exit_on_error false", () => {
  let root: string;
  let child: ChildProcess;
  let url: string;
  let output: () => string;

  beforeAll(async () => {
    root = await writeRepo(() => ({ healthy: moduleModel("healthy", {}), hanging: HANGING, faulting: FAULTS_WHILE_LOADING }));
    ({ child, url, output } = await startCli(
      ["serve", "--model_repository", root, "--model_load_timeout", "1", "--exit_on_error", "false"],
      await freePort(),
      { readyPath: "/v2/health/live" },
    ));
  }, 40_000);

  afterAll(async () => {
    if (child) await stopCli(child);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("starts despite a load() that never finishes: that model is UNAVAILABLE with the reason", async () => {
    const row = await indexRow(url, "hanging");
    expect(row).toMatchObject({ state: "UNAVAILABLE" });
    expect(row?.reason).toContain("load() did not finish within 1 s (--model_load_timeout)");
    expect((await get(`${url}/v2/models/hanging/ready`)).status).not.toBe(200);
    expect(output()).toMatch(/failed to load model hanging: load\(\) did not finish within 1 s/);
    const r = await predict(url, "healthy");
    expect(r.status, r.text).toBe(200);
  });

  it("a stray error while load() runs fails that load with the reason, without waiting for the timeout", async () => {
    const row = await indexRow(url, "faulting");
    expect(row).toMatchObject({ state: "UNAVAILABLE", reason: "uncaught exception while loading: fault while loading" });
    expect(output()).toMatch(/(?:ERROR |"level":"error"[^\n]*"msg":")model faulting: uncaught exception in the model's code[^\n]*fault while loading/);
  });

});

describe("errors that belong to no model still end the process, as Node would", () => {
  /** Starts a ModelServer in a script, then raises `fault` outside any model; returns the exit code and stderr. */
  async function runScript(fault: string): Promise<{ code: number | null; stderr: string }> {
    const dir = await mkdtemp(join(tmpdir(), "tserve-fault-script-"));
    const script = join(dir, "script.mts");
    await writeFile(
      script,
      `import { Model, ModelServer } from ${JSON.stringify(TSERVE)};
class Fine extends Model { override predict() { return { predictions: [] }; } }
const server = new ModelServer({ httpPort: 0, enableGrpc: false, host: "127.0.0.1" });
await server.start([new Fine("fine")]);
setTimeout(() => { ${fault} }, 10);
setTimeout(() => process.exit(0), 10_000);
`,
    );
    const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const [code] = await once(child, "exit");
    await rm(dir, { recursive: true, force: true });
    return { code: code as number | null, stderr };
  }

  it("an uncaught exception outside any model: logged, exit code 1", async () => {
    const { code, stderr } = await runScript(`throw new Error("not a model's fault");`);
    expect(code).toBe(1);
    expect(stderr).toMatch(/(?:ERROR |"level":"error"[^\n]*"msg":")uncaught exception outside any model; exiting as Node does: Error: not a model's fault/);
  });

  it("an unhandled rejection outside any model: logged, exit code 1", async () => {
    const { code, stderr } = await runScript(`void Promise.reject(new Error("nobody awaited me"));`);
    expect(code).toBe(1);
    expect(stderr).toMatch(/(?:ERROR |"level":"error"[^\n]*"msg":")unhandled promise rejection outside any model; exiting as Node does[^\n]*nobody awaited me/);
  });
});
