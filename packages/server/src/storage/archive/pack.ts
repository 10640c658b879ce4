import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { lstat, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { InvalidInput } from "../../errors/index.ts";
import type { ArchiveInput } from "./archive-input.ts";
import { type ArchiveFormat, formatOfName } from "./format.ts";
import { tarChunks } from "./tar-writer.ts";
import { zipChunks } from "./zip-writer.ts";

export interface PackedEntry {
  /** Path inside the archive ('/'-separated, relative to the packed folder). */
  path: string;
  type: "file" | "directory";
  size: number;
}

export interface PackResult {
  output: string;
  format: ArchiveFormat;
  entries: PackedEntry[];
  files: number;
  /** Bytes of file content packed. */
  bytes: number;
  /** Size of the archive written. */
  archiveBytes: number;
}

/**
 * Lists a folder for packing: every file and folder under it, sorted by path (folders before their contents),
 * relative to it. Symlinks and special files are refused, so what is packed is exactly what is on disk.
 */
export async function listForPacking(dir: string, exclude: string[] = []): Promise<ArchiveInput[]> {
  const root = resolve(dir);
  const skip = new Set(exclude.map((p) => resolve(p)));
  const out: ArchiveInput[] = [];
  const walk = async (folder: string): Promise<void> => {
    const names = (await readdir(folder)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      const full = join(folder, name);
      if (skip.has(full)) continue;
      const rel = relative(root, full).split(sep).join("/");
      const info = await lstat(full);
      if (info.isSymbolicLink()) {
        throw new InvalidInput(`${rel} is a symlink; tserve pack does not follow or store links (copy the file in instead)`);
      }
      if (info.isDirectory()) {
        out.push({ path: rel, type: "directory", mode: 0o755 });
        await walk(full);
      } else if (info.isFile()) {
        out.push({ path: rel, type: "file", source: full, size: info.size, mode: info.mode & 0o111 ? 0o755 : 0o644 });
      } else {
        throw new InvalidInput(`${rel} is not a regular file or folder; tserve pack only packs files and folders`);
      }
    }
  };
  await walk(root);
  return out;
}

/** gzip writes its OS byte from the platform zlib was built for; fixing it keeps archives byte-identical everywhere. */
function fixGzipOsByte(): Transform {
  let first = true;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (first && chunk.length >= 10) {
        chunk[9] = 3; // Unix
        first = false;
      }
      done(null, chunk);
    },
  });
}

/**
 * Packs the contents of a model folder (version folders, model-settings.json, …; not the folder itself) into a
 * deterministic .tar, .tar.gz/.tgz or .zip (by `output`'s extension unless `format` is given): entries sorted,
 * fixed mtimes, owners and modes, so the same folder always gives the same bytes. Written to a temporary file
 * beside `output` and renamed into place when complete.
 */
export async function packDirectory(dir: string, output: string, options: { format?: ArchiveFormat } = {}): Promise<PackResult> {
  const format = options.format ?? formatOfName(output);
  if (!format) throw new InvalidInput(`Cannot tell the archive format of ${output}: name it .tar.gz, .tgz, .tar or .zip`);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new InvalidInput(`${dir} is not a folder`);
  const out = resolve(output);
  const tmp = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString("hex")}.tmp`);
  const inputs = await listForPacking(dir, [out, tmp]);
  try {
    const target = createWriteStream(tmp, { flags: "wx" });
    if (format === "zip") await pipeline(zipChunks(inputs), target);
    else if (format === "tar") await pipeline(tarChunks(inputs), target);
    else await pipeline(tarChunks(inputs), createGzip({ level: 9 }), fixGzipOsByte(), target);
    await rename(tmp, out);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const entries: PackedEntry[] = inputs.map((i) => ({ path: i.path, type: i.type as "file" | "directory", size: i.size ?? 0 }));
  const files = entries.filter((e) => e.type === "file");
  return {
    output: out,
    format,
    entries,
    files: files.length,
    bytes: files.reduce((n, e) => n + e.size, 0),
    archiveBytes: (await stat(out)).size,
  };
}
