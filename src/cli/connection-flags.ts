import type { ModelServerOptions } from "../server/index.ts";
import { type FlagSpec, UsageError } from "./args.ts";

/** Slow-client timeouts and the connection limit of the REST server; shared by `serve`, `seldon-graph` and `graph`. */
export const CONNECTION_FLAGS: FlagSpec[] = [
  {
    name: "headers_timeout",
    aliases: ["headers-timeout"],
    type: "number",
    default: 30,
    help: "seconds a client gets to send a request's headers (and a new connection to start one); 408 and close past it; 0: no limit",
  },
  {
    name: "request_timeout",
    aliases: ["request-timeout"],
    type: "number",
    default: 300,
    help: "seconds a client gets to send a whole request, headers and body (model uploads exempt); 408 and close past it; 0: no limit. The model's own time to answer is not limited",
  },
  {
    name: "body_timeout",
    aliases: ["body-timeout"],
    type: "number",
    default: 30,
    help: "seconds a request body may pause between bytes, uploads included; 408 and close past it; 0: no limit",
  },
  {
    name: "min_body_rate",
    aliases: ["min-body-rate"],
    type: "number",
    default: 1024,
    help: "bytes/s a request body must average once --body_timeout seconds have passed (slower bodies get 408 and close); 0: off",
  },
  {
    name: "max_connections",
    aliases: ["max-connections"],
    type: "number",
    help: "most REST connections open at once; more are closed as soon as they are accepted (default: 80% of the open-file limit, ulimit -n; 0: no limit)",
  },
];

function nonNegative(flags: Record<string, unknown>, name: string): number | undefined {
  const value = flags[name];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new UsageError(`--${name} must be a number >= 0, got ${String(value)}`);
  }
  return value;
}

/** The parsed CONNECTION_FLAGS as ModelServer options (seconds to ms). */
export function connectionOptions(flags: Record<string, unknown>): Partial<ModelServerOptions> {
  const ms = (name: string) => {
    const s = nonNegative(flags, name);
    return s === undefined ? undefined : Math.round(s * 1000);
  };
  const maxConnections = nonNegative(flags, "max_connections");
  if (maxConnections !== undefined && !Number.isInteger(maxConnections)) {
    throw new UsageError(`--max_connections must be a whole number, got ${maxConnections}`);
  }
  return {
    headersTimeoutMs: ms("headers_timeout"),
    requestTimeoutMs: ms("request_timeout"),
    bodyTimeoutMs: ms("body_timeout"),
    minBodyRate: nonNegative(flags, "min_body_rate"),
    maxConnections,
  };
}
