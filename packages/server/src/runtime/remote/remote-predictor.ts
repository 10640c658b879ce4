import {
  InferenceConnectionError,
  InferenceGRPCClient,
  InferenceRESTClient,
  InferenceServerError,
  InferenceTimeoutError,
} from "../../client/index.ts";
import { BadGateway, InvalidInput, TServeError, toTServeError, UpstreamTimeout } from "../../errors/index.ts";
import type { PredictorSettings, RemotePredictor, RemotePredictorFactory, RequestContext } from "../../model/index.ts";
import { injectTrace, send, type Span } from "../../net/index.ts";
import { type InferRequest, type InferResponse, isInferRequest, isPlainObject, v2 } from "../../protocol/index.ts";

const PROBE_TIMEOUT_MS = 5000;

type Settings = Required<Pick<PredictorSettings, "predictorHost">> & PredictorSettings;

/** Headers that follow a request to the predictor: its id, tracing context and credentials. */
const FORWARDED = /^(x-request-id|authorization|traceparent|tracestate|b3|x-b3-[a-z-]+|x-ot-span-context|x-cloud-trace-context)$/;

export function forwardableHeaders(headers: RequestContext["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || !FORWARDED.test(k)) continue;
    out[k] = Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

/** KServe appends the scheme's default port to a bare gRPC host. */
function grpcTarget(host: string, ssl: boolean): string {
  const bare = host.replace(/^[a-z]+:\/\//i, "");
  return /:\d+$/.test(bare) ? bare : `${bare}:${ssl ? 443 : 80}`;
}

/**
 * A transformer's predictor: V1 JSON over REST, V2 over REST with binary tensors, or V2 over gRPC with raw
 * contents. Retries (exponential backoff) on refused/reset connections, 502/503 and UNAVAILABLE.
 */
export class ClientPredictor implements RemotePredictor {
  private readonly host: string;
  private readonly protocol: NonNullable<PredictorSettings["predictorProtocol"]>;
  private readonly timeoutSeconds: number;
  private readonly rest?: InferenceRESTClient;
  private readonly grpc?: InferenceGRPCClient;

  constructor(settings: Settings) {
    this.host = settings.predictorHost;
    this.protocol = settings.predictorProtocol ?? "v1";
    this.timeoutSeconds = settings.predictorRequestTimeoutSeconds ?? 600;
    const common = { timeoutMs: this.timeoutSeconds * 1000, retries: settings.predictorRequestRetries ?? 0 };
    if (this.protocol === "grpc-v2") {
      this.grpc = new InferenceGRPCClient(grpcTarget(this.host, settings.predictorUseSsl === true), {
        ...common,
        ssl: settings.predictorUseSsl === true,
      });
    } else {
      const url = /^https?:\/\//.test(this.host) ? this.host : `${settings.predictorUseSsl ? "https" : "http"}://${this.host}`;
      this.rest = new InferenceRESTClient(url, common);
    }
  }

  async predict(modelName: string, payload: unknown, ctx: RequestContext): Promise<unknown> {
    const span = ctx.span ? this.clientSpan(ctx.span, "infer", modelName) : undefined;
    if (!span) return this.callPredict(modelName, payload, forwardableHeaders(ctx.headers));
    try {
      return await this.callPredict(modelName, payload, injectTrace(forwardableHeaders(ctx.headers), span));
    } catch (err) {
      span.set("http.response.status_code", (err as TServeError).status);
      span.fail((err as Error).message);
      throw err;
    } finally {
      span.end();
    }
  }

  /** A client span for one call to the predictor; its context goes out as the call's `traceparent`. */
  private clientSpan(parent: Span, what: string, modelName: string): Span {
    return parent.child(`${what} ${modelName}`, "client", {
      "server.address": this.host,
      "tserve.predictor.protocol": this.protocol,
      "tserve.model.name": modelName,
    });
  }

  private async callPredict(modelName: string, payload: unknown, headers: Record<string, string>): Promise<unknown> {
    // What preprocess handed us is checked first: its mistakes are the transformer's, not the predictor's.
    if (this.protocol === "v1" && isInferRequest(payload)) {
      throw new InvalidInput("The predictor speaks V1: preprocess must return a JSON body such as {\"instances\": [...]}");
    }
    const request = this.protocol === "v1" ? undefined : toInferRequest(payload);
    try {
      if (!request) return this.v1Answer(await this.rest!.predict(modelName, payload, { headers }));
      const result = this.grpc
        ? await this.grpc.infer(modelName, request, { headers })
        : await this.rest!.infer(modelName, request, { headers, binary: true });
      return result.response satisfies InferResponse;
    } catch (err) {
      throw this.describe(err);
    }
  }

  async explain(modelName: string, payload: unknown, ctx: RequestContext): Promise<unknown> {
    if (!this.rest) throw new InvalidInput("explain is only forwarded over REST (v1 or v2)");
    const span = ctx.span ? this.clientSpan(ctx.span, "explain", modelName) : undefined;
    const headers = span ? injectTrace(forwardableHeaders(ctx.headers), span) : forwardableHeaders(ctx.headers);
    try {
      return this.v1Answer(await this.rest.explain(modelName, payload, { headers }));
    } catch (err) {
      span?.fail((err as Error).message);
      throw this.describe(err);
    } finally {
      span?.end();
    }
  }

  async isModelReady(modelName: string): Promise<boolean> {
    // A health probe must answer quickly even when predict calls may take minutes.
    const timeoutMs = Math.min(this.timeoutSeconds * 1000, PROBE_TIMEOUT_MS);
    if (this.grpc) return this.grpc.isModelReady(modelName, undefined, { timeoutMs });
    if (this.protocol === "v1") {
      // KServe's V1 probe: GET /v1/models/{name} answers {"name", "ready": true}.
      const r = await send({ method: "GET", url: `${this.rest!.url}/v1/models/${encodeURIComponent(modelName)}`, timeoutMs });
      let body: { ready?: boolean } | undefined;
      try {
        body = JSON.parse(r.body.toString("utf8")) as { ready?: boolean };
      } catch {
        body = undefined;
      }
      return r.status >= 200 && r.status < 300 && body?.ready === true;
    }
    return this.rest!.isModelReady(modelName, undefined, { timeoutMs });
  }

  async close(): Promise<void> {
    this.rest?.close();
    this.grpc?.close();
  }

  /**
   * A V1 answer (`:predict`, `:explain`) is a JSON object. Anything else (an HTML page, text, bytes, an empty body,
   * a JSON array or scalar) is the predictor's fault: 502, as an undecodable V2 answer is.
   */
  private v1Answer(answer: unknown): Record<string, unknown> {
    if (isPlainObject(answer) && !ArrayBuffer.isView(answer)) return answer;
    throw new BadGateway(`Predictor ${this.host} answered with ${describeAnswer(answer)}, not a JSON object`);
  }

  /** Client failures become errors that name the predictor and keep its status. */
  private describe(err: unknown): TServeError {
    // Inside the call, our own codecs only fail on what the predictor sent back: a bad gateway.
    if (err instanceof TServeError && err.status === 400) {
      return new BadGateway(`Predictor ${this.host} sent an invalid answer: ${err.message}`, { cause: err });
    }
    if (err instanceof TServeError) return err;
    if (err instanceof InferenceTimeoutError) {
      return new UpstreamTimeout(`Predictor ${this.host} did not answer within ${this.timeoutSeconds} s`, { cause: err });
    }
    if (err instanceof InferenceConnectionError) {
      return new TServeError(`Predictor ${this.host} is unavailable: ${err.message}`, "UNAVAILABLE", 503, "TSERVE_PREDICTOR_UNAVAILABLE", {
        cause: err,
      });
    }
    if (err instanceof InferenceServerError) {
      // A non-JSON error body (an HTML error page) is quoted briefly, not whole.
      const message = typeof err.body === "string" ? snippet(err.message) : err.message;
      // A status that is no error status (a redirect) is not the caller's problem: a bad gateway.
      if (err.status < 400 || err.status > 599) {
        return new BadGateway(`Predictor ${this.host} answered ${err.status}: ${message}`, { cause: err });
      }
      // The predictor's status is kept (its 400 is the caller's 400), through the shared status mapping.
      const described = new Error(`Predictor ${this.host} answered ${err.status}: ${message}`, { cause: err });
      return toTServeError(Object.assign(described, { status: err.status }));
    }
    return toTServeError(err);
  }
}

const SNIPPET_CHARS = 200;

/** Text quoted in an error: whitespace collapsed, at most SNIPPET_CHARS characters. */
function snippet(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > SNIPPET_CHARS ? `${flat.slice(0, SNIPPET_CHARS)}…` : flat;
}

/** What a V1 answer that is not a JSON object was, for the error message. */
function describeAnswer(answer: unknown): string {
  if (answer === null || answer === undefined) return "an empty body or JSON null";
  if (typeof answer === "string") return answer.trim() === "" ? "an empty text body" : `text (${snippet(answer)})`;
  if (ArrayBuffer.isView(answer)) return `a ${answer.byteLength}-byte binary body`;
  if (Array.isArray(answer)) return "a JSON array";
  return `a JSON ${typeof answer}`;
}

/** What a transformer's preprocess may hand a V2 predictor: an InferRequest, or V2 JSON with `inputs`. */
function toInferRequest(payload: unknown): InferRequest {
  if (isInferRequest(payload)) return payload;
  if (isPlainObject(payload) && Array.isArray(payload.inputs)) return v2.decodeInferRequestJson(payload);
  throw new InvalidInput('Expected "inputs" to be a list: a V2 predictor needs an InferRequest from preprocess');
}

/** The built-in remote predictor: tserve's REST and gRPC inference clients. */
export const clientPredictorFactory: RemotePredictorFactory = (settings) => new ClientPredictor(settings);
