import { InvalidInput } from "../../errors/index.ts";
import { SeldonError } from "../../protocol/seldon/index.ts";
import type { SeldonFeedback, SeldonMessage } from "../../protocol/seldon/index.ts";
import { ratioAFromParameters, type SeldonParameter } from "./spec.ts";
import type { SeldonCallContext, SeldonUnit } from "./unit.ts";

// Parsing ratioA lives in spec.ts, which validates graphs with it; it is re-exported here beside the unit.
export { ratioAFromParameters };

export interface RandomABTestOptions {
  /** Probability of routing to child 0 (default 0.5). */
  ratioA?: number;
  /** A number in [0, 1); tests inject a deterministic one (default Math.random). */
  random?: () => number;
}

/**
 * Seldon's built-in RANDOM_ABTEST router: child 0 with probability ratioA, else child 1. Only `route` (and a
 * no-op `sendFeedback`) make sense for it; the transforms pass messages through, as a component without them does.
 */
export class RandomABTestUnit implements SeldonUnit {
  readonly name: string;
  readonly ratioA: number;
  private readonly random: () => number;

  constructor(name: string, options: RandomABTestOptions = {}) {
    const ratioA = options.ratioA ?? 0.5;
    if (!Number.isFinite(ratioA) || ratioA < 0 || ratioA > 1) {
      throw new InvalidInput(`RANDOM_ABTEST node '${name}': ratioA must be a number between 0 and 1 (it is ${ratioA})`);
    }
    this.name = name;
    this.ratioA = ratioA;
    this.random = options.random ?? Math.random;
  }

  static fromParameters(name: string, parameters: readonly SeldonParameter[], random?: () => number): RandomABTestUnit {
    return new RandomABTestUnit(name, { ratioA: ratioAFromParameters(parameters, name), random });
  }

  /** 0 or 1, as `[[route]]`; like a Seldon router's answer, meta carries only the puid. */
  async route(msg: SeldonMessage, _ctx: SeldonCallContext): Promise<SeldonMessage> {
    // random() is in [0, 1): ratioA 1 always picks A, ratioA 0 never does.
    const route = this.random() < this.ratioA ? 0 : 1;
    const puid = msg.meta?.puid;
    return { data: { names: [], ndarray: [[route]] }, meta: puid === undefined ? {} : { puid } };
  }

  async predict(msg: SeldonMessage, _ctx: SeldonCallContext): Promise<SeldonMessage> {
    return msg;
  }

  async transformInput(msg: SeldonMessage, _ctx: SeldonCallContext): Promise<SeldonMessage> {
    return msg;
  }

  async transformOutput(msg: SeldonMessage, _ctx: SeldonCallContext): Promise<SeldonMessage> {
    return msg;
  }

  async aggregate(_msgs: SeldonMessage[], _ctx: SeldonCallContext): Promise<SeldonMessage> {
    throw new SeldonError("Aggregate not defined", 400);
  }

  async sendFeedback(_feedback: SeldonFeedback, _ctx: SeldonCallContext): Promise<SeldonMessage> {
    return { data: { names: [], ndarray: [] }, meta: {} };
  }

  async healthy(): Promise<boolean> {
    return true;
  }

  async metadata(): Promise<unknown> {
    return {
      name: this.name,
      versions: [],
      platform: "seldon",
      inputs: [],
      outputs: [],
      custom: { implementation: "RANDOM_ABTEST", ratioA: String(this.ratioA) },
    };
  }
}
