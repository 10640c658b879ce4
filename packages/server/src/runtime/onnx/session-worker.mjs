// One ONNX Runtime session on its own thread, driven by session-pool.ts.
//
// Plain JavaScript on purpose: the CLI registers tsx in-process and worker threads do not inherit that, so
// this file must run under plain node. Protocol (all messages are plain objects):
//   in  workerData                 { path, options, control, elementTypes }
//   out once                       { type: "ready", kind, inputMetadata, outputMetadata, outputNames }
//                                | { type: "load-error", error: { message } }   (the worker then ends)
//   in  { type: "run", id, feeds: { [name]: { type, dims, data } }, fetches: string[] }
//   out { id, outputs: [{ type, dims, data }] } | { id, error: { message } }
//   in  { type: "release" }        disposes the session and ends the thread
// Numeric `data` is a typed array over its own ArrayBuffer (transferred, never copied); string tensors
// travel as string arrays. A failing run answers an error; nothing a run does may end the thread.
//
// workerData.control (an Int32Array over a SharedArrayBuffer) makes stopping the thread safe. The thread must
// never be terminated while it is inside onnxruntime's native code: the binding then throws a C++ exception
// that nothing catches and the whole process aborts (SIGABRT). So the worker raises BUSY around every native
// call (load, run, dispose) and starts none once HALT is set; whoever terminates the thread (process exit,
// a test) sets HALT and waits for BUSY to drop first. SKIP (set by release) makes queued runs be dropped
// unanswered: the pool has already rejected them.
import { createRequire } from "node:module";
import { parentPort, workerData } from "node:worker_threads";
import * as ort from "onnxruntime-node";

/** ONNX TensorProto element types -> onnxruntime-node type names: session.ts's table, handed over in workerData. */
const ONNX_ELEMENT_TYPES = workerData.elementTypes;

const LOG_LEVELS = ["verbose", "info", "warning", "error", "fatal"];

/** Indices into workerData.control; session-pool.ts uses the same. */
const SKIP = 0;
const BUSY = 1;
const HALT = 2;
const control = new Int32Array(workerData.control);

/**
 * Marks the thread as inside native code (BUSY counts: the public API's runs may overlap); false, and not
 * marked, if it may not enter native code any more.
 */
function enterNative(forRun) {
  Atomics.add(control, BUSY, 1);
  if (Atomics.load(control, HALT) === 1 || (forRun && Atomics.load(control, SKIP) === 1)) {
    leaveNative();
    return false;
  }
  return true;
}

function leaveNative() {
  Atomics.sub(control, BUSY, 1);
  Atomics.notify(control, BUSY);
}

function messageOf(err) {
  if (err instanceof Error) return err.message;
  return typeof err === "string" ? err : String(err);
}

function toValueMetadata(m) {
  if (!m.isTensor) return { name: m.name, isTensor: false };
  const shape = m.shape.map((d, i) => (d >= 0 ? d : m.symbolicDimensions[i] || -1));
  return { name: m.name, isTensor: true, type: ONNX_ELEMENT_TYPES[m.type], shape };
}

/** The package's native binding, as session.ts uses it (no setImmediate hop per run); null if absent. */
function nativeBinding() {
  if (process.env.TSERVE_ORT_NATIVE === "0") return null;
  try {
    const require = createRequire(import.meta.url);
    const candidate = require("onnxruntime-node/dist/binding.js");
    if (typeof candidate?.binding?.InferenceSession === "function" && typeof candidate.initOrt === "function") {
      return candidate;
    }
  } catch {
    // A different package layout: the public API works everywhere.
  }
  return null;
}

/** Creates the session: { kind, inputMetadata, outputMetadata, outputNames, run(feeds, fetches), dispose() }. */
async function load(path, options) {
  const severity = options.logSeverityLevel;
  if (typeof severity === "number" && LOG_LEVELS[severity]) ort.env.logLevel = LOG_LEVELS[severity];
  const native = nativeBinding();
  if (native) {
    const known = (v) => !v.isTensor || ONNX_ELEMENT_TYPES[v.type] !== undefined;
    native.initOrt();
    const session = new native.binding.InferenceSession();
    session.loadModel(path, options);
    if (typeof session.run === "function" && session.inputMetadata.every(known) && session.outputMetadata.every(known)) {
      const outputMetadata = session.outputMetadata.map(toValueMetadata);
      const runOptions = {};
      return {
        kind: "native",
        inputMetadata: session.inputMetadata.map(toValueMetadata),
        outputMetadata,
        outputNames: outputMetadata.map((m) => m.name),
        run(feeds, fetches) {
          const want = {};
          for (const n of fetches) want[n] = null;
          const results = session.run(feeds, want, runOptions);
          return fetches.map((n) => results[n]);
        },
        dispose() {
          session.dispose?.();
        },
      };
    }
    session.dispose?.();
  }
  const session = await ort.InferenceSession.create(path, options);
  return {
    kind: "public",
    inputMetadata: session.inputMetadata,
    outputMetadata: session.outputMetadata,
    outputNames: [...session.outputNames],
    async run(feeds, fetches) {
      const results = await session.run(feeds, fetches);
      return fetches.map((n) => results[n]);
    },
    dispose() {
      return session.release();
    },
  };
}

/**
 * An output as a message part. A numeric tensor that owns its whole buffer hands that buffer over (added to
 * `transfer`); one that is a view of a larger or shared buffer is copied first, so only its bytes travel.
 */
function encodeOutput(name, value, transfer) {
  if (!value || typeof value !== "object" || !("type" in value) || !("dims" in value)) {
    throw new Error(`Output '${name}' is not a tensor`);
  }
  const dims = Array.from(value.dims, Number);
  let data = value.data;
  if (value.type === "string") return { type: value.type, dims, data: Array.from(data) };
  if (!ArrayBuffer.isView(data)) throw new Error(`Output '${name}' has no CPU data`);
  const whole =
    data.buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
  if (!whole || transfer.has(data.buffer)) data = data.slice();
  transfer.add(data.buffer);
  return { type: value.type, dims, data };
}

function decodeFeeds(feeds) {
  const out = {};
  for (const name of Object.keys(feeds)) {
    const f = feeds[name];
    out[name] = new ort.Tensor(f.type, f.data, f.dims);
  }
  return out;
}

function post(message, transfer) {
  try {
    parentPort.postMessage(message, transfer);
  } catch (err) {
    // E.g. a buffer that cannot be transferred: answer with copies, or with the error for this run.
    try {
      parentPort.postMessage(message);
    } catch {
      parentPort.postMessage({ id: message.id, error: { message: messageOf(err) } });
    }
  }
}

async function serve(session, msg) {
  const { id } = msg;
  try {
    const feeds = decodeFeeds(msg.feeds);
    if (!enterNative(true)) return; // the pool is going away and has answered this run already
    let results;
    try {
      results = await session.run(feeds, msg.fetches);
    } finally {
      leaveNative();
    }
    const transfer = new Set();
    const outputs = results.map((r, i) => encodeOutput(msg.fetches[i], r, transfer));
    post({ id, outputs }, [...transfer]);
  } catch (err) {
    post({ id, error: { message: messageOf(err) } });
  }
}

async function release(session) {
  if (enterNative(false)) {
    try {
      await session.dispose();
    } catch {
      // Nothing to report to: the pool is not waiting for an answer.
    } finally {
      leaveNative();
    }
  }
  parentPort.close(); // answers already posted still arrive; with the port closed the thread ends
}

const { path, options } = workerData;
let session;
// The pool starts the thread with BUSY raised: loading is native code too.
try {
  if (Atomics.load(control, HALT) !== 1) session = await load(path, options ?? {});
} catch (err) {
  // No listener is attached after this, so the thread ends on its own once the message is out.
  parentPort.postMessage({ type: "load-error", error: { message: messageOf(err) } });
} finally {
  leaveNative();
}

if (session) {
  parentPort.on("message", (msg) => {
    if (msg?.type === "run") void serve(session, msg);
    else if (msg?.type === "release") void release(session);
  });
  parentPort.postMessage({
    type: "ready",
    kind: session.kind,
    inputMetadata: session.inputMetadata,
    outputMetadata: session.outputMetadata,
    outputNames: session.outputNames,
  });
}
