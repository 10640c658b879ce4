import { open } from "node:fs/promises";
import { InvalidInput } from "../../errors/index.ts";

export type ArchiveFormat = "tar" | "tar.gz" | "zip";

const ARCHIVE_NAME = /\.(tar|tar\.gz|tgz|zip)$/i;

/** Whether a file name looks like an archive tserve unpacks: `.tar`, `.tar.gz`, `.tgz`, `.zip` (any case). */
export function isArchivePath(name: string): boolean {
  return ARCHIVE_NAME.test(name);
}

/** The archive format a file name asks for when writing one (`.tgz` and `.tar.gz` are the same). */
export function formatOfName(name: string): ArchiveFormat | undefined {
  const m = ARCHIVE_NAME.exec(name);
  if (!m) return undefined;
  const ext = m[1].toLowerCase();
  return ext === "tgz" || ext === "tar.gz" ? "tar.gz" : (ext as ArchiveFormat);
}

/** True when a 512-byte block is a tar header: its checksum adds up (v7 tars have no magic to look for). */
export function isTarHeader(block: Uint8Array): boolean {
  if (block.length < 512) return false;
  const field = Buffer.from(block.subarray(148, 156)).toString("latin1").replace(/[\0 ]+$/, "").trim();
  if (!/^[0-7]+$/.test(field)) return false;
  const expected = parseInt(field, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return expected === unsigned || expected === signed;
}

/**
 * Tells the format from the first bytes, never from the name: gzip (then tar inside), zip, or a plain tar.
 * Anything else is refused with InvalidInput naming what it looks like.
 */
export async function detectArchiveFormat(path: string, label = path): Promise<ArchiveFormat> {
  const fh = await open(path, "r");
  let head: Buffer;
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  if (head.length === 0) throw new InvalidInput(`${label} is empty, not an archive`);
  if (head[0] === 0x1f && head[1] === 0x8b) return "tar.gz";
  if (head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) && (head[3] === 4 || head[3] === 6)) return "zip";
  if (isTarHeader(head)) return "tar";
  if (head.length === 512 && head.every((b) => b === 0)) return "tar"; // an empty tar: just its end blocks
  const what =
    head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68
      ? "a bzip2 file"
      : head[0] === 0xfd && head.subarray(1, 6).toString("latin1") === "7zXZ\0"
        ? "an xz file"
        : head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd
          ? "a zstd file"
          : "neither";
  throw new InvalidInput(
    `${label} is not a tar, tar.gz or zip archive${what === "neither" ? "" : ` (it looks like ${what}, which tserve does not unpack)`}`,
  );
}
