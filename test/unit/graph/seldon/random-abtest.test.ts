import { describe, expect, it } from "vitest";
import { InvalidInput } from "../../../../packages/server/src/errors/index.ts";
import { RandomABTestUnit, ratioAFromParameters } from "../../../../packages/server/src/graph/seldon/random-abtest.ts";
import type { SeldonMessage } from "../../../../packages/server/src/protocol/seldon/types.ts";

const ctx = { headers: {} };

/** mulberry32: a small seeded PRNG, so the ratio test is deterministic. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function routeOf(unit: RandomABTestUnit, msg: SeldonMessage = {}): Promise<number> {
  const answer = await unit.route(msg, ctx);
  return (answer.data!.ndarray as number[][])[0][0];
}

describe("RandomABTestUnit", () => {
  it("routes to A when the draw is below ratioA, else to B, answering [[route]] with the puid", async () => {
    const draws = [0.0, 0.69, 0.7, 0.99];
    const unit = new RandomABTestUnit("ab", { ratioA: 0.7, random: () => draws.shift()! });
    const routes = [];
    for (let i = 0; i < 4; i++) routes.push(await routeOf(unit));
    expect(routes).toEqual([0, 0, 1, 1]);
    draws.push(0.5);
    expect(await unit.route({ meta: { puid: "p", tags: { x: 1 } } }, ctx)).toEqual({ data: { names: [], ndarray: [[0]] }, meta: { puid: "p" } });
  });

  it("always picks A at ratioA 1 and B at ratioA 0", async () => {
    const edge = () => 0.999999;
    const zero = () => 0;
    expect(await routeOf(new RandomABTestUnit("ab", { ratioA: 1, random: edge }))).toBe(0);
    expect(await routeOf(new RandomABTestUnit("ab", { ratioA: 0, random: zero }))).toBe(1);
  });

  it.each([0.1, 0.5, 0.8])("splits traffic by ratioA %s", async (ratioA) => {
    const unit = new RandomABTestUnit("ab", { ratioA, random: seeded(42) });
    let a = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) if ((await routeOf(unit)) === 0) a++;
    expect(Math.abs(a / n - ratioA)).toBeLessThan(0.015);
  });

  it("defaults ratioA to 0.5 and reads it from FLOAT or DOUBLE parameters", () => {
    expect(new RandomABTestUnit("ab").ratioA).toBe(0.5);
    expect(ratioAFromParameters([])).toBe(0.5);
    expect(RandomABTestUnit.fromParameters("ab", [{ name: "ratioA", value: "0.2", type: "FLOAT" }]).ratioA).toBe(0.2);
    expect(ratioAFromParameters([{ name: "other", value: "x", type: "STRING" }, { name: "ratioA", value: "1", type: "DOUBLE" }])).toBe(1);
  });

  it("rejects a ratioA outside [0, 1], not a number, or not a FLOAT", () => {
    expect(() => new RandomABTestUnit("ab", { ratioA: 1.01 })).toThrow(InvalidInput);
    expect(() => new RandomABTestUnit("ab", { ratioA: Number.NaN })).toThrow(/between 0 and 1/);
    expect(() => ratioAFromParameters([{ name: "ratioA", value: "-0.1", type: "FLOAT" }], "ab")).toThrow(/'ab': ratioA must be a number between 0 and 1/);
    expect(() => ratioAFromParameters([{ name: "ratioA", value: "", type: "FLOAT" }])).toThrow(/between 0 and 1/);
    expect(() => ratioAFromParameters([{ name: "ratioA", value: "0.5", type: "STRING" }])).toThrow(/must have type FLOAT/);
  });

  it("passes messages through, answers feedback emptily, has no aggregate, and describes itself", async () => {
    const unit = new RandomABTestUnit("ab", { ratioA: 0.25 });
    const msg = { data: { ndarray: [1] } };
    expect(await unit.predict(msg, ctx)).toBe(msg);
    expect(await unit.transformInput(msg, ctx)).toBe(msg);
    expect(await unit.transformOutput(msg, ctx)).toBe(msg);
    expect(await unit.sendFeedback({ reward: 1 }, ctx)).toEqual({ data: { names: [], ndarray: [] }, meta: {} });
    await expect(unit.aggregate([msg], ctx)).rejects.toMatchObject({ status: 400, message: "Aggregate not defined" });
    expect(await unit.healthy()).toBe(true);
    expect(await unit.metadata()).toMatchObject({ name: "ab", custom: { implementation: "RANDOM_ABTEST", ratioA: "0.25" } });
  });
});
