import cluster from "node:cluster";
import { Gauge, type Registry } from "prom-client";
import { ModelBusy, ModelNotFound } from "../errors/index.ts";
import type { DataPlane, ModelChangeEvent } from "../model/index.ts";
import { createLogger, type LogLevel, type PinoLogger } from "./logger.ts";
import type { ServerMetrics } from "./metrics.ts";

/**
 * A `tserve serve --workers N` worker's side of the cluster (server/workers.ts is the primary's): it tells the
 * primary when it listens, passes the models it loads, unloads or installs through its DataPlane on to the others,
 * applies theirs, answers the primary's metrics collections and asks it for the cluster's sum on GET /metrics.
 */

/** Set by the primary in each worker's environment: its slot, 1…N (a replacement keeps the slot of the one it replaces). */
export const WORKER_ID_ENV = "TSERVE_WORKER_ID";

/** One registry's metrics as prom-client's `getMetricsAsJSON()` gives them. */
export type MetricsJson = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

/** What a worker sends the primary. */
export type WorkerMessage =
  | { tserve: "listening"; httpPort: number; grpcPort?: number }
  | { tserve: "change"; action: ModelChangeEvent["action"]; name: string }
  | { tserve: "metrics"; id: number }
  | { tserve: "collected"; id: number; metrics: MetricsJson; seldon: string }
  | { tserve: "collected"; id: number; error: string };

/** What the primary sends a worker. */
export type PrimaryMessage =
  | { tserve: "apply"; action: ModelChangeEvent["action"]; name: string; from: number }
  | { tserve: "collect"; id: number }
  | { tserve: "metrics"; id: number; body: string; contentType: string }
  | { tserve: "metrics"; id: number; error: string };

/** The worker id when this process is a worker of `tserve serve --workers N`; undefined otherwise (another cluster's worker too). */
export function clusterWorkerId(): number | undefined {
  const id = Number(process.env[WORKER_ID_ENV]);
  return cluster.isWorker && process.send && Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/** The server's default logger with the worker id on every line (`"worker":2` in JSON, `worker=2` in text). */
export function workerLogger(id: number, level?: LogLevel): PinoLogger {
  const base = createLogger({ level });
  const child = base.pino.child({ worker: id });
  return { pino: child, level: base.level, log: (l, message) => child[l](message) };
}

/** What the link needs of the worker's ModelServer. */
export interface LinkedServer {
  dataplane: DataPlane;
  metrics: ServerMetrics;
  logger: { log(level: LogLevel, message: string): void };
}

/** How long GET /metrics waits for the primary's sum (the primary itself gives each worker 5 s). */
const METRICS_TIMEOUT_MS = 10_000;
/** A change received while the model is busy with another (an upload here) is tried again this often. */
const BUSY_RETRIES = 20;
const BUSY_RETRY_MS = 250;

/** Each worker's slot and pid, so /metrics shows which processes it sums. */
const WORKER_INFO = "tserve_worker_info";

let current: WorkerLink | undefined;

/** This worker's link to the primary, once connectWorker() made it; undefined outside a `--workers` cluster. */
export function workerLink(): WorkerLink | undefined {
  return current;
}

/** Links this worker's server to the primary (call before start(), then `listening()` once it listens). */
export function connectWorker(id: number, server: LinkedServer): WorkerLink {
  current?.close();
  current = new WorkerLink(id, server);
  return current;
}

export class WorkerLink {
  readonly id: number;
  private readonly server: LinkedServer;
  /** Changes being applied from another worker, by `action:name`: their own change events are not sent back. */
  private readonly applying = new Map<string, number>();
  /** Received changes are applied one at a time, in the order the primary sent them. */
  private queue: Promise<void> = Promise.resolve();
  private readonly pending = new Map<number, { resolve(v: { body: string; contentType: string }): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  private nextId = 0;
  private readonly unsubscribe: () => void;
  private readonly onMessage = (message: unknown) => this.receive(message as PrimaryMessage);

  constructor(id: number, server: LinkedServer) {
    this.id = id;
    this.server = server;
    this.unsubscribe = server.dataplane.onModelChange((change) => this.changed(change));
    process.on("message", this.onMessage);
    const registry = server.metrics.registry;
    const info =
      (registry.getSingleMetric(WORKER_INFO) as Gauge<"worker" | "pid"> | undefined) ??
      new Gauge({
        name: WORKER_INFO,
        help: "One series per worker process of tserve serve --workers N (its slot and pid); the value is 1",
        labelNames: ["worker", "pid"] as const,
        registers: [registry],
      });
    info.reset();
    info.labels(String(id), String(process.pid)).set(1);
  }

  /** Tells the primary this worker serves (its readiness line waits for every worker's). */
  listening(httpPort: number, grpcPort?: number): void {
    this.send({ tserve: "listening", httpPort, grpcPort });
  }

  /** The metrics of every worker, summed by the primary (prom-client's cluster aggregation), as /metrics text. */
  clusterMetrics(): Promise<{ body: string; contentType: string }> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the primary process did not answer within ${METRICS_TIMEOUT_MS / 1000} s`));
      }, METRICS_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      if (!this.send({ tserve: "metrics", id })) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new Error("the primary process is gone"));
      }
    });
  }

  close(): void {
    this.unsubscribe();
    process.off("message", this.onMessage);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error("the worker link was closed"));
    }
    this.pending.clear();
    if (current === this) current = undefined;
  }

  private send(message: WorkerMessage): boolean {
    if (!process.connected || !process.send) return false;
    process.send(message, undefined, undefined, (err: Error | null) => {
      if (err) this.server.logger.log("warn", `could not reach the primary process: ${err.message}`);
    });
    return true;
  }

  /** A change made here through the DataPlane goes to the primary, unless it is one this link is applying. */
  private changed(change: ModelChangeEvent): void {
    const key = `${change.action}:${change.name}`;
    const n = this.applying.get(key);
    if (n !== undefined) {
      if (n <= 1) this.applying.delete(key);
      else this.applying.set(key, n - 1);
      return;
    }
    this.send({ tserve: "change", action: change.action, name: change.name });
  }

  private receive(message: PrimaryMessage): void {
    if (typeof message !== "object" || message === null) return;
    switch (message.tserve) {
      case "apply":
        this.queue = this.queue.then(() => this.apply(message));
        return;
      case "collect":
        void this.collect(message.id);
        return;
      case "metrics": {
        const p = this.pending.get(message.id);
        if (!p) return;
        this.pending.delete(message.id);
        clearTimeout(p.timer);
        if ("error" in message) p.reject(new Error(message.error));
        else p.resolve({ body: message.body, contentType: message.contentType });
        return;
      }
    }
  }

  private async collect(id: number): Promise<void> {
    try {
      const metrics = await this.server.metrics.registry.getMetricsAsJSON();
      this.send({ tserve: "collected", id, metrics, seldon: this.server.metrics.seldon.render() });
    } catch (err) {
      this.send({ tserve: "collected", id, error: (err as Error).message });
    }
  }

  /** Loads (the files of a load or an install are already on disk) or unloads a model another worker changed. */
  private async apply(change: { action: ModelChangeEvent["action"]; name: string; from: number }): Promise<void> {
    const { dataplane, logger } = this.server;
    const action = change.action === "unload" ? "unload" : "load";
    const what = `the ${change.action} of ${change.name} made on worker ${change.from}`;
    for (let attempt = 1; ; attempt++) {
      const key = `${action}:${change.name}`;
      this.applying.set(key, (this.applying.get(key) ?? 0) + 1);
      try {
        await (action === "unload" ? dataplane.unload(change.name) : dataplane.load(change.name));
        logger.log("info", `applied ${what}`);
        return;
      } catch (err) {
        // It failed: no change event will consume the mark.
        const n = this.applying.get(key) ?? 0;
        if (n <= 1) this.applying.delete(key);
        else this.applying.set(key, n - 1);
        if (err instanceof ModelBusy && attempt < BUSY_RETRIES) {
          await new Promise((r) => setTimeout(r, BUSY_RETRY_MS));
          continue;
        }
        if (action === "unload" && err instanceof ModelNotFound) {
          logger.log("debug", `${what}: not served here, nothing to unload`);
          return;
        }
        logger.log("error", `could not apply ${what}: ${(err as Error).message}`);
        return;
      }
    }
  }
}
