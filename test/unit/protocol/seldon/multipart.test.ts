import { describe, expect, it } from "vitest";
import { SeldonError } from "../../../../packages/server/src/protocol/seldon/errors.ts";
import { type MultipartPart, parseMultipart } from "../../../../packages/server/src/protocol/seldon/multipart.ts";

const enc = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function bytes(...chunks: (string | Uint8Array)[]): Uint8Array {
  const parts = chunks.map((c) => (typeof c === "string" ? enc.encode(c) : c));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function multipartError(body: Uint8Array, contentType: string): SeldonError {
  try {
    parseMultipart(body, contentType);
  } catch (err) {
    expect(err).toBeInstanceOf(SeldonError);
    expect((err as SeldonError).status).toBe(400);
    expect((err as SeldonError).reason).toBe("MICROSERVICE_BAD_DATA");
    return err as SeldonError;
  }
  throw new Error("expected parseMultipart to throw");
}

const CT = "multipart/form-data; boundary=XyZ";

describe("parseMultipart: well-formed bodies", () => {
  it("splits fields and files, reading name, filename and Content-Type", () => {
    const body = bytes(
      "--XyZ\r\n",
      'Content-Disposition: form-data; name="data"\r\n\r\n',
      '{"ndarray":[[1,2]]}\r\n',
      "--XyZ\r\n",
      'Content-Disposition: form-data; name="binData"; filename="img.png"\r\n',
      "Content-Type: image/png\r\n\r\n",
      "PNGDATA\r\n",
      "--XyZ--\r\n",
    );
    const parts = parseMultipart(body, CT);
    expect(parts.map((p) => ({ ...p, data: text(p.data) }))).toEqual([
      { name: "data", data: '{"ndarray":[[1,2]]}' },
      { name: "binData", filename: "img.png", contentType: "image/png", data: "PNGDATA" },
    ]);
  });

  it("ignores a preamble and an epilogue", () => {
    const body = bytes(
      "This is the preamble.\r\nIt has --XyZ-like text in it.\r\n",
      "--XyZ\r\n",
      'Content-Disposition: form-data; name="a"\r\n\r\n',
      "1\r\n",
      "--XyZ--\r\n",
      "This is the epilogue.\r\n--XyZ\r\nnot a part",
    );
    const parts = parseMultipart(body, CT);
    expect(parts).toHaveLength(1);
    expect(text(parts[0].data)).toBe("1");
  });

  it("reads a quoted boundary, case-insensitive parameter names and a boundary with spaces", () => {
    const body = bytes("--a b:c\r\n", 'Content-Disposition: form-data; name="x"\r\n\r\n', "v\r\n", "--a b:c--");
    const parts = parseMultipart(body, 'Multipart/Form-Data; charset=utf-8; BOUNDARY="a b:c"');
    expect(parts[0].name).toBe("x");
    expect(text(parts[0].data)).toBe("v");
  });

  it("accepts a close delimiter without a trailing line break, and an empty part", () => {
    const body = bytes(
      "--XyZ\r\n",
      'Content-Disposition: form-data; name="empty"\r\n\r\n',
      "\r\n--XyZ\r\n",
      'Content-Disposition: form-data; name="last"\r\n\r\n',
      "x\r\n--XyZ--",
    );
    const parts = parseMultipart(body, CT);
    expect(parts.map((p) => [p.name, text(p.data)])).toEqual([
      ["empty", ""],
      ["last", "x"],
    ]);
  });

  it("accepts bare LF line breaks", () => {
    const body = bytes("--XyZ\n", 'Content-Disposition: form-data; name="a"\n\n', "line1\nline2\n", "--XyZ--\n");
    const parts = parseMultipart(body, CT);
    expect(text(parts[0].data)).toBe("line1\nline2");
  });

  it("unescapes quoted parameter values but keeps Windows path backslashes", () => {
    const body = bytes(
      "--XyZ\r\n",
      'Content-Disposition: form-data; name="say \\"hi\\"; now"; filename="C:\\dir\\f.txt"\r\n\r\n',
      "x\r\n--XyZ--\r\n",
    );
    const [part] = parseMultipart(body, CT);
    expect(part.name).toBe('say "hi"; now');
    expect(part.filename).toBe("C:\\dir\\f.txt");
  });

  it("prefers an RFC 5987 filename* and treats an empty filename as a file", () => {
    const body = bytes(
      "--XyZ\r\n",
      "Content-Disposition: form-data; name=doc; filename=\"fallback.txt\"; filename*=UTF-8''caf%C3%A9.txt\r\n\r\n",
      "x\r\n--XyZ\r\n",
      'Content-Disposition: form-data; name="upload"; filename=""\r\n\r\n',
      "\r\n--XyZ--\r\n",
    );
    const parts = parseMultipart(body, CT);
    expect(parts[0]).toMatchObject({ name: "doc", filename: "café.txt" });
    expect(parts[1]).toMatchObject({ name: "upload", filename: "" });
  });

  it("keeps binary data with CR, LF and boundary look-alikes intact", () => {
    const tricky = bytes(
      "\r\n--XyZ is not a delimiter\r\n",
      "--XyZZ\r\n",
      "\r\n--XyZ-\r\n",
      "\r\n--XyZ--more\r\n",
      new Uint8Array([0x00, 0x0d, 0x0a, 0x0d, 0xff, 0x0d]),
    );
    const body = bytes(
      "--XyZ\r\n",
      'Content-Disposition: form-data; name="binData"; filename="blob"\r\n',
      "Content-Type: application/octet-stream\r\n\r\n",
      tricky,
      "\r\n--XyZ--\r\n",
    );
    const [part] = parseMultipart(body, CT);
    expect(Array.from(part.data)).toEqual(Array.from(tricky));
  });

  it("reads the bytes and content type a real FormData produces, including every byte value", async () => {
    const binary = new Uint8Array(1024);
    for (let i = 0; i < binary.length; i++) binary[i] = i % 256;
    binary.set([0x0d, 0x0a, 0x2d, 0x2d], 500); // CRLF-- in the middle of the file
    const form = new FormData();
    form.append("data", '{"ndarray":[[1,2,3]]}');
    form.append("binData", new Blob([binary], { type: "application/octet-stream" }), "raw.bin");
    form.append("note", "ünïcödé");
    const response = new Response(form);
    const contentType = response.headers.get("content-type")!;
    const body = new Uint8Array(await response.arrayBuffer());

    const parts = parseMultipart(body, contentType);
    expect(parts.map((p: MultipartPart) => p.name)).toEqual(["data", "binData", "note"]);
    expect(text(parts[0].data)).toBe('{"ndarray":[[1,2,3]]}');
    expect(parts[1]).toMatchObject({ filename: "raw.bin", contentType: "application/octet-stream" });
    expect(Buffer.from(parts[1].data).equals(Buffer.from(binary))).toBe(true);
    expect(text(parts[2].data)).toBe("ünïcödé");
  });

  it("parses a multi-megabyte upload quickly and without copying", () => {
    const big = new Uint8Array(16 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    const body = bytes(
      "--XyZ\r\n",
      'Content-Disposition: form-data; name="binData"; filename="big"\r\n\r\n',
      big,
      "\r\n--XyZ--\r\n",
    );
    const started = performance.now();
    const [part] = parseMultipart(body, CT);
    const elapsed = performance.now() - started;
    expect(part.data.length).toBe(big.length);
    expect(part.data.buffer).toBe(body.buffer);
    expect(elapsed).toBeLessThan(500);
  });
});

describe("parseMultipart: malformed bodies are 400s", () => {
  const okBody = bytes("--XyZ\r\n", 'Content-Disposition: form-data; name="a"\r\n\r\n', "1\r\n--XyZ--\r\n");

  it("rejects a content type without a boundary", () => {
    expect(multipartError(okBody, "multipart/form-data").message).toBe(
      "Malformed multipart/form-data body: the Content-Type has no boundary parameter",
    );
    expect(multipartError(okBody, 'multipart/form-data; boundary=""').message).toMatch(/no boundary parameter/);
  });

  it("rejects a content type that is not multipart", () => {
    expect(multipartError(okBody, "application/json").message).toMatch(/not multipart\/form-data/);
  });

  it("rejects a body that never uses the boundary", () => {
    expect(multipartError(enc.encode('{"data":{}}'), CT).message).toBe(
      'Malformed multipart/form-data body: no delimiter line for boundary "XyZ" was found',
    );
  });

  it("rejects a body without its closing delimiter", () => {
    const truncated = bytes("--XyZ\r\n", 'Content-Disposition: form-data; name="a"\r\n\r\n', "1234");
    expect(multipartError(truncated, CT).message).toBe("Malformed multipart/form-data body: missing closing delimiter");
    const endsAfterDelimiter = bytes("--XyZ\r\n", 'Content-Disposition: form-data; name="a"\r\n\r\n', "1\r\n--XyZ\r\n");
    expect(multipartError(endsAfterDelimiter, CT).message).toMatch(/missing closing delimiter/);
  });

  it("rejects a part without a name or without Content-Disposition", () => {
    const noName = bytes("--XyZ\r\n", 'Content-Disposition: form-data; filename="f"\r\n\r\n', "1\r\n--XyZ--\r\n");
    expect(multipartError(noName, CT).message).toBe(
      "Malformed multipart/form-data body: part 1 has no name in its Content-Disposition header",
    );
    const noDisposition = bytes("--XyZ\r\n", "Content-Type: text/plain\r\n\r\n", "1\r\n--XyZ--\r\n");
    expect(multipartError(noDisposition, CT).message).toMatch(/part 1 has no Content-Disposition header/);
  });

  it("rejects a malformed header line", () => {
    const body = bytes("--XyZ\r\n", "garbage without colon\r\n\r\n", "1\r\n--XyZ--\r\n");
    expect(multipartError(body, CT).message).toMatch(/part 1 has a malformed header line "garbage without colon"/);
  });
});
