/**
 * MessagePack declares each array's and map's length up front, and the decoder allocates that many slots before
 * reading one of them: five bytes can ask for four billion. This walk reads only the headers, before decoding,
 * and refuses a body whose containers declare more entries than the bytes after them could hold.
 */
import { InvalidInput } from "../../errors/index.ts";
import { MAX_TENSOR_ELEMENTS_FLAG } from "../../tensor/index.ts";

/** Bytes of header and payload for the fixed-size formats 0xc0..0xdf (0 marks a format handled apart). */
const FIXED: Record<number, number> = {
  0xc0: 1, 0xc2: 1, 0xc3: 1, // nil, false, true
  0xca: 5, 0xcb: 9, // float 32, 64
  0xcc: 2, 0xcd: 3, 0xce: 5, 0xcf: 9, // uint 8..64
  0xd0: 2, 0xd1: 3, 0xd2: 5, 0xd3: 9, // int 8..64
  0xd4: 3, 0xd5: 4, 0xd6: 6, 0xd7: 10, 0xd8: 18, // fixext 1..16 (marker, type, data)
};

/**
 * Checks every array and map header in `bytes` (one MessagePack value): each entry it declares needs at least one
 * byte of what follows, and no container may declare more than `maxEntries` entries. Stops quietly at anything
 * malformed or truncated: the decoder reports those.
 */
export function checkMsgpackSizes(bytes: Uint8Array, maxEntries: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.byteLength;
  let pos = 0;
  // Values still to be read: one for the top level, plus every entry of the containers opened so far.
  let owed = 1;
  while (owed > 0 && pos < end) {
    owed--;
    const b = bytes[pos];
    let entries = -1;
    let header = 1;
    let payload = 0;
    if (b <= 0x7f || b >= 0xe0) {
      // positive / negative fixint
    } else if (b <= 0x8f) entries = 2 * (b & 0x0f);
    else if (b <= 0x9f) entries = b & 0x0f;
    else if (b <= 0xbf) payload = b & 0x1f;
    else if (FIXED[b] !== undefined) header = FIXED[b];
    else {
      const width = b === 0xc4 || b === 0xc7 || b === 0xd9 ? 1 : b === 0xc5 || b === 0xc8 || b === 0xda || b === 0xdc || b === 0xde ? 2 : 4;
      if (b === 0xc1 || pos + 1 + width > end) return;
      const n = width === 1 ? bytes[pos + 1] : width === 2 ? view.getUint16(pos + 1) : view.getUint32(pos + 1);
      header = 1 + width;
      if (b === 0xdc || b === 0xdd) entries = n;
      else if (b === 0xde || b === 0xdf) entries = 2 * n;
      else {
        payload = n;
        if (b >= 0xc7 && b <= 0xc9) header++; // ext: a type byte after the length
      }
    }
    pos += header;
    if (entries < 0) {
      pos += payload;
      continue;
    }
    const isMap = b <= 0x8f || b === 0xde || b === 0xdf;
    const declared = isMap ? entries / 2 : entries;
    if (declared > maxEntries) {
      throw new InvalidInput(
        `The MessagePack body declares ${isMap ? "a map" : "an array"} of ${declared} entries, more than the limit of ${maxEntries} ` +
          `tensor elements per request; set ${MAX_TENSOR_ELEMENTS_FLAG} to raise it`,
      );
    }
    owed += entries;
    if (owed > end - pos) {
      throw new InvalidInput(
        `The MessagePack body declares ${isMap ? "a map" : "an array"} of ${declared} entries at byte ${pos - header}, ` +
          `but only ${end - pos} bytes follow: it cannot hold them`,
      );
    }
  }
}
