/**
 * SigV4 against AWS's published examples: the S3 "Signature Calculations for the Authorization Header"
 * examples (examplebucket, 20130524T000000Z) and the generic SigV4 test suite / IAM examples (20150830T123600Z).
 */
import { describe, expect, it } from "vitest";
import {
  canonicalQuery,
  canonicalUri,
  EMPTY_SHA256,
  encodeKeyPath,
  sha256Hex,
  signingKey,
  signV4,
} from "../../../packages/server/src/storage/uri/sigv4.ts";

const S3_CREDENTIALS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
const S3_DATE = new Date("2013-05-24T00:00:00Z");
const SUITE_CREDENTIALS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
const SUITE_DATE = new Date("2015-08-30T12:36:00Z");

describe("SigV4: S3 documentation examples", () => {
  const s3 = { region: "us-east-1", service: "s3", credentials: S3_CREDENTIALS, date: S3_DATE };

  it("GET Object (GET /test.txt, Range: bytes=0-9)", () => {
    const signed = signV4(
      {
        method: "GET",
        url: new URL("https://examplebucket.s3.amazonaws.com/test.txt"),
        headers: { range: "bytes=0-9", "x-amz-content-sha256": EMPTY_SHA256 },
      },
      s3,
    );
    expect(signed.canonicalRequest).toBe(
      [
        "GET",
        "/test.txt",
        "",
        "host:examplebucket.s3.amazonaws.com",
        "range:bytes=0-9",
        `x-amz-content-sha256:${EMPTY_SHA256}`,
        "x-amz-date:20130524T000000Z",
        "",
        "host;range;x-amz-content-sha256;x-amz-date",
        EMPTY_SHA256,
      ].join("\n"),
    );
    expect(signed.stringToSign).toBe(
      [
        "AWS4-HMAC-SHA256",
        "20130524T000000Z",
        "20130524/us-east-1/s3/aws4_request",
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
      ].join("\n"),
    );
    expect(signed.signature).toBe("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    expect(signed.authorization).toBe(
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, " +
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    );
    expect(signed.headers["x-amz-date"]).toBe("20130524T000000Z");
  });

  it("PUT Object (PUT /test$file.text with a payload and x-amz-storage-class)", () => {
    const payloadHash = sha256Hex("Welcome to Amazon S3.");
    expect(payloadHash).toBe("44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    const signed = signV4(
      {
        method: "PUT",
        url: new URL(`https://examplebucket.s3.amazonaws.com/${encodeKeyPath("test$file.text")}`),
        headers: {
          date: "Fri, 24 May 2013 00:00:00 GMT",
          "x-amz-storage-class": "REDUCED_REDUNDANCY",
          "x-amz-content-sha256": payloadHash,
        },
        payloadHash,
      },
      s3,
    );
    expect(signed.canonicalRequest.split("\n")[1]).toBe("/test%24file.text");
    expect(signed.signature).toBe("98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  });

  it("GET Bucket Lifecycle (GET /?lifecycle)", () => {
    const signed = signV4(
      {
        method: "GET",
        url: new URL("https://examplebucket.s3.amazonaws.com/?lifecycle"),
        headers: { "x-amz-content-sha256": EMPTY_SHA256 },
      },
      s3,
    );
    expect(signed.canonicalRequest.split("\n")[2]).toBe("lifecycle=");
    expect(signed.signature).toBe("fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  });

  it("GET Bucket / List Objects (GET /?max-keys=2&prefix=J)", () => {
    const signed = signV4(
      {
        method: "GET",
        url: new URL("https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J"),
        headers: { "x-amz-content-sha256": EMPTY_SHA256 },
      },
      s3,
    );
    expect(signed.signature).toBe("34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
  });
});

describe("SigV4: the generic test suite and IAM examples", () => {
  const suite = { region: "us-east-1", service: "service", credentials: SUITE_CREDENTIALS, date: SUITE_DATE, doubleEncodePath: true };

  it("get-vanilla", () => {
    const signed = signV4({ method: "GET", url: new URL("https://example.amazonaws.com/"), headers: {} }, suite);
    expect(signed.canonicalRequest).toBe(
      ["GET", "/", "", "host:example.amazonaws.com", "x-amz-date:20150830T123600Z", "", "host;x-amz-date", EMPTY_SHA256].join("\n"),
    );
    expect(sha256Hex(signed.canonicalRequest)).toBe("bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
    expect(signed.signature).toBe("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  });

  it("get-vanilla-query-order-key-case (parameters sorted)", () => {
    const signed = signV4(
      { method: "GET", url: new URL("https://example.amazonaws.com/?Param2=value2&Param1=value1"), headers: {} },
      suite,
    );
    expect(signed.canonicalRequest.split("\n")[2]).toBe("Param1=value1&Param2=value2");
    expect(signed.signature).toBe("b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
  });

  it("IAM ListUsers example", () => {
    const signed = signV4(
      {
        method: "GET",
        url: new URL("https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08"),
        headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
      },
      { ...suite, service: "iam" },
    );
    expect(sha256Hex(signed.canonicalRequest)).toBe("f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
    expect(signed.signature).toBe("5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
  });

  it("derives the documented signing key", () => {
    expect(signingKey(SUITE_CREDENTIALS.secretAccessKey, "20150830", "us-east-1", "iam").toString("hex")).toBe(
      "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9",
    );
  });
});

describe("SigV4 details", () => {
  it("signs a session token as x-amz-security-token", () => {
    const signed = signV4(
      { method: "GET", url: new URL("https://b.s3.amazonaws.com/k"), headers: { "x-amz-content-sha256": EMPTY_SHA256 } },
      { region: "eu-west-1", service: "s3", credentials: { ...S3_CREDENTIALS, sessionToken: "TOKEN" }, date: S3_DATE },
    );
    expect(signed.headers["x-amz-security-token"]).toBe("TOKEN");
    expect(signed.authorization).toContain("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,");
    expect(signed.authorization).toContain("/20130524/eu-west-1/s3/aws4_request");
  });

  it("encodes paths once for S3 and twice for other services; queries RFC 3986", () => {
    expect(canonicalUri("/a%20b/c+d", false)).toBe("/a%20b/c%2Bd");
    expect(canonicalUri("/a%20b", true)).toBe("/a%2520b");
    expect(canonicalUri("", false)).toBe("/");
    expect(canonicalQuery("?prefix=models%2Firis%2F&list-type=2&continuation-token=a%2Bb%3D")).toBe(
      "continuation-token=a%2Bb%3D&list-type=2&prefix=models%2Firis%2F",
    );
    expect(encodeKeyPath("dir/a b(1)*.onnx")).toBe("dir/a%20b%281%29%2A.onnx");
  });
});
