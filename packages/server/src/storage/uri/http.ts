/**
 * A plain http(s) URL naming one file, KServe's way: per-host headers from the `<hostname>-headers` environment
 * variable (JSON), redirects followed, and the answer must be application/octet-stream or an archive type —
 * anything else (an HTML login or error page, typically) is refused.
 */
import { BadGateway, InvalidInput } from "../../errors/index.ts";
import type { Backend, BackendContext, Listing, RemoteFile } from "./backend.ts";
import type { Env } from "./config.ts";
import { statusError } from "./errors.ts";
import { redactUri } from "./parse.ts";
import { discard, header, type HttpResponse, readText, send, type TransportOptions } from "./transport.ts";

/** KServe's plain HTTP timeout. */
export const HTTP_TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 10;

/** Content types accepted for a downloaded file (matched on the media type, parameters ignored). */
export const ACCEPTED_CONTENT_TYPES = [
  "application/octet-stream",
  "binary/octet-stream",
  "application/zip",
  "application/x-zip-compressed",
  "application/zip-compressed",
  "application/x-tar",
  "application/x-gtar",
  "application/x-gzip",
  "application/gzip",
  "application/x-compressed-tar",
];

/** Headers hidden from another origin when a redirect leaves the one they were meant for. */
const CREDENTIAL_HEADERS = new Set(["authorization", "cookie", "proxy-authorization"]);

/** The headers configured for `hostname` by the `<hostname>-headers` environment variable (JSON object). */
export function hostHeaders(env: Env, hostname: string): Record<string, string> {
  const host = hostname.replace(/^\[|\]$/g, "");
  const variable = `${host}-headers`;
  const raw = env[variable];
  if (raw === undefined || raw.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    // May hold credentials: name the variable, not its value.
    throw new InvalidInput(`Environment variable ${variable} is not valid JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidInput(`Environment variable ${variable} must be a JSON object of header names to values`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k.toLowerCase()] = String(v);
  return out;
}

export function acceptedContentType(contentType: string | undefined): boolean {
  const media = (contentType ?? "").split(";")[0].trim().toLowerCase();
  return ACCEPTED_CONTENT_TYPES.includes(media);
}

export class HttpBackend implements Backend {
  readonly what: string;
  private readonly transport: TransportOptions;
  readonly maxAttempts: number;

  constructor(
    private readonly url: URL,
    private readonly filename: string,
    uri: string,
    private readonly context: BackendContext,
  ) {
    this.what = redactUri(uri);
    this.transport = {
      connectTimeoutMs: context.net.connectTimeoutMs ?? HTTP_TIMEOUT_MS,
      readTimeoutMs: context.net.readTimeoutMs ?? HTTP_TIMEOUT_MS,
      signal: context.signal,
    };
    this.maxAttempts = context.net.maxAttempts ?? 3;
  }

  async list(): Promise<Listing> {
    // Validate the header configuration before any byte moves.
    hostHeaders(this.context.env, this.url.hostname);
    return { files: [{ key: this.url.toString(), path: this.filename }], single: true };
  }

  async open(_file: RemoteFile): Promise<HttpResponse> {
    let url = this.url;
    let headers = hostHeaders(this.context.env, url.hostname);
    for (let hop = 0; ; hop++) {
      const res = await send({ method: "GET", url, headers, what: this.what }, this.transport);
      const location = header(res, "location");
      if ([301, 302, 303, 307, 308].includes(res.status) && location) {
        discard(res);
        if (hop >= MAX_REDIRECTS) throw new BadGateway(`${this.what} redirected more than ${MAX_REDIRECTS} times`);
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw new BadGateway(`${this.what} redirected to an invalid location`);
        }
        if (next.protocol !== "http:" && next.protocol !== "https:") {
          throw new BadGateway(`${this.what} redirected to an unsupported ${next.protocol} URL`);
        }
        if (next.origin !== url.origin) {
          // Credentials stay with the origin they were configured for; the new host gets its own.
          const previous = hostHeaders(this.context.env, url.hostname);
          const kept = Object.fromEntries(
            Object.entries(headers).filter(([k]) => !CREDENTIAL_HEADERS.has(k) && !(k in previous)),
          );
          headers = { ...kept, ...hostHeaders(this.context.env, next.hostname) };
        }
        url = next;
        continue;
      }
      if (res.status !== 200) {
        const text = await readText(res, 4096).catch(() => "");
        const detail = /^[\x20-\x7e\s]*$/.test(text) && text.trim() && text.length < 200 ? text.trim() : undefined;
        throw statusError(res.status, this.what, detail);
      }
      const contentType = header(res, "content-type");
      if (!acceptedContentType(contentType)) {
        discard(res);
        res.body.destroy();
        throw new BadGateway(
          `${this.what} answered Content-Type '${contentType ?? "(none)"}' — expected application/octet-stream or a ` +
            "zip/tar/gzip type (an HTML answer is usually a login or error page)",
        );
      }
      return res;
    }
  }
}
