/** BYTES tensors on the wire: each element is a 4-byte little-endian length followed by its bytes. */
const encoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is part of the element's text, not a marker to strip.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Bytes -> text; invalid UTF-8 sequences become U+FFFD (see exactUtf8 for a decode that refuses them). */
export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Bytes -> text when they are valid UTF-8 (so `utf8` gives the same bytes back); undefined when they are not. */
export function exactUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Whether every UTF-16 surrogate in `text` is paired, i.e. `utf8(text)` encodes it without U+FFFD replacements. */
export function isWellFormedText(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

export function serializedBytesLength(elements: readonly Uint8Array[]): number {
  let total = 0;
  for (const e of elements) total += 4 + e.byteLength;
  return total;
}

export function encodeBytesElements(elements: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(serializedBytesLength(elements));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const e of elements) {
    view.setUint32(offset, e.byteLength, true);
    out.set(e, offset + 4);
    offset += 4 + e.byteLength;
  }
  return out;
}

/**
 * Splits a length-prefixed buffer into elements (views, not copies).
 * Returns an error message instead of throwing so callers can name the tensor.
 */
export function decodeBytesElements(buffer: Uint8Array, expected: number): Uint8Array[] | string {
  // Stops at `expected`: a buffer of empty elements (4 bytes each) never makes more views than the shape declares.
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const out: Uint8Array[] = [];
  let offset = 0;
  while (offset < buffer.byteLength) {
    if (out.length === expected) return `holds more than the ${expected} elements the shape needs`;
    if (offset + 4 > buffer.byteLength) return `truncated length prefix at byte ${offset}`;
    const len = view.getUint32(offset, true);
    offset += 4;
    if (offset + len > buffer.byteLength) {
      return `element ${out.length} declares ${len} bytes but only ${buffer.byteLength - offset} remain`;
    }
    out.push(buffer.subarray(offset, offset + len));
    offset += len;
  }
  if (out.length !== expected) return `holds ${out.length} elements, shape needs ${expected}`;
  return out;
}
