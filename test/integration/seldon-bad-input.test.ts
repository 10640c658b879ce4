/**
 * Pathological payloads a client can send to a Seldon component: shapes no array can hold and JSON nested
 * thousands of levels deep. Each is a 400 with Seldon's error body (not a 500), and the server keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectSeldonError, postJson, type SeldonRunning, send, startSeldon } from "../fixtures/seldon/harness.ts";

class Identity {
  predict(X: unknown): unknown {
    return X;
  }
}

const deep = (depth: number) => `{"data":{"ndarray":${"[".repeat(depth)}1${"]".repeat(depth)}}}`;

describe("Seldon components and hostile payloads", () => {
  let s: SeldonRunning;
  beforeAll(async () => {
    s = await startSeldon(new Identity(), "identity");
  });
  afterAll(async () => {
    await s?.server.stop();
  });

  async function stillServes(): Promise<void> {
    const ok = await postJson(`${s.url}/api/v1.0/predictions`, { data: { ndarray: [[1, 2]] } });
    expect(ok.status).toBe(200);
    expect(ok.json.data.ndarray).toEqual([[1, 2]]);
  }

  it("a tftensor whose one value would be broadcast to 10^11 elements is a 400", async () => {
    const body = { data: { tftensor: { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: "99999999999" }] }, float_val: [1] } } };
    for (const path of ["/api/v1.0/predictions", "/transform-output", "/transform-input"]) {
      expectSeldonError(await postJson(`${s.url}${path}`, body), 400, "MICROSERVICE_BAD_DATA", /Invalid request data/);
    }
    await stillServes();
  });

  it("an ndarray nested 20,000 levels deep is a 400 on the Seldon, V1 and V2 routes", async () => {
    const r = await send(`${s.url}/api/v1.0/predictions`, { method: "POST", headers: { "content-type": "application/json" }, body: deep(20_000) });
    expect(r.status, r.text).toBe(400);
    expect(r.json.status.reason).toBe("MICROSERVICE_BAD_DATA");
    const v1 = await send(`${s.url}/v1/models/identity:predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: `{"instances":${"[".repeat(20_000)}1${"]".repeat(20_000)}}`,
    });
    expect(v1.status, v1.text).toBe(400);
    expect(v1.json.error).toBeTypeOf("string");
    await stillServes();
  });
});
