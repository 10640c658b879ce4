import { chmod, mkdir, mkdtemp, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { InvalidInput } from "../../errors/index.ts";
import { ExtractSink } from "./extract-sink.ts";
import { type ArchiveFormat, detectArchiveFormat } from "./format.ts";
import { type ExtractLimits, resolveExtractLimits } from "./limits.ts";
import { extractTar } from "./tar-reader.ts";
import { extractZip } from "./zip-reader.ts";

/** What extractArchive wrote. */
export interface ExtractResult {
  /** The folder the archive was unpacked into (destDir, made absolute). */
  dir: string;
  /**
   * The model folder: `dir` itself, or `dir/<name>` when the archive's only top-level entry is a folder whose
   * name is not a version number (`tar czf iris.tgz iris/` gives `dir/iris`; `tar czf iris.tgz 0001` gives `dir`,
   * since `0001` is a version folder of the model). Nothing is moved or flattened either way.
   */
  root: string;
  /** The format found from the archive's first bytes (the file name is not trusted). */
  format: ArchiveFormat;
  /** Regular files written, materialised links included. */
  files: number;
  /** Bytes written (actual inflated bytes). */
  bytes: number;
}

const VERSION_FOLDER = /^0*[1-9]\d*$/; // as the repository reads them: 1, 2, 0001

/**
 * Unpacks a .tar, .tar.gz/.tgz or .zip (told apart by their bytes) into destDir, safely: see ExtractSink and
 * the readers for the rules; any refusal is an InvalidInput (400) naming the entry, and leaves nothing behind.
 * The archive is unpacked into a temporary dot-folder next to destDir and renamed into place only when complete,
 * so a crash never leaves a half-written destDir. When destDir already exists and is not empty, the unpacked
 * top-level entries are moved into it instead (refusing names that are already there).
 * Limits default to TSERVE_EXTRACT_MAX_BYTES / TSERVE_EXTRACT_MAX_FILES / TSERVE_EXTRACT_MAX_ENTRY_BYTES, then
 * 4 GiB and 10,000 entries.
 */
export function extractArchive(archivePath: string, destDir: string, limits?: Partial<ExtractLimits>): Promise<ExtractResult> {
  return extractArchiveAs(archivePath, destDir, limits, basename(archivePath));
}

/** extractArchive with the name the archive goes by in error messages (an upload has no file name). */
export async function extractArchiveAs(
  archivePath: string,
  destDir: string,
  limits: Partial<ExtractLimits> | undefined,
  label: string,
): Promise<ExtractResult> {
  const resolved = resolveExtractLimits(limits);
  const format = await detectArchiveFormat(archivePath, label);
  const dest = resolve(destDir);
  const parent = dirname(dest);
  await mkdir(parent, { recursive: true });
  const existing = await folderState(dest);
  const tmp = await mkdtemp(join(parent, `.${basename(dest)}.extract-`));
  try {
    const sink = new ExtractSink(tmp, resolved, label);
    if (format === "zip") await extractZip(archivePath, sink, label, resolved.maxFiles);
    else await extractTar(archivePath, format === "tar.gz", sink, label);
    await sink.finish();
    await chmod(tmp, 0o755); // mkdtemp makes it private; it becomes an ordinary folder
    const top = sink.topLevel();
    if (existing === "full") {
      const present = new Set(await readdir(dest));
      const clash = top.find((t) => present.has(t.name));
      if (clash) throw new InvalidInput(`Cannot unpack ${label} into ${dest}: ${clash.name} is already there`);
      for (const t of top) await rename(join(tmp, t.name), join(dest, t.name));
      await rm(tmp, { recursive: true, force: true });
    } else {
      if (existing === "empty") await rmdir(dest);
      await rename(tmp, dest);
    }
    const single = top.length === 1 && top[0].kind === "dir" && !VERSION_FOLDER.test(top[0].name) ? top[0].name : undefined;
    return { dir: dest, root: single ? join(dest, single) : dest, format, files: sink.files, bytes: sink.bytes };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** The model folder inside an unpacked archive, by the same rule as ExtractResult.root. */
export async function modelFolderIn(dir: string): Promise<string> {
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.name !== "__MACOSX");
  const only = entries.length === 1 ? entries[0] : undefined;
  return only && only.isDirectory() && !VERSION_FOLDER.test(only.name) ? join(dir, only.name) : dir;
}

async function folderState(dir: string): Promise<"absent" | "empty" | "full"> {
  let info;
  try {
    info = await stat(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "absent";
    throw err;
  }
  if (!info.isDirectory()) throw new Error(`Cannot unpack into ${dir}: it is a file, not a folder`);
  return (await readdir(dir)).length === 0 ? "empty" : "full";
}
