// One instance of a user's TypeScript/JavaScript model on its own thread, driven by threaded-model.ts.
//
// Plain JavaScript on purpose: worker threads do not inherit the tsx loader the CLI registers, so this file
// registers it itself (and, as bin/tserve.js does, the hooks that resolve "tserve" to this server) and then imports
// the module loader (load-module.ts, or .js in a build) by URL.
// Protocol (all messages are plain objects):
//   in  workerData   { loaderUrl, protocolUrl, file, name, options, declared: { inputs?, outputs? } }
//   out once         { type: "ready", metadata, inputs, outputs, platform, transformer }
//                  | { type: "load-error", error }                      (the worker then ends)
//   in  { id, kind: "infer" | "explain", payload, isV2, ctx: { headers, protocol, requestId, limits } }
//   out { id, result, responseHeaders } | { id, error }
//   in  { kind: "unload" }   waits for the requests in flight, calls model.unload(), ends the thread
// `error` is { message, name, status, kind, code, tserve } so the main thread can rebuild the same error.
// Typed arrays travel over buffers of their own, transferred (never a whole shared or pooled buffer).
import { register as registerHooks } from "node:module";
import { register } from "tsx/esm/api";
import { parentPort, workerData } from "node:worker_threads";

register();
registerHooks("./resolve-tserve.mjs", import.meta.url);

const TSERVE_ERROR = Symbol.for("tserve.error");

function serializeError(err) {
  const e = typeof err === "object" && err !== null ? err : { message: String(err) };
  const tserve = e[TSERVE_ERROR] === true;
  const status = e.status ?? e.statusCode;
  return {
    message: typeof e.message === "string" ? e.message : String(err),
    name: typeof e.name === "string" ? e.name : "Error",
    status: typeof status === "number" ? status : undefined,
    kind: tserve ? e.kind : undefined,
    code: typeof e.code === "string" ? e.code : undefined,
    tserve,
    isError: err instanceof Error,
    rangeOverflow: err instanceof RangeError,
  };
}

function isThenable(v) {
  return typeof v === "object" && v !== null && typeof v.then === "function";
}

/** Gives every typed array in `value` a buffer of its own and lists those buffers to transfer. */
function compact(value, transfer, depth = 0) {
  if (typeof value !== "object" || value === null || depth > 16) return value;
  if (ArrayBuffer.isView(value)) {
    if (value instanceof DataView) return value;
    const bytes = new Uint8Array(value.byteLength);
    bytes.set(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    transfer.push(bytes.buffer);
    if (typeof Buffer !== "undefined" && Buffer.isBuffer(value)) return bytes;
    return new value.constructor(bytes.buffer);
  }
  if (Array.isArray(value)) {
    if (value.length === 0 || typeof value[0] !== "object") return value;
    return value.map((v) => compact(v, transfer, depth + 1));
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out = {};
  for (const k of Object.keys(value)) out[k] = compact(value[k], transfer, depth + 1);
  return out;
}

const { loaderUrl, protocolUrl, file, name, options, declared } = workerData;
let model;
/** protocol/types.ts's marker: a symbol, which does not survive postMessage, so V2 payloads are marked again here. */
let markInferRequest;
try {
  ({ markInferRequest } = await import(protocolUrl));
  const { loadModuleModel } = await import(loaderUrl);
  model = await loadModuleModel(file, name, options);
  if (declared?.inputs && model.inputs.length === 0) model.inputs = declared.inputs;
  if (declared?.outputs && model.outputs.length === 0) model.outputs = declared.outputs;
  if (!model.ready) await model.load();
  if (!model.ready) throw new Error("load() finished but the model did not set ready = true");
  const metadata = await model.metadata();
  parentPort.postMessage({
    type: "ready",
    metadata,
    inputs: model.inputs,
    outputs: model.outputs,
    platform: model.platform,
    transformer: Boolean(model.predictorHost),
  });
} catch (err) {
  parentPort.postMessage({ type: "load-error", error: serializeError(err) });
  process.exit(1);
}

const inFlight = new Set();

async function run(msg) {
  const ctx = {
    headers: msg.ctx.headers ?? {},
    protocol: msg.ctx.protocol,
    requestId: msg.ctx.requestId,
    limits: msg.ctx.limits,
    responseHeaders: {},
  };
  try {
    let value = msg.payload;
    if (msg.isV2 && typeof value === "object" && value !== null) value = markInferRequest(value);
    value = model.preprocess(value, ctx);
    if (isThenable(value)) value = await value;
    value = msg.kind === "explain" ? model.explain(value, ctx) : model.predict(value, ctx);
    if (isThenable(value)) value = await value;
    value = model.postprocess(value, ctx);
    if (isThenable(value)) value = await value;
    const transfer = [];
    const result = compact(value, transfer);
    try {
      parentPort.postMessage({ id: msg.id, result, responseHeaders: ctx.responseHeaders }, transfer);
    } catch (err) {
      parentPort.postMessage({
        id: msg.id,
        error: serializeError(
          new Error(`Model ${name} returned a value that cannot be sent from its worker thread: ${err?.message ?? err}`),
        ),
      });
    }
  } catch (err) {
    parentPort.postMessage({ id: msg.id, error: serializeError(err) });
  }
}

parentPort.on("message", (msg) => {
  if (msg.kind === "unload") {
    void (async () => {
      await Promise.allSettled([...inFlight]);
      try {
        await model.unload();
      } catch (err) {
        console.error(`Model ${name} failed to unload in its worker thread: ${err?.message ?? err}`);
      }
      process.exit(0);
    })();
    return;
  }
  const p = run(msg);
  inFlight.add(p);
  void p.finally(() => inFlight.delete(p));
});
