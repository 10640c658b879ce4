import { readFileSync } from "node:fs";
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { FastifyInstance } from "fastify";
import type { Logger } from "./logger.ts";

/**
 * How long a client may take to send a request, and how many connections the REST server holds.
 * Every duration is in ms; 0 turns that check off.
 */
export interface ConnectionLimits {
  /** A request's headers must arrive within this (also: a new connection may stay silent this long). */
  headersTimeoutMs: number;
  /** A whole request (headers and body) must arrive within this; uploads are exempt (see bodyTimeoutMs). */
  requestTimeoutMs: number;
  /** A request body may pause this long; also the start-up allowance before minBodyRate applies. */
  bodyTimeoutMs: number;
  /** Once bodyTimeoutMs has passed, a body must have averaged at least this many bytes/s. */
  minBodyRate: number;
  /** Connections beyond this many are closed as soon as they are accepted. */
  maxConnections: number;
}

export const DEFAULT_HEADERS_TIMEOUT_MS = 30_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 300_000;
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;
export const DEFAULT_MIN_BODY_RATE = 1024;

/** Share of the open-file limit the REST server may use for client connections; the rest is for models, gRPC, outgoing calls. */
const FD_SHARE = 0.8;
const FALLBACK_MAX_CONNECTIONS = 4096;

/** The default connection limit: 80% of the process's open-file soft limit (`ulimit -n`), else 4096. */
export function defaultMaxConnections(): number {
  try {
    const limits = readFileSync("/proc/self/limits", "utf8");
    const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1];
    if (soft === "unlimited") return 0;
    const n = Number(soft);
    if (Number.isInteger(n) && n > 0) return Math.max(1, Math.floor(n * FD_SHARE));
  } catch {
    // not Linux: no /proc
  }
  return FALLBACK_MAX_CONNECTIONS;
}

export function resolveConnectionLimits(given: Partial<ConnectionLimits> = {}): ConnectionLimits {
  return {
    headersTimeoutMs: given.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: given.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    bodyTimeoutMs: given.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
    minBodyRate: given.minBodyRate ?? DEFAULT_MIN_BODY_RATE,
    maxConnections: given.maxConnections ?? defaultMaxConnections(),
  };
}

/** How often slow bodies are checked: a quarter of the shortest timeout, between 50 ms and 1 s. */
function checkInterval(limits: ConnectionLimits): number {
  const timeouts = [limits.headersTimeoutMs, limits.requestTimeoutMs, limits.bodyTimeoutMs].filter((t) => t > 0);
  const shortest = timeouts.length > 0 ? Math.min(...timeouts) : 4_000;
  return Math.min(1_000, Math.max(50, Math.floor(shortest / 4)));
}

/**
 * Options for node's http server. Node enforces the headers timeout itself (408, then close); the whole-request
 * timeout is ours, because node's would apply to uploads too.
 */
export function httpServerOptions(limits: ConnectionLimits): ServerOptions {
  return { headersTimeout: limits.headersTimeoutMs, requestTimeout: 0, connectionsCheckingInterval: checkInterval(limits) };
}

/** Uploads stream up to --max_upload_size on links of any speed: only pauses and the minimum rate bound them. */
const UPLOAD = /^\/v2\/repository\/models\/[^/?#]+\/upload(?:[?#]|$)/;

export function isUpload(req: IncomingMessage): boolean {
  return req.method === "POST" && UPLOAD.test(req.url ?? "");
}

/**
 * What the guard knows of one connection: its latest request (the only one whose body can be arriving: a
 * connection's requests are read one after another) and that request's progress. One per connection, reused for
 * each of its requests, kept on the socket under a symbol: a request costs a few field writes, no allocation, map
 * entry or listener (this runs for every request, and a per-request closure, `once("close")` and Map entry cost
 * a few % of a small model's throughput).
 */
interface Tracked {
  socket: Socket;
  req: IncomingMessage;
  res: ServerResponse;
  startedAt: number;
  startBytes: number;
  lastBytes: number;
  lastProgressAt: number;
  /** Time the request was not read because the server was behind (backpressure), not held against the client. */
  excusedMs: number;
  /** The request check() cut off (its connection is closing). */
  cut?: IncomingMessage;
}

const TRACKED = Symbol("tserve.connectionGuard");
type TrackedSocket = Socket & { [TRACKED]?: Tracked };

export interface InFlightRequest {
  method: string;
  url: string;
  runningMs: number;
}

/** Slow connections closed per turn of the event loop. */
const CUT_BATCH = 32;

const guards = new WeakMap<Server, ConnectionGuard>();

/**
 * Keeps slow clients from holding the server: closes connections whose request body pauses or trickles, or
 * which take longer than the request timeout to send a request; caps the number of connections; and knows
 * which requests are in flight, for a drain that has to cut them off.
 */
export class ConnectionGuard {
  /** Every connection that has sent a request; closed ones are dropped by the next check(). */
  private readonly connections = new Set<Tracked>();
  private readonly timer: NodeJS.Timeout;
  private pendingLog = { pause: 0, rate: 0, total: 0, dropped: 0 };
  private lastLogAt = 0;
  private cutting = false;

  constructor(
    private readonly server: Server,
    private readonly limits: ConnectionLimits,
    private readonly logger: Logger,
  ) {
    if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
    server.on("drop", () => {
      this.pendingLog.dropped++;
      this.flushLog(Date.now());
    });
    server.on("request", this.track);
    this.timer = setInterval(() => this.check(), checkInterval(limits));
    this.timer.unref();
    server.once("close", () => {
      clearInterval(this.timer);
      this.flushLog(Date.now(), true);
    });
    guards.set(server, this);
  }

  /** Requests whose response has not been sent yet. */
  inFlight(now = Date.now()): InFlightRequest[] {
    const out: InFlightRequest[] = [];
    for (const t of this.connections) {
      if (t.socket.destroyed || t.res.writableEnded) continue;
      out.push({ method: t.req.method ?? "?", url: t.req.url ?? "?", runningMs: now - t.startedAt });
    }
    return out;
  }

  /** The one `request` listener: notes the request on its connection's record. */
  private readonly track = (req: IncomingMessage, res: ServerResponse): void => {
    const socket = req.socket as TrackedSocket;
    const now = Date.now();
    const bytes = socket.bytesRead;
    const t = socket[TRACKED];
    if (t === undefined) {
      const created: Tracked = { socket, req, res, startedAt: now, startBytes: bytes, lastBytes: bytes, lastProgressAt: now, excusedMs: 0 };
      socket[TRACKED] = created;
      this.connections.add(created);
      return;
    }
    t.req = req;
    t.res = res;
    t.startedAt = now;
    t.startBytes = bytes;
    t.lastBytes = bytes;
    t.lastProgressAt = now;
    t.excusedMs = 0;
  };

  private check(): void {
    if (this.cutting) return; // the previous check is still closing connections
    const now = Date.now();
    const { requestTimeoutMs, bodyTimeoutMs, minBodyRate } = this.limits;
    const victims: [Tracked, string][] = [];
    for (const t of this.connections) {
      if (t.socket.destroyed) {
        this.connections.delete(t);
        continue;
      }
      // The body is in (the response may take as long as the model needs), or this request is being cut already.
      if (t.req.complete || t.cut === t.req) continue;
      const bytes = t.socket.bytesRead;
      // A full buffer means the server stopped reading (backpressure): the client is not the slow one.
      const serverBehind = t.req.readableLength >= t.req.readableHighWaterMark;
      if (bytes > t.lastBytes || serverBehind) {
        if (serverBehind) t.excusedMs += now - t.lastProgressAt;
        t.lastBytes = bytes;
        t.lastProgressAt = now;
      }
      const elapsed = now - t.startedAt;
      const active = elapsed - t.excusedMs;
      let reason: string | undefined;
      let kind: "pause" | "rate" | "total" = "total";
      if (requestTimeoutMs > 0 && elapsed > requestTimeoutMs && !isUpload(t.req)) {
        reason = `the request was not received within ${seconds(requestTimeoutMs)} s (--request_timeout)`;
      } else if (bodyTimeoutMs > 0 && now - t.lastProgressAt > bodyTimeoutMs) {
        kind = "pause";
        reason = `no request body bytes arrived for ${seconds(bodyTimeoutMs)} s (--body_timeout)`;
      } else if (minBodyRate > 0 && active > bodyTimeoutMs && bytes - t.startBytes < ((active - bodyTimeoutMs) / 1000) * minBodyRate) {
        kind = "rate";
        reason = `the request body arrived slower than ${minBodyRate} bytes/s (--min_body_rate)`;
      }
      if (reason) {
        this.pendingLog[kind]++;
        t.cut = t.req;
        victims.push([t, reason]);
      }
    }
    this.flushLog(now);
    this.cutInBatches(victims);
  }

  /**
   * Closing a connection costs a write and a close; a thousand at once would hold up every other request for
   * a good part of a second, so they go CUT_BATCH at a time with the event loop free in between.
   */
  private cutInBatches(victims: [Tracked, string][], from = 0): void {
    const end = Math.min(victims.length, from + CUT_BATCH);
    for (let i = from; i < end; i++) this.cut(victims[i][0], victims[i][1]);
    this.cutting = end < victims.length;
    if (this.cutting) setImmediate(() => this.cutInBatches(victims, end));
  }

  /** 408 with the reason when no response has started, then the connection is closed. */
  private cut(t: Tracked, reason: string): void {
    const { res, socket } = t;
    if (socket.destroyed) return;
    if (res.headersSent || res.writableEnded) {
      socket.destroy();
      return;
    }
    try {
      const body = JSON.stringify({ error: `Request Timeout: ${reason}` });
      res.writeHead(408, { "content-type": "application/json", "content-length": Buffer.byteLength(body), connection: "close" });
      res.end(body, () => socket.destroy());
      // A client that does not read the answer does not get to keep the connection either.
      setTimeout(() => socket.destroy(), 1_000).unref();
    } catch {
      socket.destroy();
    }
  }

  /** One line at most every 10 s for slow clients closed and connections refused over the limit. */
  private flushLog(now: number, force = false): void {
    const p = this.pendingLog;
    if (p.pause + p.rate + p.total + p.dropped === 0 || (!force && now - this.lastLogAt < 10_000)) return;
    this.lastLogAt = now;
    const parts: string[] = [];
    const slow = p.pause + p.rate + p.total;
    if (slow > 0) {
      parts.push(
        `closed ${slow} slow client connection(s) (${p.pause} paused past --body_timeout, ${p.rate} below --min_body_rate, ${p.total} past --request_timeout)`,
      );
    }
    if (p.dropped > 0) parts.push(`refused ${p.dropped} connection(s) over --max_connections ${this.limits.maxConnections}`);
    this.logger.log("warn", parts.join("; "));
    this.pendingLog = { pause: 0, rate: 0, total: 0, dropped: 0 };
  }
}

/** Puts a ConnectionGuard on a node http server (the REST app's). */
export function guardConnections(server: Server, limits: ConnectionLimits, logger: Logger): ConnectionGuard {
  return new ConnectionGuard(server, limits, logger);
}

function seconds(ms: number): string {
  return String(Math.round(ms) / 1000);
}

/**
 * Closes a Fastify app within `graceMs`: it stops listening, answers new requests on open connections with 503,
 * closes connections as they go idle, and once the grace period is over ends whatever is still open (in-flight
 * requests are cut off, and logged).
 */
export async function closeWithin(app: FastifyInstance, graceMs: number, logger: Logger): Promise<void> {
  const server = app.server;
  // close() ends idle keep-alive connections only once; busy ones go idle later and would hold the
  // server open until the keep-alive timeout, so keep closing them until the server is done.
  const sweep = setInterval(() => server.closeIdleConnections(), 25);
  let timer: NodeJS.Timeout | undefined;
  const closed = app.close();
  closed.catch(() => undefined); // awaited below; this only keeps a late failure from going unhandled
  try {
    const expired = new Promise<true>((resolve) => {
      timer = setTimeout(() => resolve(true), Math.max(0, graceMs));
    });
    const timedOut = await Promise.race([closed.then(() => false), expired]);
    if (!timedOut) return;
    const inFlight = guards.get(server)?.inFlight() ?? [];
    const listed = inFlight
      .slice(0, 10)
      .map((r) => `${r.method} ${r.url} (running ${(r.runningMs / 1000).toFixed(1)} s)`)
      .join(", ");
    logger.log(
      "warn",
      `grace period of ${seconds(graceMs)} s is over: closing every open REST connection` +
        (inFlight.length > 0 ? `, cutting off ${inFlight.length} in-flight request(s): ${listed}${inFlight.length > 10 ? ", …" : ""}` : ""),
    );
    server.closeAllConnections();
    // Fastify's onClose hooks still run; they get a moment, not forever.
    let late: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (late = setTimeout(resolve, 2_000)))]);
    clearTimeout(late);
  } finally {
    clearInterval(sweep);
    clearTimeout(timer);
  }
}
