/**
 * Connection pools. A dispatcher is an undici Agent: one keep-alive pool per origin inside it, all sharing one
 * set of TLS and connect options. `sharedDispatcher` hands out one per distinct option set for the whole process;
 * `createDispatcher` makes one a caller owns and closes (a client whose `close()` must drop its connections).
 */
import { createHash } from "node:crypto";
import type { ConnectionOptions } from "node:tls";
import type { Dispatcher } from "undici";
import { undici } from "./undici.ts";

/** TLS options for https:// origins (`ca`, `cert`, `key`, `rejectUnauthorized`, `servername`…), as node:tls takes them. */
export type TlsOptions = ConnectionOptions;

export interface DispatcherOptions {
  tls?: TlsOptions;
  /** Limit on establishing a connection (TCP + TLS); absent or 0 = none beyond the call's own deadline. */
  connectTimeoutMs?: number;
  /** Connections per origin; absent = unlimited. */
  maxConnectionsPerOrigin?: number;
  /** How long an idle kept-alive connection stays open (default 4 s, shortened by the server's Keep-Alive hint). */
  keepAliveTimeoutMs?: number;
}

export type { Dispatcher };

/** A pool the caller owns: `close()` (graceful) or `destroy()` it when done. */
export function createDispatcher(options: DispatcherOptions = {}): Dispatcher {
  return new (undici().Agent)({
    connect: { ...options.tls, timeout: options.connectTimeoutMs ?? 0 },
    connections: options.maxConnectionsPerOrigin ?? null,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
    // Deadlines are per call (send's timeoutMs / idleTimeoutMs), never a pool-wide default.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}

const shared = new Map<string, Dispatcher>();

/** The process-wide pool for these options: callers with equal options share connections. */
export function sharedDispatcher(options: DispatcherOptions = {}): Dispatcher {
  const key = optionsKey(options);
  let dispatcher = shared.get(key);
  if (!dispatcher) {
    dispatcher = createDispatcher(options);
    shared.set(key, dispatcher);
  }
  return dispatcher;
}

/** Closes every shared pool (process shutdown, tests); later calls open new ones. */
export async function closeSharedDispatchers(): Promise<void> {
  const all = [...shared.values()];
  shared.clear();
  await Promise.all(all.map((d) => d.destroy().catch(() => {})));
}

const functionIds = new WeakMap<object, number>();
let nextFunctionId = 0;

/** A stable key for an option set: buffers by content hash, functions (checkServerIdentity) by identity. */
function optionsKey(options: DispatcherOptions): string {
  return JSON.stringify(options, (_key, value: unknown) => {
    if (typeof value === "function") {
      let id = functionIds.get(value);
      if (id === undefined) functionIds.set(value, (id = nextFunctionId++));
      return `fn#${id}`;
    }
    if (value instanceof Uint8Array || (typeof value === "object" && value !== null && (value as { type?: unknown }).type === "Buffer")) {
      const bytes = value instanceof Uint8Array ? value : Buffer.from((value as { data: number[] }).data);
      return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    }
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return value;
  });
}
