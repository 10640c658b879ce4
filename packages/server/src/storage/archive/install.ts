import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { exists } from "../files.ts";

/**
 * The repository's private work area for uploads (a dot-folder, so the repository scan never sees it):
 * `<root>/.tserve-tmp/<id>/` holds one upload's body, its unpacked files and, during a swap, the journal
 * (`swap.json`), the new folder (`new/`), the replaced one (`old/`) and a rejected one (`rejected/`).
 */
export const UPLOAD_AREA = ".tserve-tmp";

const JOURNAL = "swap.json";
const COMMITTED = "committed";


/** Makes a fresh work folder for one upload inside the repository's upload area. */
export async function createUploadWorkDir(root: string): Promise<string> {
  const area = join(root, UPLOAD_AREA);
  await mkdir(area, { recursive: true });
  const dir = join(area, `upload-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`);
  await mkdir(dir);
  return dir;
}

export interface InstallOptions {
  /** The repository root. */
  root: string;
  /** The model's name: its folder is `<root>/<name>`. */
  name: string;
  /** The unpacked model folder, inside `workDir` (same file system, so every move is a rename). */
  staged: string;
  /** This upload's folder from createUploadWorkDir. */
  workDir: string;
  /** Loads the model from `<root>/<name>` once the new folder is there; throwing rolls the swap back. */
  activate: () => Promise<void>;
  log?: (level: "info" | "warn" | "error", message: string) => void;
}

/**
 * Swaps a staged model folder into `<root>/<name>` with renames: the old folder (if any) is moved aside, the new
 * one moved in, then `activate` loads it. If that fails the new folder is moved out and the old one back, and
 * the error is rethrown; once it succeeds the swap is committed and the old folder removed. A journal in the
 * work folder lets recoverUploads() finish or undo a swap that a crash interrupted, so after a restart the
 * repository holds either the old model or the new one, never a half-written folder.
 */
export async function installModelFolder(options: InstallOptions): Promise<void> {
  const { root, name, workDir } = options;
  const target = join(root, name);
  const fresh = join(workDir, "new");
  const old = join(workDir, "old");
  if (options.staged !== fresh) await rename(options.staged, fresh);
  const journal = join(workDir, JOURNAL);
  await writeFile(`${journal}.tmp`, JSON.stringify({ name }));
  await rename(`${journal}.tmp`, journal);
  const hadOld = await exists(target);
  if (hadOld) await rename(target, old);
  await rename(fresh, target);
  try {
    await options.activate();
  } catch (err) {
    try {
      await rename(target, join(workDir, "rejected"));
      if (hadOld) await rename(old, target);
    } catch (rollback) {
      options.log?.("error", `could not roll back the upload of ${name}: ${(rollback as Error).message}; it will be rolled back at the next start`);
    }
    throw err;
  }
  await writeFile(join(workDir, COMMITTED), "");
  await rm(old, { recursive: true, force: true });
}

/**
 * Cleans the upload area at start-up, before the repository is scanned: interrupted uploads are deleted, and a
 * swap that was not committed is undone (the previous folder, if any, moved back into `<root>/<name>`).
 * Returns a line per action taken. Only one server may use a repository's upload area at a time.
 */
export async function recoverUploads(root: string, log?: (level: "info" | "warn", message: string) => void): Promise<string[]> {
  const area = join(root, UPLOAD_AREA);
  let names: string[];
  try {
    names = await readdir(area);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const actions: string[] = [];
  const note = (message: string) => {
    actions.push(message);
    log?.("info", message);
  };
  for (const entry of names) {
    const work = join(area, entry);
    let name: string | undefined;
    try {
      name = (JSON.parse(await readFile(join(work, JOURNAL), "utf8")) as { name?: string }).name;
    } catch {
      name = undefined;
    }
    if (name && /^[^/\\\0.][^/\\\0]*$/.test(name) && !(await exists(join(work, COMMITTED)))) {
      const target = join(root, name);
      const old = join(work, "old");
      const newStillStaged = await exists(join(work, "new"));
      const rejected = join(work, "rejected");
      if (!newStillStaged && !(await exists(rejected)) && (await exists(target))) {
        // The new folder was swapped in but never committed (it may be what crashed the server): move it out.
        await rename(target, rejected);
        note(`moved the uncommitted upload of ${name} out of the repository`);
      }
      if ((await exists(old)) && !(await exists(target))) {
        await rename(old, target);
        note(`restored the previous ${name} (an upload was interrupted during its swap)`);
      }
    }
    await rm(work, { recursive: true, force: true });
    note(`removed stale upload files ${join(UPLOAD_AREA, entry)}`);
  }
  try {
    await rmdir(area);
  } catch {
    // Not empty (something appeared meanwhile): harmless.
  }
  return actions;
}
