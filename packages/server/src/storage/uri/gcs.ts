/**
 * Google Cloud Storage over its JSON API: object metadata to tell an object from a prefix, `objects.list` with
 * page tokens, `alt=media` downloads. Credentials, in order: GOOGLE_OAUTH_ACCESS_TOKEN (a bearer token),
 * GOOGLE_APPLICATION_CREDENTIALS (a service-account key, signed into a JWT with node:crypto, or an
 * `authorized_user` refresh token), else anonymous. STORAGE_EMULATOR_HOST points it elsewhere (as Google's SDKs).
 */
import { createSign } from "node:crypto";
import { readFile } from "node:fs/promises";
import { InvalidInput, NotFound } from "../../errors/index.ts";
import { type Backend, type BackendContext, baseName, type Listing, type RemoteFile, safeRelativePath } from "./backend.ts";
import { envInt, envSecondsMs } from "./config.ts";
import { statusError } from "./errors.ts";
import { redactUri } from "./parse.ts";
import { fileFilterFromEnv, passesFilter } from "./patterns.ts";
import { requestOAuthToken } from "./oauth.ts";
import { withRetries } from "./retry.ts";
import { encodeRfc3986 } from "./sigv4.ts";
import { discard, type HttpResponse, readText, send, type TransportOptions } from "./transport.ts";

export const GCS_READ_SCOPE = "https://www.googleapis.com/auth/devstorage.read_only";
const DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token";

/** The JSON API's base URL: STORAGE_EMULATOR_HOST (scheme optional, http assumed) or storage.googleapis.com. */
export function gcsEndpoint(env: Record<string, string | undefined>): string {
  const emulator = env.STORAGE_EMULATOR_HOST?.trim();
  if (!emulator) return "https://storage.googleapis.com";
  return (/^https?:\/\//i.test(emulator) ? emulator : `http://${emulator}`).replace(/\/+$/, "");
}

export function gcsObjectUrl(endpoint: string, bucket: string, name: string, query: [string, string][] = []): URL {
  const search = query.map(([k, v]) => `${encodeRfc3986(k)}=${encodeRfc3986(v)}`).join("&");
  return new URL(`${endpoint}/storage/v1/b/${encodeRfc3986(bucket)}/o/${encodeRfc3986(name)}${search ? `?${search}` : ""}`);
}

export function gcsListUrl(endpoint: string, bucket: string, prefix: string, pageToken?: string): URL {
  const query: [string, string][] = [["prefix", prefix]];
  if (pageToken) query.push(["pageToken", pageToken]);
  const search = query.map(([k, v]) => `${encodeRfc3986(k)}=${encodeRfc3986(v)}`).join("&");
  return new URL(`${endpoint}/storage/v1/b/${encodeRfc3986(bucket)}/o?${search}`);
}

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString("base64url");
}

export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri?: string;
}

/** The signed JWT a service account trades for an access token (RFC 7523 JWT bearer grant), valid one hour. */
export function serviceAccountJwt(key: ServiceAccountKey, scope: string, nowSeconds: number): string {
  const head = { alg: "RS256", typ: "JWT", ...(key.private_key_id ? { kid: key.private_key_id } : {}) };
  const claims = {
    iss: key.client_email,
    scope,
    aud: key.token_uri ?? DEFAULT_TOKEN_URI,
    iat: nowSeconds,
    exp: nowSeconds + 3600,
  };
  const unsigned = `${base64url(JSON.stringify(head))}.${base64url(JSON.stringify(claims))}`;
  const signature = createSign("RSA-SHA256").update(unsigned).sign(key.private_key);
  return `${unsigned}.${base64url(signature)}`;
}

interface Token {
  value: string;
  expiresAt: number;
}

export class GcsBackend implements Backend {
  readonly what: string;
  private readonly endpoint: string;
  private readonly transport: TransportOptions;
  readonly maxAttempts: number;
  private token?: Token;

  constructor(
    private readonly bucket: string,
    private readonly prefix: string,
    uri: string,
    private readonly context: BackendContext,
  ) {
    this.what = redactUri(uri);
    this.endpoint = gcsEndpoint(context.env);
    this.transport = {
      connectTimeoutMs: context.net.connectTimeoutMs ?? envSecondsMs(context.env, "GCS_CONNECT_TIMEOUT", 15),
      readTimeoutMs: context.net.readTimeoutMs ?? envSecondsMs(context.env, "GCS_READ_TIMEOUT", 30),
      signal: context.signal,
    };
    this.maxAttempts = context.net.maxAttempts ?? envInt(context.env, "GCS_MAX_ATTEMPTS", 3);
  }

  /** An `Authorization` header value, or undefined for anonymous access. */
  private async authorization(): Promise<string | undefined> {
    const env = this.context.env;
    const direct = env.GOOGLE_OAUTH_ACCESS_TOKEN?.trim();
    if (direct) return `Bearer ${direct}`;
    const keyFile = env.GOOGLE_APPLICATION_CREDENTIALS?.trim();
    if (!keyFile) return undefined;
    if (this.token && this.token.expiresAt - 60_000 > Date.now()) return `Bearer ${this.token.value}`;
    this.token = await this.fetchToken(keyFile);
    return `Bearer ${this.token.value}`;
  }

  private async fetchToken(keyFile: string): Promise<Token> {
    let key: Record<string, string>;
    try {
      key = JSON.parse(await readFile(keyFile, "utf8"));
    } catch {
      throw new InvalidInput(`GOOGLE_APPLICATION_CREDENTIALS does not name a readable JSON key file: ${keyFile}`);
    }
    let form: Record<string, string>;
    let tokenUri: string;
    if (key.type === "service_account" && key.client_email && key.private_key) {
      tokenUri = key.token_uri || DEFAULT_TOKEN_URI;
      let assertion: string;
      try {
        assertion = serviceAccountJwt(key as unknown as ServiceAccountKey, GCS_READ_SCOPE, Math.floor(Date.now() / 1000));
      } catch {
        throw new InvalidInput(`The private key in ${keyFile} cannot sign (is it a PEM RSA key?)`);
      }
      form = { grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion };
    } else if (key.type === "authorized_user" && key.refresh_token) {
      tokenUri = key.token_uri || DEFAULT_TOKEN_URI;
      form = { grant_type: "refresh_token", client_id: key.client_id, client_secret: key.client_secret, refresh_token: key.refresh_token };
    } else {
      throw new InvalidInput(`${keyFile} is neither a service_account nor an authorized_user credentials file`);
    }
    return requestOAuthToken({
      url: new URL(tokenUri),
      form,
      what: `the Google token endpoint ${tokenUri}`,
      transport: this.transport,
      maxAttempts: this.maxAttempts,
      signal: this.context.signal,
      reasonOf: (json) => [json.error, json.error_description].filter((s) => typeof s === "string").join(": "),
      denied: (status, reason) => `Could not obtain a Google access token from ${tokenUri} (${status})${reason ? `: ${reason}` : ""}`,
    });
  }

  private async get(url: URL, what: string): Promise<HttpResponse> {
    const auth = await this.authorization();
    return send({ method: "GET", url, headers: auth ? { authorization: auth } : {}, what }, this.transport);
  }

  private async failure(res: HttpResponse, what: string): Promise<Error> {
    const text = await readText(res, 64 * 1024).catch(() => "");
    let detail: string | undefined;
    try {
      const message = JSON.parse(text)?.error?.message;
      if (typeof message === "string") detail = message;
    } catch {
      detail = text.trim().slice(0, 200) || undefined;
    }
    return statusError(res.status, what, detail);
  }

  private retry<T>(fn: () => Promise<T>): Promise<T> {
    return withRetries(fn, { maxAttempts: this.maxAttempts, signal: this.context.signal });
  }

  private async json(url: URL): Promise<Record<string, any> | undefined> {
    return this.retry(async () => {
      const res = await this.get(url, this.what);
      if (res.status === 404) {
        discard(res);
        return undefined;
      }
      if (res.status !== 200) throw await this.failure(res, this.what);
      return JSON.parse(await readText(res, 64 * 1024 * 1024));
    });
  }

  async list(): Promise<Listing> {
    if (this.prefix !== "" && !this.prefix.endsWith("/")) {
      const meta = await this.json(gcsObjectUrl(this.endpoint, this.bucket, this.prefix));
      if (meta && typeof meta.name === "string") {
        return {
          single: true,
          files: [
            {
              key: meta.name,
              path: safeRelativePath(baseName(meta.name), this.what),
              size: meta.size !== undefined ? Number(meta.size) : undefined,
              etag: meta.etag ?? meta.md5Hash,
            },
          ],
        };
      }
    }
    const prefix = this.prefix === "" || this.prefix.endsWith("/") ? this.prefix : `${this.prefix}/`;
    const filter = fileFilterFromEnv(this.context.env);
    const files: RemoteFile[] = [];
    let filtered = 0;
    let pageToken: string | undefined;
    do {
      const page = await this.json(gcsListUrl(this.endpoint, this.bucket, prefix, pageToken));
      if (!page) throw new NotFound(`Bucket of ${this.what} was not found`);
      for (const item of (page.items ?? []) as Record<string, any>[]) {
        const name = String(item.name ?? "");
        if (name === "" || name.endsWith("/") || !name.startsWith(prefix)) continue;
        const rel = name.slice(prefix.length);
        if (!passesFilter(rel, filter)) {
          filtered++;
          continue;
        }
        files.push({
          key: name,
          path: safeRelativePath(rel, this.what),
          size: item.size !== undefined ? Number(item.size) : undefined,
          etag: item.etag ?? item.md5Hash,
        });
      }
      pageToken = typeof page.nextPageToken === "string" && page.nextPageToken ? page.nextPageToken : undefined;
    } while (pageToken);
    if (files.length === 0) {
      throw new NotFound(
        `No model found in ${this.what}` +
          (filtered ? ` (${filtered} object(s) excluded by STORAGE_ALLOW_PATTERNS / STORAGE_IGNORE_PATTERNS)` : ""),
      );
    }
    return { files, single: false, filtered };
  }

  async open(file: RemoteFile): Promise<HttpResponse> {
    const what = `${this.what}${file.key === this.prefix ? "" : ` (object ${file.key})`}`;
    const res = await this.get(gcsObjectUrl(this.endpoint, this.bucket, file.key, [["alt", "media"]]), what);
    if (res.status >= 200 && res.status < 300) return res;
    throw await this.failure(res, what);
  }
}
