import type { SeldonCallContext, SeldonUnit } from "../../../../packages/server/src/graph/seldon/unit.ts";
import type { SeldonFeedback, SeldonMessage } from "../../../../packages/server/src/protocol/seldon/types.ts";

type Answer<A> = (arg: A, ctx: SeldonCallContext) => SeldonMessage | Promise<SeldonMessage>;

export interface FakeBehaviour {
  predict?: Answer<SeldonMessage>;
  transformInput?: Answer<SeldonMessage>;
  transformOutput?: Answer<SeldonMessage>;
  /** A fixed route, or a function of the message. */
  route?: number | unknown | Answer<SeldonMessage>;
  aggregate?: Answer<SeldonMessage[]>;
  sendFeedback?: Answer<SeldonFeedback>;
  healthy?: boolean | (() => Promise<boolean>);
  metadata?: unknown | (() => Promise<unknown>);
}

export interface Call {
  unit: string;
  method: string;
  arg: unknown;
}

/** The message's ndarray (a path of names the fakes append to). */
export function path(msg: SeldonMessage): unknown[] {
  return (msg.data?.ndarray ?? []) as unknown[];
}

const appended = (msg: SeldonMessage, item: unknown): SeldonMessage => ({
  data: { names: [], ndarray: [...path(msg), item] },
  meta: { puid: msg.meta?.puid },
});

/**
 * An in-memory SeldonUnit: by default predict appends its name to data.ndarray, transforms append
 * "in:<name>" / "out:<name>", aggregate answers the children's ndarrays in order. Every call is logged.
 */
export class FakeUnit implements SeldonUnit {
  readonly name: string;
  readonly calls: Call[];
  closed = 0;
  private readonly b: FakeBehaviour;

  constructor(name: string, behaviour: FakeBehaviour = {}, log: Call[] = []) {
    this.name = name;
    this.b = behaviour;
    this.calls = log;
  }

  private log(method: string, arg: unknown) {
    this.calls.push({ unit: this.name, method, arg });
  }

  async predict(msg: SeldonMessage, ctx: SeldonCallContext): Promise<SeldonMessage> {
    this.log("predict", msg);
    return this.b.predict ? this.b.predict(msg, ctx) : appended(msg, this.name);
  }

  async transformInput(msg: SeldonMessage, ctx: SeldonCallContext): Promise<SeldonMessage> {
    this.log("transformInput", msg);
    return this.b.transformInput ? this.b.transformInput(msg, ctx) : appended(msg, `in:${this.name}`);
  }

  async transformOutput(msg: SeldonMessage, ctx: SeldonCallContext): Promise<SeldonMessage> {
    this.log("transformOutput", msg);
    return this.b.transformOutput ? this.b.transformOutput(msg, ctx) : appended(msg, `out:${this.name}`);
  }

  async route(msg: SeldonMessage, ctx: SeldonCallContext): Promise<SeldonMessage> {
    this.log("route", msg);
    const r = this.b.route;
    if (typeof r === "function") return (r as Answer<SeldonMessage>)(msg, ctx);
    return { data: { names: [], ndarray: [[r ?? -1]] }, meta: { puid: msg.meta?.puid } };
  }

  async aggregate(msgs: SeldonMessage[], ctx: SeldonCallContext): Promise<SeldonMessage> {
    this.log("aggregate", msgs);
    if (this.b.aggregate) return this.b.aggregate(msgs, ctx);
    return { data: { names: [], ndarray: msgs.map(path) }, meta: {} };
  }

  async sendFeedback(feedback: SeldonFeedback, ctx: SeldonCallContext): Promise<SeldonMessage> {
    this.log("sendFeedback", feedback);
    if (this.b.sendFeedback) return this.b.sendFeedback(feedback, ctx);
    return { data: { names: [], ndarray: [this.name] }, meta: {} };
  }

  async healthy(): Promise<boolean> {
    const h = this.b.healthy;
    return typeof h === "function" ? h() : (h ?? true);
  }

  async metadata(): Promise<unknown> {
    const m = this.b.metadata;
    return typeof m === "function" ? (m as () => Promise<unknown>)() : (m ?? { name: this.name, inputs: [], outputs: [] });
  }

  async close(): Promise<void> {
    this.closed++;
  }
}
