import type { DataPlane } from "../../../model/index.ts";
import { type InferRequest, type InferResponse, tritonMaxBatchSize, tritonModelConfig, v2 } from "../../../protocol/index.ts";
import type { TensorMetadata } from "../../../tensor/index.ts";

/**
 * Triton's extensions over the DataPlane, shared by REST and gRPC: a model's configuration (model_configuration)
 * and the classification of requested outputs (classification). Statistics are the DataPlane's own.
 */

/** Triton's ModelConfig for (name, version): its metadata with its model-settings.json. */
export async function modelConfig(dataplane: DataPlane, name: string, version?: string): Promise<Record<string, unknown>> {
  const model = dataplane.model(name, version);
  const meta = await model.metadata();
  const s = dataplane.settingsOf(name);
  return tritonModelConfig({
    name,
    platform: meta.platform ?? "",
    runtime: s.runtime,
    inputs: meta.inputs ?? [],
    outputs: meta.outputs ?? [],
    maxBatchSize: s.maxBatchSize,
    preferredBatchSizes: s.preferredBatchSizes,
    maxQueueDelayMicroseconds: s.maxQueueDelayMicroseconds,
    maxQueueSize: s.maxQueueSize,
    instanceCount: s.instanceCount,
    versionPolicy: s.versionPolicy,
    labelFilenames: s.labelFilenames,
    parameters: s.parameters,
    modelFile: s.modelFile,
  });
}

/** True when some requested output asks for classification (the count was checked before the model ran). */
function wantsClassification(request: InferRequest): boolean {
  return request.outputs?.some((o) => v2.classificationCount(o.parameters, o.name) > 0) ?? false;
}

/** The response with every output that asked for `classification` replaced by its top classes (Triton's format). */
export async function classifyResponse(dataplane: DataPlane, name: string, request: InferRequest, response: InferResponse): Promise<InferResponse> {
  if (!wantsClassification(request)) return response;
  const settings = dataplane.settingsOf(name);
  let outputs: readonly TensorMetadata[] | undefined;
  try {
    outputs = (await dataplane.model(name, response.modelVersion).metadata()).outputs;
  } catch {
    // Unloaded meanwhile: decide batch dimensions from the tensors alone.
  }
  const classified = v2.classifyOutputs(response.outputs, request.outputs, {
    batching: tritonMaxBatchSize(settings.maxBatchSize) > 0,
    outputs,
    labels: (output) => settings.labels?.[output],
  });
  return classified === response.outputs ? response : { ...response, outputs: classified };
}
