import { createReadStream } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import type { Readable } from "node:stream";
import { createInflateRaw } from "node:zlib";
import { InvalidInput } from "../../errors/index.ts";
import { crc32 } from "./crc32.ts";
import type { ExtractSink } from "./extract-sink.ts";

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const MAX_CENTRAL_DIRECTORY = 256 * 1024 * 1024;
const MAX_LINK_TARGET = 4096;

const METHODS: Record<number, string> = { 1: "shrink", 6: "implode", 9: "deflate64", 12: "bzip2", 14: "lzma", 93: "zstd", 95: "xz", 98: "ppmd", 99: "AES encryption" };

interface CentralEntry {
  name: string;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  unixMode?: number;
  dosAttributes: number;
}

/**
 * Extracts a zip through its central directory: stored and deflate entries (zip64 sizes and offsets included).
 * Encrypted entries and other methods are refused. Sizes in the directory are only claims: inflated bytes are
 * counted as they come, an entry that inflates past its declared size is refused at once, and every CRC-32 is
 * checked.
 */
export async function extractZip(path: string, sink: ExtractSink, label: string, maxEntries: number): Promise<void> {
  const fh = await open(path, "r");
  try {
    const fileSize = (await fh.stat()).size;
    const corrupt = (why: string) => new InvalidInput(`${label} is not a valid zip archive: ${why}`);
    const entries = await readCentralDirectory(fh, fileSize, corrupt, label, maxEntries);
    for (const e of entries) {
      const what = `entry ${JSON.stringify(e.name)}`;
      if (e.flags & 0x41) throw new InvalidInput(`Refusing ${label}: ${what} is encrypted; tserve does not unpack encrypted zips`);
      const isDir = e.name.endsWith("/") || (e.unixMode !== undefined && (e.unixMode & 0o170000) === 0o040000) || (e.dosAttributes & 0x10) !== 0;
      const isLink = e.unixMode !== undefined && (e.unixMode & 0o170000) === 0o120000;
      if (isDir) {
        await sink.directory(e.name);
        continue;
      }
      if (e.method !== 0 && e.method !== 8) {
        throw new InvalidInput(`Refusing ${label}: ${what} uses compression method ${e.method}${METHODS[e.method] ? ` (${METHODS[e.method]})` : ""}; only stored and deflate are supported`);
      }
      const dataStart = await localDataStart(fh, e, fileSize, corrupt);
      const body = () => entryBytes(path, e, dataStart, label);
      if (isLink) {
        if (e.size > MAX_LINK_TARGET) throw corrupt(`symlink ${JSON.stringify(e.name)} has a ${e.size}-byte target`);
        const parts: Uint8Array[] = [];
        for await (const c of body()) parts.push(c);
        sink.link(e.name, Buffer.concat(parts).toString("utf8"), "symlink");
      } else {
        await sink.file(e.name, e.unixMode ?? 0o644, e.size, body);
      }
    }
  } finally {
    await fh.close();
  }
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}

async function readCentralDirectory(
  fh: FileHandle,
  fileSize: number,
  corrupt: (why: string) => InvalidInput,
  label: string,
  maxEntries: number,
): Promise<CentralEntry[]> {
  const tailLength = Math.min(fileSize, 22 + 0xffff);
  const tail = await readAt(fh, fileSize - tailLength, tailLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) !== SIG_EOCD) continue;
    if (eocd < 0) eocd = i;
    if (i + 22 + tail.readUInt16LE(i + 20) === tail.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw corrupt("no end-of-central-directory record (truncated?)");
  const eocdPosition = fileSize - tailLength + eocd;
  const disk = tail.readUInt16LE(eocd + 4);
  const cdDisk = tail.readUInt16LE(eocd + 6);
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locator = eocdPosition >= 20 ? await readAt(fh, eocdPosition - 20, 20) : Buffer.alloc(0);
    if (locator.length === 20 && locator.readUInt32LE(0) === SIG_EOCD64_LOCATOR) {
      const record = await readAt(fh, Number(locator.readBigUInt64LE(8)), 56);
      if (record.length < 56 || record.readUInt32LE(0) !== SIG_EOCD64) throw corrupt("bad zip64 end-of-central-directory record");
      count = Number(record.readBigUInt64LE(32));
      cdSize = Number(record.readBigUInt64LE(40));
      cdOffset = Number(record.readBigUInt64LE(48));
    }
  } else if (disk !== 0 || cdDisk !== 0) {
    throw new InvalidInput(`Refusing ${label}: multi-part (spanned) zips are not supported`);
  }
  if (count > maxEntries) {
    throw new InvalidInput(`Refusing ${label}: it has ${count} entries, more than ${maxEntries} (files, folders and links; TSERVE_EXTRACT_MAX_FILES)`);
  }
  if (cdOffset + cdSize > eocdPosition || cdSize > MAX_CENTRAL_DIRECTORY) throw corrupt("the central directory lies outside the file");
  const cd = await readAt(fh, cdOffset, cdSize);
  const out: CentralEntry[] = [];
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG_CENTRAL) throw corrupt(`central directory entry ${n} is damaged`);
    const madeBy = cd.readUInt16LE(p + 4);
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    const crc = cd.readUInt32LE(p + 16);
    let compressedSize = cd.readUInt32LE(p + 20);
    let size = cd.readUInt32LE(p + 24);
    const nameLength = cd.readUInt16LE(p + 28);
    const extraLength = cd.readUInt16LE(p + 30);
    const commentLength = cd.readUInt16LE(p + 32);
    const external = cd.readUInt32LE(p + 38);
    let localOffset = cd.readUInt32LE(p + 42);
    const end = p + 46 + nameLength + extraLength + commentLength;
    if (end > cd.length) throw corrupt(`central directory entry ${n} is damaged`);
    const nameBytes = cd.subarray(p + 46, p + 46 + nameLength);
    const name = decodeName(nameBytes, (flags & 0x800) !== 0);
    // zip64: the 0xFFFFFFFF fields are in the extra field 0x0001, in this order.
    let x = p + 46 + nameLength;
    const extraEnd = x + extraLength;
    while (x + 4 <= extraEnd) {
      const id = cd.readUInt16LE(x);
      const len = cd.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        const next = () => {
          if (q + 8 > x + 4 + len) throw corrupt(`entry ${JSON.stringify(name)} has a damaged zip64 field`);
          const v = Number(cd.readBigUInt64LE(q));
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localOffset === 0xffffffff) localOffset = next();
      }
      x += 4 + len;
    }
    out.push({
      name,
      flags,
      method,
      crc,
      compressedSize,
      size,
      localOffset,
      unixMode: madeBy >> 8 === 3 ? external >>> 16 : undefined,
      dosAttributes: external & 0xff,
    });
    p = end;
  }
  return out;
}

function decodeName(bytes: Buffer, utf8Flag: boolean): string {
  if (utf8Flag) return bytes.toString("utf8");
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString("latin1");
  }
}

async function localDataStart(fh: FileHandle, e: CentralEntry, fileSize: number, corrupt: (why: string) => InvalidInput): Promise<number> {
  const local = await readAt(fh, e.localOffset, 30);
  if (local.length < 30 || local.readUInt32LE(0) !== SIG_LOCAL) throw corrupt(`entry ${JSON.stringify(e.name)} has no local header where the directory says`);
  const start = e.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  if (start + e.compressedSize > fileSize) throw corrupt(`entry ${JSON.stringify(e.name)} runs past the end of the file`);
  return start;
}

/** An entry's inflated bytes; refuses more than declared, fewer than declared, and a wrong CRC-32. */
async function* entryBytes(path: string, e: CentralEntry, start: number, label: string): AsyncGenerator<Buffer> {
  const what = `entry ${JSON.stringify(e.name)}`;
  if (e.compressedSize === 0) {
    if (e.size !== 0) throw new InvalidInput(`${label} is not a valid zip archive: ${what} has no data but declares ${e.size} bytes`);
    return;
  }
  const raw = createReadStream(path, { start, end: start + e.compressedSize - 1 });
  let stream: Readable = raw;
  if (e.method === 8) {
    const inflate = createInflateRaw();
    raw.on("error", (err) => inflate.destroy(err));
    stream = raw.pipe(inflate);
  } else if (e.compressedSize !== e.size) {
    throw new InvalidInput(`${label} is not a valid zip archive: stored ${what} has different compressed and real sizes`);
  }
  let n = 0;
  let crc = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      n += chunk.length;
      if (n > e.size) {
        throw new InvalidInput(`Refusing ${label}: ${what} inflates to more than the ${e.size} bytes it declares (a zip bomb?)`);
      }
      crc = crc32(chunk, crc);
      yield chunk;
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    if (code.startsWith("Z_")) throw new InvalidInput(`${label} has corrupt deflate data in ${what}: ${(err as Error).message}`);
    throw err;
  } finally {
    raw.destroy();
    stream.destroy();
  }
  if (n !== e.size) throw new InvalidInput(`${label} is not a valid zip archive: ${what} has ${n} bytes, not the ${e.size} it declares`);
  if (crc !== e.crc) throw new InvalidInput(`${label} is not a valid zip archive: ${what} fails its CRC-32 check`);
}
