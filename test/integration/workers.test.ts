/**
 * `tserve serve --workers N`: N processes (node:cluster) sharing the HTTP and gRPC ports; model changes reach every
 * worker, /metrics sums them, a dead worker is replaced, SIGTERM drains them all, and --workers 1 is one process.
 */
import { readdirSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { availableParallelism } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseWorkers } from "../../packages/server/src/cli/serve.ts";
import { envWithout, freePort, IRIS_REPO, runCli, type RunningCli, startCli, stopCli } from "../helpers/server.ts";
import { grpcClient } from "./grpc-util.ts";

const ROW = [6.8, 2.8, 4.8, 1.4];
/** JSON log lines, no TSERVE_/KSERVE_ settings from the environment running the tests. */
const ENV = envWithout([/^TSERVE_/, /^KSERVE_/], { TSERVE_LOG_FORMAT: "json" });

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One request on a connection of its own (no keep-alive): the cluster hands each new connection to the next worker. */
function fresh(url: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(
      url,
      {
        method: payload === undefined ? "GET" : "POST",
        agent: false,
        headers: { connection: "close", ...(payload === undefined ? {} : { "content-type": "application/json" }) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

function predict(url: string): Promise<Answer> {
  return fresh(`${url}/v1/models/iris:predict`, { instances: [ROW] });
}

/** The value of `name{labels}` in a /metrics text (labels in any order, no others); 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split("\n")) {
    const m = /^([^{\s]+)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.keys(have).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return 0;
}

/** `tserve_worker_info{worker, pid}`: each worker's pid, by worker id. */
function workerPids(text: string): Map<string, number> {
  const pids = new Map<string, number>();
  for (const m of text.matchAll(/^tserve_worker_info\{worker="(\d+)",pid="(\d+)"\} 1$/gm)) pids.set(m[1], Number(m[2]));
  return pids;
}

async function metrics(url: string): Promise<Answer> {
  const r = await fresh(`${url}/metrics`);
  expect(r.status, r.text).toBe(200);
  return r;
}

/** The JSON log lines written so far. */
function logLines(cli: RunningCli): Record<string, unknown>[] {
  return cli
    .output()
    .split("\n")
    .flatMap((line) => {
      try {
        const o = JSON.parse(line) as unknown;
        return typeof o === "object" && o !== null ? [o as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
}

/** Polls `check` until it returns true (a generous deadline, not a timing assertion). */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function parentOf(pid: number): number {
  // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so read after the last ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").split(" ").filter(Boolean).map(Number),
  );
}

const hasProc = (() => {
  try {
    readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, "utf8");
    return true;
  } catch {
    return false;
  }
})();

describe("tserve serve --workers 2", () => {
  let cli: RunningCli;
  let url: string;
  let grpcPort: number;
  let workerPidsAtStart: Map<string, number>;

  beforeAll(async () => {
    const port = await freePort();
    grpcPort = await freePort();
    cli = await startCli(
      ["serve", IRIS_REPO, "--workers", "2", "--model_control_mode", "explicit", "--grpc_port", String(grpcPort)],
      port,
      { env: ENV, readyOutput: "2 workers listening on", timeoutMs: 60_000 },
    );
    url = cli.url;
    workerPidsAtStart = workerPids((await metrics(url)).text);
  }, 90_000);

  afterAll(async () => {
    if (cli && cli.child.exitCode === null && cli.child.signalCode === null) {
      const pids = [...workerPids((await metrics(url).catch(() => ({ text: "" }))).text).values()];
      cli.child.kill("SIGKILL");
      for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
    }
  });

  it("/metrics answered by any worker is the sum over the workers: K predicts count K", async () => {
    const K = 10;
    const answers = await Promise.all(Array.from({ length: K }, () => predict(url)));
    for (const a of answers) expect(a.status, a.text).toBe(200);
    // Scraped over new connections, so from each worker in turn: every one reports the cluster's total.
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const m = await metrics(url);
      seen.add(String(m.headers["x-tserve-worker"]));
      expect(sample(m.text, "request_success_total", { model_name: "iris", model_version: "1" })).toBe(K);
      expect(m.text).toMatch(/^# TYPE request_predict_seconds histogram$/m);
      expect(sample(m.text, "request_predict_seconds_count", { model_name: "iris" })).toBe(K);
    }
    expect([...seen].sort()).toEqual(["1", "2"]);
  });

  it("two processes serve the shared ports (REST and gRPC), each logging its worker id", async () => {
    expect(cli.output()).toContain(`tserve: 2 workers listening on http://127.0.0.1:${new URL(url).port} and grpc ${grpcPort}`);
    // One readiness line from the primary, one listening line per worker.
    const listening = logLines(cli).filter((l) => typeof l.msg === "string" && l.msg.startsWith("tserve listening on"));
    expect(listening.map((l) => l.worker).sort()).toEqual([1, 2]);

    // Which process answered: the x-tserve-worker header of /metrics, and its pid in tserve_worker_info.
    const answeredBy = new Set<string>();
    for (let i = 0; i < 6; i++) answeredBy.add(String((await metrics(url)).headers["x-tserve-worker"]));
    expect([...answeredBy].sort()).toEqual(["1", "2"]);
    expect([...workerPidsAtStart.keys()].sort()).toEqual(["1", "2"]);
    const pids = [...workerPidsAtStart.values()];
    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(cli.child.pid);
    if (hasProc) for (const pid of pids) expect(parentOf(pid)).toBe(cli.child.pid);

    // gRPC on the shared port, over a new channel each time.
    for (let i = 0; i < 4; i++) {
      const client = grpcClient(grpcPort);
      try {
        expect(await client.call("ServerReady")).toMatchObject({ ready: true });
        expect(await client.call("ModelReady", { name: "iris" })).toMatchObject({ ready: true });
      } finally {
        client.close();
      }
    }
  });

  it("an unload through the repository API reaches every worker, and a load brings the model back on all", async () => {
    const readiness = async () => Promise.all(Array.from({ length: 6 }, () => fresh(`${url}/v2/models/iris/ready`).then((r) => r.status)));

    const unload = await fresh(`${url}/v2/repository/models/iris/unload`, {});
    expect(unload.status, unload.text).toBe(200);
    // The worker that did not take the call applies it: it logs so, under its own id.
    await until("the other worker to apply the unload", () =>
      logLines(cli).some((l) => typeof l.msg === "string" && /^applied the unload of iris made on worker (\d)$/.test(l.msg) && l.msg.endsWith(` ${3 - Number(l.worker)}`)),
    );
    // New connections alternate between the workers: not one of them still serves iris.
    for (const status of await readiness()) expect(status).not.toBe(200);
    const refused = await predict(url);
    expect(refused.status).not.toBe(200);

    const load = await fresh(`${url}/v2/repository/models/iris/load`, {});
    expect(load.status, load.text).toBe(200);
    await until("the other worker to apply the load", () =>
      logLines(cli).some((l) => typeof l.msg === "string" && /^applied the load of iris made on worker \d$/.test(l.msg)),
    );
    for (const status of await readiness()) expect(status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await predict(url)).status).toBe(200);
  }, 90_000);

  it("a worker killed with SIGKILL is logged and replaced while the other keeps serving", async () => {
    const victim = workerPidsAtStart.get("2")!;
    process.kill(victim, "SIGKILL");
    await until("the primary to log the death", () => cli.output().includes(`worker 2 (pid ${victim}) was killed by SIGKILL; restarting`));

    // Until the replacement listens, every new connection goes to worker 1.
    const replaced = () => /"msg":"worker 2 \(pid \d+\) is listening"/.test(cli.output());
    const statuses: number[] = [];
    const deadline = Date.now() + 45_000;
    while (!replaced() && Date.now() < deadline) {
      statuses.push((await predict(url)).status);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(replaced(), cli.output()).toBe(true);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200), statuses.join(",")).toBe(true);

    const pids = workerPids((await metrics(url)).text);
    expect(pids.get("1")).toBe(workerPidsAtStart.get("1"));
    expect(pids.get("2")).toBeDefined();
    expect(pids.get("2")).not.toBe(victim);
    expect(alive(victim)).toBe(false);
    for (let i = 0; i < 6; i++) expect((await predict(url)).status).toBe(200);
  }, 90_000);

  it("SIGTERM to the primary drains every worker and exits 0; no process is left", async () => {
    const pids = [...workerPids((await metrics(url)).text).values()];
    expect(pids).toHaveLength(2);
    expect(await stopCli(cli.child)).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(cli.output()).toContain("all workers stopped");
  }, 60_000);
});

describe("tserve serve --workers", () => {
  it("--workers 1 (the default) serves in one process: no cluster, no worker id", async () => {
    const cli = await startCli(["serve", IRIS_REPO, "--workers", "1"], await freePort(), { env: ENV, readyOutput: "listening on" });
    try {
      expect((await predict(cli.url)).status).toBe(200);
      const m = await metrics(cli.url);
      expect(m.headers["x-tserve-worker"]).toBeUndefined();
      expect(m.text).not.toContain("tserve_worker_info");
      expect(sample(m.text, "request_success_total", { model_name: "iris", model_version: "1" })).toBe(1);
      if (hasProc) expect(childrenOf(cli.child.pid!)).toEqual([]);
      expect(cli.output()).not.toContain("workers listening");
      expect(logLines(cli).filter((l) => "worker" in l)).toEqual([]);
    } finally {
      expect(await stopCli(cli.child)).toBe(0);
    }
  });

  it("--workers takes a whole number >= 1 or auto (TSERVE_WORKERS too); anything else exits 2", async () => {
    expect(parseWorkers("auto")).toBe(availableParallelism());
    expect(parseWorkers("AUTO")).toBe(availableParallelism());
    expect(parseWorkers("3")).toBe(3);
    const [zero, word, env, missing] = await Promise.all([
      runCli(["serve", IRIS_REPO, "--workers", "0"], { env: ENV }),
      runCli(["serve", IRIS_REPO, "--workers", "1.5"], { env: ENV }),
      runCli(["serve", IRIS_REPO], { env: { ...ENV, TSERVE_WORKERS: "two" } }),
      runCli(["serve", "no/such/models", "--workers", "2"], { env: ENV }),
    ]);
    expect(zero).toMatchObject({ code: 2, stderr: "tserve: --workers must be a whole number >= 1 or auto (one per CPU core), got '0'\n" });
    expect(word.code).toBe(2);
    expect(word.stderr).toContain("got '1.5'");
    expect(env.code).toBe(2);
    expect(env.stderr).toContain("got 'two'");
    // Checked by the primary before it forks anything.
    expect(missing).toMatchObject({ code: 2, stderr: "tserve: no/such/models does not exist\n" });
  });

  it("a worker that cannot start stops the command with its exit code", async () => {
    const port = await freePort();
    const taken = await startCli(["serve", IRIS_REPO, "--enable_grpc", "false"], port, { env: ENV });
    try {
      const r = await runCli(["serve", IRIS_REPO, "--workers", "2", "--http_port", String(port), "--host", "127.0.0.1", "--enable_grpc", "false"], {
        env: ENV,
        timeoutMs: 60_000,
      });
      expect(r.code, r.output).toBe(1);
      expect(r.output).toContain("address already in use");
      expect(r.output).toMatch(/worker \d \(pid \d+\) exited with code 1 while starting/);
    } finally {
      await stopCli(taken.child);
    }
  }, 90_000);
});
