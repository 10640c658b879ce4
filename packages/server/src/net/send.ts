/**
 * One HTTP exchange over a pooled keep-alive connection (undici), with a deadline for the whole exchange and/or
 * an idle limit, the caller's AbortSignal, and the answer's body read whole or streamed.
 */
import { PassThrough, type Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { sharedDispatcher, type TlsOptions } from "./dispatcher.ts";
import { undici } from "./undici.ts";
import { abortError, isStaleConnection, TimeoutError, toNetError } from "./errors.ts";

export type OutgoingHeaders = Record<string, string | string[] | undefined>;
export type IncomingHeaders = Record<string, string | string[] | undefined>;

export interface SendOptions {
  method: string;
  url: string | URL;
  headers?: OutgoingHeaders;
  /**
   * Bytes, text, or a stream / async iterable (sent as it is read, never re-sent). Without a content-length header
   * a stream that has already ended goes with its length; an async iterable always goes chunked.
   */
  body?: Uint8Array | string | Readable | AsyncIterable<Uint8Array> | null;
  /** One deadline for the whole exchange, connecting to the last byte of the answer (a TimeoutError, phase "exchange"). */
  timeoutMs?: number;
  /** Longest silence waiting for the answer or between its chunks (phase "idle"); undici checks it about every 0.5 s. */
  idleTimeoutMs?: number;
  /** Limit on connecting; part of the shared pool's identity. */
  connectTimeoutMs?: number;
  signal?: AbortSignal;
  /** TLS options for an https:// URL; part of the shared pool's identity. */
  tls?: TlsOptions;
  /** A pool the caller owns (see createDispatcher); default the shared one for these tls/connect options. */
  dispatcher?: Dispatcher;
  /** Turns the layer's errors (NetworkError, TimeoutError) into the caller's, before and while the body streams. */
  mapError?: (err: Error) => Error;
}

export interface Reply<B> {
  status: number;
  headers: IncomingHeaders;
  body: B;
}

/** Failures on a kept-alive connection the server had closed before our request reached it. */
const staleFailures = new WeakSet<object>();

/** Sends and reads the whole answer. */
export async function send(options: SendOptions): Promise<Reply<Buffer>> {
  const reusable = options.body === undefined || options.body === null || typeof options.body === "string" || options.body instanceof Uint8Array;
  try {
    return await exchange(options, "buffer");
  } catch (err) {
    // A kept-alive connection the server closed in the meantime: once more, on a fresh one.
    if (!reusable || !staleFailures.has(err as object)) throw err;
    return exchange(options, "buffer");
  }
}

/** Sends and resolves once the status and headers arrive; the body streams (destroy it to stop early). */
export function open(options: SendOptions): Promise<Reply<Readable>> {
  return exchange(options, "stream");
}

function exchange(options: SendOptions, mode: "buffer"): Promise<Reply<Buffer>>;
function exchange(options: SendOptions, mode: "stream"): Promise<Reply<Readable>>;
async function exchange(options: SendOptions, mode: "buffer" | "stream"): Promise<Reply<Buffer | Readable>> {
  const url = typeof options.url === "string" ? new URL(options.url) : options.url;
  const { timeoutMs, idleTimeoutMs, signal } = options;
  if (signal?.aborted) throw abortError(signal);
  const where = { origin: url.host, answered: false, idleTimeoutMs, connectTimeoutMs: options.connectTimeoutMs };
  const dispatcher = options.dispatcher ?? sharedDispatcher({ tls: options.tls, connectTimeoutMs: options.connectTimeoutMs });

  // Our own controller: the deadline and the caller's signal both abort the request through it.
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = () => controller.abort(abortError(signal));
  signal?.addEventListener("abort", onAbort, { once: true });
  if (timeoutMs !== undefined && timeoutMs > 0) {
    timer = setTimeout(() => {
      controller.abort(new TimeoutError(`${options.method} ${url.origin}${url.pathname} timed out after ${timeoutMs} ms`, timeoutMs, "exchange"));
    }, timeoutMs);
  }
  const done = () => {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  };
  const failure = (err: unknown): Error => {
    const error = controller.signal.aborted ? (controller.signal.reason as Error) : toNetError(err, where);
    return options.mapError ? options.mapError(error) : error;
  };

  let answer: Dispatcher.ResponseData;
  try {
    answer = await undici().request(url, {
      method: options.method as Dispatcher.HttpMethod,
      headers: messageHeaders(options.headers),
      // undici streams an async iterable as it does a Readable; its request() types leave it out.
      body: (options.body ?? undefined) as string | Uint8Array | Readable | undefined,
      dispatcher,
      signal: controller.signal,
      headersTimeout: idleTimeoutMs ?? 0,
      bodyTimeout: idleTimeoutMs ?? 0,
    });
  } catch (err) {
    done();
    const error = failure(err);
    if (isStaleConnection(err)) staleFailures.add(error);
    throw error;
  }
  where.answered = true;
  const { statusCode: status, headers } = answer;

  if (mode === "buffer") {
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of answer.body) chunks.push(chunk as Buffer);
      // undici frees a connection one event-loop turn after the answer ends: wait for it, so that a caller's next
      // request reuses this connection instead of opening a second one.
      await new Promise((resolve) => setImmediate(resolve));
      return { status, headers, body: Buffer.concat(chunks) };
    } catch (err) {
      throw failure(err);
    } finally {
      done();
    }
  }

  // Streamed: the caller reads our PassThrough, so its errors are ours (NetworkError / TimeoutError / abort).
  const body = new PassThrough();
  // A discarded or abandoned body may still fail upstream: that must not crash the process (as with node:http).
  body.on("error", () => {});
  answer.body.on("error", (err) => {
    done();
    body.destroy(failure(err));
  });
  answer.body.on("end", done);
  body.on("close", () => {
    done();
    if (!answer.body.destroyed) answer.body.destroy();
  });
  answer.body.pipe(body);
  return { status, headers, body };
}

/** Headers that describe one connection (the pool manages its own) or ask for 100-continue: never sent on. */
const CONNECTION_HEADERS = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "expect"]);

function messageHeaders(headers: OutgoingHeaders | undefined): Record<string, string | string[]> | undefined {
  if (!headers) return undefined;
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !CONNECTION_HEADERS.has(name.toLowerCase())) out[name] = value;
  }
  return out;
}
