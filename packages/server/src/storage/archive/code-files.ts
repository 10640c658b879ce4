import { open, readdir, stat } from "node:fs/promises";
import { join } from "node:path";

/** JavaScript/TypeScript sources in any module flavour (declaration files too: one rule, no exceptions). */
const MODULE_SOURCE = /\.(?:[cm]?[jt]s|[jt]sx)$/i;
/** Native code Node or a runtime could load: Node addons and shared libraries. */
const NATIVE = /\.(?:node|so(?:\.\d+)*|dylib|dll)$/i;
/** Shell scripts by name (start.sh is OpenBayes's custom server). */
const SHELL = /\.(?:sh|bash|zsh|ksh)$/i;

/**
 * Why a file in a model folder counts as code, or undefined for data. Code is anything tserve or the system would
 * run: a JS/TS module (.js .mjs .cjs .jsx .ts .mts .cts .tsx), a native addon or shared library (.node .so .dylib
 * .dll), a shell script (.sh, start.sh), a file starting with `#!`, or a file with an executable bit.
 */
export async function codeKindOf(path: string, name: string): Promise<string | undefined> {
  if (MODULE_SOURCE.test(name)) return "a JavaScript/TypeScript module";
  if (NATIVE.test(name)) return "native code";
  if (SHELL.test(name)) return "a shell script";
  const info = await stat(path);
  if ((info.mode & 0o111) !== 0) return "an executable file";
  if (info.size >= 2) {
    const handle = await open(path, "r");
    try {
      const head = Buffer.alloc(2);
      await handle.read(head, 0, 2, 0);
      if (head.toString("latin1") === "#!") return "a script (it starts with #!)";
    } finally {
      await handle.close();
    }
  }
  return undefined;
}

/** The code files in a folder tree (see codeKindOf), as relative paths with their kind, sorted; at most `limit`. */
export async function findCodeFiles(dir: string, limit = 10): Promise<{ path: string; kind: string }[]> {
  const found: { path: string; kind: string }[] = [];
  const walk = async (folder: string, prefix: string): Promise<void> => {
    const entries = (await readdir(folder, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      if (found.length >= limit) return;
      const rel = `${prefix}${e.name}`;
      if (e.isDirectory()) await walk(join(folder, e.name), `${rel}/`);
      else if (e.isFile()) {
        const kind = await codeKindOf(join(folder, e.name), e.name);
        if (kind) found.push({ path: rel, kind });
      }
    }
  };
  await walk(dir, "");
  return found;
}
