import { describe, expect, it } from "vitest";
import { ModelServer, SeldonComponent, type SeldonComponentLike } from "../../packages/server/src/index.ts";

/** A failed request's error line carries the request id the client got back, whatever the protocol family. */
describe("error lines name the request id", () => {
  it("a Seldon component's 500 is logged with the x-request-id its answer carried", async () => {
    const lines: string[] = [];
    const logger = { log: (_level: string, message: string) => lines.push(message) };
    const broken = { predict: () => { throw new Error("the model's own bug"); } };
    const component = new SeldonComponent(broken as SeldonComponentLike, "broken");
    const server = new ModelServer({ httpPort: 0, host: "127.0.0.1", enableGrpc: false, seldon: true, logger });
    await server.start([component]);
    try {
      const r = await fetch(`http://127.0.0.1:${server.port}/api/v1.0/predictions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": "seldon-fail-7" },
        body: JSON.stringify({ data: { ndarray: [[1, 2]] } }),
      });
      expect(r.status).toBe(500);
      expect(r.headers.get("x-request-id")).toBe("seldon-fail-7");
      const line = lines.find((l) => l.includes("the model's own bug"));
      expect(line).toContain("POST /api/v1.0/predictions -> 500");
      expect(line).toContain("reqId=seldon-fail-7");
    } finally {
      await server.stop();
    }
  });
});
