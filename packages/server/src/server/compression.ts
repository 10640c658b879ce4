import type { IncomingMessage } from "node:http";
import { Readable, type Transform } from "node:stream";
import { createGunzip, createInflate, createInflateRaw, deflate, deflateSync, gzip, gzipSync } from "node:zlib";
import type { FastifyReply, FastifyRequest, preParsingHookHandler } from "fastify";
import { InvalidInput, TServeError } from "../errors/index.ts";

/**
 * HTTP compression, server-wide: request bodies sent with `Content-Encoding: gzip` or `deflate` (Triton's clients'
 * `request_compression_algorithm`) are inflated before any route's parser sees them, counting the inflated bytes
 * against the body limit; 2xx answers are compressed for clients that send `Accept-Encoding` with gzip or deflate.
 */

export type ContentCoding = "gzip" | "deflate";

/** `Content-Encoding` names nothing tserve can inflate (brotli, zstd, several codings…). */
export class UnsupportedContentEncoding extends TServeError {
  constructor(value: string) {
    super(
      `Unsupported Content-Encoding '${value.slice(0, 100)}': request bodies may be sent as gzip or deflate (or uncompressed, identity)`,
      "INVALID_ARG",
      415,
      "TSERVE_UNSUPPORTED_CONTENT_ENCODING",
    );
  }
}

/** The inflated body would pass the body limit (a compression bomb is refused before it fills memory). */
export class InflatedBodyTooLarge extends TServeError {
  constructor(limit: number, coding: ContentCoding) {
    super(
      `Request body is larger than the maximum of ${limit} bytes once decompressed (Content-Encoding: ${coding}; set --max_buffer_size to raise it).`,
      "PAYLOAD_TOO_LARGE",
      413,
      "TSERVE_PAYLOAD_TOO_LARGE",
    );
  }
}

/** The body is not the gzip / deflate data its `Content-Encoding` says (corrupt or cut short). */
export class CorruptCompressedBody extends InvalidInput {
  constructor(coding: ContentCoding, reason: string) {
    super(`The request body is not valid ${coding} data (Content-Encoding: ${coding}): ${reason}`);
  }
}

/** Errors after which the rest of the request body is not worth reading: the connection closes after the answer. */
export function isBodyDecodingError(err: unknown): boolean {
  return err instanceof UnsupportedContentEncoding || err instanceof InflatedBodyTooLarge || err instanceof CorruptCompressedBody;
}

/** What a request's `Content-Encoding` asks for: nothing to do, one coding to inflate, or something unsupported. */
export function requestCoding(header: string | string[] | undefined): ContentCoding | "identity" | { unsupported: string } {
  if (header === undefined) return "identity";
  const value = Array.isArray(header) ? header.join(",") : header;
  const codings = value
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
  if (codings.length === 0) return "identity";
  if (codings.length === 1) {
    if (codings[0] === "gzip" || codings[0] === "x-gzip") return "gzip";
    if (codings[0] === "deflate") return "deflate";
  }
  return { unsupported: value };
}

/** A zlib stream (RFC 1950) starts with a compression-method nibble of 8 and a header checksum divisible by 31. */
function isZlibHeader(b0: number, b1: number): boolean {
  return (b0 & 0x0f) === 8 && b0 >> 4 <= 7 && ((b0 << 8) | b1) % 31 === 0;
}

/**
 * A request body inflated as it is read, with a running count: past `limit` inflated bytes it fails (413) and
 * stops inflating. It starts only when something reads it, so a route that never parses the body (a proxy that
 * streams the raw request on) leaves the request untouched. `receivedEncodedLength` tells Fastify how many
 * compressed bytes arrived, which it checks against Content-Length.
 */
export class InflatingBody extends Readable {
  receivedEncodedLength = 0;
  private started = false;
  private finished = false;
  private inflated = 0;
  private inflater: Transform | undefined;
  private head: Buffer | undefined;

  constructor(
    private readonly source: IncomingMessage,
    private readonly coding: ContentCoding | { unsupported: string },
    private readonly limit: number,
  ) {
    super();
  }

  override _read(): void {
    if (this.started) {
      this.inflater?.resume();
      return;
    }
    this.started = true;
    if (typeof this.coding === "object") {
      this.fail(new UnsupportedContentEncoding(this.coding.unsupported));
      return;
    }
    // From here on, the body the route sees is no longer encoded: its headers should not say it is.
    delete this.source.headers["content-encoding"];
    this.source.on("data", this.onSourceData);
    this.source.on("end", this.onSourceEnd);
    this.source.on("error", this.onSourceError);
    this.source.on("close", this.onSourceClose);
    this.source.resume();
  }

  private readonly onSourceData = (chunk: Buffer): void => {
    this.receivedEncodedLength += chunk.length;
    // Bytes after the end of the compressed data (or after a failure) are read and dropped.
    if (this.finished) return;
    let bytes = chunk;
    if (!this.inflater) {
      // Raw deflate (no zlib header) is what some clients send as "deflate": told apart by the first two bytes.
      if (this.coding === "deflate") {
        bytes = this.head ? Buffer.concat([this.head, chunk]) : chunk;
        if (bytes.length < 2) {
          this.head = bytes;
          return;
        }
        this.head = undefined;
      }
      this.startInflater(bytes);
    }
    if (!this.inflater!.write(bytes)) this.source.pause();
  };

  private startInflater(first: Buffer | undefined): void {
    const inflater =
      this.coding === "gzip"
        ? createGunzip()
        : first && first.length >= 2 && !isZlibHeader(first[0], first[1])
          ? createInflateRaw()
          : createInflate();
    this.inflater = inflater;
    inflater.on("data", (out: Buffer) => {
      if (this.finished) return;
      this.inflated += out.length;
      if (this.inflated > this.limit) {
        this.fail(new InflatedBodyTooLarge(this.limit, this.coding as ContentCoding));
        return;
      }
      if (!this.push(out)) inflater.pause();
    });
    inflater.on("drain", () => this.source.resume());
    inflater.on("end", () => {
      if (this.finished) return;
      this.finished = true;
      this.source.resume(); // anything after the compressed data is dropped, never left unread
      this.push(null);
    });
    inflater.on("error", (err: Error) => this.fail(new CorruptCompressedBody(this.coding as ContentCoding, err.message)));
  }

  private readonly onSourceEnd = (): void => {
    if (this.finished) return;
    if (!this.inflater) {
      // No body bytes at all: nothing to inflate, an empty body (a lone byte is inflated, and fails, below).
      if (!this.head) {
        this.finished = true;
        this.push(null);
        return;
      }
      this.startInflater(this.head);
      this.inflater!.write(this.head);
      this.head = undefined;
    }
    // zlib's default final flush (Z_FINISH) makes data cut short an error ("unexpected end of file").
    this.inflater!.end();
  };

  private readonly onSourceError = (err: Error): void => {
    this.fail(err);
  };

  private readonly onSourceClose = (): void => {
    if (!this.source.complete) this.fail(new InvalidInput("The request was closed before its whole body arrived"));
  };

  /** Stops reading and inflating; the rest of the request body is read and dropped (the connection then closes). */
  private fail(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.source.off("data", this.onSourceData);
    this.source.resume();
    this.inflater?.destroy();
    this.destroy(err);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.finished) {
      this.finished = true;
      this.source.off("data", this.onSourceData);
      this.inflater?.destroy();
    }
    callback(err);
  }
}

/**
 * The preParsing hook that inflates compressed request bodies on every route. `limitFor` is the inflated-size limit
 * of a request (the body limit; uploads count their own bytes against --max_upload_size).
 */
export function inflateRequestBodies(limitFor: (request: FastifyRequest) => number): preParsingHookHandler {
  return (request, _reply, payload, done) => {
    const header = request.headers["content-encoding"];
    if (header === undefined) return done(null, payload);
    const coding = requestCoding(header);
    if (coding === "identity") return done(null, payload);
    done(null, new InflatingBody(request.raw, coding, limitFor(request)));
  };
}

// ---- responses ----

/**
 * The coding to answer in, from `Accept-Encoding`: the supported coding with the highest q-value (gzip on a tie,
 * `*` standing for any not named), or none when the client names neither, refuses both (q=0) or prefers identity.
 */
export function responseCoding(header: string | string[] | undefined): ContentCoding | undefined {
  if (!header) return undefined;
  const value = Array.isArray(header) ? header.join(",") : header;
  let gzipQ: number | undefined;
  let deflateQ: number | undefined;
  let identityQ: number | undefined;
  let anyQ: number | undefined;
  for (const part of value.split(",")) {
    const [rawName, ...params] = part.split(";");
    const name = rawName.trim().toLowerCase();
    if (!name) continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    if (!Number.isFinite(q)) continue;
    if (name === "gzip" || name === "x-gzip") gzipQ = Math.max(gzipQ ?? 0, q);
    else if (name === "deflate") deflateQ = Math.max(deflateQ ?? 0, q);
    else if (name === "identity") identityQ = q;
    else if (name === "*") anyQ = q;
  }
  const g = gzipQ ?? anyQ ?? 0;
  const d = deflateQ ?? anyQ ?? 0;
  const best = Math.max(g, d);
  if (best <= 0 || (identityQ !== undefined && identityQ > best)) return undefined;
  return g >= d ? "gzip" : "deflate";
}

/** Bodies smaller than this go as they are: compressing them saves nothing worth the work. */
export const MIN_COMPRESSED_SIZE = 1024;
/** Above this, compression runs on libuv's thread pool instead of the event loop. */
const SYNC_LIMIT = 32 * 1024;
/** Fast compression: tensors are large and the answer's latency matters more than the last few percent. */
const LEVEL = 1;

/** Types that are compressed already (or pointless to compress). */
const PRECOMPRESSED = /^(?:image\/(?!svg)|audio\/|video\/|application\/(?:zip|gzip|x-gzip|zstd|x-bzip2|x-xz|x-7z-compressed|vnd\.rar)\b)/i;

function addVary(reply: FastifyReply): void {
  const vary = reply.getHeader("vary");
  const current = Array.isArray(vary) ? vary.join(", ") : vary === undefined ? "" : String(vary);
  if (current === "") reply.header("vary", "Accept-Encoding");
  else if (!/(?:^|,)\s*(?:accept-encoding|\*)\s*(?:,|$)/i.test(current)) reply.header("vary", `${current}, Accept-Encoding`);
}

/**
 * Compresses a 2xx answer for a client that accepts gzip or deflate. Errors stay uncompressed: Triton's Python
 * client reads an error body without inflating it. Streams, HEAD answers, small bodies, already-encoded and
 * already-compressed types go as they are. `Inference-Header-Content-Length` keeps counting the uncompressed
 * body, as Triton's does.
 */
export function compressReply(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  done: (err: Error | null, payload?: unknown) => void,
): void {
  const status = reply.statusCode;
  if (status < 200 || status > 299 || status === 204 || request.method === "HEAD") return done(null, payload);
  if (typeof payload !== "string" && !Buffer.isBuffer(payload)) return done(null, payload);
  if (payload.length < MIN_COMPRESSED_SIZE || reply.hasHeader("content-encoding")) return done(null, payload);
  const type = reply.getHeader("content-type");
  if (typeof type === "string" && PRECOMPRESSED.test(type)) return done(null, payload);
  addVary(reply);
  const coding = responseCoding(request.headers["accept-encoding"]);
  if (!coding) return done(null, payload);
  const input = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  const send = (out: Buffer): void => {
    reply.header("content-encoding", coding);
    reply.removeHeader("content-length");
    done(null, out);
  };
  if (input.length <= SYNC_LIMIT) {
    send(coding === "gzip" ? gzipSync(input, { level: LEVEL }) : deflateSync(input, { level: LEVEL }));
    return;
  }
  (coding === "gzip" ? gzip : deflate)(input, { level: LEVEL }, (err, out) => {
    // Compression cannot really fail on a buffer; if it ever does, the body goes uncompressed.
    if (err) done(null, payload);
    else send(out);
  });
}
