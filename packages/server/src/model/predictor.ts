import { InvalidInput, Unsupported } from "../errors/index.ts";
import type { RequestContext } from "./request-context.ts";

export type PredictorProtocol = "v1" | "v2" | "grpc-v2";

export function isPredictorProtocol(value: unknown): value is PredictorProtocol {
  return value === "v1" || value === "v2" || value === "grpc-v2";
}

/** KServe's predictor settings, as Model fields and constructor options (`--predictor_host` …). */
export interface PredictorSettings {
  /** `host[:port]` of the predictor; when set, the default `predict` forwards there. */
  predictorHost?: string;
  predictorProtocol?: PredictorProtocol;
  predictorUseSsl?: boolean;
  predictorRequestTimeoutSeconds?: number;
  predictorRequestRetries?: number;
  /** Readiness of this model (and the server) also asks the predictor. */
  enablePredictorHealthCheck?: boolean;
  /** Model name on the predictor; defaults to this model's own name, as KServe does. */
  predictorModelName?: string;
}

/**
 * Rejects settings no predictor call could work with, naming the setting and its CLI flag, so a bad value
 * fails at start-up instead of on every request.
 */
export function validatePredictorSettings(s: PredictorSettings): void {
  const fail = (key: string, flag: string, rule: string, value: unknown): never => {
    throw new InvalidInput(`${key} (--${flag}) must be ${rule}, got ${JSON.stringify(value)}`);
  };
  if (s.predictorProtocol !== undefined && !isPredictorProtocol(s.predictorProtocol)) {
    fail("predictorProtocol", "predictor_protocol", "v1, v2 or grpc-v2", s.predictorProtocol);
  }
  const retries = s.predictorRequestRetries;
  if (retries !== undefined && !(Number.isInteger(retries) && retries >= 0)) {
    fail("predictorRequestRetries", "predictor_request_retries", "an integer >= 0", retries);
  }
  const timeout = s.predictorRequestTimeoutSeconds;
  if (timeout !== undefined && !(typeof timeout === "number" && Number.isFinite(timeout) && timeout > 0)) {
    fail("predictorRequestTimeoutSeconds", "predictor_request_timeout_seconds", "a number of seconds > 0", timeout);
  }
  if (s.predictorHost !== undefined && (typeof s.predictorHost !== "string" || s.predictorHost.trim() === "")) {
    fail("predictorHost", "predictor_host", "host[:port]", s.predictorHost);
  }
}

/** The remote side of a transformer: implemented in runtime/remote on top of the inference clients. */
export interface RemotePredictor {
  predict(modelName: string, payload: unknown, ctx: RequestContext): Promise<unknown>;
  explain(modelName: string, payload: unknown, ctx: RequestContext): Promise<unknown>;
  isModelReady(modelName: string): Promise<boolean>;
  close(): Promise<void>;
}

export type RemotePredictorFactory = (settings: Required<Pick<PredictorSettings, "predictorHost">> & PredictorSettings) => RemotePredictor;

// One slot per process, keyed by a global symbol: a user's module compiled in its own namespace (a second copy of
// tserve, see importUserModule) reaches the factory the server installed, as Model's mark does.
const FACTORY_SLOT = Symbol.for("tserve.remotePredictorFactory");
const slot = globalThis as { [FACTORY_SLOT]?: RemotePredictorFactory };

/**
 * Installs how a transformer reaches its predictor. Whoever assembles the server calls it (ModelServer, with its
 * `runtimes` registry's `remotePredictor`), so model/ stays free of HTTP and gRPC; importing tserve sets nothing.
 */
export function setRemotePredictorFactory(f: RemotePredictorFactory | undefined): void {
  slot[FACTORY_SLOT] = f;
}

/** The installed factory, if any. */
export function remotePredictorFactory(): RemotePredictorFactory | undefined {
  return slot[FACTORY_SLOT];
}

export function createRemotePredictor(settings: Required<Pick<PredictorSettings, "predictorHost">> & PredictorSettings): RemotePredictor {
  const factory = slot[FACTORY_SLOT];
  if (!factory) {
    throw new Unsupported(
      "Remote predictors are not available: serve the model with a ModelServer (it installs the runtime registry's remote predictor) or call setRemotePredictorFactory first",
    );
  }
  return factory(settings);
}
