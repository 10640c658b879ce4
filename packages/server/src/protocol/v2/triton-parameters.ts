import { InvalidInput } from "../../errors/index.ts";
import type { Parameters } from "../../tensor/index.ts";
import type { InferRequest } from "../types.ts";
import { classificationCount } from "./classification.ts";

/** What Triton's reserved request parameters ask of a request, as far as tserve honours them. */
export interface TritonRequestOptions {
  /** `timeout`: answer an error once this many µs have passed without an answer (absent or 0: no limit). */
  timeoutMicroseconds?: number;
}

/** Why each reserved parameter tserve cannot honour is refused. */
const UNHONOURED: Record<string, string> = {
  sequence_id: "tserve has no sequence batcher for stateful models",
  sequence_start: "tserve has no sequence batcher for stateful models",
  sequence_end: "tserve has no sequence batcher for stateful models",
  priority: "tserve's request queues have no priority levels",
};

/** The value a Triton client sends when it does not use the parameter (tritonclient always sends sequence_start/end with a sequence_id). */
function isDefault(value: string | number | boolean | bigint): boolean {
  return value === 0 || value === 0n || value === false || value === "";
}

/**
 * Reads Triton's reserved request parameters (REST `parameters`, gRPC `ModelInferRequest.parameters`) before the
 * model runs: `timeout` (µs) is returned to be enforced; `sequence_id`, `sequence_start`, `sequence_end` and
 * `priority` with a value that asks for something are refused with InvalidInput naming the parameter, rather than
 * silently ignored; each requested output's `classification` count must be a non-negative integer.
 */
export function tritonRequestOptions(request: InferRequest): TritonRequestOptions {
  for (const o of request.outputs ?? []) classificationCount(o.parameters, o.name);
  return requestParameterOptions(request.parameters);
}

function requestParameterOptions(parameters: Parameters | undefined): TritonRequestOptions {
  if (!parameters) return {};
  for (const [key, why] of Object.entries(UNHONOURED)) {
    const value = parameters[key];
    if (value === undefined || isDefault(value)) continue;
    throw new InvalidInput(
      `Request parameter '${key}' (${JSON.stringify(typeof value === "bigint" ? String(value) : value)}) is not supported: ${why}; send the request without it`,
    );
  }
  const timeout = parameters.timeout;
  if (timeout === undefined) return {};
  const us = typeof timeout === "bigint" ? Number(timeout) : timeout;
  if (typeof us !== "number" || !Number.isSafeInteger(us) || us < 0) {
    throw new InvalidInput(
      `Request parameter 'timeout' must be a non-negative integer number of microseconds, got ${JSON.stringify(typeof timeout === "bigint" ? String(timeout) : timeout)}`,
    );
  }
  return us > 0 ? { timeoutMicroseconds: us } : {};
}

/**
 * A repository load request's parameters (Triton: `config`, a ModelConfig as JSON, and `file:<version>/<name>`
 * contents that form an override model folder): tserve loads a model from its folder as it is, so both are refused
 * with InvalidInput naming the parameter rather than ignored. Other parameters pass.
 */
export function checkLoadParameters(parameters: Record<string, unknown> | undefined): void {
  if (!parameters) return;
  for (const key of Object.keys(parameters)) {
    if (key === "config") {
      throw new InvalidInput(
        "Load parameter 'config' (a configuration override) is not supported: tserve reads a model's configuration from model-settings.json in its folder; edit that file, then load the model",
      );
    }
    if (key.startsWith("file:")) {
      throw new InvalidInput(
        `Load parameter '${key}' (override model files) is not supported: put the files in the model's folder, or upload it (POST /v2/repository/models/{name}/upload), then load it`,
      );
    }
  }
}
