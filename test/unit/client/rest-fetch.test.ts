import { describe, expect, it } from "vitest";
import { InferenceConnectionError, InferenceRESTClient, InferenceTimeoutError } from "../../../packages/server/src/client/index.ts";

/** The REST client over an injected fetch: what browsers and edge runtimes use. */
describe("InferenceRESTClient with a custom fetch", () => {
  it("sends through it and reads the answer", async () => {
    const seen: { url: string; init: RequestInit }[] = [];
    const client = new InferenceRESTClient("http://model.example", {
      headers: { Authorization: "Bearer t" },
      fetch: async (url, init) => {
        seen.push({ url, init });
        return new Response(JSON.stringify({ predictions: [1] }), { headers: { "content-type": "application/json" } });
      },
    });
    expect(await client.predict("m", { instances: [[1]] })).toEqual({ predictions: [1] });
    expect(seen[0].url).toBe("http://model.example/v1/models/m:predict");
    expect(seen[0].init.method).toBe("POST");
    const headers = seen[0].init.headers as Record<string, string>;
    expect(headers.authorization).toBe("Bearer t");
    expect(headers["content-length"]).toBeUndefined();
    expect(Buffer.from(seen[0].init.body as Uint8Array).toString()).toBe('{"instances":[[1]]}');
  });

  it("a fetch failure is an InferenceConnectionError with the socket's code, retried like the Node transport", async () => {
    let calls = 0;
    const client = new InferenceRESTClient("http://down.example", {
      retries: 2,
      retryBaseDelayMs: 1,
      fetch: async () => {
        calls++;
        throw new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });
      },
    });
    const err = (await client.isServerLive().catch((e: unknown) => e)) as InferenceConnectionError;
    expect(err).toBeInstanceOf(InferenceConnectionError);
    expect(err.systemCode).toBe("ECONNREFUSED");
    expect(calls).toBe(3);
  });

  it("the deadline aborts the fetch: InferenceTimeoutError, not retried", async () => {
    let calls = 0;
    const client = new InferenceRESTClient("http://slow.example", {
      timeoutMs: 30,
      retries: 2,
      fetch: (_url, init) => {
        calls++;
        return new Promise((_resolve, reject) => init.signal?.addEventListener("abort", () => reject(init.signal?.reason)));
      },
    });
    const err = await client.serverMetadata().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InferenceTimeoutError);
    expect((err as Error).message).toBe("GET http://slow.example/v2 timed out after 30 ms");
    expect(calls).toBe(1);
  });

  it("TLS options need the Node transport", () => {
    expect(() => new InferenceRESTClient("https://x.example", { tls: { rejectUnauthorized: false }, fetch: globalThis.fetch })).toThrow(/TLS options/);
  });
});
