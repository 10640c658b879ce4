/**
 * The modifier registry and the `@name:arg` path component. A modifier rewrites the JSON it is given;
 * the built-ins are always present, custom ones are added with `addModifier`.
 */
import { BUILTIN_MODIFIERS, type EngineModifier, type Modifier } from "./builtin-modifiers.ts";
import { parse } from "./parse.ts";
import type { PathEngine } from "./result.ts";
import { leadingValueLength } from "./scanner.ts";

export type { Modifier };

const registry = new Map<string, EngineModifier>(Object.entries(BUILTIN_MODIFIERS));

/** Registers (or replaces) a modifier, used in paths as `@name` or `@name:arg`. */
export function addModifier(name: string, fn: Modifier): void {
  registry.set(name, fn);
}

/** Unregisters a modifier; returns whether it was registered. */
export function removeModifier(name: string): boolean {
  return registry.delete(name);
}

export function modifierExists(name: string): boolean {
  return registry.has(name);
}

/** The output of a modifier and the path left after it (starting with `.` or `|`, or empty). */
export interface ModifierOutput {
  json: string;
  rest: string;
}

/**
 * Runs the modifier component at the start of `path` (which starts with `@`) on `json`, handing it `get`.
 * Undefined when the name is not a registered modifier, so the component is read as a plain key.
 */
export function applyModifier(json: string, path: string, get: PathEngine): ModifierOutput | undefined {
  let name = path.slice(1);
  let rest = "";
  let hasArg = false;
  for (let i = 1; i < path.length; i++) {
    const c = path[i];
    if (c === ":") {
      rest = path.slice(i + 1);
      name = path.slice(1, i);
      hasArg = rest.length > 0;
      break;
    }
    if (c === "|" || c === ".") {
      rest = path.slice(i);
      name = path.slice(1, i);
      break;
    }
  }
  const fn = registry.get(name);
  if (!fn) return undefined;
  let arg = "";
  if (hasArg) {
    const lead = rest[0];
    if ((lead === "{" || lead === "[" || lead === '"') && parse(rest).exists) {
      // A JSON argument: exactly one value.
      const n = leadingValueLength(rest);
      arg = rest.slice(0, n);
      rest = rest.slice(n);
    } else {
      // A plain argument: everything up to the next `|`, brackets and strings kept whole.
      let i = 0;
      for (; i < rest.length; i++) {
        const c = rest[i];
        if (c === "|") break;
        if (c === "{" || c === "[" || c === '"' || c === "(") i += leadingValueLength(rest.slice(i)) - 1;
      }
      arg = rest.slice(0, i);
      rest = rest.slice(i);
    }
  }
  return { json: fn(json, arg, get), rest };
}
