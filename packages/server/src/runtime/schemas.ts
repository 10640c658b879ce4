import { builtinRuntimes } from "./builtin.ts";
import type { RuntimeRegistry } from "./registry.ts";

/** Where scripts/write-schemas.ts writes model-settings.json's JSON Schema, relative to the repository root. */
export const MODEL_SETTINGS_SCHEMA_FILE = "schemas/model-settings.schema.json";

/** The text of schemas/model-settings.schema.json for a registry's runtimes (default: the built-in ones). */
export function modelSettingsSchemaText(runtimes: RuntimeRegistry = builtinRuntimes()): string {
  return `${JSON.stringify(runtimes.settingsJsonSchema(), null, 2)}\n`;
}
