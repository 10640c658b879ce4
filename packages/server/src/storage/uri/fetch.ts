/**
 * One download, start to finish: list what the URI names, fetch every file (a few at a time, each retried on
 * transient failures, each written crash-safely), and unpack a lone archive. Knows nothing of caches.
 */
import { mkdir, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { extractArchive, isArchivePath } from "../archive/index.ts";
import { AzureBlobBackend } from "./azure.ts";
import type { Backend, BackendContext, Listing, RemoteFile } from "./backend.ts";
import { effectiveEnv } from "./config.ts";
import { GcsBackend } from "./gcs.ts";
import { HttpBackend } from "./http.ts";
import type { StorageLocation } from "./parse.ts";
import type { ProgressCallback } from "./progress.ts";
import { withRetries } from "./retry.ts";
import { S3Backend } from "./s3.ts";
import { abortError } from "./transport.ts";
import { writeBody } from "./write.ts";

const DEFAULT_CONCURRENCY = 4;

export type RemoteLocation = Exclude<StorageLocation, { kind: "local" }>;

export interface FetchedFile {
  path: string;
  size: number;
  etag?: string;
}

export interface FetchOptions {
  /** The environment to read credentials and settings from (default process.env). */
  env?: NodeJS.ProcessEnv;
  progress?: ProgressCallback;
  signal?: AbortSignal;
  /** Connect and read (idle) timeout of every request, in ms (default: S3_CONNECT_TIMEOUT / S3_READ_TIMEOUT, 30 s for http). */
  timeoutMs?: number;
  /** Attempts per request, the first included, on 5xx / 429 / resets / timeouts (default S3_MAX_ATTEMPTS or 3). */
  maxAttempts?: number;
  /** Files downloaded at once (default 4). */
  concurrency?: number;
}

function createBackend(location: RemoteLocation, context: BackendContext): Backend {
  switch (location.kind) {
    case "s3":
      return new S3Backend(location.bucket, location.key, location.uri, context);
    case "gcs":
      return new GcsBackend(location.bucket, location.prefix, location.uri, context);
    case "azure":
      return new AzureBlobBackend(
        location.account,
        location.endpoint,
        location.container,
        location.prefix,
        location.sas,
        location.uri,
        context,
      );
    case "http":
      return new HttpBackend(location.url, location.filename, location.uri, context);
  }
}

export interface FetchResult {
  /** The model folder (absolute): the content folder, or inside it when an archive held one top-level folder. */
  modelDir: string;
  files: FetchedFile[];
  extracted?: string;
}

/** A signal that aborts with the caller's, or when one file fails (so the other transfers stop). */
function linkedController(signal?: AbortSignal): AbortController {
  const controller = new AbortController();
  if (signal?.aborted) controller.abort(signal.reason);
  else signal?.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  return controller;
}

/** Runs `fn` over `items`, `limit` at a time; on the first failure starts no more, waits for the rest, rethrows. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>, onFailure: (err: unknown) => void): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        if (!failure) {
          failure = { err };
          onFailure(err);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.err;
}

/**
 * Lists and downloads everything into `staging` (which must exist): files into `staging/<contentName>`, a lone
 * archive via `staging/.archive/` and unpacked into `staging/<contentName>`.
 */
export async function fetchInto(
  location: RemoteLocation,
  staging: string,
  contentName: (listing: Listing) => string,
  options: FetchOptions,
): Promise<FetchResult> {
  const controller = linkedController(options.signal);
  const env = effectiveEnv(options.env ?? process.env);
  const context: BackendContext = {
    env,
    signal: controller.signal,
    net: { connectTimeoutMs: options.timeoutMs, readTimeoutMs: options.timeoutMs, maxAttempts: options.maxAttempts },
  };
  const backend = createBackend(location, context);
  const listing = await backend.list();
  const contentDir = join(staging, contentName(listing));
  const lone = listing.files.length === 1 ? listing.files[0] : undefined;
  const archive = lone && isArchivePath(basename(lone.path)) ? lone : undefined;
  const archiveDir = join(staging, ".archive");
  const target = (f: RemoteFile) => (f === archive ? join(archiveDir, basename(f.path)) : join(contentDir, f.path));
  const records: FetchedFile[] = [];
  const progress = options.progress;

  await pool(
    listing.files,
    options.concurrency ?? DEFAULT_CONCURRENCY,
    async (file) => {
      const written = await withRetries(
        async () => {
          const res = await backend.open(file);
          return writeBody(res, target(file), backend.what, (bytes, length) =>
            progress?.({ file: file.path, bytes, total: file.size ?? length, stage: "file" }),
          );
        },
        { maxAttempts: backend.maxAttempts, signal: controller.signal },
      );
      progress?.({ file: file.path, bytes: written.bytes, total: written.bytes, stage: "file" });
      records.push({ path: file.path, size: written.bytes, etag: written.etag ?? file.etag });
    },
    (err) => controller.abort(err),
  );
  if (options.signal?.aborted) throw abortError(options.signal);

  if (archive) {
    progress?.({ file: archive.path, bytes: records[0]?.size ?? 0, total: records[0]?.size, stage: "extract" });
    const result = await extractArchive(target(archive), contentDir);
    await rm(archiveDir, { recursive: true, force: true });
    return { modelDir: result.root, files: records, extracted: archive.path };
  }
  await mkdir(contentDir, { recursive: true });
  records.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { modelDir: contentDir, files: records };
}

