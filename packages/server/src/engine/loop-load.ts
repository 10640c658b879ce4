import { performance } from "node:perf_hooks";

/**
 * How busy the event loop has been lately: its utilisation (the share of time it was running JavaScript or
 * native callbacks rather than waiting) over the last sampling window, from Node's own counters. Sampled by one
 * unref'd timer, so asking costs a property read.
 */
const WINDOW_MS = 50;
/** Above this utilisation the loop is saturated: work that can leave it (a model run) should. */
const BUSY_UTILISATION = 0.75;

let last = performance.eventLoopUtilization();
let utilisation = 0;
let timer: NodeJS.Timeout | undefined;

function sample(): void {
  const now = performance.eventLoopUtilization();
  utilisation = performance.eventLoopUtilization(now, last).utilization;
  last = now;
}

/** True while the event loop is saturated (utilisation over the last ~50 ms above 75 %). */
export function eventLoopBusy(): boolean {
  if (!timer) {
    timer = setInterval(sample, WINDOW_MS);
    timer.unref();
  }
  return utilisation > BUSY_UTILISATION;
}
