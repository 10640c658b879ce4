/**
 * Writes the JSON Schema files editors use for tserve's configuration files:
 *   npx tsx scripts/write-schemas.ts
 * schemas/model-settings.schema.json: model-settings.json, with the built-in runtimes' names and parameters.
 * A test (test/unit/runtime/schemas.test.ts) fails when the committed file differs from what this writes.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { MODEL_SETTINGS_SCHEMA_FILE, modelSettingsSchemaText } from "../src/runtime/index.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, MODEL_SETTINGS_SCHEMA_FILE);
await mkdir(dirname(target), { recursive: true });
await writeFile(target, modelSettingsSchemaText());
process.stdout.write(`wrote ${MODEL_SETTINGS_SCHEMA_FILE}\n`);
