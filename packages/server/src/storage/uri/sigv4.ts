/**
 * AWS Signature Version 4 (header form), as documented in "Signing AWS API requests" and, for S3, "Authenticating
 * Requests: Using the Authorization Header". Pure: the caller supplies the clock.
 */
import { createHash, createHmac } from "node:crypto";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SigV4Request {
  method: string;
  /** The URL as it will be sent: its pathname and query are expected to be percent-encoded already. */
  url: URL;
  /** Headers to sign (and send); `host` is added from the URL when missing. */
  headers: Record<string, string>;
  /** Hex SHA-256 of the body; the empty body's hash by default. S3 also accepts "UNSIGNED-PAYLOAD". */
  payloadHash?: string;
}

export interface SigV4Params {
  region: string;
  service: string;
  credentials: AwsCredentials;
  date: Date;
  /** Every service except S3 encodes the already-encoded path a second time. */
  doubleEncodePath?: boolean;
}

export interface SignedRequest {
  /** The request's headers plus x-amz-date, x-amz-security-token (with a session token) and authorization. */
  headers: Record<string, string>;
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
  authorization: string;
}

export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

export function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

/** `20130524T000000Z` */
export function amzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/** Percent-encodes everything but RFC 3986's unreserved characters (A-Z a-z 0-9 - _ . ~). */
export function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Encodes an object key for a URL path: each segment encoded, slashes kept. */
export function encodeKeyPath(key: string): string {
  return key.split("/").map(encodeRfc3986).join("/");
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function canonicalUri(pathname: string, doubleEncode: boolean): string {
  const path = pathname === "" ? "/" : pathname;
  const once = path.split("/").map((seg) => encodeRfc3986(decodeSafe(seg))).join("/");
  return doubleEncode ? once.split("/").map(encodeRfc3986).join("/") : once;
}

export function canonicalQuery(search: string): string {
  const query = search.startsWith("?") ? search.slice(1) : search;
  if (query === "") return "";
  return query
    .split("&")
    .filter((p) => p !== "")
    .map((pair) => {
      const eq = pair.indexOf("=");
      const name = eq < 0 ? pair : pair.slice(0, eq);
      const value = eq < 0 ? "" : pair.slice(eq + 1);
      return [encodeRfc3986(decodeSafe(name)), encodeRfc3986(decodeSafe(value))] as const;
    })
    .sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([n, v]) => `${n}=${v}`)
    .join("&");
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
export function signingKey(secretAccessKey: string, dateStamp: string, region: string, service: string): Buffer {
  const kDate = hmac(`AWS4${secretAccessKey}`, dateStamp);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, "aws4_request");
}

export function signV4(request: SigV4Request, params: SigV4Params): SignedRequest {
  const { credentials, region, service } = params;
  const stamp = amzDate(params.date);
  const dateStamp = stamp.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v;
  if (headers.host === undefined) headers.host = request.url.host;
  headers["x-amz-date"] = stamp;
  if (credentials.sessionToken) headers["x-amz-security-token"] = credentials.sessionToken;

  const names = Object.keys(headers).sort();
  const canonicalHeaders = names.map((n) => `${n}:${headers[n].trim().replace(/\s+/g, " ")}\n`).join("");
  const signedHeaders = names.join(";");
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalUri(request.url.pathname, params.doubleEncodePath ?? false),
    canonicalQuery(request.url.search),
    canonicalHeaders,
    signedHeaders,
    request.payloadHash ?? EMPTY_SHA256,
  ].join("\n");
  const scope = `${dateStamp}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", stamp, scope, sha256Hex(canonicalRequest)].join("\n");
  const signature = createHmac("sha256", signingKey(credentials.secretAccessKey, dateStamp, region, service))
    .update(stringToSign, "utf8")
    .digest("hex");
  const authorization =
    `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, ` +
    `SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { headers: { ...headers, authorization }, canonicalRequest, stringToSign, signature, authorization };
}
