/** boundedStatusDetails: what a gRPC status message may be once it has to fit in HTTP/2 trailers. */
import { describe, expect, it } from "vitest";
import { boundedStatusDetails, MAX_STATUS_DETAILS } from "../../../packages/server/src/protocol/grpc/status.ts";

/** Bytes the message takes in the `grpc-message` trailer (grpc-js percent-encodes it with encodeURI). */
const onWire = (s: string) => encodeURI(s).length;

describe("boundedStatusDetails", () => {
  it("leaves ordinary messages alone", () => {
    expect(boundedStatusDetails("Model iris not found")).toBe("Model iris not found");
    const atLimit = "x".repeat(MAX_STATUS_DETAILS);
    expect(boundedStatusDetails(atLimit)).toBe(atLimit);
  });

  it("keeps the start and the end of a long message and says how much of the middle was cut", () => {
    const name = "a".repeat(100_000);
    const out = boundedStatusDetails(`Model ${name} is not ready`);
    expect(onWire(out)).toBeLessThanOrEqual(MAX_STATUS_DETAILS + 64);
    expect(out.startsWith("Model aaa")).toBe(true);
    expect(out.endsWith("aaa is not ready")).toBe(true);
    const cut = Number(/… \((\d+) characters cut\) …/.exec(out)?.[1]);
    // what is kept plus what is cut is the whole message
    expect(out.replace(/… \(\d+ characters cut\) …/, "").length + cut).toBe(`Model ${name} is not ready`.length);
  });

  it("counts percent-encoding: non-ASCII text is cut sooner, and never inside a surrogate pair", () => {
    const out = boundedStatusDetails(`x ${"😀é中".repeat(20_000)} end`);
    expect(onWire(out)).toBeLessThanOrEqual(MAX_STATUS_DETAILS + 64);
    expect(out.endsWith(" end")).toBe(true);
    expect(() => encodeURI(out)).not.toThrow();
    const emoji = boundedStatusDetails("😀".repeat(10_000));
    expect(() => encodeURI(emoji)).not.toThrow();
    expect(emoji).toMatch(/^(😀)+… \(\d+ characters cut\) …(😀)+$/u);
  });

  it("replaces lone surrogates, which encodeURI (and so grpc-js) cannot send", () => {
    const out = boundedStatusDetails("bad \uD800 name \uDC00");
    expect(out).toBe("bad \uFFFD name \uFFFD");
    expect(() => encodeURI(out)).not.toThrow();
  });
});
