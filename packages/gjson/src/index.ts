/**
 * GJSON paths for TypeScript: read values out of raw JSON text with the GJSON path syntax (keys,
 * indexes, wildcards, `#` counts and mappings, queries, modifiers, multipaths, literals, JSON Lines).
 * Results keep the raw text they were found as.
 */
export { get, getMany } from "./get.ts";
export { parse } from "./parse.ts";
export { valid } from "./valid.ts";
export { Result, type JSONValue, type ResultType } from "./result.ts";
export { addModifier, modifierExists, removeModifier, type Modifier } from "./modifiers.ts";
export { EXTRA_MODIFIERS, caseModifier, pushModifier, stringModifier } from "./extra-modifiers.ts";
export { prettyJSON, uglyJSON, DEFAULT_PRETTY, type PrettyOptions } from "./pretty.ts";
export { matchPattern } from "./match.ts";
