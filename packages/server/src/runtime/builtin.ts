import type { RemotePredictorFactory } from "../model/index.ts";
import { moduleRuntime } from "./module/runtime.ts";
import { onnxRuntime } from "./onnx/runtime.ts";
import { customProcessRuntime, openBayesRuntime } from "./openbayes/runtime.ts";
import { RuntimeRegistry } from "./registry.ts";
import { clientPredictorFactory } from "./remote/remote-predictor.ts";
import { type SeldonRuntimeOptions, seldonRuntime } from "./seldon/runtime.ts";

export interface BuiltinRuntimeOptions {
  /** Seldon's unit settings (PREDICTIVE_UNIT_ID …); the configuration layer reads them from the environment. */
  seldon?: SeldonRuntimeOptions;
  /** How transformers reach their predictor (default: tserve's REST/gRPC inference clients). */
  remotePredictor?: RemotePredictorFactory;
}

/**
 * tserve's runtimes. With no `runtime` in model-settings.json a folder is recognised in this order:
 * start.sh -> custom, predictor.ts/js -> openbayes, *.onnx -> onnx, a .ts/.js module -> module
 * (seldon is chosen by name only). Register more on the returned registry.
 */
export function builtinRuntimes(options: BuiltinRuntimeOptions = {}): RuntimeRegistry {
  return new RuntimeRegistry({ remotePredictor: options.remotePredictor ?? clientPredictorFactory })
    .register(onnxRuntime)
    .register(moduleRuntime)
    .register(seldonRuntime(options.seldon))
    .register(openBayesRuntime)
    .register(customProcessRuntime);
}
