import type { DataPlane, Model, RequestContext, Stage } from "../../model/index.ts";
import { seldon } from "../../protocol/index.ts";
import { isSeldonComponent, type SeldonComponent } from "../../runtime/index.ts";
import type { SeldonCallContext, SeldonUnit } from "./unit.ts";

type SeldonMessage = seldon.SeldonMessage;
type SeldonFeedback = seldon.SeldonFeedback;

/**
 * A graph node served by this process, called through the DataPlane (same lookup, readiness and metrics as
 * an HTTP request, no network hop). A Seldon component gets each Seldon method; any other tserve model
 * (an ONNX file, a KServe-style class) acts as a MODEL: its data goes in as V1 `instances` and its
 * `predictions` come back as the message's data.
 */
export class LocalSeldonUnit implements SeldonUnit {
  constructor(
    readonly name: string,
    private readonly dataplane: DataPlane,
  ) {}

  private call<T>(stage: Stage, fn: (model: Model) => Promise<T>): Promise<T> {
    return this.dataplane.invoke(this.name, undefined, stage, fn);
  }

  private component<T>(stage: Stage, fn: (c: SeldonComponent) => Promise<T>, plain: (m: Model) => Promise<T>): Promise<T> {
    return this.call(stage, (m) => (isSeldonComponent(m) ? fn(m) : plain(m)));
  }

  predict(msg: SeldonMessage, ctx: SeldonCallContext): Promise<SeldonMessage> {
    return this.component("predict", (c) => c.seldonPredict(msg), (m) => this.predictModel(m, msg, ctx));
  }

  transformInput(msg: SeldonMessage): Promise<SeldonMessage> {
    return this.component("preprocess", (c) => c.seldonTransformInput(msg), async () => msg);
  }

  transformOutput(msg: SeldonMessage): Promise<SeldonMessage> {
    return this.component("postprocess", (c) => c.seldonTransformOutput(msg), async () => msg);
  }

  route(msg: SeldonMessage): Promise<SeldonMessage> {
    return this.component("predict", (c) => c.seldonRoute(msg), async () => {
      throw new seldon.SeldonError(`Model ${this.name} is not a Seldon component and cannot route`);
    });
  }

  aggregate(msgs: SeldonMessage[]): Promise<SeldonMessage> {
    return this.component("predict", (c) => c.seldonAggregate(msgs), async () => {
      throw new seldon.SeldonError(`Model ${this.name} is not a Seldon component and cannot aggregate`);
    });
  }

  sendFeedback(feedback: SeldonFeedback): Promise<SeldonMessage> {
    return this.component("predict", (c) => c.seldonSendFeedback(feedback), async (): Promise<SeldonMessage> => ({ data: { names: [], ndarray: [] }, meta: {} }));
  }

  async healthy(): Promise<boolean> {
    return this.dataplane.modelReady(this.name);
  }

  async metadata(): Promise<unknown> {
    const model = this.dataplane.model(this.name);
    return isSeldonComponent(model) ? model.seldonMetadata() : this.dataplane.modelMetadata(this.name);
  }

  /** A plain tserve model as a Seldon MODEL: rows in as V1 instances, predictions back as data. */
  private async predictModel(model: Model, msg: SeldonMessage, ctx: SeldonCallContext): Promise<SeldonMessage> {
    const context: RequestContext = { headers: ctx.headers, protocol: "v1", responseHeaders: {} };
    const payload = seldon.messagePayload(msg);
    const body = seldon.isNDArray(payload) ? { instances: payload.toArray() } : payload;
    let result = await model.predict(await model.preprocess(body, context), context);
    result = await model.postprocess(result, context);
    const predictions = (result as { predictions?: unknown })?.predictions ?? result;
    return seldon.buildResponse(predictions, msg, {});
  }
}

/** Resolves graph nodes to this process's served models, when it serves one by that name. */
export function dataPlaneSeldonUnits(dataplane: DataPlane): (node: { name: string }) => SeldonUnit | undefined {
  return (node) => (dataplane.hasModel(node.name) ? new LocalSeldonUnit(node.name, dataplane) : undefined);
}
