/**
 * S3 (and S3-compatible stores: MinIO, Ceph, s3rver…) over its REST API with our own SigV4: HEAD to tell an
 * object from a prefix, ListObjectsV2 with continuation tokens for prefixes, GET to download.
 */
import { readFile } from "node:fs/promises";
import { InvalidInput, NotFound } from "../../errors/index.ts";
import { type Backend, type BackendContext, baseName, type Listing, type RemoteFile, safeRelativePath } from "./backend.ts";
import { type Env, envFlag, envInt, envSecondsMs } from "./config.ts";
import { StorageAccessDenied, statusError } from "./errors.ts";
import { redactUri } from "./parse.ts";
import { fileFilterFromEnv, passesFilter } from "./patterns.ts";
import { withRetries } from "./retry.ts";
import { type AwsCredentials, EMPTY_SHA256, encodeKeyPath, encodeRfc3986, signV4 } from "./sigv4.ts";
import { discard, header, type HttpResponse, readText, send, type TransportOptions } from "./transport.ts";
import { xmlBlocks, xmlText } from "./xml.ts";

export interface S3Settings {
  region: string;
  /** A custom endpoint (AWS_ENDPOINT_URL / S3_ENDPOINT); AWS's regional endpoint when absent. */
  endpoint?: URL;
  /** Virtual-hosted style (`bucket.host/key`) rather than path style (`host/bucket/key`). */
  virtualHosted: boolean;
  /** Absent: unsigned (anonymous) requests. */
  credentials?: AwsCredentials;
  rejectUnauthorized: boolean;
  caBundle?: string;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  maxAttempts: number;
}

function parseEndpoint(raw: string, variable: string, useHttps: boolean): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `${useHttps ? "https" : "http"}://${raw}`;
  try {
    const url = new URL(withScheme);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("scheme");
    return url;
  } catch {
    throw new InvalidInput(`${variable} is not a valid http(s) endpoint URL: ${raw}`);
  }
}

/** Bucket names that cannot be a DNS label under TLS (dots, capitals, underscores) need path style on AWS. */
function dnsCompatible(bucket: string): boolean {
  return /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket);
}

/** S3 settings from the (already STORAGE_CONFIG-merged) environment. */
export function s3SettingsFromEnv(env: Env): S3Settings {
  const region = env.AWS_DEFAULT_REGION?.trim() || env.AWS_REGION?.trim() || "us-east-1";
  const useHttps = envFlag(env, "S3_USE_HTTPS", true);
  const rawEndpoint = env.AWS_ENDPOINT_URL?.trim() || env.S3_ENDPOINT?.trim();
  const endpoint = rawEndpoint
    ? parseEndpoint(rawEndpoint, env.AWS_ENDPOINT_URL?.trim() ? "AWS_ENDPOINT_URL" : "S3_ENDPOINT", useHttps)
    : undefined;
  let virtualHosted = envFlag(env, "S3_USE_VIRTUAL_BUCKET", false) || envFlag(env, "S3_USER_VIRTUAL_BUCKET", false);
  // KServe: the legacy global endpoint with a non-default region needs virtual-hosted addressing.
  if (endpoint?.host === "s3.amazonaws.com" && region !== "us-east-1") virtualHosted = true;
  const anonymous = envFlag(env, "awsAnonymousCredential", false);
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  const credentials =
    !anonymous && accessKeyId && secretAccessKey
      ? { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN?.trim() || undefined }
      : undefined;
  return {
    region,
    endpoint,
    virtualHosted,
    credentials,
    rejectUnauthorized: envFlag(env, "S3_VERIFY_SSL", true),
    caBundle: env.AWS_CA_BUNDLE?.trim() || undefined,
    connectTimeoutMs: envSecondsMs(env, "S3_CONNECT_TIMEOUT", 15),
    readTimeoutMs: envSecondsMs(env, "S3_READ_TIMEOUT", 30),
    maxAttempts: envInt(env, "S3_MAX_ATTEMPTS", 3),
  };
}

/** The URL of `key` in `bucket` (the bucket itself for key ""), with `query` encoded as SigV4 expects. */
export function s3Url(settings: S3Settings, bucket: string, key: string, query: [string, string][] = []): URL {
  const base = settings.endpoint ?? new URL(`https://s3.${settings.region}.amazonaws.${settings.region.startsWith("cn-") ? "com.cn" : "com"}`);
  const virtual = settings.endpoint ? settings.virtualHosted : settings.virtualHosted || dnsCompatible(bucket);
  const basePath = base.pathname.replace(/\/+$/, "");
  const keyPath = key === "" ? "" : `/${encodeKeyPath(key)}`;
  const host = virtual ? `${bucket}.${base.host}` : base.host;
  const path = virtual ? `${basePath}${keyPath || "/"}` : `${basePath}/${encodeRfc3986(bucket)}${keyPath}`;
  const search = query.map(([k, v]) => `${encodeRfc3986(k)}=${encodeRfc3986(v)}`).join("&");
  return new URL(`${base.protocol}//${host}${path}${search ? `?${search}` : ""}`);
}

export class S3Backend implements Backend {
  readonly what: string;
  private readonly settings: S3Settings;
  private transport?: TransportOptions;
  private regionFixed = false;

  get maxAttempts(): number {
    return this.settings.maxAttempts;
  }

  constructor(
    private readonly bucket: string,
    private readonly key: string,
    uri: string,
    private readonly context: BackendContext,
  ) {
    this.what = redactUri(uri);
    const fromEnv = s3SettingsFromEnv(context.env);
    this.settings = {
      ...fromEnv,
      connectTimeoutMs: context.net.connectTimeoutMs ?? fromEnv.connectTimeoutMs,
      readTimeoutMs: context.net.readTimeoutMs ?? fromEnv.readTimeoutMs,
      maxAttempts: context.net.maxAttempts ?? fromEnv.maxAttempts,
    };
  }

  private async transportOptions(): Promise<TransportOptions> {
    if (!this.transport) {
      let ca: Buffer | undefined;
      if (this.settings.caBundle && this.settings.rejectUnauthorized) {
        try {
          ca = await readFile(this.settings.caBundle);
        } catch {
          throw new InvalidInput(`AWS_CA_BUNDLE names a file that cannot be read: ${this.settings.caBundle}`);
        }
      }
      this.transport = {
        connectTimeoutMs: this.settings.connectTimeoutMs,
        readTimeoutMs: this.settings.readTimeoutMs,
        rejectUnauthorized: this.settings.rejectUnauthorized,
        ca,
        signal: this.context.signal,
        tlsHint: "set S3_VERIFY_SSL=0 to skip verification, or AWS_CA_BUNDLE to trust a private CA",
      };
    }
    return this.transport;
  }

  /** One signed request; follows S3's hint once when the bucket lives in another region. */
  private async request(method: "GET" | "HEAD", key: string, query: [string, string][], what: string): Promise<HttpResponse> {
    const transport = await this.transportOptions();
    for (;;) {
      const url = s3Url(this.settings, this.bucket, key, query);
      let headers: Record<string, string> = {};
      if (this.settings.credentials) {
        headers = signV4(
          { method, url, headers: { host: url.host, "x-amz-content-sha256": EMPTY_SHA256 }, payloadHash: EMPTY_SHA256 },
          { region: this.settings.region, service: "s3", credentials: this.settings.credentials, date: new Date() },
        ).headers;
      }
      const res = await send({ method, url, headers, what }, transport);
      const bucketRegion = header(res, "x-amz-bucket-region");
      if (
        (res.status === 301 || res.status === 307 || res.status === 400) &&
        bucketRegion &&
        bucketRegion !== this.settings.region &&
        !this.settings.endpoint &&
        !this.regionFixed
      ) {
        discard(res);
        this.settings.region = bucketRegion;
        this.regionFixed = true;
        continue;
      }
      return res;
    }
  }

  private async failure(res: HttpResponse, what: string): Promise<Error> {
    let detail: string | undefined;
    if (res.body.readable && res.status !== 304) {
      const body = await readText(res, 64 * 1024).catch(() => "");
      const code = xmlText(body, "Code");
      const message = xmlText(body, "Message");
      detail = [code, message].filter(Boolean).join(": ") || undefined;
    } else {
      discard(res);
    }
    if (res.status === 301 && !detail) detail = "the bucket is in another region or needs another endpoint (set AWS_DEFAULT_REGION)";
    return statusError(res.status, what, detail);
  }

  private retry<T>(fn: () => Promise<T>): Promise<T> {
    return withRetries(fn, { maxAttempts: this.settings.maxAttempts, signal: this.context.signal });
  }

  async list(): Promise<Listing> {
    let headDenied: Error | undefined;
    if (this.key !== "" && !this.key.endsWith("/")) {
      const single = await this.retry(async () => {
        const res = await this.request("HEAD", this.key, [], this.what);
        discard(res);
        if (res.status >= 200 && res.status < 300) {
          const length = header(res, "content-length");
          const file: RemoteFile = {
            key: this.key,
            path: safeRelativePath(baseName(this.key), this.what),
            size: length !== undefined ? Number(length) : undefined,
            etag: header(res, "etag"),
          };
          return file;
        }
        if (res.status === 404) return undefined;
        const err = await this.failure(res, this.what);
        // Without s3:ListBucket, S3 answers 403 for a missing key: the listing below tells which it is.
        if (err instanceof StorageAccessDenied) {
          headDenied = err;
          return undefined;
        }
        throw err;
      });
      if (single) return { files: [single], single: true };
    }

    const prefix = this.key === "" || this.key.endsWith("/") ? this.key : `${this.key}/`;
    const filter = fileFilterFromEnv(this.context.env);
    const files: RemoteFile[] = [];
    let filtered = 0;
    let token: string | undefined;
    do {
      const query: [string, string][] = [
        ["list-type", "2"],
        ["prefix", prefix],
      ];
      if (token) query.push(["continuation-token", token]);
      const page = await this.retry(async () => {
        const res = await this.request("GET", "", query, this.what);
        if (res.status !== 200) throw await this.failure(res, this.what);
        return readText(res, 64 * 1024 * 1024);
      });
      for (const entry of xmlBlocks(page, "Contents")) {
        const key = xmlText(entry, "Key") ?? "";
        if (key === "" || key.endsWith("/") || !key.startsWith(prefix)) continue;
        const rel = key.slice(prefix.length);
        if (!passesFilter(rel, filter)) {
          filtered++;
          continue;
        }
        const size = Number(xmlText(entry, "Size"));
        files.push({
          key,
          path: safeRelativePath(rel, this.what),
          size: Number.isFinite(size) ? size : undefined,
          etag: xmlText(entry, "ETag"),
        });
      }
      token = xmlText(page, "IsTruncated") === "true" ? xmlText(page, "NextContinuationToken") || undefined : undefined;
    } while (token);

    if (files.length === 0) {
      if (headDenied) throw headDenied;
      throw new NotFound(
        `No model found in ${this.what}` +
          (filtered ? ` (${filtered} object(s) excluded by STORAGE_ALLOW_PATTERNS / STORAGE_IGNORE_PATTERNS)` : ""),
      );
    }
    return { files, single: false, filtered };
  }

  async open(file: RemoteFile): Promise<HttpResponse> {
    const what = `${this.what}${file.key === this.key ? "" : ` (object ${file.key})`}`;
    const res = await this.request("GET", file.key, [], what);
    if (res.status >= 200 && res.status < 300) return res;
    throw await this.failure(res, what);
  }
}
