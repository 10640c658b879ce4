import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createDeflateRaw, deflateRawSync } from "node:zlib";
import { type ArchiveInput, inputSize, PACK_MTIME } from "./archive-input.ts";
import { crc32 } from "./crc32.ts";

export interface ZipWriteOptions {
  /** "deflate" (default) or "store". */
  method?: "deflate" | "store";
  /** Modification time of every entry, in seconds (default PACK_MTIME). */
  mtime?: number;
}

const LIMIT32 = 0xffffffff;

/** MS-DOS date and time fields (zip's), from seconds since the epoch, in UTC. */
function dosDateTime(seconds: number): { date: number; time: number } {
  const d = new Date(Math.max(seconds, PACK_MTIME) * 1000);
  return {
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | Math.floor(d.getUTCSeconds() / 2),
  };
}

interface Central {
  name: Buffer;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  external: number;
  offset: number;
}

function localHeader(c: Omit<Central, "offset" | "external">, when: { date: number; time: number }): Buffer {
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(20, 4);
  h.writeUInt16LE(c.flags, 6);
  h.writeUInt16LE(c.method, 8);
  h.writeUInt16LE(when.time, 10);
  h.writeUInt16LE(when.date, 12);
  h.writeUInt32LE(c.crc, 14);
  h.writeUInt32LE(c.compressedSize, 18);
  h.writeUInt32LE(c.size, 22);
  h.writeUInt16LE(c.name.length, 26);
  return Buffer.concat([h, c.name]);
}

function centralHeader(c: Central, when: { date: number; time: number }): Buffer {
  const h = Buffer.alloc(46);
  h.writeUInt32LE(0x02014b50, 0);
  h.writeUInt16LE((3 << 8) | 30, 4); // made by: Unix, so the external attributes carry the mode
  h.writeUInt16LE(20, 6);
  h.writeUInt16LE(c.flags, 8);
  h.writeUInt16LE(c.method, 10);
  h.writeUInt16LE(when.time, 12);
  h.writeUInt16LE(when.date, 14);
  h.writeUInt32LE(c.crc, 16);
  h.writeUInt32LE(c.compressedSize, 20);
  h.writeUInt32LE(c.size, 24);
  h.writeUInt16LE(c.name.length, 28);
  h.writeUInt32LE(c.external >>> 0, 38);
  h.writeUInt32LE(c.offset, 42);
  return Buffer.concat([h, c.name]);
}

async function crcOfFile(path: string): Promise<number> {
  let crc = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) crc = crc32(chunk, crc);
  return crc;
}

/**
 * Streams a zip of the inputs. In-memory data and stored files get their sizes in the local header; streamed
 * deflate entries use a data descriptor. No zip64: an archive past 4 GiB or 65,535 entries is refused (write a
 * .tar.gz instead). Zip has no hardlinks; symlinks are written as Unix symlink entries.
 */
export async function* zipChunks(inputs: Iterable<ArchiveInput> | AsyncIterable<ArchiveInput>, options: ZipWriteOptions = {}): AsyncGenerator<Buffer> {
  const when = dosDateTime(options.mtime ?? PACK_MTIME);
  const store = options.method === "store";
  const central: Central[] = [];
  let offset = 0;
  const tooBig = () => new Error("The archive is too big for a zip without zip64 (over 4 GiB or 65,535 entries); write a .tar.gz instead");
  for await (const input of inputs) {
    if (input.type === "hardlink") throw new Error(`Zip archives cannot hold hardlinks (${input.path})`);
    const isDir = input.type === "directory";
    const name = Buffer.from(isDir && !input.path.endsWith("/") ? `${input.path}/` : input.path, "utf8");
    const mode = input.mode ?? (isDir ? 0o755 : 0o644);
    const kind = isDir ? 0o040000 : input.type === "symlink" ? 0o120000 : 0o100000;
    const external = (((kind | mode) << 16) >>> 0) | (isDir ? 0x10 : 0);
    const entry: Central = { name, flags: 0x800, method: 0, crc: 0, compressedSize: 0, size: 0, external, offset };
    if (offset >= LIMIT32 || central.length >= 0xffff) throw tooBig();
    if (isDir) {
      const header = localHeader(entry, when);
      yield header;
      offset += header.length;
    } else if (input.type === "symlink" || input.data) {
      const data = input.type === "symlink" ? Buffer.from(input.target ?? "", "utf8") : Buffer.from(input.data!);
      const body = store || input.type === "symlink" ? data : deflateRawSync(data, { level: 9 });
      Object.assign(entry, { method: body === data ? 0 : 8, crc: crc32(data), compressedSize: body.length, size: data.length });
      const header = localHeader(entry, when);
      yield header;
      yield body;
      offset += header.length + body.length;
    } else {
      const size = inputSize(input);
      if (size >= LIMIT32) throw tooBig();
      const source = input.source!;
      if (store) {
        Object.assign(entry, { crc: await crcOfFile(source), compressedSize: size, size });
        const header = localHeader(entry, when);
        yield header;
        let n = 0;
        for await (const chunk of createReadStream(source) as AsyncIterable<Buffer>) {
          n += chunk.length;
          yield chunk;
        }
        if (n !== size) throw new Error(`${source} changed while it was being packed`);
        offset += header.length + size;
      } else {
        Object.assign(entry, { flags: 0x808, method: 8 });
        const header = localHeader(entry, when);
        yield header;
        let crc = 0;
        let n = 0;
        const deflate = createDeflateRaw({ level: 9 });
        const fed = pipeline(
          Readable.from(
            (async function* () {
              for await (const chunk of createReadStream(source) as AsyncIterable<Buffer>) {
                crc = crc32(chunk, crc);
                n += chunk.length;
                yield chunk;
              }
            })(),
          ),
          deflate,
        ).then(
          () => undefined,
          (err: unknown) => err,
        );
        let compressed = 0;
        try {
          for await (const chunk of deflate as AsyncIterable<Buffer>) {
            compressed += chunk.length;
            yield chunk;
          }
        } finally {
          deflate.destroy(); // a consumer that stops early must not leave the file open
        }
        const failed = await fed;
        if (failed) throw failed;
        if (n !== size) throw new Error(`${source} changed while it was being packed`);
        Object.assign(entry, { crc, compressedSize: compressed, size: n });
        const descriptor = Buffer.alloc(16);
        descriptor.writeUInt32LE(0x08074b50, 0);
        descriptor.writeUInt32LE(crc, 4);
        descriptor.writeUInt32LE(compressed, 8);
        descriptor.writeUInt32LE(n, 12);
        yield descriptor;
        offset += header.length + compressed + 16;
      }
    }
    central.push(entry);
  }
  const cdStart = offset;
  for (const c of central) {
    const h = centralHeader(c, when);
    yield h;
    offset += h.length;
  }
  if (offset >= LIMIT32) throw tooBig();
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(central.length, 8);
  end.writeUInt16LE(central.length, 10);
  end.writeUInt32LE(offset - cdStart, 12);
  end.writeUInt32LE(cdStart, 16);
  yield end;
}
