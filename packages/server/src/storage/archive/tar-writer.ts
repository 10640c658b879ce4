import { createReadStream } from "node:fs";
import { type ArchiveInput, inputSize, PACK_MTIME } from "./archive-input.ts";
import { BLOCK, encodeTarHeader, padding, paxRecord, type TarHeaderFields, TYPE } from "./tar-format.ts";

export interface TarWriteOptions {
  /** Modification time of every entry, in seconds (default PACK_MTIME). */
  mtime?: number;
  /** How names longer than ustar allows are written: pax `x` headers (default) or GNU `L`/`K` headers. */
  longNames?: "pax" | "gnu";
}

const MAX_OCTAL_SIZE = 0o77777777777;

/** Splits a path into ustar's prefix (≤155 bytes) and name (≤100 bytes); undefined when it cannot. */
function ustarSplit(path: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { prefix: "", name: path };
  for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name.length > 0) return { prefix, name };
  }
  return undefined;
}

function truncate(s: string, bytes: number): string {
  let out = s;
  while (Buffer.byteLength(out) > bytes) out = out.slice(0, -1);
  return out;
}

/** The header block(s) for one entry: extension headers first when the names or size need them. */
export function tarHeaders(input: ArchiveInput, options: TarWriteOptions = {}): Buffer[] {
  const mtime = options.mtime ?? PACK_MTIME;
  const isDir = input.type === "directory";
  const path = isDir && !input.path.endsWith("/") ? `${input.path}/` : input.path;
  const size = input.type === "file" ? inputSize(input) : 0;
  const linkname = input.target ?? "";
  const typeflag = { file: TYPE.file, directory: TYPE.directory, symlink: TYPE.symlink, hardlink: TYPE.hardlink }[input.type];
  const out: Buffer[] = [];
  const fields: TarHeaderFields = {
    name: path,
    mode: input.mode ?? (isDir ? 0o755 : 0o644),
    size,
    mtime,
    typeflag,
    linkname,
    magic: options.longNames === "gnu" ? "gnu" : "ustar",
  };
  const split = options.longNames === "gnu" ? (Buffer.byteLength(path) <= 100 ? { prefix: "", name: path } : undefined) : ustarSplit(path);
  const longLink = Buffer.byteLength(linkname) > 100;
  const bigSize = size > MAX_OCTAL_SIZE;
  if (options.longNames === "gnu") {
    const long = (type: string, value: string) => {
      const data = Buffer.from(`${value}\0`, "utf8");
      out.push(encodeTarHeader({ name: "././@LongLink", size: data.length, mtime, typeflag: type, magic: "gnu" }));
      out.push(data, Buffer.alloc(padding(data.length)));
    };
    if (longLink) long(TYPE.gnuLongLink, linkname);
    if (!split) long(TYPE.gnuLongName, path);
    fields.name = split ? path : truncate(path, 100);
    if (longLink) fields.linkname = truncate(linkname, 100);
    // Sizes past 8 GiB go in base-256, as GNU tar writes them.
    return [...out, encodeTarHeader(fields)];
  }
  if (!split || longLink || bigSize) {
    const records = Buffer.concat([
      ...(split ? [] : [paxRecord("path", path)]),
      ...(longLink ? [paxRecord("linkpath", linkname)] : []),
      ...(bigSize ? [paxRecord("size", String(size))] : []),
    ]);
    out.push(
      encodeTarHeader({ name: truncate(`PaxHeader/${path.replace(/\/$/, "")}`, 100), size: records.length, mtime, typeflag: TYPE.paxHeader }),
      records,
      Buffer.alloc(padding(records.length)),
    );
  }
  if (split) {
    fields.name = split.name;
    fields.prefix = split.prefix;
  } else fields.name = truncate(path, 100);
  if (longLink) fields.linkname = truncate(linkname, 100);
  if (bigSize) fields.size = 0;
  out.push(encodeTarHeader(fields));
  return out;
}

/** Streams a tar of the inputs (files on disk are read as they are written), ending with the two zero blocks. */
export async function* tarChunks(inputs: Iterable<ArchiveInput> | AsyncIterable<ArchiveInput>, options: TarWriteOptions = {}): AsyncGenerator<Buffer> {
  for await (const input of inputs) {
    yield* tarHeaders(input, options);
    if (input.type !== "file") continue;
    const size = inputSize(input);
    if (input.data) yield Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength);
    else if (input.source !== undefined) {
      let n = 0;
      for await (const chunk of createReadStream(input.source) as AsyncIterable<Buffer>) {
        n += chunk.length;
        if (n > size) throw new Error(`${input.source} grew while it was being packed`);
        yield chunk;
      }
      if (n !== size) throw new Error(`${input.source} shrank while it was being packed`);
    }
    if (padding(size)) yield Buffer.alloc(padding(size));
  }
  yield Buffer.alloc(BLOCK * 2);
}
