import { Worker } from "node:worker_threads";
import { rememberJsonSource } from "../protocol/index.ts";

/**
 * JSON request bodies of LARGE_JSON_BYTES or more are parsed on a worker thread: `JSON.parse` of a 60 MiB body
 * holds the event loop for about half a second, and every other client (health probes included) waits. The worker
 * sends numeric arrays back as Float64Arrays (moved, not copied); here they become plain arrays again in slices of
 * about SLICE_MS, yielding to the event loop between slices, so the result is exactly what `JSON.parse` returns.
 * A body the worker cannot parse goes to `parse` on this thread, which decides the error (or accepts the
 * non-finite tokens TF Serving allows). Like the parsers on this thread, the result remembers its source bytes, so
 * INT64/UINT64 values beyond ±2^53 can still be read exactly (protocol/exact-json.ts; only such bodies pay for it).
 */
export const LARGE_JSON_BYTES = 4 * 1024 * 1024;
const SLICE_MS = 4;

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, { resolve: (v: { value?: unknown; failed?: boolean }) => void }>();

function jsonWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL("./json-worker.mjs", import.meta.url), { execArgv: [] });
  w.unref();
  w.on("message", (m: { id: number; value?: unknown; failed?: boolean }) => {
    const entry = pending.get(m.id);
    pending.delete(m.id);
    if (pending.size === 0) w.unref();
    entry?.resolve(m);
  });
  const fail = () => {
    // Whatever was in flight is parsed here instead; the next large body starts a new worker.
    if (worker === w) worker = undefined;
    for (const [id, entry] of pending) {
      pending.delete(id);
      entry.resolve({ failed: true });
    }
  };
  w.on("error", fail);
  w.on("exit", fail);
  worker = w;
  return w;
}

/** `parse(bytes)`, off the event loop when the body is large. */
export async function parseLargeJson<T>(bytes: Uint8Array, parse: (bytes: Uint8Array) => T): Promise<T> {
  if (bytes.byteLength < LARGE_JSON_BYTES) return parse(bytes);
  const w = jsonWorker();
  const id = nextId++;
  // A copy the worker may keep, so the caller's buffer stays readable here (Buffer#slice would be a view: transferring
  // its memory would empty the caller's buffer, and with it the fallback parse and the exact reading).
  const copy = new Uint8Array(bytes);
  const answer = await new Promise<{ value?: unknown; failed?: boolean }>((resolve) => {
    pending.set(id, { resolve });
    w.ref();
    w.postMessage({ id, bytes: copy }, [copy.buffer]);
  });
  if (answer.failed) return parse(bytes);
  const value = await unpack(answer.value);
  rememberJsonSource(value, bytes);
  return value as T;
}

/** Turns the worker's Float64Arrays back into arrays, a slice at a time. */
async function unpack(root: unknown): Promise<unknown> {
  const holder = { root };
  const stack: [Record<string, unknown> | unknown[], string | number][] = [[holder, "root"]];
  let sliceStart = performance.now();
  let visited = 0;
  while (stack.length > 0) {
    const [parent, key] = stack.pop()!;
    const value = (parent as Record<string | number, unknown>)[key];
    if (value instanceof Float64Array) {
      (parent as Record<string | number, unknown>)[key] = Array.from(value);
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) if (typeof value[i] === "object" && value[i] !== null) stack.push([value, i]);
    } else if (value !== null && typeof value === "object") {
      for (const k of Object.keys(value)) {
        const v = (value as Record<string, unknown>)[k];
        if (typeof v === "object" && v !== null) stack.push([value as Record<string, unknown>, k]);
      }
    }
    if ((++visited & 255) === 0 && performance.now() - sliceStart > SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
  return holder.root;
}
