/**
 * The engine stage's second load generator: a low-rate poller of one URL (GET /v2/health/live), in its own
 * process so that the harness' autocannon, which saturates the harness' event loop, does not delay it.
 *
 * Forked by bench/engine.ts with an IPC channel (node --import tsx bench/engine-probe.ts). Messages in:
 *   { type: "start", url, intervalMs }  — poll `url`, one request at a time on one keep-alive connection, a new one
 *                                          `intervalMs` after the previous one started (at once if it took longer);
 *   { type: "stop" }                    — stop issuing, wait for the request in flight (a stalled one is the sample
 *                                          that matters most), answer { type: "result", samples, errors }.
 * Out: { type: "ready" } once, then one "result" per start/stop. Each sample is [startEpochMs, latencyMs, status];
 * epoch times (performance.timeOrigin + performance.now()) let the harness pick the samples inside a window.
 * The process exits when the harness disconnects.
 */
import { Agent, request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";

export type ProbeSample = [startEpochMs: number, latencyMs: number, status: number];

export type ProbeCommand = { type: "start"; url: string; intervalMs: number } | { type: "stop" };
export type ProbeMessage =
  | { type: "ready" }
  | { type: "result"; samples: ProbeSample[]; errors: string[] }
  | { type: "error"; message: string };

const REQUEST_TIMEOUT_MS = 120_000;

function now(): number {
  return performance.timeOrigin + performance.now();
}

function get(url: URL, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "GET", agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on("error", reject);
    req.end();
  });
}

let running: { stop: boolean; done: Promise<{ samples: ProbeSample[]; errors: string[] }> } | undefined;

async function poll(url: URL, intervalMs: number, state: { stop: boolean }) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const samples: ProbeSample[] = [];
  const errors: string[] = [];
  try {
    while (!state.stop) {
      const started = now();
      const t0 = performance.now();
      try {
        const status = await get(url, agent);
        samples.push([started, performance.now() - t0, status]);
      } catch (err) {
        if (errors.length < 20) errors.push((err as Error).message);
        samples.push([started, performance.now() - t0, 0]);
      }
      const wait = intervalMs - (performance.now() - t0);
      if (wait > 0 && !state.stop) await sleep(wait);
    }
  } finally {
    agent.destroy();
  }
  return { samples, errors };
}

function reply(message: ProbeMessage): void {
  process.send?.(message);
}

process.on("message", (message: ProbeCommand) => {
  if (message.type === "start") {
    if (running) {
      reply({ type: "error", message: "already polling" });
      return;
    }
    const state = { stop: false };
    running = Object.assign(state, { done: poll(new URL(message.url), message.intervalMs, state) });
  } else if (message.type === "stop") {
    const current = running;
    if (!current) {
      reply({ type: "error", message: "not polling" });
      return;
    }
    current.stop = true;
    void current.done.then(
      (result) => {
        running = undefined;
        reply({ type: "result", ...result });
      },
      (err: unknown) => {
        running = undefined;
        reply({ type: "error", message: String(err) });
      },
    );
  }
});
process.on("disconnect", () => process.exit(0));
reply({ type: "ready" });
