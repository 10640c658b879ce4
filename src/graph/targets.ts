import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { routerError, type StepMessage, withTimeout } from "./message.ts";

/** Where a step sends its input: a URL, or a model in this same process. */
export interface StepTarget {
  readonly description: string;
  call(input: StepMessage, headers: Record<string, string>, timeoutMs: number | undefined): Promise<StepMessage>;
}

/** In-process call into a served model (no HTTP hop); supplied by the server that hosts the graph. */
export interface LocalModels {
  has(name: string): boolean;
  call(name: string, body: Buffer, headers: Record<string, string>): Promise<StepMessage>;
}

const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 256 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 256 });

export class StepTimeout extends Error {}

/** POSTs to a URL over pooled keep-alive connections, like KServe's router. */
export class HttpTarget implements StepTarget {
  readonly description: string;
  private readonly url: URL;

  constructor(url: string) {
    this.url = new URL(url);
    this.description = url;
  }

  call(input: StepMessage, headers: Record<string, string>, timeoutMs: number | undefined): Promise<StepMessage> {
    const secure = this.url.protocol === "https:";
    const send = secure ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const settle = (m: StepMessage) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(m);
      };
      const failed = (err: Error) => settle(routerError(500, `${this.description}: ${err.message}`));
      const req = send(
        this.url,
        {
          method: "POST",
          agent: secure ? httpsAgent : httpAgent,
          headers: { "content-type": "application/json", ...headers, "content-length": String(input.body.byteLength) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => settle({ status: res.statusCode ?? 500, body: Buffer.concat(chunks) }));
          res.on("error", failed);
        },
      );
      // One deadline for the whole exchange, connection to last byte (like Go's http.Client.Timeout in KServe).
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const err = new StepTimeout(`${this.description} did not answer within ${timeoutMs / 1000} s`);
          settle(routerError(504, err.message));
          req.destroy(err);
        }, timeoutMs);
      }
      req.on("error", failed);
      req.end(input.body);
    });
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

  call(input: StepMessage, headers: Record<string, string>, timeoutMs: number | undefined): Promise<StepMessage> {
    const call = this.models.call(this.name, input.body, headers);
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
