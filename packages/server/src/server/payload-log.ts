/**
 * Payload logging, as KServe's logger (pkg/logger in the agent sidecar): every inference request and response is
 * POSTed to a sink as a binary-mode CloudEvent (`ce-*` headers, the payload bytes as the body). Sending never
 * holds up inference: events wait in a bounded queue for a few senders, each send has a deadline, and what
 * cannot be sent (queue full, sink down or slow, non-2xx) is dropped and counted on /metrics.
 */
import { Buffer } from "node:buffer";
import type { FastifyReply, FastifyRequest } from "fastify";
import { Counter, type Registry } from "prom-client";
import { defineFlags } from "../config/flags.ts";
import { createDispatcher, type Dispatcher, send, TimeoutError } from "../net/index.ts";
import type { ModelSettings } from "../model/index.ts";

/** KServe's LoggerType: which side of each exchange is logged. */
export const PAYLOAD_LOG_MODES = ["all", "request", "response"] as const;
export type PayloadLogMode = (typeof PAYLOAD_LOG_MODES)[number];

/** KServe's CloudEvent types. */
export const CE_INFERENCE_REQUEST = "org.kubeflow.serving.inference.request";
export const CE_INFERENCE_RESPONSE = "org.kubeflow.serving.inference.response";

/** A model's own sink (model-settings.json `logger`, KServe's InferenceService `logger: {url, mode}`). */
export interface ModelLoggerSettings {
  url?: string;
  mode?: PayloadLogMode;
}

export interface PayloadLogOptions {
  /** The sink every model's events go to (`--logger_url`, KServe's `--log-url`); a model's own `logger.url` wins. */
  url?: string;
  /** `all` (default), `request` or `response` (`--logger_mode`); a model's own `logger.mode` wins. */
  mode?: PayloadLogMode;
  /** `ce-source` (`--logger_source_uri`, KServe's `--source-uri`); default `http://localhost:{port}/`. */
  sourceUri?: string;
  /** `ce-inferenceservicename` (`--inference_service`, default $INFERENCE_SERVICE_NAME). */
  inferenceService?: string;
  /** `ce-namespace` (`--namespace`, default $POD_NAMESPACE). */
  namespace?: string;
  /** `ce-component`: predictor, transformer or explainer (`--component`). */
  component?: string;
  /** `ce-endpoint`: default or canary (`--endpoint`). */
  endpoint?: string;
  /** Events waiting to be sent before new ones are dropped (default 1000). */
  queueSize?: number;
  /** Bytes of payload waiting before new events are dropped (default 256 MiB). */
  queueBytes?: number;
  /** Events sent at once (default 4). */
  concurrency?: number;
  /** Deadline of one send, connecting included, in ms (default 5000). */
  timeoutMs?: number;
}

/** `tserve serve` flags, as KServe's agent's logger flags. */
export const PAYLOAD_LOG_FLAGS = defineFlags({
  logger_url: { aliases: ["log-url"], type: "string", help: "send every inference request and response as a CloudEvent to this URL (KServe's payload logger; a model's model-settings.json logger.url wins)" },
  logger_mode: { aliases: ["log-mode"], type: "enum", values: PAYLOAD_LOG_MODES, default: "all", help: "what the payload logger sends: all, request or response" },
  logger_source_uri: { aliases: ["source-uri"], type: "string", help: "the payload log events' ce-source (default http://localhost:{port}/)" },
  inference_service: { type: "string", env: "INFERENCE_SERVICE_NAME", help: "the payload log events' ce-inferenceservicename (default $INFERENCE_SERVICE_NAME)" },
  namespace: { type: "string", env: "POD_NAMESPACE", help: "the payload log events' ce-namespace (default $POD_NAMESPACE)" },
  component: { type: "string", help: "the payload log events' ce-component (predictor, transformer, explainer)" },
  endpoint: { type: "string", help: "the payload log events' ce-endpoint (default, canary)" },
});

export type DropReason = "queue_full" | "timeout" | "network" | "status" | "unbuffered";

interface PayloadEvent {
  url: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface PayloadLoggerDeps {
  registry: Registry;
  /** A model's model-settings.json (throws for an unknown model). */
  settingsOf: (model: string) => ModelSettings;
  /** The model a server-wide route (Seldon component, OpenBayes predictor, graph) serves. */
  defaultModel?: () => string | undefined;
  log?: (level: "debug" | "warn", message: string) => void;
}

/** The Seldon component routes that run the model (its health and metadata routes are not logged). */
const SELDON_ROUTES = new Set(["/predict", "/api/v1.0/predictions", "/api/v0.1/predictions", "/transform-input", "/transform-output", "/route", "/aggregate"]);

/**
 * The model an inference route serves, or undefined for a route that is not one: V1 / TF Serving POSTs under
 * `/v1/models/`, V2 infer, Seldon predictions and component calls, and POST / (OpenBayes predictor, graph).
 */
export function inferenceModel(request: FastifyRequest, defaultModel: () => string | undefined): string | undefined {
  if (request.method !== "POST") return undefined;
  const route = request.routeOptions.url;
  if (route === undefined) return undefined;
  const params = request.params as Record<string, string | undefined> | undefined;
  if (route.startsWith("/v2/models/:name/")) return route.endsWith("/infer") ? params?.name : undefined;
  if (route.endsWith("/*") && (route.startsWith("/v1/models/") || route.startsWith("/:v1("))) {
    const rest = params?.["*"] ?? "";
    const end = rest.search(/[:/]/);
    return end < 0 ? rest : rest.slice(0, end);
  }
  if (route === "/" || route === "/*" || SELDON_ROUTES.has(route)) return params?.model ?? defaultModel() ?? "";
  return undefined;
}

/** Sends payload log events from a bounded queue; see the file comment. */
export class PayloadLogger {
  private readonly options: PayloadLogOptions;
  private readonly deps: PayloadLoggerDeps;
  private readonly queue: PayloadEvent[] = [];
  private queuedBytes = 0;
  private active = 0;
  private dispatcher?: Dispatcher;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly sent: Counter<"type">;
  private readonly dropped: Counter<"reason">;
  private warnedAt = 0;

  constructor(options: PayloadLogOptions, deps: PayloadLoggerDeps) {
    if (options.url !== undefined && !/^https?:\/\/[^/]/.test(options.url)) {
      throw new Error(`--logger_url must be an http:// or https:// URL, got ${JSON.stringify(options.url)}`);
    }
    this.options = options;
    this.deps = deps;
    this.sent = new Counter({
      name: "tserve_payload_log_sent_total",
      help: "Payload log CloudEvents the sink accepted (2xx), by type (request, response)",
      labelNames: ["type"] as const,
      registers: [deps.registry],
    });
    this.dropped = new Counter({
      name: "tserve_payload_log_dropped_total",
      help: "Payload log CloudEvents dropped: queue_full, timeout, network (sink down), status (non-2xx), unbuffered (a streamed answer)",
      labelNames: ["reason"] as const,
      registers: [deps.registry],
    });
  }

  /** The sink and mode for a model: its own model-settings.json `logger`, else the server's; undefined: not logged. */
  private target(model: string): { url: string; mode: PayloadLogMode } | undefined {
    let own: ModelLoggerSettings | undefined;
    try {
      own = this.deps.settingsOf(model).logger;
    } catch {
      own = undefined; // an unknown model: the server's sink logs its 404
    }
    const url = own?.url ?? this.options.url;
    if (!url) return undefined;
    return { url, mode: own?.mode ?? this.options.mode ?? "all" };
  }

  /**
   * Called from the app's onSend hook with the answer about to leave: queues the request and response events of an
   * inference route. Cheap when the route is not one or nothing is logged.
   */
  onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown): void {
    if (this.closed || request.method !== "POST") return;
    const model = inferenceModel(request, this.deps.defaultModel ?? (() => undefined));
    if (model === undefined) return;
    const target = this.target(model);
    if (!target) return;
    const now = new Date();
    const given = request.headers["ce-id"];
    // KServe's id: the caller's Ce-Id, else ours; ours is the x-request-id the caller got back.
    const id = typeof given === "string" && given !== "" ? given : request.id;
    const common: Record<string, string> = {
      "ce-specversion": "1.0",
      "ce-id": id,
      "ce-source": this.options.sourceUri ?? `http://localhost:${request.socket?.localPort ?? ""}/`,
      "ce-requestid": request.id,
    };
    if (model) common["ce-modelname"] = model;
    const extensions: [string, string | undefined][] = [
      ["ce-inferenceservicename", this.options.inferenceService],
      ["ce-namespace", this.options.namespace],
      ["ce-component", this.options.component],
      ["ce-endpoint", this.options.endpoint],
    ];
    for (const [name, value] of extensions) if (value) common[name] = value;

    if (target.mode !== "response") {
      const body = toBuffer(request.body) ?? Buffer.alloc(0);
      const arrived = new Date(now.getTime() - reply.elapsedTime);
      const headers: Record<string, string> = { ...common, "ce-type": CE_INFERENCE_REQUEST, "ce-time": arrived.toISOString() };
      copyPayloadHeaders(headers, request.headers["content-type"], request.headers["inference-header-content-length"]);
      this.enqueue({ url: target.url, headers, body });
    }
    if (target.mode !== "request") {
      const body = toBuffer(payload);
      if (!body) {
        this.drop("unbuffered");
        return;
      }
      const headers: Record<string, string> = {
        ...common,
        "ce-type": CE_INFERENCE_RESPONSE,
        "ce-time": now.toISOString(),
        // KServe logs only 200 answers (kserve#2722); we log every one and say which it was.
        "ce-statuscode": String(reply.statusCode),
      };
      copyPayloadHeaders(headers, reply.getHeader("content-type"), reply.getHeader("inference-header-content-length"));
      this.enqueue({ url: target.url, headers, body });
    }
  }

  private enqueue(event: PayloadEvent): void {
    const maxEvents = this.options.queueSize ?? 1000;
    const maxBytes = this.options.queueBytes ?? 256 * 1024 * 1024;
    if (this.queue.length >= maxEvents || this.queuedBytes + event.body.length > maxBytes) {
      this.drop("queue_full");
      return;
    }
    this.queue.push(event);
    this.queuedBytes += event.body.length;
    this.pump();
  }

  private pump(): void {
    const concurrency = this.options.concurrency ?? 4;
    while (this.active < concurrency && this.queue.length > 0) {
      const event = this.queue.shift()!;
      this.queuedBytes -= event.body.length;
      this.active++;
      void this.deliver(event).finally(() => {
        this.active--;
        this.pump();
        if (this.active === 0 && this.queue.length === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      });
    }
  }

  private async deliver(event: PayloadEvent): Promise<void> {
    const timeoutMs = this.options.timeoutMs ?? 5000;
    this.dispatcher ??= createDispatcher({ connectTimeoutMs: timeoutMs, maxConnectionsPerOrigin: this.options.concurrency ?? 4 });
    // recordedtime: KServe's extension for when the event was sent.
    event.headers["ce-recordedtime"] = new Date().toISOString();
    try {
      const reply = await send({ method: "POST", url: event.url, headers: event.headers, body: event.body, timeoutMs, dispatcher: this.dispatcher });
      if (reply.status >= 200 && reply.status < 300) {
        this.sent.labels(event.headers["ce-type"] === CE_INFERENCE_REQUEST ? "request" : "response").inc();
      } else {
        this.drop("status", `the payload log sink ${event.url} answered ${reply.status}`);
      }
    } catch (err) {
      this.drop(err instanceof TimeoutError ? "timeout" : "network", `payload log event not sent to ${event.url}: ${(err as Error).message}`);
    }
  }

  private drop(reason: DropReason, why?: string): void {
    this.dropped.labels(reason).inc();
    if (!why || !this.deps.log) return;
    // One warning a minute at most: a sink that is down must not flood the log.
    const now = Date.now();
    if (now - this.warnedAt >= 60_000) {
      this.warnedAt = now;
      this.deps.log("warn", `${why} (dropped; counted in tserve_payload_log_dropped_total)`);
    } else this.deps.log("debug", why);
  }

  /** Events queued or being sent. */
  get pending(): number {
    return this.queue.length + this.active;
  }

  /** Resolves once nothing is queued or being sent (tests, shutdown). */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking events, lets the queue drain for up to `withinMs`, then drops the connections. */
  async close(withinMs = this.options.timeoutMs ?? 5000): Promise<void> {
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise((resolve) => (timer = setTimeout(resolve, withinMs)))]);
    clearTimeout(timer);
    await this.dispatcher?.destroy().catch(() => undefined);
  }
}

function toBuffer(value: unknown): Buffer | undefined {
  if (value === undefined || value === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === "string") return Buffer.from(value);
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return undefined;
}

/** The payload's content type, and V2's binary header length so the sink can split a binary body. */
function copyPayloadHeaders(headers: Record<string, string>, contentType: unknown, jsonLength: unknown): void {
  const type = Array.isArray(contentType) ? contentType[0] : contentType;
  if (type !== undefined && type !== null && type !== "") headers["content-type"] = String(type);
  const length = Array.isArray(jsonLength) ? jsonLength[0] : jsonLength;
  if (length !== undefined && length !== null && length !== "") headers["inference-header-content-length"] = String(length);
}

