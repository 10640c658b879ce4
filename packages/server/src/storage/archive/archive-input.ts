/** One entry to write into an archive. The writers write what they are given: names are not validated here. */
export interface ArchiveInput {
  /** Path inside the archive, '/'-separated (a folder's trailing '/' is added when missing). */
  path: string;
  type: "file" | "directory" | "symlink" | "hardlink";
  /** A file's bytes, in memory… */
  data?: Uint8Array;
  /** …or a file on disk, streamed (with `size`, which is checked against what is read). */
  source?: string;
  size?: number;
  /** Permission bits; default 0o644 for files and links, 0o755 for folders. */
  mode?: number;
  /** What a symlink or hardlink points to. */
  target?: string;
}

/** Fixed modification time of packed entries, for byte-identical archives: 1980-01-01T00:00:00Z (zip's epoch). */
export const PACK_MTIME = 315_532_800;

export function inputSize(input: ArchiveInput): number {
  if (input.data) return input.data.length;
  if (input.source !== undefined) {
    if (input.size === undefined) throw new Error(`Archive entry ${input.path}: a streamed source needs its size`);
    return input.size;
  }
  return 0;
}
