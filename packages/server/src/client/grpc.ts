import * as grpcJs from "@grpc/grpc-js";
import { InvalidInput } from "../errors/index.ts";
// Narrow imports, not the protocol barrel (whose other codecs the client does not need).
import * as grpc from "../protocol/grpc/index.ts";
import type { InferRequest, ModelIndexEntry, ModelMetadata, ModelState, ServerMetadata } from "../protocol/types.ts";
import type { Parameters } from "../tensor/index.ts";
import { InferenceConnectionError, InferenceServerError, InferenceTimeoutError } from "./errors.ts";
import { InferInput, type InferRequestedOutput } from "./infer-input.ts";
import { InferResult } from "./infer-result.ts";
import { withRetries } from "./retry.ts";

export interface GRPCClientOptions {
  /** Deadline per attempt in ms; default 60000. */
  timeoutMs?: number;
  /** Sent as metadata with every call (e.g. `authorization`). */
  headers?: Record<string, string>;
  /** Retries after the first attempt when the server is UNAVAILABLE (refused, reset, restarting); default 0. Net's one retry policy. */
  retries?: number;
  retryBaseDelayMs?: number;
  maxRetryDelayMs?: number;
  /** TLS: true for the system roots, or explicit credentials. */
  ssl?: boolean | grpcJs.ChannelCredentials;
  /** Largest message either way; default unlimited (-1), as KServe's client. */
  maxMessageLength?: number;
  onRetry?: (error: unknown, retry: number, delayMs: number) => void;
}

export interface GRPCCallOptions {
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface GRPCInferOptions extends GRPCCallOptions {
  outputs?: InferRequestedOutput[];
  modelVersion?: string;
  requestId?: string;
  parameters?: Parameters;
  /** Tensors in raw_input_contents (default, exact and fastest) or in typed `contents`. */
  raw?: boolean;
}

type UnaryMethod = (
  request: unknown,
  metadata: grpcJs.Metadata,
  options: grpcJs.CallOptions,
  callback: (err: grpcJs.ServiceError | null, response: any) => void,
) => grpcJs.ClientUnaryCall;

type ServiceClient = grpcJs.Client & Record<string, UnaryMethod>;

let clientConstructor: grpcJs.ServiceClientConstructor | undefined;

function serviceConstructor(): grpcJs.ServiceClientConstructor {
  if (!clientConstructor) {
    const loaded = grpcJs.loadPackageDefinition(grpc.inferencePackageDefinition()) as unknown as {
      inference: { GRPCInferenceService: grpcJs.ServiceClientConstructor };
    };
    clientConstructor = loaded.inference.GRPCInferenceService;
  }
  return clientConstructor;
}

/** A gRPC failure -> the client's error types (status = the HTTP status a REST caller would see). */
function toClientError(err: grpcJs.ServiceError, timeoutMs: number): InferenceServerError {
  // grpc-js appends an empty "Resolution note:" to connection failures; it says nothing to a reader.
  const message = (err.details || err.message).replace(/\s*Resolution note:\s*$/, "").trim();
  if (err.code === grpcJs.status.DEADLINE_EXCEEDED) {
    return new InferenceTimeoutError(`gRPC call timed out after ${timeoutMs} ms`, timeoutMs, {
      code: err.code,
      cause: err,
    });
  }
  if (
    err.code === grpcJs.status.UNAVAILABLE &&
    /ECONNREFUSED|No connection established|ECONNRESET|connect/i.test(message)
  ) {
    const systemCode = /ECONNRESET/.test(message) ? "ECONNRESET" : "ECONNREFUSED";
    return new InferenceConnectionError(message, systemCode, { code: err.code, cause: err });
  }
  return new InferenceServerError(message, { status: grpc.httpStatusOfGrpc(err.code), code: err.code, cause: err });
}

/**
 * A client for `inference.GRPCInferenceService` (tserve, KServe, Triton, MLServer). One channel is kept
 * open and reused; call `close()` when done.
 *
 * ```ts
 * const client = new InferenceGRPCClient("localhost:8081");
 * const result = await client.infer("iris", [new InferInput("input", [1, 4], "FP32", new Float32Array([6.8, 2.8, 4.8, 1.4]))]);
 * ```
 */
export class InferenceGRPCClient {
  readonly target: string;
  private readonly client: ServiceClient;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly options: GRPCClientOptions;

  constructor(target: string, options: GRPCClientOptions = {}) {
    // Accept "host:port", "grpc://host:port" and "http(s)://host:port" alike.
    this.target = target.replace(/^(grpcs?|https?):\/\//, "").replace(/\/+$/, "");
    if (!this.target) throw new InvalidInput("InferenceGRPCClient needs a host:port target");
    const credentials =
      options.ssl === true
        ? grpcJs.credentials.createSsl()
        : options.ssl
          ? options.ssl
          : grpcJs.credentials.createInsecure();
    const max = options.maxMessageLength ?? -1;
    const Ctor = serviceConstructor();
    this.client = new Ctor(this.target, credentials, {
      "grpc.max_send_message_length": max,
      "grpc.max_receive_message_length": max,
      "grpc.keepalive_time_ms": 30_000,
    }) as unknown as ServiceClient;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.headers = options.headers ?? {};
    this.options = options;
  }

  async infer(
    modelName: string,
    inputs: InferInput[] | InferRequest,
    options: GRPCInferOptions = {},
  ): Promise<InferResult> {
    let request: InferRequest;
    if (Array.isArray(inputs)) {
      request = {
        inputs: inputs.map((input, i) => {
          if (!(input instanceof InferInput)) throw new InvalidInput(`inputs[${i}] is not an InferInput`);
          return input.toTensor();
        }),
      };
    } else {
      request = { ...inputs };
    }
    if (options.outputs !== undefined) request.outputs = options.outputs.map((o) => o.toRequestedOutput());
    if (options.parameters !== undefined) request.parameters = { ...request.parameters, ...options.parameters };
    if (options.requestId !== undefined) request.id = options.requestId;
    const message = grpc.encodeModelInferRequest(modelName, request, {
      modelVersion: options.modelVersion,
      raw: options.raw ?? true,
    });
    const headers =
      options.requestId !== undefined ? { ...options.headers, "x-request-id": options.requestId } : options.headers;
    const response = await this.call<grpc.ModelInferResponseMessage>("ModelInfer", message, { ...options, headers });
    return new InferResult(grpc.decodeModelInferResponse(response));
  }

  async isServerLive(options: GRPCCallOptions = {}): Promise<boolean> {
    return (await this.call<{ live?: boolean }>("ServerLive", {}, options)).live === true;
  }

  async isServerReady(options: GRPCCallOptions = {}): Promise<boolean> {
    return (await this.call<{ ready?: boolean }>("ServerReady", {}, options)).ready === true;
  }

  async isModelReady(name: string, version?: string, options: GRPCCallOptions = {}): Promise<boolean> {
    return (
      (await this.call<{ ready?: boolean }>("ModelReady", { name, version: version ?? "" }, options)).ready === true
    );
  }

  async serverMetadata(options: GRPCCallOptions = {}): Promise<ServerMetadata> {
    const m = await this.call<{
      name?: string;
      version?: string;
      extensions?: string[];
    }>("ServerMetadata", {}, options);
    return { name: m.name ?? "", version: m.version ?? "", extensions: m.extensions ?? [] };
  }

  async modelMetadata(name: string, version?: string, options: GRPCCallOptions = {}): Promise<ModelMetadata> {
    const m = await this.call<grpc.ModelMetadataResponseMessage>(
      "ModelMetadata",
      { name, version: version ?? "" },
      options,
    );
    return grpc.decodeModelMetadata(m);
  }

  /** Triton's ModelConfig RPC: the model's configuration message (64-bit integers as decimal strings, enums by name). */
  async modelConfig(name: string, version?: string, options: GRPCCallOptions = {}): Promise<Record<string, unknown>> {
    const r = await this.call<grpc.ModelConfigResponseMessage>("ModelConfig", { name, version: version ?? "" }, options);
    return r.config ?? {};
  }

  /** Triton's ModelStatistics RPC: every READY model version's statistics, or one model's (one version's). */
  async modelStatistics(name?: string, version?: string, options: GRPCCallOptions = {}): Promise<{ model_stats: Record<string, unknown>[] }> {
    const r = await this.call<grpc.ModelStatisticsResponseMessage>("ModelStatistics", { name: name ?? "", version: version ?? "" }, options);
    return { model_stats: r.model_stats ?? [] };
  }

  async repositoryIndex(readyOnly = false, options: GRPCCallOptions = {}): Promise<ModelIndexEntry[]> {
    const r = await this.call<grpc.RepositoryIndexResponseMessage>("RepositoryIndex", { ready: readyOnly }, options);
    return (r.models ?? []).map((m) => {
      const row: ModelIndexEntry = {
        name: m.name,
        state: (m.state || "UNKNOWN") as ModelState,
        reason: m.reason ?? "",
      };
      if (m.version) row.version = m.version;
      return row;
    });
  }

  async loadModel(name: string, options: GRPCCallOptions = {}): Promise<void> {
    await this.call("RepositoryModelLoad", { model_name: name }, options);
  }

  async unloadModel(name: string, options: GRPCCallOptions = {}): Promise<void> {
    await this.call("RepositoryModelUnload", { model_name: name }, options);
  }

  close(): void {
    this.client.close();
  }

  private call<T>(method: string, request: unknown, options: GRPCCallOptions): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const metadata = new grpcJs.Metadata();
    for (const [k, v] of Object.entries({ ...this.headers, ...options.headers })) metadata.set(k.toLowerCase(), v);
    const policy = {
      retries: this.options.retries ?? 0,
      baseDelayMs: this.options.retryBaseDelayMs ?? 100,
      maxDelayMs: this.options.maxRetryDelayMs ?? 1000,
      onRetry: this.options.onRetry,
    };
    return withRetries(
      policy,
      () =>
        new Promise<T>((resolve, reject) => {
          this.client[method](request, metadata, { deadline: Date.now() + timeoutMs }, (err, response) => {
            if (err) reject(toClientError(err, timeoutMs));
            else resolve(response as T);
          });
        }),
    );
  }
}
