import { stat } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { tsImport } from "tsx/esm/api";
import { InvalidInput } from "../../errors/index.ts";
import { isModel, isModelClass, type Model, type ModelOptions } from "../../model/index.ts";

/** File names tried, in order, when a folder holds a model module. */
export const MODULE_FILES = ["model.ts", "model.mts", "model.js", "model.mjs"];
export const MODULE_EXTENSIONS = /\.(ts|mts|js|mjs|cjs|cts)$/;

/** The mtime each module file had when it was first imported. */
const firstSeen = new Map<string, number>();

/**
 * Imports a user's module with TypeScript support (no build step for the user). A plain import comes first so
 * the module shares our copy of tserve when a TypeScript loader is already active (the CLI registers one);
 * otherwise tsx compiles it in its own namespace.
 */
export async function importUserModule(file: string): Promise<Record<string, unknown>> {
  const plain = pathToFileURL(file).href;
  // Node caches modules by URL: a file replaced since its first import (an upload, a reload) gets its mtime as
  // a query so it is imported afresh, while an unchanged one keeps the plain URL and is shared.
  const mtime = Math.floor((await stat(file)).mtimeMs);
  if (!firstSeen.has(file)) firstSeen.set(file, mtime);
  const url = firstSeen.get(file) === mtime ? plain : `${plain}?mtime=${mtime}`;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ERR_REQUIRE_CYCLE_MODULE: a .ts file outside any "type": "module" package is compiled as CommonJS by the
    // global loader and trips Node's require(esm) cycle check; tsx's own namespace loads it fine (and a
    // namespace of its own per call, so a replaced file is fresh there too).
    const retry =
      code === "ERR_UNKNOWN_FILE_EXTENSION" || code === "ERR_UNSUPPORTED_ESM_URL_SCHEME" || code === "ERR_REQUIRE_CYCLE_MODULE" || url !== plain;
    if (!retry) throw err;
    return (await tsImport(plain, import.meta.url)) as Record<string, unknown>;
  }
}

/**
 * Loads a user's module and builds its model: the default export, or the one exported Model subclass,
 * constructed with the served name; an exported Model instance is used as it is.
 */
export async function loadModuleModel(file: string, name: string, options: ModelOptions = {}): Promise<Model> {
  const mod = await importUserModule(file);
  const candidates = pickExport(mod, file);
  const model = isModelClass(candidates) ? new candidates(name, options) : candidates;
  if (!model.name) model.name = name;
  return model;
}

function pickExport(
  mod: Record<string, unknown>,
  file: string,
): Model | (new (name: string, options?: ModelOptions) => Model) {
  const dflt = (mod.default as Record<string, unknown> | undefined)?.default ?? mod.default;
  if (isModelClass(dflt) || isModel(dflt)) return dflt;
  const classes = Object.entries(mod).filter(([, v]) => isModelClass(v));
  if (classes.length === 1) return classes[0][1] as new (name: string) => Model;
  if (classes.length > 1) {
    throw new InvalidInput(
      `${file} exports several Model classes (${classes.map(([k]) => k).join(", ")}); make the one to serve the default export`,
    );
  }
  const instances = Object.values(mod).filter(isModel);
  if (instances.length === 1) return instances[0];
  throw new InvalidInput(
    `${file} does not export a Model: export a class that extends Model from "tserve" (default or named) or a Model instance`,
  );
}
