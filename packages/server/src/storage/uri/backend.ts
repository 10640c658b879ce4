/** What every storage backend (S3, GCS, Azure Blob, plain HTTP) offers the download orchestrator. */
import { InvalidInput } from "../../errors/index.ts";
import type { Env, NetworkOverrides } from "./config.ts";
import type { HttpResponse } from "./transport.ts";

export interface RemoteFile {
  /** Where the file goes, relative to the model folder ('/'-separated, checked by `safeRelativePath`). */
  path: string;
  /** The backend's own name for it: object key, blob name or URL. */
  key: string;
  size?: number;
  etag?: string;
}

export interface Listing {
  files: RemoteFile[];
  /** The URI named one object (not a prefix): it is saved by its own name, and extracted if it is an archive. */
  single: boolean;
  /** Objects left out by STORAGE_ALLOW_PATTERNS / STORAGE_IGNORE_PATTERNS. */
  filtered?: number;
}

export interface Backend {
  /** The URI, redacted, for messages. */
  readonly what: string;
  /** Attempts per request, the first included (transient failures only). */
  readonly maxAttempts: number;
  list(): Promise<Listing>;
  /** Starts the download of one listed file: a 2xx answer whose body is the file, or a typed error. */
  open(file: RemoteFile): Promise<HttpResponse>;
}

export interface BackendContext {
  env: Env;
  net: NetworkOverrides;
  signal?: AbortSignal;
}

/**
 * Checks an object's path relative to the model folder: no absolute paths, no `.`/`..` segments, no
 * backslashes or NULs, so a key like `../../etc/passwd` cannot write outside the download folder.
 * Empty segments (`a//b`) collapse.
 */
export function safeRelativePath(path: string, what: string): string {
  const segments = path.split("/").filter((s) => s !== "");
  if (
    segments.length === 0 ||
    segments.some((s) => s === "." || s === ".." || s.includes("\\") || s.includes("\0"))
  ) {
    throw new InvalidInput(`Refusing to download '${path}' from ${what}: the name would land outside the model folder`);
  }
  return segments.join("/");
}

/** The last '/'-separated segment of a key. */
export function baseName(key: string): string {
  const parts = key.split("/").filter((s) => s !== "");
  return parts[parts.length - 1] ?? "";
}
