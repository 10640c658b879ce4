/**
 * HTTP compression for the REST client, as tritonclient's `request_compression_algorithm` and
 * `response_compression_algorithm`: web-standard CompressionStream / DecompressionStream, so the client still runs
 * outside Node. "deflate" is the zlib format (RFC 1950), which is what HTTP's deflate means.
 */
import { InvalidInput } from "../errors/index.ts";
import type { TransportReply } from "./transport.ts";

export type CompressionAlgorithm = "gzip" | "deflate";

async function through(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const source = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(source).arrayBuffer());
}

export function compressBody(bytes: Uint8Array, algorithm: CompressionAlgorithm): Promise<Uint8Array> {
  return through(bytes, new CompressionStream(algorithm));
}

/** gzip's magic bytes, or a zlib header (method 8, header checksum divisible by 31). */
function looksCompressed(body: Uint8Array, coding: CompressionAlgorithm): boolean {
  if (body.length < 2) return false;
  if (coding === "gzip") return body[0] === 0x1f && body[1] === 0x8b;
  return (body[0] & 0x0f) === 8 && ((body[0] << 8) | body[1]) % 31 === 0;
}

/**
 * A reply with a gzip / deflate Content-Encoding, inflated. fetch inflates by itself and keeps the header, so only a
 * body that still looks compressed is inflated.
 */
export async function inflateReply(reply: TransportReply): Promise<TransportReply> {
  const header = reply.headers["content-encoding"];
  const coding = (Array.isArray(header) ? header[0] : header)?.trim().toLowerCase();
  const algorithm = coding === "gzip" || coding === "x-gzip" ? "gzip" : coding === "deflate" ? "deflate" : undefined;
  if (!algorithm || !looksCompressed(reply.body, algorithm)) return reply;
  const { "content-encoding": _encoding, "content-length": _length, ...headers } = reply.headers;
  try {
    return { ...reply, headers, body: await through(reply.body, new DecompressionStream(algorithm)) };
  } catch (err) {
    throw new InvalidInput(`The answer says Content-Encoding: ${algorithm}, but its body could not be inflated (${(err as Error).message})`, { cause: err });
  }
}
