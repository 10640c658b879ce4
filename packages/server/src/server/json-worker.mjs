// Parses large JSON request bodies off the event loop (see json-off-loop.ts). Plain JavaScript: worker threads do
// not inherit the tsx loader the CLI registers. Arrays of numbers come back as Float64Arrays (transferred, no copy
// on the way back); JSON.parse never produces a typed array, so the main thread knows each one for what it is.
import { parentPort } from "node:worker_threads";

const decoder = new TextDecoder();

function pack(value, transfer) {
  if (Array.isArray(value)) {
    let numeric = value.length > 0;
    for (let i = 0; i < value.length && numeric; i++) numeric = typeof value[i] === "number";
    if (numeric) {
      const packed = Float64Array.from(value);
      transfer.push(packed.buffer);
      return packed;
    }
    for (let i = 0; i < value.length; i++) value[i] = pack(value[i], transfer);
    return value;
  }
  if (value !== null && typeof value === "object") {
    for (const key of Object.keys(value)) value[key] = pack(value[key], transfer);
  }
  return value;
}

parentPort.on("message", ({ id, bytes }) => {
  let value;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    // The main thread re-parses with its own rules (non-finite tokens, error messages).
    parentPort.postMessage({ id, failed: true });
    return;
  }
  const transfer = [];
  try {
    const packed = pack(value, transfer);
    parentPort.postMessage({ id, value: packed }, transfer);
  } catch {
    parentPort.postMessage({ id, failed: true });
  }
});
