import type { ModelServerOptions } from "../server/index.ts";
import { defineFlags, type FlagValues } from "./args.ts";

/** Slow-client timeouts and the connection limit of the REST server; shared by `serve`, `seldon-graph` and `graph`. */
export const CONNECTION_FLAGS = defineFlags({
  headers_timeout: {
    aliases: ["headers-timeout"],
    type: "number",
    check: "nonNegative",
    unit: "seconds",
    default: 30,
    help: "seconds a client gets to send a request's headers (and a new connection to start one); 408 and close past it; 0: no limit",
  },
  request_timeout: {
    aliases: ["request-timeout"],
    type: "number",
    check: "nonNegative",
    unit: "seconds",
    default: 300,
    help: "seconds a client gets to send a whole request, headers and body (model uploads exempt); 408 and close past it; 0: no limit. The model's own time to answer is not limited",
  },
  body_timeout: {
    aliases: ["body-timeout"],
    type: "number",
    check: "nonNegative",
    unit: "seconds",
    default: 30,
    help: "seconds a request body may pause between bytes, uploads included; 408 and close past it; 0: no limit",
  },
  min_body_rate: {
    aliases: ["min-body-rate"],
    type: "number",
    check: "nonNegative",
    default: 1024,
    help: "bytes/s a request body must average once --body_timeout seconds have passed (slower bodies get 408 and close); 0: off",
  },
  max_connections: {
    aliases: ["max-connections"],
    type: "number",
    check: "nonNegativeInteger",
    help: "most REST connections open at once; more are closed as soon as they are accepted (default: 80% of the open-file limit, ulimit -n; 0: no limit)",
  },
});

/** The parsed CONNECTION_FLAGS as ModelServer options (seconds to ms); the schema has validated them. */
export function connectionOptions(flags: FlagValues<typeof CONNECTION_FLAGS>): Partial<ModelServerOptions> {
  const ms = (s: number) => Math.round(s * 1000);
  return {
    headersTimeoutMs: ms(flags.headers_timeout),
    requestTimeoutMs: ms(flags.request_timeout),
    bodyTimeoutMs: ms(flags.body_timeout),
    minBodyRate: flags.min_body_rate,
    maxConnections: flags.max_connections,
  };
}
