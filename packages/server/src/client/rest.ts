import { InvalidInput } from "../errors/index.ts";
import type { TlsOptions } from "../net/dispatcher.ts";
import { NetworkError, TimeoutError } from "../net/errors.ts";
// Narrow imports, not the protocol barrel: the client bundles for browsers without the server's codecs.
import { isPlainObject } from "../protocol/json.ts";
import type { InferRequest, ModelIndexEntry, ModelMetadata, ServerMetadata } from "../protocol/types.ts";
import { encodeInferRequest } from "../protocol/v2/request-encode.ts";
import { decodeInferResponse } from "../protocol/v2/response-decode.ts";
import type { Parameters, Tensor } from "../tensor/index.ts";
import { type CompressionAlgorithm, compressBody, inflateReply } from "./compression.ts";
import { InferenceConnectionError, InferenceServerError, InferenceTimeoutError } from "./errors.ts";
import { InferInput, type InferRequestedOutput } from "./infer-input.ts";
import { InferResult } from "./infer-result.ts";
import { type RetryPolicy, withRetries } from "./retry.ts";
import { defaultTransport, type FetchFunction, type RESTTransport, type TransportReply } from "./transport.ts";

export interface RESTClientOptions {
  /** Per attempt, from sending the request to the end of the answer; default 60000. */
  timeoutMs?: number;
  /** Sent with every request (e.g. `authorization`). */
  headers?: Record<string, string>;
  /** Retries after the first attempt for retryable failures (see `isRetryable`); default 0 (one attempt). */
  retries?: number;
  /** First backoff delay; attempt n waits about base * 2^n, capped by maxRetryDelayMs. Default 100. */
  retryBaseDelayMs?: number;
  /** Default 1000. */
  maxRetryDelayMs?: number;
  /** TLS options for an `https://` URL: `ca`, `cert`, `key`, `rejectUnauthorized`, `servername`… (Node transport only). */
  tls?: TlsOptions;
  /**
   * Send over this `fetch` instead of Node's pooled connections (browsers and edge runtimes use the global fetch
   * anyway). Keep-alive and TLS are then fetch's business.
   */
  fetch?: FetchFunction;
  /** Called before each retry, e.g. to log it. */
  onRetry?: (error: unknown, retry: number, delayMs: number) => void;
  /** Send request bodies compressed (`Content-Encoding`), as tritonclient's request_compression_algorithm; default none. */
  requestCompression?: CompressionAlgorithm;
  /** Ask for compressed answers (`Accept-Encoding`) and inflate them, as tritonclient's response_compression_algorithm; default none. */
  responseCompression?: CompressionAlgorithm;
}

export interface CallOptions {
  headers?: Record<string, string>;
  /** Overrides the client's timeoutMs for this call. */
  timeoutMs?: number;
  /** Overrides the client's requestCompression for this call. */
  requestCompression?: CompressionAlgorithm;
  /** Overrides the client's responseCompression for this call. */
  responseCompression?: CompressionAlgorithm;
}

export interface InferOptions extends CallOptions {
  /** Outputs to return, in this order; absent means all of them. */
  outputs?: InferRequestedOutput[];
  modelVersion?: string;
  /** Sent as the request `id` and the `x-request-id` header. */
  requestId?: string;
  parameters?: Parameters;
  /** Inputs and outputs as binary tensors (default true); an InferInput's or output's own choice wins. */
  binary?: boolean;
}

export interface PredictOptions extends CallOptions {
  modelVersion?: string;
}

type Reply = TransportReply;

interface Call extends CallOptions {
  body?: Uint8Array;
  /** Return any HTTP status instead of throwing for non-2xx (health checks answer with the status). */
  anyStatus?: boolean;
}

/**
 * A client for KServe V1 / Open Inference Protocol V2 REST servers (tserve, KServe, Triton, MLServer).
 * Connections are kept alive and reused; call `close()` when done.
 *
 * ```ts
 * const client = new InferenceRESTClient("http://localhost:8080");
 * const input = new InferInput("input", [1, 4], "FP32", new Float32Array([6.8, 2.8, 4.8, 1.4]));
 * const result = await client.infer("iris", [input]);
 * result.asTypedArray("probabilities"); // Float32Array(3)
 * ```
 */
export class InferenceRESTClient {
  readonly url: string;
  private readonly base: string;
  private readonly transport: RESTTransport;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly retryPolicy: RetryPolicy;
  private readonly compression: Pick<CallOptions, "requestCompression" | "responseCompression">;

  constructor(url: string, options: RESTClientOptions = {}) {
    // "localhost:8000" (Triton's style) means http.
    const parsed = new URL(/^[a-z][a-z\d+.-]*:\/\//i.test(url) ? url : `http://${url}`);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new InvalidInput(`InferenceRESTClient needs an http:// or https:// URL, got '${url}'`);
    }
    const secure = parsed.protocol === "https:";
    if (options.tls && !secure) throw new InvalidInput(`TLS options need an https:// URL, got '${url}'`);
    if (options.tls && options.fetch) throw new InvalidInput("TLS options apply to the Node transport, not to a custom fetch");
    this.base = parsed.origin + parsed.pathname.replace(/\/+$/, "");
    this.url = this.base;
    this.transport = defaultTransport({ fetch: options.fetch, tls: options.tls });
    this.timeoutMs = positive(options.timeoutMs, 60_000, "timeoutMs");
    this.headers = lowerCaseKeys(options.headers);
    this.compression = {
      requestCompression: algorithm(options.requestCompression, "requestCompression"),
      responseCompression: algorithm(options.responseCompression, "responseCompression"),
    };
    this.retryPolicy = {
      retries: nonNegativeInteger(options.retries, 0, "retries"),
      baseDelayMs: positive(options.retryBaseDelayMs, 100, "retryBaseDelayMs"),
      maxDelayMs: positive(options.maxRetryDelayMs, 1000, "maxRetryDelayMs"),
      onRetry: options.onRetry,
    };
  }

  /** V2 inference. Inputs and outputs travel as binary tensors unless `binary: false`. */
  async infer(
    modelName: string,
    inputs: InferInput[] | InferRequest,
    options: InferOptions = {},
  ): Promise<InferResult> {
    const binary = options.binary ?? true;
    let request: InferRequest;
    let binaryInputs: boolean | ((t: Tensor) => boolean) = binary;
    if (Array.isArray(inputs)) {
      const own = new Map<Tensor, boolean>();
      const tensors = inputs.map((input, i) => {
        if (!(input instanceof InferInput)) throw new InvalidInput(`inputs[${i}] is not an InferInput`);
        const t = input.toTensor();
        if (input.binary !== undefined) own.set(t, input.binary);
        return t;
      });
      binaryInputs = (t) => own.get(t) ?? binary;
      request = { inputs: tensors };
    } else {
      request = { ...inputs };
    }
    if (options.outputs !== undefined) request.outputs = options.outputs.map((o) => o.toRequestedOutput());
    if (options.parameters !== undefined) request.parameters = { ...request.parameters, ...options.parameters };
    if (options.requestId !== undefined) request.id = options.requestId;
    const encoded = encodeInferRequest(request, { binaryInputs, binaryOutputs: binary });
    const headers = { ...lowerCaseKeys(options.headers), ...lowerCaseKeys(encoded.headers) };
    if (options.requestId !== undefined) headers["x-request-id"] = options.requestId;
    const reply = await this.call("POST", `${modelPath(modelName, options.modelVersion)}/infer`, {
      ...options,
      headers,
      body: encoded.body,
    });
    const headerLength = first(reply.headers["inference-header-content-length"]);
    return new InferResult(decodeInferResponse(reply.body, headerLength));
  }

  /** KServe V1 `:predict`: the body goes as JSON (a Uint8Array as it is); the answer comes back parsed. */
  predict(modelName: string, body: unknown, options: PredictOptions = {}): Promise<unknown> {
    return this.v1(modelName, "predict", body, options);
  }

  /** KServe V1 `:explain`. */
  explain(modelName: string, body: unknown, options: PredictOptions = {}): Promise<unknown> {
    return this.v1(modelName, "explain", body, options);
  }

  /** True when the server answers 200; false for any other status. Connection failures throw. */
  async isServerLive(options: CallOptions = {}): Promise<boolean> {
    return answersTrue(await this.call("GET", "/v2/health/live", { ...options, anyStatus: true }), "live");
  }

  async isServerReady(options: CallOptions = {}): Promise<boolean> {
    return answersTrue(await this.call("GET", "/v2/health/ready", { ...options, anyStatus: true }), "ready");
  }

  async isModelReady(name: string, version?: string, options: CallOptions = {}): Promise<boolean> {
    const reply = await this.call("GET", `${modelPath(name, version)}/ready`, { ...options, anyStatus: true });
    return answersTrue(reply, "ready");
  }

  async serverMetadata(options: CallOptions = {}): Promise<ServerMetadata> {
    return json(await this.call("GET", "/v2", options), "GET /v2") as ServerMetadata;
  }

  async modelMetadata(name: string, version?: string, options: CallOptions = {}): Promise<ModelMetadata> {
    const path = modelPath(name, version);
    return json(await this.call("GET", path, options), `GET ${path}`) as ModelMetadata;
  }

  /** Triton's model configuration (`GET /v2/models/{m}[/versions/{v}]/config`): the ModelConfig as JSON. */
  async modelConfig(name: string, version?: string, options: CallOptions = {}): Promise<Record<string, unknown>> {
    const path = `${modelPath(name, version)}/config`;
    return json(await this.call("GET", path, options), `GET ${path}`) as Record<string, unknown>;
  }

  /**
   * Triton's statistics (`GET /v2/models[/{m}[/versions/{v}]]/stats`): `{model_stats: [...]}`, every READY model
   * version's counts and durations when no name is given.
   */
  async modelStatistics(name?: string, version?: string, options: CallOptions = {}): Promise<{ model_stats: Record<string, unknown>[] }> {
    const path = name ? `${modelPath(name, version)}/stats` : "/v2/models/stats";
    return json(await this.call("GET", path, options), `GET ${path}`) as { model_stats: Record<string, unknown>[] };
  }

  /** Triton's repository index: every model version and its state (only READY ones with readyOnly). */
  async repositoryIndex(readyOnly?: boolean, options: CallOptions = {}): Promise<ModelIndexEntry[]> {
    const body = utf8Encoder.encode(JSON.stringify(readyOnly === undefined ? {} : { ready: readyOnly }));
    const headers = { ...lowerCaseKeys(options.headers), "content-type": "application/json" };
    const reply = await this.call("POST", "/v2/repository/index", { ...options, headers, body });
    return json(reply, "POST /v2/repository/index") as ModelIndexEntry[];
  }

  async loadModel(name: string, options: CallOptions = {}): Promise<void> {
    await this.call("POST", `/v2/repository/models/${encodeURIComponent(name)}/load`, options);
  }

  async unloadModel(name: string, options: CallOptions = {}): Promise<void> {
    await this.call("POST", `/v2/repository/models/${encodeURIComponent(name)}/unload`, options);
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.transport.close();
  }

  private async v1(modelName: string, verb: string, body: unknown, options: PredictOptions): Promise<unknown> {
    if (body === undefined) throw new InvalidInput(`${verb} needs a request body`);
    const bytes = body instanceof Uint8Array;
    const payload = bytes ? body : utf8Encoder.encode(JSON.stringify(body));
    const headers = {
      "content-type": bytes ? "application/octet-stream" : "application/json",
      ...lowerCaseKeys(options.headers),
    };
    const version = options.modelVersion === undefined ? "" : `/versions/${encodeURIComponent(options.modelVersion)}`;
    const path = `/v1/models/${encodeURIComponent(modelName)}${version}:${verb}`;
    return parseBody(await this.call("POST", path, { ...options, headers, body: payload }), `POST ${path}`);
  }

  /** One logical call: attempts with exponential backoff while the failure is retryable. */
  private call(method: string, path: string, call: Call): Promise<Reply> {
    return withRetries(this.retryPolicy, async () => {
      const reply = await this.attempt(method, path, call);
      if (!call.anyStatus && (reply.status < 200 || reply.status > 299)) throw serverError(reply, method, path);
      return reply;
    });
  }

  /** One HTTP exchange, bounded by the timeout; transport failures become the client's error types. */
  private async attempt(method: string, path: string, call: Call): Promise<Reply> {
    const timeoutMs = call.timeoutMs ?? this.timeoutMs;
    const requestCompression = algorithm(call.requestCompression, "requestCompression") ?? this.compression.requestCompression;
    const responseCompression = algorithm(call.responseCompression, "responseCompression") ?? this.compression.responseCompression;
    let body = call.body ?? new Uint8Array(0);
    const coding: Record<string, string> = {};
    if (requestCompression && body.byteLength > 0) {
      body = await compressBody(body, requestCompression);
      coding["content-encoding"] = requestCompression;
    }
    if (responseCompression) coding["accept-encoding"] = responseCompression;
    const headers: Record<string, string> = {
      ...this.headers,
      ...lowerCaseKeys(call.headers),
      ...coding,
      "content-length": String(body.byteLength),
    };
    let reply: Reply;
    try {
      reply = await this.transport.send({ method, url: `${this.base}${path}`, headers, body, timeoutMs });
    } catch (err) {
      if (err instanceof TimeoutError) {
        throw new InferenceTimeoutError(`${method} ${this.base}${path} timed out after ${timeoutMs} ms`, timeoutMs, { cause: err });
      }
      throw connectionError(err, this.base);
    }
    // The Inference-Header-Content-Length of a binary answer counts the inflated body, as Triton's.
    return inflateReply(reply);
  }
}

function connectionError(err: unknown, base: string): InferenceConnectionError {
  const code = err instanceof NetworkError ? err.code : (err as { code?: unknown } | null)?.code;
  const systemCode = typeof code === "string" ? code : undefined;
  const detail = err instanceof Error ? err.message : String(err);
  return new InferenceConnectionError(`Cannot reach ${base}: ${detail}`, systemCode, { cause: err });
}

/** A non-2xx reply -> InferenceServerError carrying the server's `{"error": ...}` message and the status. */
function serverError(reply: Reply, method: string, path: string): InferenceServerError {
  const text = textOf(reply);
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  let message: string | undefined;
  if (isPlainObject(body)) {
    for (const key of ["error", "message", "detail"]) {
      if (typeof body[key] === "string") {
        message = body[key];
        break;
      }
    }
  }
  message ??= text.trim() || `${method} ${path} failed with HTTP ${reply.status}`;
  return new InferenceServerError(message, { status: reply.status, body });
}

function answersTrue(reply: Reply, field: string): boolean {
  if (reply.status !== 200) return false;
  // Triton answers with an empty body; tserve and KServe with {"live": true} / {"ready": true}.
  if (reply.body.byteLength === 0) return true;
  try {
    const body = JSON.parse(textOf(reply));
    return !(isPlainObject(body) && body[field] === false);
  } catch {
    return true;
  }
}

function json(reply: Reply, what: string): unknown {
  try {
    return JSON.parse(textOf(reply));
  } catch (err) {
    throw new InvalidInput(`The answer to ${what} is not valid JSON (${(err as Error).message})`);
  }
}

/** JSON (or no content type) parsed, text as a string, anything else as bytes. */
function parseBody(reply: Reply, what: string): unknown {
  const type = (first(reply.headers["content-type"]) ?? "").split(";")[0].trim().toLowerCase();
  if (type === "" || type === "application/json" || type.endsWith("+json")) {
    return reply.body.byteLength === 0 ? null : json(reply, what);
  }
  if (type.startsWith("text/")) return textOf(reply);
  return new Uint8Array(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength);
}

// Web-standard text coding (no Buffer), so the client runs in browsers and edge runtimes too.
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

function textOf(reply: Reply): string {
  return utf8Decoder.decode(reply.body);
}

function modelPath(name: string, version?: string): string {
  const base = `/v2/models/${encodeURIComponent(name)}`;
  return version === undefined ? base : `${base}/versions/${encodeURIComponent(version)}`;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function lowerCaseKeys(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers) for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0)) throw new InvalidInput(`${name} must be a positive number`);
  return value;
}

function algorithm(value: CompressionAlgorithm | undefined, name: string): CompressionAlgorithm | undefined {
  if (value === undefined || value === "gzip" || value === "deflate") return value;
  throw new InvalidInput(`${name} must be "gzip" or "deflate", got ${JSON.stringify(value)}`);
}

function nonNegativeInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) throw new InvalidInput(`${name} must be an integer >= 0`);
  return value;
}
