/**
 * Azure Blob storage over its REST API: a blob's properties (HEAD) to tell a blob from a prefix, List Blobs
 * with markers, Get Blob. Credentials, in order: a SAS carried in the URI's query, a service principal
 * (AZ_/AZURE_ TENANT_ID, CLIENT_ID, CLIENT_SECRET → an OAuth client-credentials token), a Shared Key
 * (AZURE_STORAGE_ACCESS_KEY), else anonymous. AZURE_STORAGE_BLOB_ENDPOINT points it elsewhere (Azurite…).
 */
import { createHmac } from "node:crypto";
import { InvalidInput, NotFound } from "../../errors/index.ts";
import { type Backend, type BackendContext, baseName, type Listing, type RemoteFile, safeRelativePath } from "./backend.ts";
import { type Env, envInt, envSecondsMs } from "./config.ts";
import { StorageAccessDenied, statusError } from "./errors.ts";
import { redactUri } from "./parse.ts";
import { fileFilterFromEnv, passesFilter } from "./patterns.ts";
import { requestOAuthToken } from "./oauth.ts";
import { withRetries } from "./retry.ts";
import { encodeKeyPath, encodeRfc3986 } from "./sigv4.ts";
import { discard, header, type HttpResponse, readText, send, type TransportOptions } from "./transport.ts";
import { xmlBlocks, xmlText } from "./xml.ts";

export const AZURE_STORAGE_VERSION = "2021-08-06";

/** Where requests for `account` go: AZURE_STORAGE_BLOB_ENDPOINT, or the URI's own https://<account>.blob… host. */
export function azureBaseUrl(env: Env, uriEndpoint: string): string {
  const override = env.AZURE_STORAGE_BLOB_ENDPOINT?.trim();
  return (override || uriEndpoint).replace(/\/+$/, "");
}

/** The URL of a blob (or of the container, for blob ""), with `query` and the URI's SAS appended. */
export function azureUrl(base: string, container: string, blob: string, query: [string, string][] = [], sas?: string): URL {
  const path = `/${encodeRfc3986(container)}${blob === "" ? "" : `/${encodeKeyPath(blob)}`}`;
  const parts = query.map(([k, v]) => `${encodeRfc3986(k)}=${encodeRfc3986(v)}`);
  if (sas) parts.push(sas);
  return new URL(`${base}${path}${parts.length ? `?${parts.join("&")}` : ""}`);
}

/** Shared Key string-to-sign (Blob service, version 2015-02-21 and later: a zero Content-Length is empty). */
export function azureStringToSign(method: string, url: URL, headers: Record<string, string>, account: string): string {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) h[k.toLowerCase()] = v;
  const length = h["content-length"] === "0" ? "" : (h["content-length"] ?? "");
  const standard = [
    method.toUpperCase(),
    h["content-encoding"] ?? "",
    h["content-language"] ?? "",
    length,
    h["content-md5"] ?? "",
    h["content-type"] ?? "",
    h.date ?? "",
    h["if-modified-since"] ?? "",
    h["if-match"] ?? "",
    h["if-none-match"] ?? "",
    h["if-unmodified-since"] ?? "",
    h.range ?? "",
  ];
  const msHeaders = Object.keys(h)
    .filter((k) => k.startsWith("x-ms-"))
    .sort()
    .map((k) => `${k}:${h[k].trim().replace(/\s+/g, " ")}`);
  const params = new Map<string, string[]>();
  for (const [k, v] of url.searchParams) {
    const key = k.toLowerCase();
    params.set(key, [...(params.get(key) ?? []), v]);
  }
  const resource = [
    `/${account}${url.pathname}`,
    ...[...params.keys()].sort().map((k) => `${k}:${params.get(k)!.sort().join(",")}`),
  ].join("\n");
  return [...standard, ...msHeaders, resource].join("\n");
}

/** `SharedKey <account>:<base64 HMAC-SHA256 of the string-to-sign under the base64-decoded key>` */
export function azureSharedKeyAuthorization(
  method: string,
  url: URL,
  headers: Record<string, string>,
  account: string,
  accessKeyBase64: string,
): string {
  const signature = createHmac("sha256", Buffer.from(accessKeyBase64, "base64"))
    .update(azureStringToSign(method, url, headers, account), "utf8")
    .digest("base64");
  return `SharedKey ${account}:${signature}`;
}

interface Token {
  value: string;
  expiresAt: number;
}

export class AzureBlobBackend implements Backend {
  readonly what: string;
  private readonly base: string;
  private readonly transport: TransportOptions;
  readonly maxAttempts: number;
  private token?: Token;

  constructor(
    private readonly account: string,
    uriEndpoint: string,
    private readonly container: string,
    private readonly prefix: string,
    private readonly sas: string | undefined,
    uri: string,
    private readonly context: BackendContext,
  ) {
    this.what = redactUri(uri);
    this.base = azureBaseUrl(context.env, uriEndpoint);
    this.transport = {
      connectTimeoutMs: context.net.connectTimeoutMs ?? envSecondsMs(context.env, "AZURE_CONNECT_TIMEOUT", 15),
      readTimeoutMs: context.net.readTimeoutMs ?? envSecondsMs(context.env, "AZURE_READ_TIMEOUT", 30),
      signal: context.signal,
    };
    this.maxAttempts = context.net.maxAttempts ?? envInt(context.env, "AZURE_MAX_ATTEMPTS", 3);
  }

  private servicePrincipal(): { tenant: string; clientId: string; secret: string } | undefined {
    const env = this.context.env;
    const tenant = env.AZ_TENANT_ID?.trim() || env.AZURE_TENANT_ID?.trim();
    const clientId = env.AZ_CLIENT_ID?.trim() || env.AZURE_CLIENT_ID?.trim();
    const secret = env.AZ_CLIENT_SECRET?.trim() || env.AZURE_CLIENT_SECRET?.trim();
    return tenant && clientId && secret ? { tenant, clientId, secret } : undefined;
  }

  private async bearer(sp: { tenant: string; clientId: string; secret: string }): Promise<string> {
    if (this.token && this.token.expiresAt - 60_000 > Date.now()) return this.token.value;
    const authority = (this.context.env.AZURE_AUTHORITY_HOST?.trim() || "https://login.microsoftonline.com").replace(/\/+$/, "");
    const tokenUrl = new URL(`${authority}/${encodeURIComponent(sp.tenant)}/oauth2/v2.0/token`);
    this.token = await requestOAuthToken({
      url: tokenUrl,
      form: { grant_type: "client_credentials", client_id: sp.clientId, client_secret: sp.secret, scope: "https://storage.azure.com/.default" },
      what: `the Azure AD token endpoint ${tokenUrl.origin}`,
      transport: this.transport,
      maxAttempts: this.maxAttempts,
      signal: this.context.signal,
      reasonOf: (json) => (typeof json.error === "string" ? json.error : ""),
      denied: (status, reason) => `Could not obtain an Azure AD token for client ${sp.clientId} (${status})${reason ? `: ${reason}` : ""}`,
    });
    return this.token.value;
  }

  private async request(method: "GET" | "HEAD", blob: string, query: [string, string][], what: string): Promise<HttpResponse> {
    const url = azureUrl(this.base, this.container, blob, query, this.sas);
    const headers: Record<string, string> = { "x-ms-date": new Date().toUTCString(), "x-ms-version": AZURE_STORAGE_VERSION };
    if (!this.sas) {
      const sp = this.servicePrincipal();
      const key = this.context.env.AZURE_STORAGE_ACCESS_KEY?.trim() || this.context.env.AZURE_STORAGE_KEY?.trim();
      if (sp) {
        headers.authorization = `Bearer ${await this.bearer(sp)}`;
      } else if (key) {
        if (!/^[A-Za-z0-9+/=\s]+$/.test(key)) throw new InvalidInput("AZURE_STORAGE_ACCESS_KEY is not a base64 account key");
        headers.authorization = azureSharedKeyAuthorization(method, url, headers, this.account, key);
      }
    }
    return send({ method, url, headers, what }, this.transport);
  }

  private async failure(res: HttpResponse, what: string): Promise<Error> {
    let detail: string | undefined = header(res, "x-ms-error-code");
    if (res.body.readable) {
      const body = await readText(res, 64 * 1024).catch(() => "");
      const code = xmlText(body, "Code");
      const message = xmlText(body, "Message")?.split("\n")[0];
      detail = [code, message].filter(Boolean).join(": ") || detail;
    }
    return statusError(res.status, what, detail);
  }

  private retry<T>(fn: () => Promise<T>): Promise<T> {
    return withRetries(fn, { maxAttempts: this.maxAttempts, signal: this.context.signal });
  }

  async list(): Promise<Listing> {
    let headDenied: Error | undefined;
    if (this.prefix !== "") {
      const single = await this.retry(async () => {
        const res = await this.request("HEAD", this.prefix, [], this.what);
        discard(res);
        if (res.status >= 200 && res.status < 300) {
          const length = header(res, "content-length");
          const file: RemoteFile = {
            key: this.prefix,
            path: safeRelativePath(baseName(this.prefix), this.what),
            size: length !== undefined ? Number(length) : undefined,
            etag: header(res, "etag"),
          };
          return file;
        }
        if (res.status === 404) return undefined;
        const err = statusError(res.status, this.what, header(res, "x-ms-error-code"));
        if (err instanceof StorageAccessDenied) {
          headDenied = err;
          return undefined;
        }
        throw err;
      });
      if (single) return { files: [single], single: true };
    }

    const prefix = this.prefix === "" ? "" : `${this.prefix}/`;
    const filter = fileFilterFromEnv(this.context.env);
    const files: RemoteFile[] = [];
    let filtered = 0;
    let marker: string | undefined;
    do {
      const query: [string, string][] = [
        ["restype", "container"],
        ["comp", "list"],
        ["prefix", prefix],
      ];
      if (marker) query.push(["marker", marker]);
      const page = await this.retry(async () => {
        const res = await this.request("GET", "", query, this.what);
        if (res.status !== 200) throw await this.failure(res, this.what);
        return readText(res, 64 * 1024 * 1024);
      });
      for (const blob of xmlBlocks(page, "Blob")) {
        const name = xmlText(blob, "Name") ?? "";
        if (name === "" || name.endsWith("/") || !name.startsWith(prefix)) continue;
        const rel = name.slice(prefix.length);
        if (!passesFilter(rel, filter)) {
          filtered++;
          continue;
        }
        const size = Number(xmlText(blob, "Content-Length"));
        files.push({
          key: name,
          path: safeRelativePath(rel, this.what),
          size: Number.isFinite(size) ? size : undefined,
          etag: xmlText(blob, "Etag"),
        });
      }
      marker = xmlText(page, "NextMarker") || undefined;
    } while (marker);

    if (files.length === 0) {
      if (headDenied) throw headDenied;
      throw new NotFound(
        `No model found in ${this.what}` +
          (filtered ? ` (${filtered} blob(s) excluded by STORAGE_ALLOW_PATTERNS / STORAGE_IGNORE_PATTERNS)` : ""),
      );
    }
    return { files, single: false, filtered };
  }

  async open(file: RemoteFile): Promise<HttpResponse> {
    const what = `${this.what}${file.key === this.prefix ? "" : ` (blob ${file.key})`}`;
    const res = await this.request("GET", file.key, [], what);
    if (res.status >= 200 && res.status < 300) return res;
    throw await this.failure(res, what);
  }
}
