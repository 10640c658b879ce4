/**
 * Optional modifiers, not registered by default (register them with `addModifier`):
 * - `@case:upper` / `@case:lower` change the letter case of the whole JSON text;
 * - `@push:value` appends a JSON value to an array;
 * - `@string` turns the value into a JSON string holding its string view (`12` → `"12"`).
 */
import type { Modifier } from "./builtin-modifiers.ts";
import { quoteJSON } from "./json-string.ts";
import { parse } from "./parse.ts";

/** Maps each character on its own, leaving it alone when its case form is not a single character. */
function mapCase(text: string, upper: boolean): string {
  let out = "";
  for (const ch of text) {
    const mapped = upper ? ch.toUpperCase() : ch.toLowerCase();
    out += [...mapped].length === 1 ? mapped : ch;
  }
  return out;
}

export const caseModifier: Modifier = (json, arg) => {
  if (arg === "upper") return mapCase(json, true);
  if (arg === "lower") return mapCase(json, false);
  return json;
};

export const pushModifier: Modifier = (json, arg) => {
  const text = json.trim();
  if (text.length < 2 || !parse(text).isArray()) return text;
  const inside = text.slice(1, -1).trim();
  return inside.length === 0 ? "[" + arg + "]" : "[" + inside + "," + arg + "]";
};

export const stringModifier: Modifier = (json) => {
  const value = parse(json);
  return value.exists ? quoteJSON(value.str) : json;
};

/** The optional modifiers by name, ready for `addModifier(name, fn)`. */
export const EXTRA_MODIFIERS: Readonly<Record<string, Modifier>> = {
  case: caseModifier,
  push: pushModifier,
  string: stringModifier,
};
