import { decode } from "@msgpack/msgpack";
import { InvalidInput } from "../../errors/index.ts";
import { DEFAULT_MAX_TENSOR_ELEMENTS, type TensorLimits } from "../../tensor/index.ts";
import { isJsonType, isMsgpackType, mediaType } from "./media.ts";
import { checkMsgpackSizes } from "./msgpack-sizes.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The `json` argument: the body parsed as JSON or MessagePack, chosen by Content-Type. Anything else (another
 * type, no type, an empty or broken body) is a 400, as OpenBayes answers. A MessagePack array or map may declare
 * no more entries than the body holds, nor more than `limits.maxTensorElements`.
 */
export function decodeJsonBody(body: Uint8Array, contentType: string | undefined, limits?: Partial<TensorLimits>): unknown {
  const type = mediaType(contentType);
  if (isMsgpackType(type)) {
    if (body.byteLength === 0) throw new InvalidInput("The request body is empty; expected MessagePack.");
    const maxEntries = limits?.maxTensorElements ?? DEFAULT_MAX_TENSOR_ELEMENTS;
    checkMsgpackSizes(body, maxEntries);
    try {
      return decode(body, { maxArrayLength: maxEntries, maxMapLength: maxEntries });
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
export function decodePayload(body: Buffer, contentType: string | undefined, limits?: Partial<TensorLimits>): unknown {
  try {
    return decodeJsonBody(body, contentType, limits);
  } catch {
    return body;
  }
}
