/** The execution engine: adaptive batching around a model's run (threads and worker pools will join it here). */
export { Batcher, type BatchingOptions, type BatchObserver, type RunBatch } from "./batcher.ts";
export { concatRows, describeRequest, splitRows } from "./concat.ts";
export { eventLoopBusy } from "./loop-load.ts";
export { runInSlices } from "./steps.ts";
