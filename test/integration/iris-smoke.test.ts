import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelServer } from "../../packages/server/src/index.ts";
import { IRIS_REPO, startServer } from "../helpers/server.ts";

describe("iris smoke", () => {
  let server: ModelServer;
  let url: string;
  beforeAll(async () => {
    ({ server, url } = await startServer({ modelRepository: IRIS_REPO }));
  });
  afterAll(async () => server.stop());

  it("answers the Kubeflow seed request with 3 probabilities per row", async () => {
    const r = await fetch(`${url}/v1/models/iris:predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        instances: [
          [6.8, 2.8, 4.8, 1.4],
          [6.0, 3.4, 4.5, 1.6],
        ],
      }),
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { predictions: number[][] };
    expect(body.predictions).toHaveLength(2);
    for (const row of body.predictions) {
      expect(row).toHaveLength(3);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(row.indexOf(Math.max(...row))).toBe(1);
    }
  });
});
