import { describe, expect, it } from "vitest";
import {
  decodeBytesElements,
  encodeBytesElements,
  fromUtf8,
  serializedBytesLength,
  utf8,
} from "../../../packages/server/src/tensor/index.ts";

const u8 = (...bytes: number[]) => new Uint8Array(bytes);

describe("encodeBytesElements (4-byte little-endian length prefix per element)", () => {
  it('encodes ["ab", ""] as 02 00 00 00 61 62 00 00 00 00', () => {
    const out = encodeBytesElements([utf8("ab"), utf8("")]);
    expect(Array.from(out)).toEqual([0x02, 0x00, 0x00, 0x00, 0x61, 0x62, 0x00, 0x00, 0x00, 0x00]);
  });

  it("writes the length little-endian (300 bytes -> 2c 01 00 00)", () => {
    const big = new Uint8Array(300).fill(0x7a);
    const out = encodeBytesElements([big]);
    expect(out.byteLength).toBe(304);
    expect(Array.from(out.subarray(0, 4))).toEqual([0x2c, 0x01, 0x00, 0x00]);
    expect(out.subarray(4).every((b) => b === 0x7a)).toBe(true);
  });

  it("counts UTF-8 bytes, not characters", () => {
    expect(Array.from(encodeBytesElements([utf8("é")]))).toEqual([0x02, 0x00, 0x00, 0x00, 0xc3, 0xa9]);
  });

  it("copies raw non-UTF-8 bytes unchanged", () => {
    expect(Array.from(encodeBytesElements([u8(0x00, 0xff, 0x80)]))).toEqual([3, 0, 0, 0, 0x00, 0xff, 0x80]);
  });

  it("encodes no elements as no bytes", () => {
    expect(encodeBytesElements([]).byteLength).toBe(0);
  });

  it("serializedBytesLength is 4 + len per element and matches the encoding", () => {
    const elements = [utf8("abc"), utf8(""), utf8("é")];
    expect(serializedBytesLength(elements)).toBe(4 + 3 + 4 + 0 + 4 + 2);
    expect(encodeBytesElements(elements).byteLength).toBe(serializedBytesLength(elements));
  });
});

describe("decodeBytesElements", () => {
  it("decodes 02 00 00 00 61 62 00 00 00 00 into ['ab', '']", () => {
    const out = decodeBytesElements(u8(2, 0, 0, 0, 0x61, 0x62, 0, 0, 0, 0), 2);
    expect(Array.isArray(out)).toBe(true);
    expect((out as Uint8Array[]).map(fromUtf8)).toEqual(["ab", ""]);
  });

  it("round-trips through encodeBytesElements", () => {
    const strings = ["hello", "", "ünïcödé", "x".repeat(1000)];
    const out = decodeBytesElements(encodeBytesElements(strings.map(utf8)), strings.length);
    expect((out as Uint8Array[]).map(fromUtf8)).toEqual(strings);
  });

  it("returns views into the input rather than copies", () => {
    const buf = u8(1, 0, 0, 0, 0x41);
    const out = decodeBytesElements(buf, 1) as Uint8Array[];
    expect(out[0].buffer).toBe(buf.buffer);
    buf[4] = 0x42;
    expect(out[0][0]).toBe(0x42);
  });

  it("reads a buffer that starts at a non-zero offset of its ArrayBuffer", () => {
    const backing = u8(0xee, 0xee, 0xee, 1, 0, 0, 0, 0x5a);
    const out = decodeBytesElements(backing.subarray(3), 1) as Uint8Array[];
    expect(Array.from(out[0])).toEqual([0x5a]);
  });

  it("decodes an empty buffer as zero elements", () => {
    expect(decodeBytesElements(new Uint8Array(0), 0)).toEqual([]);
  });

  it("reports a truncated length prefix", () => {
    const out = decodeBytesElements(u8(1, 0, 0, 0, 0x61, 0x02, 0x00), 2);
    expect(typeof out).toBe("string");
    expect(out).toMatch(/truncated/);
    expect(out).toContain("5"); // the byte offset where the prefix starts
  });

  it("reports an element whose declared length runs past the end", () => {
    const out = decodeBytesElements(u8(5, 0, 0, 0, 0x61, 0x62), 1);
    expect(typeof out).toBe("string");
    expect(out).toContain("5");
    expect(out).toContain("2");
  });

  it("reports fewer elements than the shape needs", () => {
    const out = decodeBytesElements(encodeBytesElements([utf8("a"), utf8("b")]), 3);
    expect(typeof out).toBe("string");
    expect(out).toContain("2");
    expect(out).toContain("3");
  });

  it("reports more elements than the shape needs", () => {
    const out = decodeBytesElements(encodeBytesElements([utf8("a"), utf8("b")]), 1);
    expect(typeof out).toBe("string");
  });
});
