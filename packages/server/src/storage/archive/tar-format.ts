/** The ustar header layout (POSIX.1-1988), with GNU and pax extensions, shared by the tar reader and writer. */
export const BLOCK = 512;

export const TYPE = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  directory: "5",
  paxHeader: "x",
  paxGlobal: "g",
  gnuLongName: "L",
  gnuLongLink: "K",
} as const;

/** The fields of one header block, before any extension header is applied. */
export interface TarHeaderFields {
  name: string;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  mtime?: number;
  typeflag?: string;
  linkname?: string;
  uname?: string;
  gname?: string;
  /** ustar `prefix` (joined to name with '/'); written only when given. */
  prefix?: string;
  /** "ustar" (POSIX, default) or "gnu" (`ustar  `, what GNU tar writes). */
  magic?: "ustar" | "gnu";
}

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length > length) throw new Error(`tar header field too long: ${value}`);
  bytes.copy(block, offset);
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  const digits = value.toString(8);
  if (digits.length > length - 1) {
    // GNU base-256: the high bit of the first byte marks a big-endian binary number.
    let v = BigInt(value);
    for (let i = length - 1; i > 0; i--) {
      block[offset + i] = Number(v & 0xffn);
      v >>= 8n;
    }
    block[offset] = 0x80;
    return;
  }
  writeString(block, offset, length, `${digits.padStart(length - 1, "0")}\0`);
}

/** Encodes one 512-byte header block (checksum included). */
export function encodeTarHeader(h: TarHeaderFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, 0, 100, h.name);
  writeOctal(block, 100, 8, h.mode ?? 0o644);
  writeOctal(block, 108, 8, h.uid ?? 0);
  writeOctal(block, 116, 8, h.gid ?? 0);
  writeOctal(block, 124, 12, h.size ?? 0);
  writeOctal(block, 136, 12, h.mtime ?? 0);
  block.write(h.typeflag ?? TYPE.file, 156, "latin1");
  writeString(block, 157, 100, h.linkname ?? "");
  if (h.magic === "gnu") block.write("ustar  \0", 257, "latin1");
  else block.write("ustar\u000000", 257, "latin1");
  writeString(block, 265, 32, h.uname ?? "");
  writeString(block, 297, 32, h.gname ?? "");
  if (h.magic !== "gnu") {
    writeOctal(block, 329, 8, 0);
    writeOctal(block, 337, 8, 0);
    if (h.prefix) writeString(block, 345, 155, h.prefix);
  }
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i];
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return block;
}

/** One pax record: `"<len> <key>=<value>\n"`, where len counts the whole record in bytes. */
export function paxRecord(key: string, value: string): Buffer {
  const body = Buffer.from(` ${key}=${value}\n`, "utf8");
  let len = body.length + 1;
  while (String(len).length + body.length > len) len++;
  return Buffer.concat([Buffer.from(String(len), "latin1"), body]);
}

/** Zero bytes that pad `size` up to a whole number of blocks. */
export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

export function readString(block: Uint8Array, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return Buffer.from(end < 0 ? field : field.subarray(0, end)).toString("utf8");
}

/** An octal number field (NUL/space padded), or GNU base-256; NaN when it is neither. */
export function readNumber(block: Uint8Array, offset: number, length: number): number {
  const field = block.subarray(offset, offset + length);
  if (field[0] & 0x80) {
    if (field[0] === 0xff) return Number.NaN; // negative
    let v = BigInt(field[0] & 0x7f);
    for (let i = 1; i < field.length; i++) v = (v << 8n) | BigInt(field[i]);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.NaN : Number(v);
  }
  const text = Buffer.from(field).toString("latin1").replace(/\0.*$/s, "").trim();
  if (text === "") return 0;
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : Number.NaN;
}

/** Parses pax extended-header records into key/value pairs; undefined when they are malformed. */
export function parsePax(data: Buffer): Map<string, string> | undefined {
  const out = new Map<string, string>();
  let i = 0;
  while (i < data.length) {
    if (data[i] === 0) break; // trailing padding written by some tools
    const space = data.indexOf(0x20, i);
    if (space < 0) return undefined;
    const len = Number(data.subarray(i, space).toString("latin1"));
    if (!Number.isInteger(len) || len <= space - i + 1 || i + len > data.length || data[i + len - 1] !== 0x0a) return undefined;
    const record = data.subarray(space + 1, i + len - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (eq < 0) return undefined;
    out.set(record.slice(0, eq), record.slice(eq + 1));
    i += len;
  }
  return out;
}
