/**
 * Adaptive (dynamic) batching with Triton's dynamic-batcher semantics: requests queue, compatible ones are
 * merged along the first dimension into one run of the model, and each caller gets exactly its own rows back.
 * Pure engine code: it knows tensors and errors, not runtimes, HTTP or models.
 */
import { ModelNotReady, Overloaded } from "../errors/index.ts";
import type { Tensor } from "../tensor/index.ts";
import { concatRows, describeRequest, outputsFor, splitRows, tensorNamed } from "./concat.ts";

export interface BatchingOptions {
  /** The most rows (first-dimension entries) in one run; >= 1. A request with more rows runs alone. */
  maxBatchSize: number;
  /** A batch is sent as soon as its rows reach one of these (each 1..maxBatchSize). */
  preferredBatchSizes?: readonly number[];
  /** How long the oldest queued request may wait for others to join its batch (default 0: dispatch at once). */
  maxQueueDelayMicroseconds?: number;
  /** The most requests waiting (not yet running); beyond it submit() rejects with Overloaded. 0 or absent: no limit. */
  maxQueueSize?: number;
  /** Batches running at once (default 1); while all are busy, requests queue and the next batch grows. */
  maxConcurrentRuns?: number;
  /** The model's name, for error messages (Overloaded, ModelNotReady after close()). */
  name?: string;
}

/** Runs the model once; returns the outputs in the order of `outputNames` (all outputs when it is empty). */
export type RunBatch = (inputs: Tensor[], outputNames: readonly string[]) => Promise<Tensor[]> | Tensor[];

/** Metrics hooks; each call is guarded, so an observer that throws never breaks batching. */
export interface BatchObserver {
  /** One run of the model: how many rows and how many requests it carried. */
  batch(rows: number, requests: number): void;
  /** One request's time in the queue, reported when its batch starts. */
  queueWait(seconds: number): void;
  /** The number of waiting requests, whenever it changes. */
  depth(queued: number): void;
}

/** One waiting request. */
interface Pending {
  readonly inputs: Tensor[];
  readonly outputNames: readonly string[];
  /** First-dimension entries (1 for a request that cannot be batched and has no first dimension). */
  readonly rows: number;
  /** Requests with equal keys may share a run; undefined: this one always runs alone. */
  readonly key: string | undefined;
  /** performance.now() at submit, in ms. */
  readonly enqueuedAt: number;
  readonly resolve: (outputs: Tensor[]) => void;
  readonly reject: (err: unknown) => void;
  /** Told when its batch starts (tracing's queue-wait span): how many requests and rows the batch holds. */
  readonly onDispatch?: (requests: number, rows: number) => void;
}

function checkInteger(value: number, what: string, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`Batching option ${what} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

function guard(call: () => void): void {
  try {
    call();
  } catch {
    // Metrics must never break serving.
  }
}

export class Batcher {
  private readonly run: RunBatch;
  private readonly observer: BatchObserver | undefined;
  private readonly maxBatchSize: number;
  private readonly preferred: ReadonlySet<number>;
  /** The largest preferred size, or maxBatchSize without any: a batch this large never waits. */
  private readonly maxPreferred: number;
  private readonly delayMs: number;
  private readonly maxQueueSize: number;
  private readonly maxConcurrentRuns: number;
  private readonly name: string | undefined;

  private queue: Pending[] = [];
  private inFlight = 0;
  private closed = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerDeadline = 0;

  constructor(run: RunBatch, options: BatchingOptions, observer?: BatchObserver) {
    this.run = run;
    this.observer = observer;
    this.maxBatchSize = checkInteger(options.maxBatchSize, "maxBatchSize", 1);
    const preferred = [...(options.preferredBatchSizes ?? [])];
    for (const size of preferred) {
      checkInteger(size, "preferredBatchSizes", 1);
      if (size > this.maxBatchSize) {
        throw new RangeError(`Batching option preferredBatchSizes: ${size} is larger than maxBatchSize (${this.maxBatchSize})`);
      }
    }
    this.preferred = new Set(preferred);
    this.maxPreferred = preferred.length > 0 ? Math.max(...preferred) : this.maxBatchSize;
    const delay = options.maxQueueDelayMicroseconds ?? 0;
    if (!Number.isFinite(delay) || delay < 0) {
      throw new RangeError(`Batching option maxQueueDelayMicroseconds must be a number >= 0, got ${String(delay)}`);
    }
    this.delayMs = delay / 1000;
    const queueSize = options.maxQueueSize ?? 0;
    // Triton's max_queue_size: 0 means no limit.
    this.maxQueueSize = queueSize === Number.POSITIVE_INFINITY ? 0 : checkInteger(queueSize, "maxQueueSize", 0);
    this.maxConcurrentRuns = checkInteger(options.maxConcurrentRuns ?? 1, "maxConcurrentRuns", 1);
    this.name = options.name;
  }

  /** Requests waiting for a run. */
  get queued(): number {
    return this.queue.length;
  }

  /** Batches (runs of the model) in flight. */
  get running(): number {
    return this.inFlight;
  }

  /**
   * Queues one request and resolves with its outputs (in the order of `outputNames`) once the batch it joins has
   * run. Rejects at once with Overloaded when maxQueueSize requests are already waiting, and with ModelNotReady
   * after close().
   */
  submit(inputs: Tensor[], outputNames: readonly string[], onDispatch?: (requests: number, rows: number) => void): Promise<Tensor[]> {
    if (this.closed) return Promise.reject(this.closedError());
    if (this.maxQueueSize > 0 && this.queue.length >= this.maxQueueSize) {
      const model = this.name === undefined ? "The model's" : `Model ${this.name}'s`;
      return Promise.reject(
        new Overloaded(
          `${model} request queue is full (maxQueueSize ${this.maxQueueSize} requests waiting); ` +
            `try again later, or raise maxQueueSize.`,
        ),
      );
    }
    const { rows, key } = describeRequest(inputs, outputNames, this.maxBatchSize);
    return new Promise<Tensor[]>((resolve, reject) => {
      this.queue.push({ inputs, outputNames, rows, key, enqueuedAt: performance.now(), resolve, reject, onDispatch });
      this.reportDepth();
      this.schedule(false);
    });
  }

  /**
   * Stops taking requests: everything still queued is rejected with ModelNotReady (503), later submits too, and
   * no timer is left behind. Batches already running finish and answer their callers.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.disarm();
    const waiting = this.queue;
    this.queue = [];
    if (waiting.length > 0) this.reportDepth();
    for (const p of waiting) p.reject(this.closedError());
  }

  private closedError(): ModelNotReady {
    const reason = "Its request queue is closed (the model is unloading or the server is stopping).";
    const err = new ModelNotReady(this.name ?? "", reason);
    if (this.name === undefined) err.message = `The model is not ready. ${reason}`;
    return err;
  }

  /** Sends every batch that is due while run slots are free; otherwise arms the timer for the oldest request. */
  private schedule(timerFired: boolean): void {
    let expired = timerFired;
    while (!this.closed && this.inFlight < this.maxConcurrentRuns && this.queue.length > 0) {
      const batch = this.nextBatch(expired);
      if (batch === undefined) {
        this.arm(this.queue[0].enqueuedAt + this.delayMs);
        return;
      }
      this.dispatch(batch);
      expired = false; // the timer was for the old head; the next one goes by the clock
    }
    this.disarm(); // no free slot (a finishing run reschedules) or nothing queued
  }

  /**
   * Triton's GetDynamicBatch, with incompatible requests skipped instead of ending the batch: the head request
   * always goes first, and compatible ones follow in arrival order while they fit in maxBatchSize. Returns the
   * batch to send now, or undefined to wait for more company until the head's queue delay runs out.
   */
  private nextBatch(timerFired: boolean): Pending[] | undefined {
    const queue = this.queue;
    const head = queue[0];
    if (head.key === undefined) return [head];
    const expired = timerFired || performance.now() - head.enqueuedAt >= this.delayMs;
    const batch = [head];
    let rows = head.rows;
    let full = rows >= this.maxBatchSize;
    // How many requests form the best batch short of waiting: the largest preferred size reached, or (as Triton
    // does) what was pending when the next request would pass the largest preferred size.
    let cut = this.preferred.has(rows) ? 1 : 0;
    for (let i = 1; i < queue.length && !full; i++) {
      const p = queue[i];
      if (p.key !== head.key) continue;
      if (cut === 0 && rows + p.rows > this.maxPreferred) cut = batch.length;
      if (rows + p.rows > this.maxBatchSize) {
        full = true;
        break;
      }
      batch.push(p);
      rows += p.rows;
      if (this.preferred.has(rows)) cut = batch.length;
      if (rows >= this.maxBatchSize) full = true;
    }
    if (cut > 0 && !expired) return cut === batch.length ? batch : batch.slice(0, cut);
    if (full || expired || rows >= this.maxPreferred) return batch;
    return undefined;
  }

  private dispatch(batch: Pending[]): void {
    this.take(batch);
    this.inFlight++;
    const now = performance.now();
    let rows = 0;
    for (const p of batch) {
      rows += p.rows;
      const waited = (now - p.enqueuedAt) / 1000;
      if (this.observer) guard(() => this.observer!.queueWait(waited));
    }
    this.reportBatch(rows, batch.length);
    for (const p of batch) if (p.onDispatch) guard(() => p.onDispatch!(batch.length, rows));
    void this.execute(batch, rows);
  }

  /** Removes a batch from the queue: usually a prefix, otherwise a filter that keeps the skipped ones in order. */
  private take(batch: Pending[]): void {
    const queue = this.queue;
    let prefix = 0;
    while (prefix < batch.length && queue[prefix] === batch[prefix]) prefix++;
    if (prefix === batch.length) queue.splice(0, prefix);
    else {
      const chosen = new Set(batch);
      this.queue = queue.filter((p) => !chosen.has(p));
    }
    this.reportDepth();
  }

  /** Runs one batch; never rejects. */
  private async execute(batch: Pending[], rows: number): Promise<void> {
    try {
      if (batch.length === 1) {
        await this.runAlone(batch[0]);
        return;
      }
      const head = batch[0];
      let outputs: Tensor[];
      try {
        const inputs = head.inputs.map((t, j) =>
          concatRows(
            batch.map((p) => tensorNamed(p.inputs, t.name, j)),
            rows,
          ),
        );
        outputs = await this.run(inputs, head.outputNames);
        if (!Array.isArray(outputs)) throw new TypeError("the model returned no list of outputs");
      } catch {
        // One bad request must fail alone: each runs again by itself and gets its own answer or its own error.
        for (const p of batch) {
          this.reportBatch(p.rows, 1);
          await this.runAlone(p);
        }
        return;
      }
      let answers: Tensor[][];
      try {
        const counts = batch.map((p) => p.rows);
        const split = outputs.map((output) => splitRows(output, counts, rows));
        answers = batch.map((p, i) => outputsFor(split, head.outputNames, p.outputNames).map((k) => split[k][i]));
      } catch (err) {
        for (const p of batch) p.reject(err);
        return;
      }
      for (let i = 0; i < batch.length; i++) batch[i].resolve(answers[i]);
    } catch (err) {
      // Not expected (the steps above catch their own); answer everyone rather than leave a caller hanging.
      for (const p of batch) p.reject(err);
    } finally {
      this.inFlight--;
      this.schedule(false);
    }
  }

  /** A request's own run: its tensors pass to the model untouched, and its answer or error goes to it alone. */
  private async runAlone(p: Pending): Promise<void> {
    try {
      p.resolve(await this.run(p.inputs, p.outputNames));
    } catch (err) {
      p.reject(err);
    }
  }

  private arm(deadline: number): void {
    if (this.timer !== undefined && this.timerDeadline === deadline) return;
    this.disarm();
    this.timerDeadline = deadline;
    const wait = Math.max(0, Math.ceil(deadline - performance.now()));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.schedule(true);
    }, wait);
  }

  private disarm(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private reportDepth(): void {
    if (this.observer) guard(() => this.observer!.depth(this.queue.length));
  }

  private reportBatch(rows: number, requests: number): void {
    if (this.observer) guard(() => this.observer!.batch(rows, requests));
  }
}
