export { buildHttpApp, type HttpAppOptions } from "./http.ts";
export { consoleLogger, type Logger, type LogLevel } from "./logger.ts";
export { ServerMetrics } from "./metrics.ts";
export { defaultModelControlMode, isModelControlMode, MODEL_CONTROL_MODES, ModelControl, type ModelControlMode } from "./model-control.ts";
export { DEFAULT_MAX_BUFFER_SIZE, DEFAULT_MODEL_LOAD_TIMEOUT_MS, DEFAULT_REPOSITORY_POLL_SECS, ModelServer, type ModelServerOptions } from "./model-server.ts";
export { BUILTIN_FAMILIES, FAMILY_FLAGS, GRAPH_ROUTING_FLAGS, GRAPH_STEP_TIMEOUT_FLAG } from "./families/index.ts";
export { defineFamily, type Assembly, type FamilyContext, type FamilyMount, type ProtocolFamily } from "./family.ts";
export { clusterWorkerId, connectWorker, workerLogger } from "./worker-link.ts";
export { superviseWorkers, WorkerStartError } from "./workers.ts";
