import cluster, { type Worker } from "node:cluster";
import { type Aggregator, AggregatorRegistry } from "prom-client";
import type { Logger } from "./logger.ts";
import { type MetricsJson, type PrimaryMessage, WORKER_ID_ENV, type WorkerMessage } from "./worker-link.ts";

/**
 * `tserve serve --workers N`: the primary process forks N workers (node:cluster) that each run the normal serve
 * path and share the HTTP and gRPC ports; the primary serves nothing. It replaces a worker that dies (backing off,
 * and giving up on a crash loop), passes model changes made on one worker to the others, sums every worker's
 * metrics for GET /metrics, and on SIGTERM/SIGINT drains them all. worker-link.ts is the workers' side.
 */

export interface WorkerPoolOptions {
  /** How many workers (slots 1…N; a replacement keeps its slot). */
  workers: number;
  /** The script each worker runs and its arguments: the primary's own command line, the admin token removed. */
  exec: string;
  args: readonly string[];
  execArgv?: readonly string[];
  /** Added to each worker's environment (the admin token, as TSERVE_ADMIN_TOKEN). */
  env?: Readonly<Record<string, string>>;
  /** `--grace_period`: how long each worker drains on stop; past it plus 15 s the primary kills the stragglers. */
  gracePeriodMs: number;
  logger: Logger;
  /** Stop replacing dead workers once this many died within windowMs (default: 5 within 60 s). */
  restartLimit?: { failures: number; windowMs: number };
  /** How long one worker may take to hand over its metrics for GET /metrics (default 5 s, as prom-client's). */
  collectTimeoutMs?: number;
}

/** A worker failed before every worker was listening: the command exits with its code. */
export class WorkerStartError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.name = "WorkerStartError";
    this.exitCode = exitCode;
  }
}

interface Slot {
  id: number;
  worker?: Worker;
  pid?: number;
  ready: boolean;
  /** The change sequence number when it was forked: later changes are replayed to it once it listens. */
  forkSeq: number;
  restartTimer?: NodeJS.Timeout;
}

interface Collect {
  worker: Worker;
  resolve(v: { metrics: MetricsJson; seldon: string } | undefined): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** Metrics whose sum over workers means nothing: how they are combined instead (prom-client's own defaults aside). */
const CLUSTER_AGGREGATORS: Readonly<Record<string, Aggregator>> = {
  model_load_duration_seconds: "max", // the slowest worker's last load
};

const DEFAULT_RESTART_LIMIT = { failures: 5, windowMs: 60_000 };
/** Beyond the grace period, how long the primary waits for workers to exit before killing them (as the single process's backstop). */
const BACKSTOP_MS = 15_000;

export class WorkerPool {
  private readonly options: WorkerPoolOptions;
  private readonly slots: Slot[];
  private readonly logger: Logger;
  private started = false;
  private stopping = false;
  private stopSignal?: NodeJS.Signals;
  private readonly unclean: string[] = [];
  private startWaiter?: { resolve(v: { httpPort: number; grpcPort?: number }): void; reject(e: Error): void };
  private stopWaiters: (() => void)[] = [];
  private ports?: { httpPort: number; grpcPort?: number };
  /** Times of recent unexpected exits (the crash-loop guard). */
  private failures: number[] = [];
  /** The last change of each model made through any worker's API, and its sequence number. */
  private readonly changes = new Map<string, { action: "load" | "unload" | "install"; seq: number; from: number }>();
  private changeSeq = 0;
  private collectSeq = 0;
  private readonly collects = new Map<string, Collect>();
  /** Called when no worker is left (every slot given up on): the command exits 1. */
  onExhausted?: () => void;

  constructor(options: WorkerPoolOptions) {
    if (!Number.isSafeInteger(options.workers) || options.workers < 1) throw new RangeError(`workers must be a whole number >= 1, got ${options.workers}`);
    this.options = options;
    this.logger = options.logger;
    this.slots = Array.from({ length: options.workers }, (_, i) => ({ id: i + 1, ready: false, forkSeq: 0 }));
  }

  get size(): number {
    return this.slots.length;
  }

  /** The workers' pids by slot (a slot being restarted has none). */
  pids(): Map<number, number | undefined> {
    return new Map(this.slots.map((s) => [s.id, s.worker ? s.pid : undefined]));
  }

  /** Forks every worker; resolves with the ports once all listen, rejects (WorkerStartError) if one exits first. */
  start(): Promise<{ httpPort: number; grpcPort?: number }> {
    if (!cluster.isPrimary) throw new Error("--workers: only the primary process forks workers");
    cluster.setupPrimary({
      exec: this.options.exec,
      args: [...this.options.args],
      execArgv: [...(this.options.execArgv ?? process.execArgv)],
      // Structured clone: metrics values may be Infinity or NaN.
      serialization: "advanced",
    });
    const ready = new Promise<{ httpPort: number; grpcPort?: number }>((resolve, reject) => (this.startWaiter = { resolve, reject }));
    for (const slot of this.slots) this.fork(slot);
    return ready;
  }

  /**
   * Sends `signal` to every worker (each drains within the grace period and exits), stops replacing them and
   * resolves once all have exited: true when each exited 0 (or, still starting, of the signal itself).
   */
  stop(signal: NodeJS.Signals = "SIGTERM"): Promise<boolean> {
    if (!this.stopping) {
      this.stopping = true;
      this.stopSignal = signal;
      for (const slot of this.slots) {
        clearTimeout(slot.restartTimer);
        slot.restartTimer = undefined;
        if (slot.worker) this.signal(slot.worker, signal);
      }
      this.startWaiter?.reject(new WorkerStartError(`stopped by ${signal} while the workers were starting`, 0));
      this.startWaiter = undefined;
    }
    return new Promise<void>((resolve) => {
      if (this.slots.every((s) => !s.worker)) resolve();
      else this.stopWaiters.push(resolve);
    }).then(() => this.unclean.length === 0);
  }

  /** Kills every worker still running (SIGKILL): the backstop. */
  kill(): void {
    for (const slot of this.slots) if (slot.worker) this.signal(slot.worker, "SIGKILL");
  }

  /** Why stop() was not clean: one line per worker that exited otherwise. */
  get uncleanExits(): readonly string[] {
    return this.unclean;
  }

  private signal(worker: Worker, signal: NodeJS.Signals): void {
    try {
      worker.process.kill(signal);
    } catch {
      // already gone
    }
  }

  private fork(slot: Slot): void {
    const worker = cluster.fork({ ...this.options.env, [WORKER_ID_ENV]: String(slot.id) });
    slot.worker = worker;
    slot.pid = worker.process.pid;
    slot.ready = false;
    slot.forkSeq = this.changeSeq;
    this.logger.log("info", `worker ${slot.id} started (pid ${slot.pid})`);
    worker.on("message", (message: WorkerMessage) => this.received(slot, worker, message));
    worker.on("exit", (code: number | null, signal: NodeJS.Signals | null) => this.exited(slot, worker, code, signal));
    // An IPC error (the worker died mid-message) is followed by its exit; nothing more to do here.
    worker.on("error", (err) => this.logger.log("debug", `worker ${slot.id} (pid ${slot.pid}): ${err.message}`));
  }

  private send(worker: Worker, message: PrimaryMessage): void {
    if (!worker.isConnected()) return;
    worker.send(message, undefined, undefined, (err: Error | null) => {
      if (err) this.logger.log("debug", `could not reach worker pid ${worker.process.pid}: ${err.message}`);
    });
  }

  private received(slot: Slot, worker: Worker, message: WorkerMessage): void {
    if (typeof message !== "object" || message === null || slot.worker !== worker) return;
    switch (message.tserve) {
      case "listening":
        this.listening(slot, message.httpPort, message.grpcPort);
        return;
      case "change":
        this.fanOut(slot, message.action, message.name);
        return;
      case "metrics":
        this.gather().then(
          (r) => this.send(worker, { tserve: "metrics", id: message.id, ...r }),
          (err: Error) => this.send(worker, { tserve: "metrics", id: message.id, error: err.message }),
        );
        return;
      case "collected": {
        const key = `${message.id}:${worker.id}`;
        const pending = this.collects.get(key);
        if (!pending) return;
        this.collects.delete(key);
        clearTimeout(pending.timer);
        if ("error" in message) pending.reject(new Error(`worker ${slot.id}: ${message.error}`));
        else pending.resolve({ metrics: message.metrics, seldon: message.seldon });
        return;
      }
    }
  }

  private listening(slot: Slot, httpPort: number, grpcPort: number | undefined): void {
    slot.ready = true;
    this.ports ??= { httpPort, grpcPort };
    // Changes made elsewhere since this worker was forked (and unloads, which its start-up scan undid) reach it now.
    for (const [name, change] of this.changes) {
      if (change.action === "unload" || change.seq > slot.forkSeq) this.send(slot.worker!, { tserve: "apply", action: change.action, name, from: change.from });
    }
    if (this.started) {
      this.logger.log("info", `worker ${slot.id} (pid ${slot.pid}) is listening`);
      return;
    }
    if (this.slots.every((s) => s.ready)) {
      this.started = true;
      this.startWaiter?.resolve(this.ports);
      this.startWaiter = undefined;
    }
  }

  /** A load, unload or upload made on one worker's API: the others apply it too (they never pass it on again). */
  private fanOut(from: Slot, action: "load" | "unload" | "install", name: string): void {
    if (this.stopping) return;
    this.changes.set(name, { action, seq: ++this.changeSeq, from: from.id });
    for (const slot of this.slots) {
      if (slot !== from && slot.worker && slot.ready) this.send(slot.worker, { tserve: "apply", action, name, from: from.id });
    }
  }

  private exited(slot: Slot, worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    slot.ready = false;
    for (const [key, pending] of this.collects) {
      if (pending.worker !== worker) continue;
      this.collects.delete(key);
      clearTimeout(pending.timer);
      pending.resolve(undefined);
    }
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const who = `worker ${slot.id} (pid ${slot.pid})`;
    if (this.stopping) {
      const clean = code === 0 || (signal !== null && signal === this.stopSignal);
      if (!clean) {
        this.unclean.push(`${who} ${how}`);
        this.logger.log("warn", `${who} ${how} while stopping`);
      }
      if (this.slots.every((s) => !s.worker)) {
        for (const resolve of this.stopWaiters.splice(0)) resolve();
      }
      return;
    }
    if (!this.started) {
      this.logger.log("error", `${who} ${how} while starting; stopping the others`);
      this.startWaiter?.reject(new WorkerStartError(`${who} ${how} while starting`, code || 1));
      this.startWaiter = undefined;
      return;
    }
    const { failures: limit, windowMs } = this.options.restartLimit ?? DEFAULT_RESTART_LIMIT;
    const now = Date.now();
    this.failures = this.failures.filter((t) => now - t < windowMs);
    this.failures.push(now);
    const n = this.failures.length;
    if (n >= limit) {
      const left = this.slots.filter((s) => s.worker || s.restartTimer).length;
      this.logger.log(
        "error",
        `${who} ${how}; ${n} workers died within ${windowMs / 1000} s, so it is not restarted (${left} of ${this.slots.length} workers left)`,
      );
      if (left === 0) this.onExhausted?.();
      return;
    }
    // Back off when workers keep dying: 0, 1, 2, 4… s (at most 15 s) by how many died within the window.
    const delay = n <= 1 ? 0 : Math.min(1000 * 2 ** (n - 2), 15_000);
    this.logger.log("error", `${who} ${how}; restarting${delay > 0 ? ` in ${delay / 1000} s` : ""}`);
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (!this.stopping) this.fork(slot);
    }, delay);
  }

  /** Every listening worker's metrics, summed (prom-client's AggregatorRegistry), then their Seldon metrics merged. */
  private async gather(): Promise<{ body: string; contentType: string }> {
    const id = ++this.collectSeq;
    const targets = this.slots.filter((s) => s.worker && s.ready && s.worker.isConnected());
    const results = (await Promise.all(targets.map((s) => this.collect(s, id)))).filter((r) => r !== undefined);
    const registry = AggregatorRegistry.aggregate(results.map((r) => r.metrics.map(withClusterAggregator)));
    const own = await registry.metrics();
    const seldon = mergeExpositions(results.map((r) => r.seldon));
    return { body: seldon ? `${own.endsWith("\n") ? own : `${own}\n`}${seldon}` : own, contentType: registry.contentType };
  }

  private collect(slot: Slot, id: number): Promise<{ metrics: MetricsJson; seldon: string } | undefined> {
    const worker = slot.worker!;
    const timeoutMs = this.options.collectTimeoutMs ?? 5_000;
    return new Promise((resolve, reject) => {
      const key = `${id}:${worker.id}`;
      const timer = setTimeout(() => {
        this.collects.delete(key);
        reject(new Error(`worker ${slot.id} (pid ${slot.pid}) did not hand over its metrics within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.collects.set(key, { worker, resolve, reject, timer });
      this.send(worker, { tserve: "collect", id });
    });
  }
}

function withClusterAggregator(metric: MetricsJson[number]): MetricsJson[number] {
  const aggregator = CLUSTER_AGGREGATORS[metric.name];
  return aggregator ? { ...metric, aggregator } : metric;
}

/**
 * Merges Prometheus text expositions (the workers' Seldon custom metrics) into one: one HELP and TYPE block per
 * family, a series present in several summed (a gauge: the last one kept). Series carry the worker's pid
 * (`worker_id`), so they rarely meet.
 */
export function mergeExpositions(texts: readonly string[]): string {
  const families = new Map<string, { help?: string; type?: string; samples: Map<string, number> }>();
  for (const text of texts) {
    let family: { help?: string; type?: string; samples: Map<string, number> } | undefined;
    for (const line of text.split("\n")) {
      if (line === "") continue;
      const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (meta) {
        family = families.get(meta[2]);
        if (!family) families.set(meta[2], (family = { samples: new Map() }));
        if (meta[1] === "HELP") family.help ??= line;
        else family.type ??= meta[3];
        continue;
      }
      if (line.startsWith("#") || !family) continue;
      const cut = line.lastIndexOf(" ");
      const series = line.slice(0, cut);
      const value = parseValue(line.slice(cut + 1));
      const before = family.samples.get(series);
      family.samples.set(series, before === undefined || family.type === "gauge" ? value : before + value);
    }
  }
  let out = "";
  for (const [name, family] of families) {
    if (family.help) out += `${family.help}\n`;
    if (family.type) out += `# TYPE ${name} ${family.type}\n`;
    for (const [series, value] of family.samples) out += `${series} ${formatValue(value)}\n`;
  }
  return out;
}

function parseValue(text: string): number {
  return text === "+Inf" ? Infinity : text === "-Inf" ? -Infinity : Number(text);
}

function formatValue(v: number): string {
  return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
}

export interface SuperviseOptions extends WorkerPoolOptions {
  /** For the readiness line: `tserve: 2 workers listening on http://HOST:PORT and grpc PORT`. */
  host: string;
}

/**
 * Runs the pool as the `tserve serve --workers N` command: forks the workers, prints one line once all listen,
 * and on SIGINT/SIGTERM/SIGQUIT forwards the signal, waits for every worker to drain and exit, then exits 0
 * (1 when one did not exit cleanly). A second signal, or the workers still running past the grace period plus
 * 15 s, kills them (SIGKILL) and exits 1. Rejects with WorkerStartError when a worker fails while starting.
 */
export async function superviseWorkers(options: SuperviseOptions): Promise<WorkerPool> {
  const { logger } = options;
  const pool = new WorkerPool(options);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.log("warn", `received ${signal} again; killing the workers`);
      pool.kill();
      process.exit(1);
    }
    stopping = true;
    logger.log("info", `received ${signal}; stopping ${pool.size} workers (grace period ${options.gracePeriodMs / 1000} s)`);
    setTimeout(() => {
      logger.log("error", "workers still running well past the grace period; killing them");
      pool.kill();
      process.exit(1);
    }, options.gracePeriodMs + BACKSTOP_MS).unref();
    pool.stop(signal).then((clean) => {
      if (clean) logger.log("info", "all workers stopped");
      else logger.log("error", `not every worker stopped cleanly: ${pool.uncleanExits.join("; ")}`);
      process.exit(clean ? 0 : 1);
    });
  };
  const handlers = (["SIGINT", "SIGTERM", "SIGQUIT"] as const).map((s) => {
    const handler = () => stop(s);
    process.on(s, handler);
    return [s, handler] as const;
  });
  pool.onExhausted = () => {
    logger.log("error", "no workers left; exiting");
    process.exit(1);
  };
  let ports: { httpPort: number; grpcPort?: number };
  try {
    ports = await pool.start();
  } catch (err) {
    if (stopping) return new Promise<never>(() => {}); // the signal handler exits
    for (const [s, handler] of handlers) process.off(s, handler);
    await pool.stop("SIGTERM");
    throw err;
  }
  logger.log(
    "info",
    `tserve: ${pool.size} workers listening on http://${options.host}:${ports.httpPort}${ports.grpcPort !== undefined ? ` and grpc ${ports.grpcPort}` : ""}`,
  );
  return pool;
}
