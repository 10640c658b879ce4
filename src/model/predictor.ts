import { Unsupported } from "../errors/index.ts";
import type { RequestContext } from "./model.ts";

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

/** The remote side of a transformer: implemented in runtime/remote on top of the inference clients. */
export interface RemotePredictor {
  predict(modelName: string, payload: unknown, ctx: RequestContext): Promise<unknown>;
  explain(modelName: string, payload: unknown, ctx: RequestContext): Promise<unknown>;
  isModelReady(modelName: string): Promise<boolean>;
  close(): Promise<void>;
}

export type RemotePredictorFactory = (settings: Required<Pick<PredictorSettings, "predictorHost">> & PredictorSettings) => RemotePredictor;

let factory: RemotePredictorFactory | undefined;

/** runtime/remote registers itself here, so model/ stays free of HTTP and gRPC. */
export function setRemotePredictorFactory(f: RemotePredictorFactory): void {
  factory = f;
}

export function createRemotePredictor(settings: Required<Pick<PredictorSettings, "predictorHost">> & PredictorSettings): RemotePredictor {
  if (!factory) throw new Unsupported("Remote predictors are not available: import tserve's runtime (the package entry) first");
  return factory(settings);
}
