import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  INFERENCE_GRAPH_SCHEMA_FILE,
  inferenceGraphSchemaText,
  SELDON_DEPLOYMENT_SCHEMA_FILE,
  seldonDeploymentSchemaText,
} from "../../../packages/server/src/graph/index.ts";
import { MODEL_SETTINGS_SCHEMA_FILE, modelSettingsSchemaText } from "../../../packages/server/src/runtime/index.ts";

const ROOT = join(import.meta.dirname, "..", "..", "..");

describe("schemas/ (JSON Schema files for editors)", () => {
  it(`${MODEL_SETTINGS_SCHEMA_FILE} is what scripts/write-schemas.ts writes (run it after changing a schema)`, async () => {
    expect(await readFile(join(ROOT, MODEL_SETTINGS_SCHEMA_FILE), "utf8")).toBe(modelSettingsSchemaText());
  });

  it("is plain JSON Schema: the registered runtimes as `runtime` values, no unknown keys", () => {
    const schema = JSON.parse(modelSettingsSchemaText());
    expect(schema.$schema).toMatch(/json-schema.org/);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.runtime.anyOf.map((v: { const: string }) => v.const)).toEqual(["onnx", "module", "seldon", "openbayes", "custom"]);
    expect(modelSettingsSchemaText()).not.toContain('"expected"');
  });

  it.each([
    [INFERENCE_GRAPH_SCHEMA_FILE, inferenceGraphSchemaText],
    [SELDON_DEPLOYMENT_SCHEMA_FILE, seldonDeploymentSchemaText],
  ])("%s is what scripts/write-schemas.ts writes (run it after changing a schema)", async (file, text) => {
    expect(await readFile(join(ROOT, file), "utf8")).toBe(text());
  });

  it("the graph schemas are plain JSON Schema, strict inside nodes and steps", () => {
    const graph = JSON.parse(inferenceGraphSchemaText());
    expect(graph.$schema).toMatch(/json-schema.org/);
    const node = graph.properties.spec.properties.nodes.patternProperties;
    const step = (Object.values(node)[0] as { properties: { steps: { items: { additionalProperties: boolean } } } }).properties.steps.items;
    expect(step.additionalProperties).toBe(false);
    expect(inferenceGraphSchemaText()).not.toContain('"expected"');

    const seldon = JSON.parse(seldonDeploymentSchemaText());
    expect(seldon.$schema).toMatch(/json-schema.org/);
    expect(seldon.definitions.SeldonGraphNode.additionalProperties).toBe(false);
    expect(seldon.definitions.SeldonGraphNode.properties.children.anyOf[0].items).toEqual({ $ref: "#/definitions/SeldonGraphNode" });
    expect(seldon.properties.spec.properties.predictors.items.properties.graph).toEqual({ $ref: "#/definitions/SeldonGraphNode" });
    expect(seldonDeploymentSchemaText()).not.toContain('"expected"');
    expect(seldonDeploymentSchemaText()).not.toContain('"$id"');
  });
});
