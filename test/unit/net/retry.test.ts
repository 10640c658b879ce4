import { describe, expect, it } from "vitest";
import { backoffDelay, isTransientFailure, NetworkError, retry, TimeoutError } from "../../../packages/server/src/net/index.ts";

const transient = () => new NetworkError("connect ECONNREFUSED 127.0.0.1:1", "ECONNREFUSED");

describe("retry", () => {
  it("`retries: N` means N retries after the first attempt (N + 1 attempts)", async () => {
    for (const retries of [0, 1, 3]) {
      const attempts: number[] = [];
      const seen: number[] = [];
      const err = await retry({ retries, baseDelayMs: 1, maxDelayMs: 2, onRetry: (_e, n) => seen.push(n) }, async (n) => {
        attempts.push(n);
        throw transient();
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NetworkError);
      expect(attempts).toEqual(Array.from({ length: retries + 1 }, (_, i) => i));
      expect(seen).toEqual(Array.from({ length: retries }, (_, i) => i + 1));
    }
  });

  it("stops at the first success", async () => {
    let calls = 0;
    const value = await retry({ retries: 5, baseDelayMs: 1, maxDelayMs: 1 }, async () => {
      if (++calls < 3) throw transient();
      return "done";
    });
    expect([value, calls]).toEqual(["done", 3]);
  });

  it("retries only what retryOn accepts (default: refused/reset, 502/503; never a timeout)", async () => {
    expect(isTransientFailure(new NetworkError("x", "ECONNREFUSED"))).toBe(true);
    expect(isTransientFailure(new NetworkError("x", "ECONNRESET"))).toBe(true);
    expect(isTransientFailure(new NetworkError("x", "ENOTFOUND"))).toBe(false);
    expect(isTransientFailure(Object.assign(new Error("bad gateway"), { status: 502 }))).toBe(true);
    expect(isTransientFailure(Object.assign(new Error("unavailable"), { status: 503 }))).toBe(true);
    expect(isTransientFailure(Object.assign(new Error("boom"), { status: 500 }))).toBe(false);
    expect(isTransientFailure(new TimeoutError("slow", 10, "exchange"))).toBe(false);
    expect(isTransientFailure("text")).toBe(false);

    let calls = 0;
    await expect(
      retry({ retries: 3, baseDelayMs: 1, maxDelayMs: 1 }, async () => {
        calls++;
        throw new TimeoutError("slow", 10, "exchange");
      }),
    ).rejects.toBeInstanceOf(TimeoutError);
    expect(calls).toBe(1);

    calls = 0;
    await expect(
      retry({ retries: 2, baseDelayMs: 1, maxDelayMs: 1, retryOn: (e) => (e as Error).message === "again" }, async () => {
        calls++;
        throw new Error("again");
      }),
    ).rejects.toThrow("again");
    expect(calls).toBe(3);
  });

  it("backs off exponentially with equal jitter, capped", () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
    for (let i = 0; i < 200; i++) {
      for (const [n, full] of [[0, 100], [1, 200], [2, 400], [3, 800], [4, 1000], [9, 1000]] as const) {
        const d = backoffDelay(n, policy);
        expect(d).toBeGreaterThanOrEqual(full / 2);
        expect(d).toBeLessThanOrEqual(full);
      }
    }
  });

  it("an abort while waiting between attempts stops at once with the signal's reason", async () => {
    const controller = new AbortController();
    const reason = new Error("cancelled");
    let calls = 0;
    const started = Date.now();
    const run = retry({ retries: 5, baseDelayMs: 5_000, maxDelayMs: 5_000, signal: controller.signal }, async () => {
      calls++;
      throw transient();
    });
    setTimeout(() => controller.abort(reason), 20);
    await expect(run).rejects.toBe(reason);
    expect(calls).toBe(1);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
