/**
 * downloadModel: a storage URI → a local model folder, cached by the URI's SHA-256. Every file lands as
 * `<name>.part` (fsync'd, then renamed); the whole download lands in a temporary folder renamed into the cache
 * only when complete, with a marker (URI, etags); a leftover temporary folder of a crashed attempt is removed.
 * downloadInto does the same into a given folder (KServe's storage initializer; `tserve pull`).
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { basename, join, relative, resolve } from "node:path";
import { NotFound } from "../../errors/index.ts";
import { cacheRoot } from "../archive/index.ts";
import type { Env } from "./config.ts";
import { type FetchedFile, type FetchOptions, fetchInto, type RemoteLocation } from "./fetch.ts";
import { MODEL_MOUNT_DIR, parseStorageUri, redactUri, type StorageLocation } from "./parse.ts";
import { syncDir } from "./write.ts";
import { exists } from "../files.ts";

export interface DownloadOptions extends FetchOptions {
  /** Where downloads are cached (default `defaultCacheDir()`: $TSERVE_CACHE_DIR/downloads or ~/.cache/tserve/downloads). */
  cacheDir?: string;
}

/** What a completed cache folder's marker records. */
export interface DownloadMarker {
  version: 1;
  /** The URI, with secrets (SAS signatures, tokens) redacted. */
  uri: string;
  uriSha256: string;
  /** The model folder, relative to the cache folder. */
  model: string;
  files: FetchedFile[];
  extracted?: string;
  completedAt: string;
}

export const MARKER_FILE = "download.json";

/** `<tserve cache root>/downloads`: $TSERVE_CACHE_DIR/downloads, else $XDG_CACHE_HOME/tserve/downloads, else ~/.cache/tserve/downloads. */
export function defaultCacheDir(env: Env = process.env): string {
  return join(cacheRoot(env as NodeJS.ProcessEnv), "downloads");
}

/** The cache folder a URI downloads into (inside it: the marker and the model folder). */
export function cacheFolderFor(uri: string, cacheDir: string): string {
  return join(resolve(cacheDir), uriKey(uri));
}

function uriKey(uri: string): string {
  return createHash("sha256").update(uri).digest("hex");
}

/** A folder name for the model, from the URI's last segment: `s3://b/models/iris` → `iris`, `…/iris.tar.gz` → `iris`. */
export function modelFolderName(location: StorageLocation, single: boolean): string {
  let last: string;
  switch (location.kind) {
    case "s3":
      last = location.key.split("/").filter(Boolean).pop() ?? location.bucket;
      break;
    case "gcs":
      last = location.prefix.split("/").filter(Boolean).pop() ?? location.bucket;
      break;
    case "azure":
      last = location.prefix.split("/").filter(Boolean).pop() ?? location.container;
      break;
    case "http":
      last = location.filename;
      break;
    case "local":
      last = basename(location.path);
      break;
  }
  let name = last.replace(/\.(tar\.gz|tgz|tar|zip)$/i, "");
  if (single && name === last) name = name.replace(/\.[^.]+$/, "");
  name = name.replace(/[^A-Za-z0-9._-]/g, "_");
  return name === "" || /^\.+$/.test(name) ? "model" : name;
}

function totalBytes(files: FetchedFile[]): number {
  return files.reduce((sum, f) => sum + f.size, 0);
}

/** Process ids that own a temporary folder in this process right now. */
const activeTemps = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes temporary folders `<prefix><pid>-<random>` left by a crashed attempt: their process is gone, or it is
 * this process (a container restarting under the same pid) but no download here owns them.
 */
async function removeStaleTemps(dir: string, prefix: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const full = join(dir, name);
    const pid = Number(name.slice(prefix.length).split("-")[0]);
    const stale = !Number.isInteger(pid) || pid <= 0 || (pid === process.pid ? !activeTemps.has(full) : !processAlive(pid));
    if (stale) await rm(full, { recursive: true, force: true });
  }
}

function tempName(prefix: string): string {
  return `${prefix}${process.pid}-${randomBytes(6).toString("hex")}`;
}


async function readMarker(folder: string, key: string): Promise<string | undefined> {
  try {
    const marker = JSON.parse(await readFile(join(folder, MARKER_FILE), "utf8")) as DownloadMarker;
    if (marker.version !== 1 || marker.uriSha256 !== key || typeof marker.model !== "string") return undefined;
    const model = resolve(folder, marker.model);
    if (relative(folder, model).startsWith("..")) return undefined;
    return (await stat(model)).isDirectory() ? model : undefined;
  } catch {
    return undefined;
  }
}

async function localModel(location: Extract<StorageLocation, { kind: "local" }>): Promise<string> {
  if (location.path === MODEL_MOUNT_DIR || location.path.startsWith(`${MODEL_MOUNT_DIR}/`)) return location.path;
  if (!(await exists(location.path))) throw new NotFound(`Local path ${location.path} does not exist`);
  return location.path;
}

const inFlight = new Map<string, Promise<string>>();

/**
 * Downloads the model a storage URI names and returns its local folder. Local paths and file:// URIs are returned
 * as they are (`/mnt/models…` unchecked, as KServe); remote ones are cached under `cacheDir/<sha256(uri)>/`, and a
 * completed download is reused without asking the store again.
 */
export async function downloadModel(uri: string, options: DownloadOptions = {}): Promise<string> {
  const location = parseStorageUri(uri);
  if (location.kind === "local") return localModel(location);
  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir(options.env ?? process.env));
  const key = uriKey(uri);
  const final = join(cacheDir, key);
  const running = inFlight.get(final);
  if (running) return running;
  const job = downloadToCache(location, key, cacheDir, final, options).finally(() => inFlight.delete(final));
  inFlight.set(final, job);
  return job;
}

async function downloadToCache(
  location: RemoteLocation,
  key: string,
  cacheDir: string,
  final: string,
  options: DownloadOptions,
): Promise<string> {
  const cached = await readMarker(final, key);
  if (cached) return cached;
  await mkdir(cacheDir, { recursive: true });
  await removeStaleTemps(cacheDir, `${key}.tmp-`);
  // A folder without a valid marker is not ours to trust (an interrupted rename, a hand edit): start over.
  if (await exists(final)) await rm(final, { recursive: true, force: true });

  const tmp = join(cacheDir, tempName(`${key}.tmp-`));
  activeTemps.add(tmp);
  try {
    await mkdir(tmp);
    const result = await fetchInto(location, tmp, (listing) => modelFolderName(location, listing.single), options);
    const marker: DownloadMarker = {
      version: 1,
      uri: redactUri(location.uri),
      uriSha256: key,
      model: relative(tmp, result.modelDir).split("\\").join("/"),
      files: result.files,
      ...(result.extracted ? { extracted: result.extracted } : {}),
      completedAt: new Date().toISOString(),
    };
    await writeFile(join(tmp, `${MARKER_FILE}.part`), `${JSON.stringify(marker, null, 2)}\n`, { flush: true });
    await rename(join(tmp, `${MARKER_FILE}.part`), join(tmp, MARKER_FILE));
    await syncDir(tmp);
    try {
      await rename(tmp, final);
    } catch (err) {
      // Another process finished the same download first: use theirs.
      const theirs = await readMarker(final, key);
      if (!theirs) throw err;
      await rm(tmp, { recursive: true, force: true });
      return theirs;
    }
    await syncDir(cacheDir);
    const total = totalBytes(result.files);
    options.progress?.({ file: "", bytes: total, total, stage: "done" });
    return join(final, marker.model);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw err;
  } finally {
    activeTemps.delete(tmp);
  }
}

/**
 * Downloads (and unpacks) the model a storage URI names into `destDir`, KServe storage-initializer style: the
 * files land directly in `destDir` (created if missing; same-named entries replaced), through a temporary folder
 * inside it, so `destDir` may be a mounted volume. A local source is symlinked in, as KServe does. Returns the
 * model folder: `destDir`, or the single top-level folder an archive held.
 */
export async function downloadInto(uri: string, destDir: string, options: DownloadOptions = {}): Promise<string> {
  const location = parseStorageUri(uri);
  const dest = resolve(destDir);
  if (location.kind === "local") return linkLocal(location, dest);
  await mkdir(dest, { recursive: true });
  await removeStaleTemps(dest, ".tserve-tmp-");
  const tmp = join(dest, tempName(".tserve-tmp-"));
  activeTemps.add(tmp);
  try {
    await mkdir(tmp);
    const result = await fetchInto(location, tmp, () => "content", options);
    const content = join(tmp, "content");
    for (const entry of await readdir(content)) {
      await rm(join(dest, entry), { recursive: true, force: true });
      await rename(join(content, entry), join(dest, entry));
    }
    await rm(tmp, { recursive: true, force: true });
    await syncDir(dest);
    const total = totalBytes(result.files);
    options.progress?.({ file: "", bytes: total, total, stage: "done" });
    const inner = relative(content, result.modelDir);
    return inner === "" ? dest : join(dest, inner);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw err;
  } finally {
    activeTemps.delete(tmp);
  }
}

async function linkLocal(location: Extract<StorageLocation, { kind: "local" }>, dest: string): Promise<string> {
  const source = resolve(location.path);
  if (!(await exists(source))) {
    // KServe: a /mnt/models source that is not there yet is left to the model agent.
    if (location.path.startsWith(MODEL_MOUNT_DIR)) return dest;
    throw new NotFound(`Local path ${location.path} does not exist`);
  }
  await mkdir(dest, { recursive: true });
  const entries = (await stat(source)).isDirectory()
    ? (await readdir(source)).map((name) => join(source, name))
    : [source];
  for (const entry of entries) {
    const link = join(dest, basename(entry));
    if (resolve(link) === entry || (await exists(link))) continue;
    await symlink(entry, link);
  }
  return dest;
}
