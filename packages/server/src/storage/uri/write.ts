/**
 * Writes one downloaded body to disk crash-safely: into `<name>.part`, fsync'd, then renamed to `<name>`, so a
 * file under its final name is always complete.
 */
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { BadGateway, TServeError } from "../../errors/index.ts";
import { connectionError, retryable } from "./errors.ts";
import { header, type HttpResponse } from "./transport.ts";

export interface WrittenFile {
  bytes: number;
  etag?: string;
}

/** Streams `res.body` to `dest` (via `dest.part`); `onBytes` gets the running byte count after each chunk. */
export async function writeBody(
  res: HttpResponse,
  dest: string,
  what: string,
  onBytes?: (bytes: number, total?: number) => void,
): Promise<WrittenFile> {
  const part = `${dest}.part`;
  await mkdir(dirname(dest), { recursive: true });
  const lengthHeader = header(res, "content-length");
  const expected = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
  const fh = await open(part, "w");
  let bytes = 0;
  try {
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        await fh.write(chunk);
        bytes += chunk.length;
        onBytes?.(bytes, expected);
      }
    } catch (err) {
      if (err instanceof TServeError || (err as Error)?.name === "AbortError") throw err;
      throw connectionError(err, what);
    }
    if (expected !== undefined && bytes !== expected) {
      throw retryable(new BadGateway(`Download of ${what} ended early: ${bytes} of ${expected} bytes`));
    }
    await fh.sync();
  } catch (err) {
    res.body.destroy();
    await fh.close().catch(() => {});
    await rm(part, { force: true });
    throw err;
  }
  await fh.close();
  await rename(part, dest);
  return { bytes, etag: header(res, "etag") };
}

/** fsyncs a directory so the renames inside it survive a crash (best effort: not every platform allows it). */
export async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Windows cannot open directories; the rename is still atomic there.
  }
}
