export { buildHttpApp, type HttpAppOptions } from "./http.ts";
export { consoleLogger, type Logger, type LogLevel } from "./logger.ts";
export { ServerMetrics } from "./metrics.ts";
export { DEFAULT_MAX_BUFFER_SIZE, ModelServer, type ModelServerOptions } from "./model-server.ts";
