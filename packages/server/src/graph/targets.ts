import { injectTrace, send, sharedDispatcher, type Span, TimeoutError } from "../net/index.ts";
import { routerError, type StepMessage, withTimeout } from "./message.ts";

/** Where a step sends its input: a URL, or a model in this same process. */
export interface StepTarget {
  readonly description: string;
  /** `span` (tracing on): the step's span, parent of the call's client span or of the local model's stages. */
  call(input: StepMessage, headers: Record<string, string>, timeoutMs: number | undefined, span?: Span): Promise<StepMessage>;
}

/** In-process call into a served model (no HTTP hop); supplied by the server that hosts the graph. */
export interface LocalModels {
  has(name: string): boolean;
  call(name: string, body: Buffer, headers: Record<string, string>, span?: Span): Promise<StepMessage>;
}

/** Graph steps share the process's pool for plain (no TLS options) targets, at most 256 connections per host. */
const POOL = { maxConnectionsPerOrigin: 256 };

/** POSTs to a URL over pooled keep-alive connections, like KServe's router. */
export class HttpTarget implements StepTarget {
  readonly description: string;
  private readonly url: URL;

  constructor(url: string) {
    this.url = new URL(url);
    this.description = url;
  }

  async call(input: StepMessage, headers: Record<string, string>, timeoutMs: number | undefined, parent?: Span): Promise<StepMessage> {
    if (!parent) return this.post(input, headers, timeoutMs);
    const span = parent.child(`POST ${this.url.host}`, "client", {
      "http.request.method": "POST",
      "url.full": this.description,
      "server.address": this.url.hostname,
    });
    const reply = await this.post(input, injectTrace({ ...headers }, span), timeoutMs);
    span.set("http.response.status_code", reply.status);
    if (reply.status >= 500) span.fail();
    span.end();
    return reply;
  }

  private async post(input: StepMessage, headers: Record<string, string>, timeoutMs: number | undefined): Promise<StepMessage> {
    try {
      const reply = await send({
        method: "POST",
        url: this.url,
        headers: { "content-type": "application/json", ...headers, "content-length": String(input.body.byteLength) },
        body: input.body,
        // One deadline for the whole exchange, connection to last byte (like Go's http.Client.Timeout in KServe).
        timeoutMs,
        dispatcher: sharedDispatcher(POOL),
      });
      return { status: reply.status, body: reply.body };
    } catch (err) {
      if (err instanceof TimeoutError) return routerError(504, `${this.description} did not answer within ${timeoutMs! / 1000} s`);
      return routerError(500, `${this.description}: ${(err as Error).message}`);
    }
  }
}

/** A model served by this process: called through the DataPlane, as a V1 :predict would be. */
export class LocalTarget implements StepTarget {
  readonly description: string;
  private readonly name: string;
  private readonly models: LocalModels;

  constructor(name: string, models: LocalModels) {
    this.name = name;
    this.models = models;
    this.description = `model ${name} (in-process)`;
  }

  call(input: StepMessage, headers: Record<string, string>, timeoutMs: number | undefined, span?: Span): Promise<StepMessage> {
    const call = this.models.call(this.name, input.body, headers, span);
    if (timeoutMs === undefined) return call;
    return withTimeout(call, timeoutMs, () =>
      routerError(504, `${this.description} did not answer within ${timeoutMs / 1000} s`),
    );
  }
}

/** `serviceName` -> URL when no local model has that name (KServe's in-cluster address by default). */
export const DEFAULT_SERVICE_URL_TEMPLATE = "http://{name}.{namespace}/v1/models/{name}:predict";

export function serviceUrl(template: string, name: string, namespace: string): string {
  return template.replaceAll("{name}", name).replaceAll("{namespace}", namespace);
}
