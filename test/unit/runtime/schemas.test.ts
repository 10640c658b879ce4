import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MODEL_SETTINGS_SCHEMA_FILE, modelSettingsSchemaText } from "../../../src/runtime/index.ts";

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
});
