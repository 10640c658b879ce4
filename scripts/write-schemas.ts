/**
 * Writes the JSON Schema files editors use for tserve's configuration files:
 *   npx tsx scripts/write-schemas.ts
 * schemas/model-settings.schema.json: model-settings.json, with the built-in runtimes' names and parameters.
 * schemas/inference-graph.schema.json: a KServe InferenceGraph resource.
 * schemas/seldon-deployment.schema.json: a SeldonDeployment (the graph parts tserve reads).
 * A test (test/unit/runtime/schemas.test.ts) fails when a committed file differs from what this writes.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  INFERENCE_GRAPH_SCHEMA_FILE,
  inferenceGraphSchemaText,
  SELDON_DEPLOYMENT_SCHEMA_FILE,
  seldonDeploymentSchemaText,
} from "../packages/server/src/graph/index.ts";
import { MODEL_SETTINGS_SCHEMA_FILE, modelSettingsSchemaText } from "../packages/server/src/runtime/index.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const files: [string, string][] = [
  [MODEL_SETTINGS_SCHEMA_FILE, modelSettingsSchemaText()],
  [INFERENCE_GRAPH_SCHEMA_FILE, inferenceGraphSchemaText()],
  [SELDON_DEPLOYMENT_SCHEMA_FILE, seldonDeploymentSchemaText()],
];
for (const [file, text] of files) {
  const target = join(root, file);
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, text);
  process.stdout.write(`wrote ${file}\n`);
}
