/**
 * The Open Inference Protocol gRPC messages, for the harness side (load generator, pre-flight checks, bare
 * gRPC baseline). The .proto is read from tserve's source tree, but nothing of tserve's code is used: the
 * harness treats tserve as a black box, exactly as a third-party client would.
 */
import * as grpc from "@grpc/grpc-js";
import { loadSync, type MethodDefinition, type Options, type ServiceDefinition } from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";
import type { CheckResult } from "./checks.ts";
import type { ManagedProcess } from "./processes.ts";

export const PROTO_PATH = fileURLToPath(new URL("../packages/server/src/protocol/grpc/inference.proto", import.meta.url));
export const SERVICE = "inference.GRPCInferenceService";
export const MODEL_INFER_PATH = `/${SERVICE}/ModelInfer`;
export const SERVER_READY_PATH = `/${SERVICE}/ServerReady`;

/** Same conventions as tserve's own loader: .proto field names, bytes as Buffers, int64 as strings. */
export const PROTO_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: false,
  arrays: true,
  objects: true,
  oneofs: true,
};

export interface TensorMessage {
  name?: string;
  datatype?: string;
  shape?: (string | number)[];
}

export interface InferRequestMessage {
  model_name?: string;
  model_version?: string;
  inputs?: TensorMessage[];
  outputs?: { name?: string }[];
  raw_input_contents?: Buffer[];
}

export interface InferResponseMessage {
  model_name?: string;
  model_version?: string;
  outputs?: TensorMessage[];
  raw_output_contents?: Buffer[];
}

let definition: ReturnType<typeof loadSync> | undefined;

export function packageDefinition(): ReturnType<typeof loadSync> {
  definition ??= loadSync(PROTO_PATH, PROTO_OPTIONS);
  return definition;
}

function service(): ServiceDefinition {
  return packageDefinition()[SERVICE] as ServiceDefinition;
}

function modelInfer(): MethodDefinition<InferRequestMessage, InferResponseMessage> {
  return service().ModelInfer as MethodDefinition<InferRequestMessage, InferResponseMessage>;
}

/** A single FP32 tensor request in raw_input_contents, encoded to protobuf bytes once. */
export function encodeInferRequest(
  modelName: string,
  inputName: string,
  shape: readonly number[],
  data: Float32Array,
  outputName: string,
): Buffer {
  return modelInfer().requestSerialize({
    model_name: modelName,
    inputs: [{ name: inputName, datatype: "FP32", shape: [...shape] }],
    outputs: [{ name: outputName }],
    raw_input_contents: [Buffer.from(data.buffer, data.byteOffset, data.byteLength)],
  });
}

export function decodeInferRequest(bytes: Buffer): InferRequestMessage {
  return modelInfer().requestDeserialize(bytes);
}

export function decodeInferResponse(bytes: Buffer): InferResponseMessage {
  return modelInfer().responseDeserialize(bytes);
}

const identity = (b: Buffer): Buffer => b;

/**
 * A plain channel (one HTTP/2 connection) with no message size limits and no transparent retries (a failed
 * call must show up as failed, not be retried behind the benchmark's back).
 */
export function openChannel(target: string): grpc.Client {
  return new grpc.Client(target, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": -1,
    "grpc.max_send_message_length": -1,
    "grpc.enable_retries": 0,
  });
}

/** One unary call with pre-encoded request bytes; resolves to the raw response bytes. */
export function callRaw(client: grpc.Client, path: string, request: Buffer, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      identity,
      identity,
      request,
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, response) => {
        if (err) reject(err);
        else if (response === undefined) reject(new Error("empty response"));
        else resolve(response);
      },
    );
  });
}

/** Polls ServerReady until it answers ready: true; fails early if the process dies. */
export async function waitForGrpcReady(proc: ManagedProcess, target: string, timeoutMs: number): Promise<number> {
  const started = performance.now();
  const client = openChannel(target);
  const readyRequest = (service().ServerReady as MethodDefinition<object, { ready?: boolean }>).requestSerialize({});
  const decodeReady = (service().ServerReady as MethodDefinition<object, { ready?: boolean }>).responseDeserialize;
  let lastProblem = "no response yet";
  try {
    while (performance.now() - started < timeoutMs) {
      if (!proc.isRunning()) {
        const info = await proc.exited;
        throw new Error(
          `${proc.name} exited before its gRPC port became ready (code=${info.code}, signal=${info.signal}).\n` +
            `--- last output (${proc.logPath}) ---\n${proc.tail()}`,
        );
      }
      try {
        const answer = decodeReady(await callRaw(client, SERVER_READY_PATH, readyRequest, 2_000));
        if (answer.ready === true) return performance.now() - started;
        lastProblem = "ready: false";
      } catch (err) {
        lastProblem = err instanceof Error ? err.message : String(err);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    client.close();
  }
  throw new Error(
    `${proc.name} gRPC not ready after ${timeoutMs} ms at ${target} (last: ${lastProblem}).\n` +
      `--- last output (${proc.logPath}) ---\n${proc.tail()}`,
  );
}

/**
 * Checks a ModelInferResponse: the named FP32 output of shape [rows, cols] in raw_output_contents.
 * `softmax`: rows should sum to 1 (only a note if they do not).
 */
export function checkGrpcInferResponse(
  bytes: Buffer,
  outputName: string,
  rows: number,
  cols: number,
  softmax = true,
): CheckResult {
  let msg: InferResponseMessage;
  try {
    msg = decodeInferResponse(bytes);
  } catch (err) {
    return { ok: false, error: `response does not decode as ModelInferResponse: ${String(err)}` };
  }
  const outputs = msg.outputs ?? [];
  const index = outputs.findIndex((o) => o.name === outputName);
  if (index < 0) return { ok: false, error: `no output named ${outputName} in ${JSON.stringify(outputs)}` };
  const output = outputs[index];
  const shape = (output.shape ?? []).map(Number);
  if (shape.length !== 2 || shape[0] !== rows || shape[1] !== cols) {
    return { ok: false, error: `expected shape [${rows},${cols}], got ${JSON.stringify(output.shape)}` };
  }
  if (output.datatype !== "FP32") return { ok: false, error: `expected FP32, got ${output.datatype}` };
  const raw = msg.raw_output_contents ?? [];
  if (raw.length !== outputs.length) {
    return { ok: false, error: `expected ${outputs.length} raw_output_contents entries, got ${raw.length}` };
  }
  const data = raw[index];
  if (data.length !== rows * cols * 4) {
    return { ok: false, error: `raw output is ${data.length} bytes, expected ${rows * cols * 4}` };
  }
  const values: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: cols }, (_, c) => data.readFloatLE((r * cols + c) * 4));
    if (!row.every(Number.isFinite)) return { ok: false, error: `non-finite row ${JSON.stringify(row)}` };
    values.push(row);
  }
  const offSum = softmax && values.some((row) => Math.abs(row.reduce((a, b) => a + b, 0) - 1) > 1e-3);
  return { ok: true, values, note: offSum ? "rows do not sum to 1" : undefined };
}
