import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES, type Running, startWith } from "./util.ts";

/** A TypeScript model that declares it takes batches (model-settings.json maxBatchSize) gets merged V2 requests. */

let running: Running;
beforeAll(async () => {
  running = await startWith({ modelRepository: join(FIXTURES, "repos", "batching") });
});
afterAll(async () => {
  await running?.server.stop();
});

function infer(rows: number[][]): Promise<Response> {
  return fetch(`${running.url}/v2/models/rowsum/infer`, {
    method: "POST",
    body: JSON.stringify({ inputs: [{ name: "x", shape: [rows.length, 3], datatype: "FP32", data: rows.flat() }] }),
  });
}

type Answer = { outputs: { name: string; data: number[] }[] };

describe("batching a TypeScript model", () => {
  it("merges concurrent V2 requests into one predict call; each caller gets its own rows", async () => {
    const requests = [[[1, 2, 3]], [[4, 5, 6], [7, 8, 9]], [[10, 20, 30]]];
    const answers = await Promise.all(requests.map(async (rows) => (await (await infer(rows)).json()) as Answer));
    answers.forEach((answer, i) => {
      const sums = answer.outputs.find((o) => o.name === "sum")!.data;
      expect(sums).toEqual(requests[i].map((r) => r[0] + r[1] + r[2]));
      // All four rows went through one predict call.
      expect(answer.outputs.find((o) => o.name === "calls")!.data).toEqual(requests[i].map(() => 4));
    });
  });

  it("one bad request fails alone", async () => {
    const [good, bad] = await Promise.all([infer([[1, 1, 1]]), infer([[13, 0, 0]])]);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain("13 is unlucky");
    expect(good.status).toBe(200);
    expect(((await good.json()) as Answer).outputs.find((o) => o.name === "sum")!.data).toEqual([3]);
  });
});
