import { basename } from "node:path";
import type * as ort from "onnxruntime-node";
import { InvalidInput } from "../../errors/index.ts";
import { Model, type ModelOptions, type RequestContext } from "../../model/index.ts";
import { isInferRequest, v1 } from "../../protocol/index.ts";
import { formatShape, shapeMatches, type Tensor, type TensorMetadata } from "../../tensor/index.ts";
import { datatypeOfOrt, fromOrtTensor, toOrtTensor } from "./convert.ts";
import { createOrtSession, type OrtSession } from "./session.ts";

export interface OnnxModelOptions extends ModelOptions {
  /** Path of the .onnx file. */
  path: string;
  /** Overrides for the metadata read from the graph (e.g. fixed dims). */
  inputs?: TensorMetadata[];
  outputs?: TensorMetadata[];
  sessionOptions?: ort.InferenceSession.SessionOptions;
}

/** An ONNX file served with onnxruntime-node; its metadata comes from the graph. */
export class OnnxModel extends Model {
  session?: OrtSession;
  private readonly options: OnnxModelOptions;

  constructor(name: string, options: OnnxModelOptions) {
    super(name);
    this.options = options;
    this.platform = "onnx_onnxv1";
  }

  override async load(): Promise<void> {
    const threads = Number(
      this.options.parameters?.intraOpNumThreads ?? this.options.parameters?.intra_op_threads ?? 1,
    );
    this.session = await createOrtSession(this.options.path, {
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
      intraOpNumThreads: threads,
      ...this.options.sessionOptions,
    });
    if (this.options.inputs) {
      // A typo in settings would otherwise only show as every request failing with "Input ... is missing".
      const names = this.session.inputMetadata.map((m) => m.name);
      const absent = this.options.inputs.filter((m) => !names.includes(m.name)).map((m) => `'${m.name}'`);
      if (absent.length > 0) {
        const session = this.session;
        this.session = undefined;
        await session.release();
        throw new InvalidInput(
          `Model ${this.name}: model-settings.json names input${absent.length > 1 ? "s" : ""} ${absent.join(", ")}, which ${basename(this.options.path)} does not have; its inputs are: ${names.join(", ") || "none"}`,
        );
      }
    }
    this.inputs = this.options.inputs ?? this.session.inputMetadata.map(toMetadata);
    this.outputs = this.options.outputs ?? this.session.outputMetadata.map(toMetadata);
    this.ready = true;
  }

  override async unload(): Promise<void> {
    this.ready = false;
    const s = this.session;
    this.session = undefined;
    await s?.release();
  }

  /** V2 requests run as they are; a V1 body is turned into tensors by the V1 codec and answered in kind. */
  override predict(payload: unknown, ctx: RequestContext): unknown {
    if (isInferRequest(payload)) {
      const outputs = this.run(
        payload.inputs,
        payload.outputs?.map((o) => o.name),
      );
      if (outputs instanceof Promise) return outputs.then((o) => ({ modelName: this.name, outputs: o }));
      return { modelName: this.name, outputs };
    }
    const { request, format } = v1.v1ToInferRequest(payload, this.inputs, ctx?.limits);
    const outputs = this.run(request.inputs);
    if (outputs instanceof Promise) return outputs.then((o) => v1.tensorsToV1(o, format));
    return v1.tensorsToV1(outputs, format);
  }

  /**
   * Runs the session on tensors after checking them against the model's inputs. Synchronous when the
   * native binding is in use (a promise otherwise), so small models pay no event-loop hop.
   */
  run(inputs: Tensor[], outputNames?: readonly string[]): Tensor[] | Promise<Tensor[]> {
    const session = this.session;
    if (!session) throw new InvalidInput(`Model ${this.name} is not loaded`);
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of inputs) {
      const meta = this.inputs.find((m) => m.name === t.name);
      if (!meta) {
        throw new InvalidInput(
          `Model ${this.name} has no input named '${t.name}'; its inputs are: ${this.inputs.map((m) => m.name).join(", ")}`,
        );
      }
      checkInput(t, meta);
      feeds[t.name] = toOrtTensor(t);
    }
    for (const m of this.inputs) {
      if (!(m.name in feeds))
        throw new InvalidInput(`Input '${m.name}' (${m.datatype} ${formatShape(m.shape)}) is missing`);
    }
    const fetches = outputNames && outputNames.length > 0 ? outputNames : session.outputNames;
    for (const n of fetches) {
      if (!session.outputNames.includes(n)) {
        throw new InvalidInput(
          `Unexpected inference output '${n}'; the model produces: ${session.outputNames.join(", ")}`,
        );
      }
    }
    const results = session.run(feeds, fetches);
    const convert = (r: ort.Tensor[]) => r.map((t, i) => fromOrtTensor(fetches[i], t));
    return results instanceof Promise ? results.then(convert) : convert(results);
  }
}

function checkInput(t: Tensor, meta: TensorMetadata): void {
  if (t.datatype !== meta.datatype) {
    throw new InvalidInput(`Input '${t.name}' has datatype ${t.datatype}, but the model expects ${meta.datatype}`);
  }
  if (!shapeMatches(t.shape, meta.shape)) {
    throw new InvalidInput(
      `Input '${t.name}' has shape ${formatShape(t.shape)}, but the model expects ${formatShape(meta.shape)} (-1 = any size)`,
    );
  }
}

function toMetadata(m: ort.InferenceSession.ValueMetadata): TensorMetadata {
  if (!m.isTensor) throw new Error(`ONNX value '${m.name}' is not a tensor; tserve serves tensor inputs and outputs`);
  const datatype = datatypeOfOrt(m.type);
  if (!datatype) throw new Error(`ONNX value '${m.name}' has type ${m.type}, which tserve does not support`);
  // Symbolic dims ("batch") and unknown dims are variable: -1 in V2 metadata.
  const shape = m.shape.map((d) => (typeof d === "number" && d >= 0 ? d : -1));
  return { name: m.name, datatype, shape };
}
