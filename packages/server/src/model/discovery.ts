import { readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { InvalidInput } from "../errors/index.ts";
import { type ModelSettings, readModelSettings, selectVersions } from "./settings.ts";

/**
 * Reading a repository from disk: which folders are models, and which of a model's version folders its policy
 * serves. The repository (repository.ts) keeps what is loaded; this only reads folders.
 */

/** Where a model's files are: its folder, settings, and the version folders chosen by its policy. */
export interface ModelSource {
  name: string;
  dir: string;
  settings: ModelSettings;
  /** Version number -> folder; unversioned models have one entry with version undefined. */
  versions: { version?: string; dir: string }[];
}

// TF Serving pads version folders (`0001` is version 1), so leading zeros are allowed.
const VERSION_DIR = /^0*[1-9]\d*$/;

export async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Reads one model folder: its settings and the version folders its policy selects. */
export async function discoverModel(dir: string, nameOverride?: string): Promise<ModelSource> {
  const settings = await readModelSettings(dir);
  const name = nameOverride ?? settings.name ?? basename(dir);
  const entries = await readdir(dir, { withFileTypes: true });
  const folders = new Map<number, string>();
  for (const e of entries) {
    if (!e.isDirectory() || !VERSION_DIR.test(e.name)) continue;
    const v = Number(e.name);
    const other = folders.get(v);
    if (other !== undefined) throw new InvalidInput(`Model ${name}: folders ${other} and ${e.name} are both version ${v}`);
    folders.set(v, e.name);
  }
  const numbered = [...folders.keys()];
  if (numbered.length === 0) return { name, dir, settings, versions: [{ dir }] };
  const chosen = selectVersions(numbered, settings.versionPolicy);
  if (chosen.length === 0) {
    throw new InvalidInput(
      `Model ${name}: the version policy selects none of the versions on disk (${numbered.join(", ")})`,
    );
  }
  return { name, dir, settings, versions: chosen.map((v) => ({ version: String(v), dir: join(dir, folders.get(v)!) })) };
}

/** Every sub-folder of a repository root is a model (hidden folders are skipped). */
export async function listModelDirs(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith(".")).map((e) => join(root, e.name));
}
