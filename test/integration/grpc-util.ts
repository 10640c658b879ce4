/**
 * Helpers for the gRPC integration tests: a raw @grpc/grpc-js client for inference.GRPCInferenceService
 * (built from the .proto, not from src/client), promisified calls, and raw-contents encoders/decoders.
 */
import * as grpcJs from "@grpc/grpc-js";
import { expect } from "vitest";
import { inferencePackageDefinition } from "../../packages/server/src/protocol/grpc/index.ts";
import type {
  ModelInferRequestMessage,
  ModelInferResponseMessage,
  ModelStreamInferResponseMessage,
} from "../../packages/server/src/protocol/grpc/index.ts";

export type { ModelInferRequestMessage, ModelInferResponseMessage, ModelStreamInferResponseMessage };

/** gRPC status codes, spelled out so the tests do not depend on src/ for them. */
export const Code = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

type Callback = (err: grpcJs.ServiceError | null, res?: any) => void;
type UnaryMethod = (
  req: unknown,
  md: grpcJs.Metadata,
  opts: grpcJs.CallOptions,
  cb: Callback,
) => grpcJs.ClientUnaryCall;

export interface GrpcClient {
  raw: grpcJs.Client;
  /** A unary RPC by its .proto name; rejects with the grpc-js ServiceError. */
  call<T = any>(method: string, request?: unknown, metadata?: Record<string, string>): Promise<T>;
  /** A unary RPC that must fail: resolves to its ServiceError (fails the test if it succeeds). */
  fail(method: string, request?: unknown, metadata?: Record<string, string>): Promise<grpcJs.ServiceError>;
  infer(request: ModelInferRequestMessage, metadata?: Record<string, string>): Promise<ModelInferResponseMessage>;
  /** Opens ModelStreamInfer, writes every request, half-closes, and collects every response in order. */
  stream(
    requests: ModelInferRequestMessage[],
    metadata?: Record<string, string>,
  ): Promise<ModelStreamInferResponseMessage[]>;
  close(): void;
}

let ctor: grpcJs.ServiceClientConstructor | undefined;

function serviceConstructor(): grpcJs.ServiceClientConstructor {
  if (!ctor) {
    const pkg = grpcJs.loadPackageDefinition(inferencePackageDefinition()) as unknown as {
      inference: { GRPCInferenceService: grpcJs.ServiceClientConstructor };
    };
    ctor = pkg.inference.GRPCInferenceService;
  }
  return ctor;
}

function toMetadata(headers: Record<string, string> = {}): grpcJs.Metadata {
  const md = new grpcJs.Metadata();
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  return md;
}

/**
 * A client for 127.0.0.1:port. Message-size limits are lifted on the client (-1) so that only the
 * server's limits apply.
 */
export function grpcClient(port: number, options: grpcJs.ChannelOptions = {}): GrpcClient {
  const Ctor = serviceConstructor();
  const client = new Ctor(`127.0.0.1:${port}`, grpcJs.credentials.createInsecure(), {
    "grpc.max_send_message_length": -1,
    "grpc.max_receive_message_length": -1,
    ...options,
  });
  const methods = client as unknown as Record<string, UnaryMethod>;
  const call = <T>(method: string, request: unknown = {}, metadata?: Record<string, string>): Promise<T> => {
    const fn = methods[method];
    if (typeof fn !== "function") throw new Error(`No RPC named ${method}`);
    return new Promise<T>((resolve, reject) => {
      fn.call(client, request, toMetadata(metadata), { deadline: Date.now() + 60_000 }, (err, res) =>
        err ? reject(err) : resolve(res as T),
      );
    });
  };
  return {
    raw: client,
    call,
    async fail(method, request, metadata) {
      try {
        const res = await call(method, request, metadata);
        throw new Error(`${method} was expected to fail but answered ${JSON.stringify(res)}`);
      } catch (err) {
        if (!isServiceError(err)) throw err;
        return err;
      }
    },
    infer: (request, metadata) => call<ModelInferResponseMessage>("ModelInfer", request, metadata),
    stream(requests, metadata) {
      return new Promise((resolve, reject) => {
        const duplex = (
          client as unknown as {
            ModelStreamInfer(md: grpcJs.Metadata): grpcJs.ClientDuplexStream<unknown, ModelStreamInferResponseMessage>;
          }
        ).ModelStreamInfer(toMetadata(metadata));
        const out: ModelStreamInferResponseMessage[] = [];
        duplex.on("data", (m: ModelStreamInferResponseMessage) => out.push(m));
        duplex.on("error", reject);
        duplex.on("end", () => resolve(out));
        for (const r of requests) duplex.write(r);
        duplex.end();
      });
    },
    close: () => client.close(),
  };
}

function isServiceError(err: unknown): err is grpcJs.ServiceError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === "number" && "details" in err;
}

/** Asserts a gRPC failure's status code and that its details name each of `mentions`. */
export function expectStatus(err: grpcJs.ServiceError, code: number, ...mentions: string[]): string {
  expect(err.code, `${err.code} ${err.details}`).toBe(code);
  expect(typeof err.details).toBe("string");
  expect(err.details.length).toBeGreaterThan(0);
  for (const m of mentions) expect(err.details).toContain(m);
  return err.details;
}

// ---- raw contents: little-endian, row-major, BYTES length-prefixed ----

export function f32(values: number[]): Buffer {
  return Buffer.from(Float32Array.from(values).buffer);
}

export function f64(values: number[]): Buffer {
  return Buffer.from(Float64Array.from(values).buffer);
}

export function i32(values: number[]): Buffer {
  return Buffer.from(Int32Array.from(values).buffer);
}

export function i64(values: (bigint | number)[]): Buffer {
  return Buffer.from(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
}

export function u8(values: number[]): Buffer {
  return Buffer.from(Uint8Array.from(values));
}

export function bool(values: boolean[]): Buffer {
  return Buffer.from(values.map((v) => (v ? 1 : 0)));
}

/** FP16 as raw half-precision bit patterns. */
export function f16Bits(bits: number[]): Buffer {
  return Buffer.from(Uint16Array.from(bits).buffer);
}

/** BYTES elements: a 4-byte little-endian length before each element. */
export function bytesRaw(values: string[]): Buffer {
  return Buffer.concat(
    values.map((v) => {
      const b = Buffer.from(v, "utf8");
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.byteLength, 0);
      return Buffer.concat([len, b]);
    }),
  );
}

/** A copy (so the typed array is aligned and owns its memory). */
function aligned(buf: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(buf.byteLength);
  copy.set(buf);
  return copy.buffer;
}

/** Decoded raw contents: a typed array for numeric types (Uint16 bit patterns for FP16), strings for BYTES. */
export type Decoded =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | string[];

export function decodeRaw(datatype: string, buf: Uint8Array): Decoded {
  switch (datatype) {
    case "FP32":
      return new Float32Array(aligned(buf));
    case "FP64":
      return new Float64Array(aligned(buf));
    case "FP16":
    case "UINT16":
      return new Uint16Array(aligned(buf));
    case "INT8":
      return new Int8Array(aligned(buf));
    case "INT16":
      return new Int16Array(aligned(buf));
    case "INT32":
      return new Int32Array(aligned(buf));
    case "INT64":
      return new BigInt64Array(aligned(buf));
    case "UINT8":
    case "BOOL":
      return new Uint8Array(aligned(buf));
    case "UINT32":
      return new Uint32Array(aligned(buf));
    case "UINT64":
      return new BigUint64Array(aligned(buf));
    case "BYTES": {
      const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
      const out: string[] = [];
      let offset = 0;
      while (offset < b.byteLength) {
        const len = b.readUInt32LE(offset);
        out.push(b.subarray(offset + 4, offset + 4 + len).toString("utf8"));
        offset += 4 + len;
      }
      expect(offset).toBe(b.byteLength);
      return out;
    }
    default:
      throw new Error(`unknown datatype ${datatype}`);
  }
}

export interface DecodedOutput {
  name: string;
  datatype: string;
  shape: number[];
  values: Decoded;
}

/**
 * The outputs of a ModelInferResponse, read from raw_output_contents (which must hold exactly one entry per
 * output, in output order, with no typed `contents` alongside).
 */
export function decodeOutputs(res: ModelInferResponseMessage): DecodedOutput[] {
  const outputs = res.outputs ?? [];
  const raw = res.raw_output_contents ?? [];
  expect(raw.length, "one raw_output_contents entry per output").toBe(outputs.length);
  return outputs.map((o, i) => {
    expect(o.contents?.fp32_contents ?? []).toEqual([]);
    const shape = (o.shape ?? []).map(Number);
    // int64 shapes arrive as decimal strings (longs: String)
    for (const d of o.shape ?? []) expect(typeof d).toBe("string");
    return { name: o.name ?? "", datatype: o.datatype ?? "", shape, values: decodeRaw(o.datatype ?? "", raw[i]) };
  });
}

export function outputsByName(res: ModelInferResponseMessage): Record<string, DecodedOutput> {
  return Object.fromEntries(decodeOutputs(res).map((o) => [o.name, o]));
}

/** Plain arrays for toEqual: bigint stays bigint, typed arrays become arrays. */
export function plain(values: Decoded): unknown[] {
  return Array.from(values as ArrayLike<unknown>);
}
