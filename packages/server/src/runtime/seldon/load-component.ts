import { basename, extname } from "node:path";
import { InvalidInput } from "../../errors/index.ts";
import { isModel, isModelClass } from "../../model/index.ts";
import { importUserModule } from "../module/load-module.ts";
import { SeldonComponent, type SeldonComponentLike, type SeldonComponentOptions } from "./component.ts";

export interface LoadComponentOptions extends SeldonComponentOptions {
  /** Constructor arguments (Seldon's --parameters / graph node parameters, already typed). */
  args?: Record<string, unknown>;
}

/**
 * Imports a Seldon-style component module and wraps it: the default export, else the export named after the
 * file (Seldon's `MyModel.py` -> `class MyModel`), else the only exported class. A class is constructed with
 * one object of its parameters (`new MyModel({ alpha: 0.5 })`); an exported object is used as it is.
 */
export async function loadSeldonComponent(file: string, name: string, options: LoadComponentOptions = {}): Promise<SeldonComponent> {
  const mod = await importUserModule(file);
  const picked = pickComponent(mod, file);
  if (isModelClass(picked) || isModel(picked)) {
    throw new InvalidInput(`${file} exports a tserve Model; serve it without --seldon (Seldon mode wraps plain classes with predict(X, names, meta))`);
  }
  let user: SeldonComponentLike;
  try {
    user = typeof picked === "function" ? new (picked as new (args: Record<string, unknown>) => SeldonComponentLike)({ ...options.args }) : (picked as SeldonComponentLike);
  } catch (err) {
    throw new InvalidInput(`Constructing the Seldon component in ${file} failed: ${(err as Error).message}`, { cause: err });
  }
  return new SeldonComponent(user, name, options);
}

function isClass(v: unknown): boolean {
  return typeof v === "function" && /^class[\s{]/.test(Function.prototype.toString.call(v));
}

function pickComponent(mod: Record<string, unknown>, file: string): unknown {
  const dflt = (mod.default as Record<string, unknown> | undefined)?.default ?? mod.default;
  if (dflt !== undefined && (typeof dflt === "function" || typeof dflt === "object")) return dflt;
  const stem = basename(file, extname(file));
  if (typeof mod[stem] === "function") return mod[stem];
  const classes = Object.entries(mod).filter(([, v]) => isClass(v));
  if (classes.length === 1) return classes[0][1];
  throw new InvalidInput(
    classes.length > 1
      ? `${file} exports several classes (${classes.map(([k]) => k).join(", ")}); make the component the default export or name it ${stem}`
      : `${file} does not export a component class: export default class ${stem} { predict(X, names, meta) { … } }`,
  );
}
