import { Batcher } from "../../engine/index.ts";
import { InferenceError } from "../../errors/index.ts";
import { type Model, type ModelSettings, type RequestContext, toInferResponse } from "../../model/index.ts";
import { isInferRequest, markInferRequest } from "../../protocol/index.ts";
import type { Tensor } from "../../tensor/index.ts";

/** Requests that may wait for a run when the settings give no maxQueueSize (as the ONNX runtime). */
const DEFAULT_MAX_QUEUE_SIZE = 1024;

/**
 * Adaptive batching for a TypeScript model that declares it takes batches (`maxBatchSize` > 1 in its
 * model-settings.json): V2 (REST JSON, binary) and gRPC requests are queued, merged along the first dimension
 * and given to its `predict` as one InferRequest; each caller gets its own rows of the outputs back. V1 bodies are
 * not tensors, so they reach `predict` as before, one by one. A merged call's context is a fresh one (no caller's
 * headers): a model that batches must not answer per caller from its headers.
 */
export function batchModulePredict(model: Model, settings: Pick<ModelSettings, "maxBatchSize" | "preferredBatchSizes" | "maxQueueDelayMicroseconds" | "maxQueueSize">): void {
  const maxBatchSize = settings.maxBatchSize ?? 0;
  if (maxBatchSize <= 1) return;
  const predict = model.predict.bind(model);
  const unload = model.unload.bind(model);
  let batcher: Batcher | undefined;

  const run = async (inputs: Tensor[], outputNames: readonly string[]): Promise<Tensor[]> => {
    const request = markInferRequest({ inputs, ...(outputNames.length > 0 ? { outputs: outputNames.map((name) => ({ name })) } : {}) });
    const ctx: RequestContext = { headers: {}, protocol: "v2", responseHeaders: {} };
    const outputs = toInferResponse(await predict(request, ctx), model.name).outputs;
    if (outputNames.length === 0) return outputs;
    return outputNames.map((name) => {
      const found = outputs.find((t) => t.name === name);
      if (!found) throw new InferenceError(`Model ${model.name} returned no output '${name}' to a batched request`);
      return found;
    });
  };

  model.predict = (payload: unknown, ctx: RequestContext) => {
    if (!isInferRequest(payload)) return predict(payload, ctx);
    batcher ??= new Batcher(
      run,
      {
        name: model.name,
        maxBatchSize,
        preferredBatchSizes: settings.preferredBatchSizes,
        maxQueueDelayMicroseconds: settings.maxQueueDelayMicroseconds ?? 0,
        maxQueueSize: settings.maxQueueSize ?? DEFAULT_MAX_QUEUE_SIZE,
      },
      model.engineObserver,
    );
    const names = payload.outputs?.map((o) => o.name) ?? [];
    return batcher.submit(payload.inputs, names).then((outputs) => ({ modelName: model.name, outputs }));
  };
  model.unload = async () => {
    batcher?.close();
    batcher = undefined;
    await unload();
  };
}
