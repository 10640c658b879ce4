import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { InvalidInput } from "../../errors/index.ts";
import { ByteReader } from "./byte-reader.ts";
import type { ExtractSink } from "./extract-sink.ts";
import { isTarHeader } from "./format.ts";
import { BLOCK, padding, parsePax, readNumber, readString, TYPE } from "./tar-format.ts";

/** Extension headers (long names, pax records) are small; a huge one is an attack or corruption. */
const MAX_META_BYTES = 1024 * 1024;

const SPECIAL: Record<string, string> = {
  "3": "a character device",
  "4": "a block device",
  "6": "a FIFO",
  S: "a GNU sparse file",
  D: "a GNU incremental dump folder",
  M: "a multi-volume continuation",
};

/**
 * Streams a tar (gzip-compressed when `gzip`) into the sink: ustar and v7 headers, GNU long names and link
 * names (`L`/`K`), pax extended headers (`x`: path, linkpath, size; `g` is ignored), regular files, folders and
 * links. Reading stops at the first zero block, so trailing padding (or a gzip bomb of zeros after it) is never
 * inflated.
 */
export async function extractTar(path: string, gzip: boolean, sink: ExtractSink, label: string): Promise<void> {
  const file = createReadStream(path);
  let stream: Readable = file;
  if (gzip) {
    const gunzip = createGunzip();
    file.on("error", (err) => gunzip.destroy(err));
    stream = file.pipe(gunzip);
  }
  const corrupt = (why: string) => new InvalidInput(`${label} is not a valid tar archive: ${why}`);
  const reader = new ByteReader(stream[Symbol.asyncIterator](), (err) => {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    return code.startsWith("Z_") ? new InvalidInput(`${label} has corrupt gzip data: ${(err as Error).message}`) : err;
  });
  try {
    let longName: string | undefined;
    let longLink: string | undefined;
    let pax: Map<string, string> | undefined;
    for (;;) {
      const at = reader.offset;
      const header = await reader.read(BLOCK);
      if (header.length === 0) return; // no end blocks: tolerated, as GNU tar does
      if (header.length < BLOCK) throw corrupt(`it ends inside the header at byte ${at}`);
      if (header.every((b) => b === 0)) return;
      if (!isTarHeader(header)) {
        throw corrupt(
          at === 0
            ? gzip
              ? "the gzip data inside is not a tar"
              : "bad header checksum"
            : `bad header checksum at byte ${at} (a size that does not match the data, or a damaged file)`,
        );
      }
      const typeflag = header[156] === 0 ? TYPE.file : String.fromCharCode(header[156]);
      let size = readNumber(header, 124, 12);
      let name = readString(header, 0, 100);
      if (header.subarray(257, 263).toString("latin1") === "ustar\0") {
        const prefix = readString(header, 345, 155);
        if (prefix) name = `${prefix}/${name}`;
      }
      let linkname = readString(header, 157, 100);
      const mode = readNumber(header, 100, 8);

      // Extension headers describe the next entry.
      if (typeflag === TYPE.gnuLongName || typeflag === TYPE.gnuLongLink || typeflag === TYPE.paxHeader || typeflag === TYPE.paxGlobal) {
        if (!Number.isFinite(size) || size > MAX_META_BYTES) throw corrupt(`an extension header at byte ${at} claims ${size} bytes`);
        const data = await reader.read(size);
        if (data.length < size || !(await reader.skip(padding(size)))) throw corrupt("it ends inside an extension header");
        if (typeflag === TYPE.gnuLongName) longName = readString(data, 0, data.length);
        else if (typeflag === TYPE.gnuLongLink) longLink = readString(data, 0, data.length);
        else if (typeflag === TYPE.paxHeader) {
          const records = parsePax(data);
          if (!records) throw corrupt(`malformed pax header at byte ${at}`);
          pax = records;
        }
        continue;
      }
      if (longName !== undefined) name = longName;
      if (longLink !== undefined) linkname = longLink;
      if (pax) {
        if (pax.has("path")) name = pax.get("path")!;
        if (pax.has("linkpath")) linkname = pax.get("linkpath")!;
        if (pax.has("size")) size = /^\d+$/.test(pax.get("size")!) ? Number(pax.get("size")) : Number.NaN;
        if ([...pax.keys()].some((k) => k.startsWith("GNU.sparse."))) {
          throw new InvalidInput(`Refusing ${label}: entry ${JSON.stringify(name)} is a sparse file, which tserve does not unpack`);
        }
      }
      longName = longLink = pax = undefined;
      if (!Number.isSafeInteger(size) || size < 0) throw corrupt(`entry ${JSON.stringify(name)} has an invalid size`);

      let remaining = size;
      const body = async function* () {
        while (remaining > 0) {
          const chunk = await reader.chunk(Math.min(remaining, 1 << 20));
          if (chunk.length === 0) throw corrupt(`it ends inside ${JSON.stringify(name)} (the header claims ${size} bytes)`);
          remaining -= chunk.length;
          yield chunk;
        }
      };
      // Old (v7) tars mark folders only by a trailing '/' on a regular entry.
      if ((typeflag === TYPE.file || typeflag === "7") && name.endsWith("/") && size === 0) await sink.directory(name);
      else if (typeflag === TYPE.file || typeflag === "7") await sink.file(name, mode, size, body);
      else if (typeflag === TYPE.directory) {
        if (size > MAX_META_BYTES) throw corrupt(`folder entry ${JSON.stringify(name)} claims ${size} bytes of data`);
        await sink.directory(name);
      } else if (typeflag === TYPE.symlink || typeflag === TYPE.hardlink) {
        if (size > MAX_META_BYTES) throw corrupt(`link entry ${JSON.stringify(name)} claims ${size} bytes of data`);
        sink.link(name, linkname, typeflag === TYPE.symlink ? "symlink" : "hardlink");
      } else if (typeflag === "V") {
        // A GNU volume label names the archive, not an entry.
      } else {
        const what = SPECIAL[typeflag] ?? `an entry of unknown type '${typeflag}'`;
        throw new InvalidInput(`Refusing ${label}: entry ${JSON.stringify(name)} is ${what}; only files, folders and links are unpacked`);
      }
      if (!(await reader.skip(remaining + padding(size)))) {
        throw corrupt(`it ends inside ${JSON.stringify(name)} (the header claims ${size} bytes)`);
      }
    }
  } finally {
    file.destroy();
    stream.destroy();
  }
}
