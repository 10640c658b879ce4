import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { extractArchive, modelFolderIn } from "./extract.ts";
import { isArchivePath } from "./format.ts";
import type { ExtractLimits } from "./limits.ts";
import { exists } from "../files.ts";

export interface PrepareModelOptions {
  /** tserve's cache folder (default TSERVE_CACHE_DIR, else $XDG_CACHE_HOME/tserve or ~/.cache/tserve). */
  cacheDir?: string;
  limits?: Partial<ExtractLimits>;
  log?: (message: string) => void;
}

/** tserve's cache folder: TSERVE_CACHE_DIR, else $XDG_CACHE_HOME/tserve, else ~/.cache/tserve. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSERVE_CACHE_DIR) return resolve(env.TSERVE_CACHE_DIR);
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), ".cache"), "tserve");
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}


/**
 * Turns what a user asked to serve into a folder: a `.tar`, `.tar.gz`/`.tgz` or `.zip` file is unpacked into
 * `<cache>/models/<sha256 of the archive's bytes>/` (content-addressed, so serving the same archive again
 * reuses it without unpacking) and the model folder inside it is returned (see ExtractResult.root). Any other
 * path (a folder, a .onnx file, a module) is returned unchanged.
 */
export async function prepareModelPath(path: string, options: PrepareModelOptions = {}): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile() || !isArchivePath(path)) return path;
  const digest = await sha256File(path);
  const dir = join(options.cacheDir ? resolve(options.cacheDir) : cacheRoot(), "models", digest);
  if (await exists(dir)) {
    options.log?.(`using ${dir}, unpacked before from an archive with the same contents as ${path}`);
    return modelFolderIn(dir);
  }
  try {
    const result = await extractArchive(path, dir, options.limits);
    options.log?.(`unpacked ${path} into ${dir} (${result.files} files, ${result.bytes} bytes)`);
    return result.root;
  } catch (err) {
    // Another process unpacking the same archive finished first: its copy is complete (it was renamed into place).
    if (await exists(dir)) return modelFolderIn(dir);
    throw err;
  }
}
