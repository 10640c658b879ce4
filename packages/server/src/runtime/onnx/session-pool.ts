import { Worker } from "node:worker_threads";
import * as ort from "onnxruntime-node";
import { InferenceError } from "../../errors/index.ts";
import { ONNX_ELEMENT_TYPES, type OrtSession } from "./session.ts";

/**
 * ONNX sessions on worker threads. onnxruntime-node runs `session.run` synchronously on the calling thread,
 * so an inline session blocks the event loop for the whole run. A pooled session keeps `instances` worker
 * threads, each with its own InferenceSession (Triton's instance_group count, MLServer's parallel_workers),
 * and sends every run to the worker with the fewest runs in flight. The worker is plain JavaScript
 * (session-worker.mjs) because worker threads do not inherit the tsx loader the CLI registers.
 */

/** A pooled session: an OrtSession whose runs are always promises, plus how many are in flight. */
export interface PooledOrtSession extends OrtSession {
  run(feeds: Record<string, ort.Tensor>, fetches: readonly string[]): Promise<ort.Tensor[]>;
  /** Runs sent to a worker and not yet answered, across the pool. */
  readonly inFlight: number;
}

/** A tensor as it crosses to and from a worker: numeric data over its own (transferred) buffer. */
interface WireTensor {
  type: ort.Tensor.Type;
  dims: number[];
  data: ort.Tensor.DataType;
}

interface ReadyMessage {
  type: "ready";
  kind: "native" | "public";
  inputMetadata: ort.InferenceSession.ValueMetadata[];
  outputMetadata: ort.InferenceSession.ValueMetadata[];
  outputNames: string[];
}

type WorkerMessage =
  | ReadyMessage
  | { type: "load-error"; error: { message: string } }
  | { id: number; outputs: WireTensor[] }
  | { id: number; error: { message: string } };

interface Pending {
  resolve(outputs: ort.Tensor[]): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  /** SKIP, BUSY, HALT: shared with the worker (see session-worker.mjs). */
  control: Int32Array;
  state: "loading" | "ready" | "dead";
  /** Settles once the worker has loaded the model (or failed to). */
  loaded: Promise<ReadyMessage>;
  exited: Promise<void>;
  inFlight: Map<number, Pending>;
  /** The worker's uncaught error, if it threw one before exiting. */
  crash?: Error;
  /** ONNX Runtime's error, if this worker could not load the model. */
  loadError?: Error;
}

const WORKER_URL = new URL("./session-worker.mjs", import.meta.url);

/** Indices into a worker's control array; session-worker.mjs uses the same. */
const SKIP = 0;
const BUSY = 1;
const HALT = 2;

/** How long process exit waits for workers to leave native code (a run, a load) before it goes ahead. */
const EXIT_WAIT_MS = 30_000;

/**
 * Every live worker's control array. A worker thread must not be terminated while it is inside onnxruntime's
 * native code (the binding's C++ exception then aborts the whole process), and Node terminates all workers
 * when the process exits: so on exit each worker is halted and waited for, which makes process.exit() with a
 * run in flight end the process normally instead of with SIGABRT.
 */
const live = new Set<Int32Array>();
let exitHookInstalled = false;

function haltAllOnExit(): void {
  for (const c of live) Atomics.store(c, HALT, 1);
  const deadline = Date.now() + EXIT_WAIT_MS;
  for (const c of live) {
    for (let busy = Atomics.load(c, BUSY); busy !== 0; busy = Atomics.load(c, BUSY)) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      Atomics.wait(c, BUSY, busy, left);
    }
  }
}

/** Halts a worker (no further native calls), waits until it is out of native code, then terminates it. */
async function haltAndTerminate(slot: Slot): Promise<void> {
  Atomics.store(slot.control, HALT, 1);
  while (Atomics.load(slot.control, BUSY) !== 0) await new Promise((r) => setTimeout(r, 1));
  await slot.worker.terminate();
  await slot.exited;
}

/** ONNX Runtime's default severity as session.ts derives it (errors only, warnings under debug). */
function defaultSeverity(): 2 | 3 {
  const level = process.env.TSERVE_LOGLEVEL ?? process.env.KSERVE_LOGLEVEL;
  return level?.toLowerCase() === "debug" ? 2 : 3;
}

interface PoolInternals {
  slots(): Slot[];
}

const internals = new WeakMap<object, PoolInternals>();

function internalsOf(session: OrtSession): PoolInternals {
  const pool = internals.get(session);
  if (!pool) throw new Error("not a pooled session");
  return pool;
}

/** @internal For tests only: the worker threads currently behind a pooled session. */
export function poolWorkersForTests(session: OrtSession): Worker[] {
  return internalsOf(session)
    .slots()
    .map((s) => s.worker);
}

/** @internal For tests only: how many runs each worker has in flight, in pool order. */
export function poolLoadForTests(session: OrtSession): number[] {
  return internalsOf(session)
    .slots()
    .map((s) => s.inFlight.size);
}

/**
 * @internal For tests only: kills worker `index` the one safe way (no new native call, wait until it is out
 * of native code, terminate), as a crash would. Runs sent to it from now on are not run: they reject when it
 * exits, and the pool starts a replacement. (Never call worker.terminate() on a pool's worker directly.)
 */
export function killPoolWorkerForTests(session: OrtSession, index: number): Promise<void> {
  const slot = internalsOf(session).slots()[index];
  if (!slot) throw new Error(`no worker ${index}`);
  return haltAndTerminate(slot);
}

/**
 * Loads the model in `pool.instances` worker threads and returns one session over them. Rejects with ONNX
 * Runtime's error if any worker fails to load the model (the others are stopped).
 */
export async function createPooledSession(
  path: string,
  options: ort.InferenceSession.SessionOptions,
  pool: { instances: number },
): Promise<PooledOrtSession> {
  const instances = Math.max(1, Math.floor(pool.instances));
  const workerOptions: ort.InferenceSession.SessionOptions = { logSeverityLevel: defaultSeverity(), ...options };
  // Errors name the file by its last segments (`iris/1/model.onnx`): enough to tell models apart, no full path.
  const file = path.split(/[\\/]/).slice(-3).join("/");
  const slots: Slot[] = [];
  let released = false;
  let nextId = 1;
  let cursor = 0;
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", haltAllOnExit);
  }

  const start = (): Slot => {
    const control = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
    control[BUSY] = 1; // loading is native code
    // execArgv: the worker is plain JavaScript and needs none of the parent's flags; inheriting them breaks it
    // (`node -e`/`--input-type`) or slows it (a TypeScript loader). V8 flags are process-wide regardless.
    const worker = new Worker(WORKER_URL, {
      workerData: { path, options: workerOptions, control: control.buffer, elementTypes: ONNX_ELEMENT_TYPES },
      execArgv: [],
    });
    live.add(control);
    let settle!: { resolve(m: ReadyMessage): void; reject(e: Error): void };
    const loaded = new Promise<ReadyMessage>((resolve, reject) => (settle = { resolve, reject }));
    loaded.catch(() => {}); // observed by whoever waits on it; never an unhandled rejection
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    const slot: Slot = { worker, control, state: "loading", loaded, exited, inFlight: new Map() };

    worker.on("message", (msg: WorkerMessage) => {
      if ("type" in msg) {
        if (msg.type === "ready") {
          if (slot.state === "loading") slot.state = "ready";
          if (slot.inFlight.size === 0 && !released) worker.unref();
          settle.resolve(msg);
        } else {
          // The worker ends on its own after a failed load.
          slot.loadError = new Error(msg.error.message);
          settle.reject(slot.loadError);
        }
        return;
      }
      const pending = slot.inFlight.get(msg.id);
      if (!pending) return;
      slot.inFlight.delete(msg.id);
      if (slot.inFlight.size === 0 && slot.state === "ready") worker.unref();
      if ("error" in msg) pending.reject(new Error(msg.error.message));
      else pending.resolve(msg.outputs.map(toTensor));
    });
    worker.on("error", (err) => {
      slot.crash = err;
    });
    worker.on("exit", (code) => {
      live.delete(control);
      const served = slot.state === "ready";
      slot.state = "dead";
      const why = slot.crash ? `: ${slot.crash.message}` : "";
      settle.reject(
        slot.loadError ?? new Error(`The ONNX worker for ${file} exited (code ${code}) before loading the model${why}`),
      );
      const inFlight = [...slot.inFlight.values()];
      slot.inFlight.clear();
      if (inFlight.length > 0) {
        const err = released
          ? new InferenceError(`The session for model file ${file} was released while this run was in flight`)
          : slot.loadError
            ? new InferenceError(`A new ONNX worker could not load model file ${file}: ${slot.loadError.message}`)
            : new InferenceError(
                `The ONNX worker running model file ${file} stopped (exit code ${code}${why}) while running this request`,
                { cause: slot.crash },
              );
        for (const p of inFlight) p.reject(err);
      }
      // A worker that served and died is replaced at once; one that failed to load waits for the next run.
      if (!released && served) {
        const index = slots.indexOf(slot);
        if (index >= 0) slots[index] = start();
      }
    });
    return slot;
  };

  /** Stops a worker gracefully: queued runs are dropped, the session disposed, the thread ends. */
  const stop = async (slot: Slot): Promise<void> => {
    Atomics.store(slot.control, SKIP, 1);
    if (slot.state !== "dead") {
      // Until it has exited (moments, unless a run is still in native code) the worker holds the process, so
      // `await release()` completes; afterwards nothing of the pool does.
      slot.worker.ref();
      try {
        slot.worker.postMessage({ type: "release" });
      } catch {
        // Already gone.
      }
    }
    await slot.exited;
  };

  for (let i = 0; i < instances; i++) slots.push(start());
  let first: ReadyMessage;
  try {
    [first] = await Promise.all(slots.map((s) => s.loaded));
  } catch (err) {
    // Workers that failed end on their own; the others release once they have loaded.
    released = true;
    await Promise.all(slots.map(stop));
    throw err;
  }

  /** The worker with the fewest runs in flight (ties: round robin); loaded workers first. */
  const pick = (): Slot => {
    let candidates = slots.filter((s) => s.state === "ready");
    if (candidates.length === 0) candidates = slots.filter((s) => s.state === "loading");
    if (candidates.length === 0) {
      // Every worker failed to come back: try again for this run.
      for (let i = 0; i < slots.length; i++) slots[i] = start();
      candidates = slots;
    }
    let best: Slot | undefined;
    let bestIndex = 0;
    for (let k = 0; k < candidates.length; k++) {
      const index = (cursor + k) % candidates.length;
      const s = candidates[index];
      if (!best || s.inFlight.size < best.inFlight.size) {
        best = s;
        bestIndex = index;
      }
    }
    cursor = (bestIndex + 1) % candidates.length;
    return best!;
  };

  const session: PooledOrtSession = {
    kind: "pool",
    inputMetadata: first.inputMetadata,
    outputMetadata: first.outputMetadata,
    outputNames: first.outputNames,
    get inFlight() {
      let n = 0;
      for (const s of slots) n += s.inFlight.size;
      return n;
    },
    run(feeds, fetches) {
      if (released) return Promise.reject(new InferenceError(`The session for model file ${file} is released`));
      let message: { type: "run"; id: number; feeds: Record<string, WireTensor>; fetches: string[] };
      const transfer: ArrayBuffer[] = [];
      try {
        const wire: Record<string, WireTensor> = {};
        for (const name of Object.keys(feeds)) wire[name] = toWire(name, feeds[name], transfer);
        message = { type: "run", id: nextId++, feeds: wire, fetches: [...fetches] };
      } catch (err) {
        return Promise.reject(err);
      }
      const slot = pick();
      return new Promise<ort.Tensor[]>((resolve, reject) => {
        slot.inFlight.set(message.id, { resolve, reject });
        slot.worker.ref(); // a run in flight keeps the process alive until it answers
        try {
          slot.worker.postMessage(message, transfer);
        } catch (err) {
          slot.inFlight.delete(message.id);
          if (slot.inFlight.size === 0 && slot.state === "ready") slot.worker.unref();
          reject(err);
        }
      });
    },
    async release() {
      if (released) return;
      released = true;
      const err = new InferenceError(`The session for model file ${file} was released while this run was in flight`);
      for (const slot of slots) {
        for (const p of slot.inFlight.values()) p.reject(err);
        slot.inFlight.clear();
      }
      await Promise.all(slots.map(stop));
    },
  };
  internals.set(session, { slots: () => slots });
  return session;
}

/**
 * An ORT tensor as a message part. Numeric data is copied into a fresh ArrayBuffer of exactly the view's
 * bytes, which is then transferred: the view may be a slice of a large request body or of Node's shared
 * Buffer pool, neither of which may be transferred (or cloned whole).
 */
function toWire(name: string, t: ort.Tensor, transfer: ArrayBuffer[]): WireTensor {
  const dims = t.dims.map(Number);
  if (t.type === "string") return { type: t.type, dims, data: Array.from(t.data as string[]) };
  const view = t.data;
  if (!ArrayBuffer.isView(view)) throw new InferenceError(`Input '${name}' has no CPU data to send to the worker`);
  const bytes = new Uint8Array(view.byteLength);
  bytes.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  transfer.push(bytes.buffer);
  return { type: t.type, dims, data: typedView(t.type, view, bytes.buffer) as ort.Tensor.DataType };
}

const TYPED_ARRAYS: Partial<Record<ort.Tensor.Type, new (buffer: ArrayBuffer) => ArrayBufferView>> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  float16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
};

/** The copied bytes as the same kind of typed array ORT gave (a Node Buffer becomes a plain Uint8Array). */
function typedView(type: ort.Tensor.Type, original: ArrayBufferView, buffer: ArrayBuffer): ArrayBufferView {
  const Float16 = (globalThis as { Float16Array?: new (b: ArrayBuffer) => ArrayBufferView }).Float16Array;
  if (type === "float16" && Float16 && original instanceof Float16) return new Float16(buffer);
  const Ctor = TYPED_ARRAYS[type];
  if (!Ctor) throw new InferenceError(`Tensors of type ${type} cannot be sent to an ONNX worker`);
  return new Ctor(buffer);
}

function toTensor(w: WireTensor): ort.Tensor {
  return new ort.Tensor(w.type as "float32", w.data as Float32Array, w.dims);
}
