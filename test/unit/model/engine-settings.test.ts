import { describe, expect, it } from "vitest";
import { parseModelSettings } from "../../../packages/server/src/model/index.ts";

const fails = (raw: unknown) => () => parseModelSettings(raw, "model-settings.json");

describe("model-settings.json: the execution engine's keys", () => {
  it("reads Triton's names", () => {
    const s = parseModelSettings({ instanceCount: 2, maxBatchSize: 32, preferredBatchSizes: [16, 8], maxQueueDelayMicroseconds: 500, maxQueueSize: 64 });
    expect(s).toMatchObject({ instanceCount: 2, maxBatchSize: 32, preferredBatchSizes: [8, 16], maxQueueDelayMicroseconds: 500, maxQueueSize: 64 });
  });

  it("accepts snake_case and MLServer's names: parallel_workers, max_batch_size, max_batch_time in seconds", () => {
    const s = parseModelSettings({ parallel_workers: 3, max_batch_size: 16, max_batch_time: 0.002, max_queue_size: 10 });
    expect(s).toMatchObject({ instanceCount: 3, maxBatchSize: 16, maxQueueDelayMicroseconds: 2000, maxQueueSize: 10 });
  });

  it("refuses a preferred batch size above maxBatchSize, and wrong types, naming the key", () => {
    expect(fails({ maxBatchSize: 8, preferredBatchSizes: [4, 16] })).toThrow("preferredBatchSizes: 16 is larger than maxBatchSize (8)");
    expect(fails({ maxBatchSize: -1 })).toThrow(/maxBatchSize/);
    expect(fails({ instanceCount: "two" })).toThrow(/instanceCount/);
    expect(fails({ maxQueueDelayMicroseconds: 1.5 })).toThrow(/maxQueueDelayMicroseconds/);
  });

  it("suggests the key a typo meant", () => {
    expect(fails({ maxBatchSise: 8 })).toThrow(/did you mean maxBatchSize/);
  });
});
