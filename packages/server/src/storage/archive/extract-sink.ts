import { createWriteStream } from "node:fs";
import { constants, copyFile, mkdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { InvalidInput } from "../../errors/index.ts";
import { resolveLinkTarget, safeEntryPath } from "./entry-path.ts";
import type { ExtractLimits } from "./limits.ts";

type Kind = "file" | "dir" | "symlink" | "hardlink";

interface PendingLink {
  path: string;
  /** The target as a path inside the archive (already checked to stay inside). */
  target: string;
  raw: string;
  kind: "symlink" | "hardlink";
}

/** Folders macOS adds to zips (resource forks); never part of a model. */
const SKIPPED_TOP = "__MACOSX";
const MAX_LINK_DEPTH = 40;

/**
 * Writes an archive's entries into a fresh folder, enforcing the safety rules every reader shares: safe paths,
 * no duplicates, no file where a folder is needed, the entry and byte limits (counting bytes actually written),
 * and links. No link is ever created on disk: a hardlink or symlink whose target is a regular file inside the
 * archive is materialised as a copy of it once every entry is written; links that leave the folder, point at a
 * folder or at nothing are refused.
 */
export class ExtractSink {
  files = 0;
  bytes = 0;
  private entries = 0;
  private readonly kinds = new Map<string, Kind>();
  private readonly links: PendingLink[] = [];
  private readonly maxEntryBytes: number;

  constructor(
    private readonly dir: string,
    private readonly limits: ExtractLimits,
    private readonly label: string,
  ) {
    this.maxEntryBytes = limits.maxEntryBytes ?? Number.POSITIVE_INFINITY;
  }

  /** The names at the top of the extracted tree, with their kinds. */
  topLevel(): { name: string; kind: Kind }[] {
    return [...this.kinds].filter(([p]) => !p.includes("/")).map(([name, kind]) => ({ name, kind }));
  }

  async directory(raw: string): Promise<void> {
    const path = this.admit(raw);
    if (path === undefined || !this.claim(path, "dir", raw)) return;
    await this.fs(raw, () => mkdir(this.full(path), { recursive: true }));
  }

  /** Writes one regular file; `declared` is the size the archive claims (checked early, then verified by counting). */
  async file(raw: string, mode: number, declared: number, body: () => AsyncIterable<Uint8Array>): Promise<void> {
    const path = this.admit(raw);
    this.checkSize(raw, declared, declared);
    if (path === undefined) {
      this.bytes += declared; // skipped entries still count, so a huge skipped entry cannot slip through
      return;
    }
    this.claim(path, "file", raw);
    const full = this.full(path);
    await this.fs(raw, () => mkdir(dirname(full), { recursive: true }));
    const start = this.bytes;
    const counted = async function* (this: ExtractSink) {
      for await (const chunk of body()) {
        this.bytes += chunk.length;
        this.checkSize(raw, this.bytes - start, 0);
        yield chunk;
      }
    }.call(this);
    await this.fs(raw, () => pipeline(counted, createWriteStream(full, { flags: "wx", mode: mode & 0o111 ? 0o755 : 0o644 })));
    this.files++;
  }

  /** Records a link, refusing it at once when it leaves the folder; it is materialised by finish(). */
  link(raw: string, rawTarget: string, kind: "symlink" | "hardlink"): void {
    const path = this.admit(raw);
    if (path === undefined) return;
    if (path === "") throw this.refuse(raw, `is a ${kind} in place of the archive's root folder`);
    let target: string | undefined;
    if (kind === "symlink") target = resolveLinkTarget(path, rawTarget);
    else {
      try {
        target = safeEntryPath(rawTarget, this.label);
      } catch {
        target = undefined;
      }
    }
    if (target === undefined || target === "") {
      throw this.refuse(raw, `is a ${kind} to ${JSON.stringify(rawTarget)}, which points outside the folder`);
    }
    this.claim(path, kind, raw);
    this.links.push({ path, target, raw: rawTarget, kind });
  }

  /** Materialises the links as copies of the files they point to. */
  async finish(): Promise<void> {
    for (const link of this.links) {
      const source = this.resolveFile(link, link.target, 0);
      const size = (await stat(this.full(source))).size;
      this.checkSize(link.path, size, size);
      this.bytes += size;
      await this.fs(link.path, () => copyFile(this.full(source), this.full(link.path), constants.COPYFILE_EXCL));
      this.files++;
    }
  }

  private resolveFile(link: PendingLink, target: string, depth: number): string {
    if (depth > MAX_LINK_DEPTH) throw this.refuse(link.path, `is a ${link.kind} in a loop of links`);
    const kind = this.kinds.get(target);
    if (kind === "file") return target;
    const next = this.links.find((l) => l.path === target);
    if (next) return this.resolveFile(link, next.target, depth + 1);
    if (kind === "dir") {
      throw this.refuse(link.path, `is a ${link.kind} to the folder ${JSON.stringify(link.raw)}; only links to files are unpacked (as copies)`);
    }
    throw this.refuse(link.path, `is a ${link.kind} to ${JSON.stringify(link.raw)}, which is not in the archive`);
  }

  /** Counts an entry against maxFiles and returns its safe path, or undefined for entries that are skipped. */
  private admit(raw: string): string | undefined {
    this.entries++;
    if (this.entries > this.limits.maxFiles) {
      throw new InvalidInput(
        `Refusing ${this.label}: it has more than ${this.limits.maxFiles} entries (files, folders and links; TSERVE_EXTRACT_MAX_FILES)`,
      );
    }
    const path = safeEntryPath(raw, this.label);
    if (path === SKIPPED_TOP || path.startsWith(`${SKIPPED_TOP}/`)) return undefined;
    return path;
  }

  private checkSize(raw: string, entryBytes: number, more: number): void {
    if (entryBytes > this.maxEntryBytes) {
      throw this.refuse(raw, `expands to more than ${this.maxEntryBytes} bytes (TSERVE_EXTRACT_MAX_ENTRY_BYTES)`);
    }
    if (this.bytes + more > this.limits.maxBytes) {
      throw this.refuse(raw, `takes the archive past ${this.limits.maxBytes} expanded bytes (TSERVE_EXTRACT_MAX_BYTES)`);
    }
  }

  /** Marks a path (and its parents as folders); false when the folder was already there. */
  private claim(path: string, kind: Kind, raw: string): boolean {
    if (path === "") return false;
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join("/");
      const existing = this.kinds.get(parent);
      if (existing === undefined) this.kinds.set(parent, "dir");
      else if (existing !== "dir") throw this.refuse(raw, `needs ${JSON.stringify(parent)} to be a folder, but the archive made it a ${existing}`);
    }
    const existing = this.kinds.get(path);
    if (existing !== undefined) {
      if (existing === "dir" && kind === "dir") return false;
      throw this.refuse(raw, `appears twice in the archive (a ${kind} over a ${existing}); refusing to let one entry replace another`);
    }
    this.kinds.set(path, kind);
    return true;
  }

  private full(path: string): string {
    return path === "" ? this.dir : join(this.dir, ...path.split("/"));
  }

  private refuse(raw: string, why: string): InvalidInput {
    return new InvalidInput(`Refusing ${this.label}: entry ${JSON.stringify(raw)} ${why}`);
  }

  /** Runs a file-system step, turning the errors an archive can provoke into InvalidInput naming the entry. */
  private async fs<T>(raw: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") throw this.refuse(raw, "clashes with another entry (the file system may ignore case)");
      if (code === "ENAMETOOLONG") throw this.refuse(raw, "has a name too long for the file system");
      if (code === "EISDIR" || code === "ENOTDIR") throw this.refuse(raw, "clashes with a folder of the same name");
      throw err;
    }
  }
}
