import { decode } from "@msgpack/msgpack";
import { InvalidInput } from "../../errors/index.ts";
import { isJsonType, isMsgpackType, mediaType } from "./media.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The `json` argument: the body parsed as JSON or MessagePack, chosen by Content-Type. Anything else (another
 * type, no type, an empty or broken body) is a 400, as OpenBayes answers.
 */
export function decodeJsonBody(body: Uint8Array, contentType: string | undefined): unknown {
  const type = mediaType(contentType);
  if (isMsgpackType(type)) {
    if (body.byteLength === 0) throw new InvalidInput("The request body is empty; expected MessagePack.");
    try {
      return decode(body);
    } catch (err) {
      throw new InvalidInput(`The request body is not valid MessagePack (${(err as Error).message})`);
    }
  }
  if (isJsonType(type)) {
    if (body.byteLength === 0) throw new InvalidInput("The request body is empty; expected JSON.");
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      throw new InvalidInput("The request body is not valid JSON: it is not UTF-8 text");
    }
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new InvalidInput(`The request body is not valid JSON (${(err as Error).message})`);
    }
  }
  throw new InvalidInput(
    `Expected a JSON or MessagePack body (Content-Type: application/json or application/msgpack), got ${type ? `Content-Type: ${type}` : "no Content-Type"}`,
  );
}

/** The `payload` argument: parsed like `json` when it can be, otherwise the raw bytes. */
export function decodePayload(body: Buffer, contentType: string | undefined): unknown {
  try {
    return decodeJsonBody(body, contentType);
  } catch {
    return body;
  }
}
