import { createRequire } from "node:module";
import * as ort from "onnxruntime-node";

/** What tserve needs from a loaded ONNX model: names, metadata, and a run. */
export interface OrtSession {
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly outputNames: readonly string[];
  /** Which path runs the model: the native binding directly, the public async API, or worker threads (session-pool.ts). */
  readonly kind: "native" | "public" | "pool";
  run(feeds: Record<string, ort.Tensor>, fetches: readonly string[]): ort.Tensor[] | Promise<ort.Tensor[]>;
  release(): Promise<void>;
}

/** ONNX TensorProto element types -> onnxruntime-node type names. */
export const ONNX_ELEMENT_TYPES: Readonly<Record<number, string>> = {
  1: "float32",
  2: "uint8",
  3: "int8",
  4: "uint16",
  5: "int16",
  6: "int32",
  7: "int64",
  8: "string",
  9: "bool",
  10: "float16",
  11: "float64",
  12: "uint32",
  13: "uint64",
};

interface NativeValueMetadata {
  name: string;
  isTensor: boolean;
  type: number;
  shape: number[];
  symbolicDimensions: string[];
}

interface NativeSession {
  loadModel(path: string, options: ort.InferenceSession.SessionOptions): void;
  run(feeds: Record<string, ort.Tensor>, fetches: Record<string, null>, options: object): Record<string, ort.Tensor>;
  inputMetadata: NativeValueMetadata[];
  outputMetadata: NativeValueMetadata[];
  dispose?(): void;
}

interface NativeBinding {
  binding: { InferenceSession: new () => NativeSession };
  initOrt(): void;
}

let nativeBinding: NativeBinding | null | undefined;

/** ONNX Runtime's severity (0 verbose … 4 fatal): its coloured lines only show under the server's debug level. */
let ortSeverity: 0 | 1 | 2 | 3 | 4 = severityOf(process.env.TSERVE_LOGLEVEL ?? process.env.KSERVE_LOGLEVEL);

function severityOf(level: string | undefined): 2 | 3 {
  return level?.toLowerCase() === "debug" ? 2 : 3;
}

/**
 * Sets ONNX Runtime's log severity from the server's level (debug: warnings and up; otherwise errors only).
 * Each session gets `logSeverityLevel`; the process-wide `env.logLevel` (read when ORT first initialises) too.
 */
export function setOrtLogLevel(level: "debug" | "info" | "warn" | "error"): void {
  ortSeverity = severityOf(level);
}

/** The severity sessions get (setOrtLogLevel); the session pool's threads take it as `logSeverityLevel`. */
export function ortLogSeverity(): 0 | 1 | 2 | 3 | 4 {
  return ortSeverity;
}

/**
 * onnxruntime-node's public `run()` defers every call with setImmediate and then runs it synchronously on
 * the JS thread anyway; for small models that hop costs as much as the model. When the package's binding is
 * where we expect it, we call it directly (same thread, same blocking, no hop). TSERVE_ORT_NATIVE=0 opts out.
 */
function loadNativeBinding(): NativeBinding | null {
  if (nativeBinding !== undefined) return nativeBinding;
  nativeBinding = null;
  if (process.env.TSERVE_ORT_NATIVE === "0") return null;
  try {
    const require = createRequire(import.meta.url);
    const candidate = require("onnxruntime-node/dist/binding.js") as NativeBinding;
    if (typeof candidate?.binding?.InferenceSession === "function" && typeof candidate.initOrt === "function") {
      nativeBinding = candidate;
    }
  } catch {
    // A different package layout: the public API works everywhere.
  }
  return nativeBinding;
}

function toValueMetadata(m: NativeValueMetadata): ort.InferenceSession.ValueMetadata {
  if (!m.isTensor) return { name: m.name, isTensor: false };
  const shape = m.shape.map((d, i) => (d >= 0 ? d : m.symbolicDimensions[i] || -1));
  return {
    name: m.name,
    isTensor: true,
    type: ONNX_ELEMENT_TYPES[m.type] as "float32",
    shape,
  } as ort.InferenceSession.ValueMetadata;
}

export async function createOrtSession(
  path: string,
  options: ort.InferenceSession.SessionOptions,
): Promise<OrtSession> {
  options = { logSeverityLevel: ortSeverity, ...options };
  ort.env.logLevel = ortSeverity === 2 ? "warning" : "error"; // read once, when ORT initialises
  const native = loadNativeBinding();
  if (native) {
    const known = (v: NativeValueMetadata) => !v.isTensor || ONNX_ELEMENT_TYPES[v.type] !== undefined;
    native.initOrt();
    const session = new native.binding.InferenceSession();
    session.loadModel(path, options);
    if (
      typeof session.run === "function" &&
      session.inputMetadata.every(known) &&
      session.outputMetadata.every(known)
    ) {
      return nativeSession(session);
    }
    session.dispose?.();
  }
  return publicSession(await ort.InferenceSession.create(path, options));
}

function nativeSession(session: NativeSession): OrtSession {
  const inputMetadata = session.inputMetadata.map(toValueMetadata);
  const outputMetadata = session.outputMetadata.map(toValueMetadata);
  const outputNames = outputMetadata.map((m) => m.name);
  const runOptions = {};
  return {
    kind: "native",
    inputMetadata,
    outputMetadata,
    outputNames,
    run(feeds, fetches) {
      const want: Record<string, null> = {};
      for (const n of fetches) want[n] = null;
      const results = session.run(feeds, want, runOptions);
      return fetches.map((n) => results[n]);
    },
    async release() {
      session.dispose?.();
    },
  };
}

function publicSession(session: ort.InferenceSession): OrtSession {
  return {
    kind: "public",
    inputMetadata: session.inputMetadata,
    outputMetadata: session.outputMetadata,
    outputNames: session.outputNames,
    async run(feeds, fetches) {
      const results = await session.run(feeds, fetches as string[]);
      return fetches.map((n) => results[n]);
    },
    release: () => session.release(),
  };
}
