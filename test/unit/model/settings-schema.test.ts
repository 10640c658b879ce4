import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidInput } from "../../../packages/server/src/errors/index.ts";
import { closest, parseModelSettings, readModelSettings } from "../../../packages/server/src/model/index.ts";

function message(raw: unknown, options?: { runtimes?: string[] }): string {
  try {
    parseModelSettings(raw, "model-settings.json", options);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInput);
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

describe("model-settings.json unknown keys", () => {
  it("name the key by its JSON pointer and suggest the nearest setting", () => {
    expect(message({ versionPolcy: { all: {} } })).toBe("model-settings.json: /versionPolcy is not a setting; did you mean versionPolicy?");
    expect(message({ ModelFile: "m.onnx" })).toBe("model-settings.json: /ModelFile is not a setting; did you mean modelFile?");
    expect(message({ class_lables: ["a"] })).toBe("model-settings.json: /class_lables is not a setting; did you mean class_labels?");
  });

  it("without a close match, list the settings", () => {
    expect(message({ implementation: "mlserver_sklearn.SKLearnModel" })).toMatch(
      /^model-settings.json: \/implementation is not a setting \(the settings here: name, runtime, modelFile, .*classLabels, class_labels, logger\)$/,
    );
  });

  it("nested: inside versionPolicy and inside an input", () => {
    expect(message({ versionPolicy: { latest: { numVersion: 2 } } })).toBe(
      "model-settings.json: /versionPolicy/latest/numVersion is not a setting; did you mean numVersions?",
    );
    expect(message({ inputs: [{ name: "x", datatype: "FP32", shape: [1], datatyp: "x" }] })).toBe(
      "model-settings.json: /inputs/0/datatyp is not a setting; did you mean datatype?",
    );
  });

  it("are reported before type errors", () => {
    expect(message({ name: 3, runtim: "onnx" })).toMatch(/\/runtim is not a setting; did you mean runtime\?/);
  });
});

describe("model-settings.json wrong types name the key and what it must be", () => {
  it.each([
    [{ name: 3 }, "'name' must be a non-empty string, got 3"],
    [{ modelFile: ["a"] }, `'modelFile' must be a string, got ["a"]`],
    [{ parameters: "x" }, `'parameters' must be an object, got "x"`],
    [{ inputs: {} }, "'inputs' must be a list of objects, got {}"],
    [{ inputs: [{ datatype: "FP32", shape: [1] }] }, "inputs[0] needs a 'name'"],
    [{ inputs: [{ name: "x", datatype: "FLOAT", shape: [1] }] }, /^inputs\[0\]\.datatype must be one of "BOOL", .*"BYTES".*, got "FLOAT"$/],
    [{ outputs: [{ name: "y", datatype: "FP32", shape: [-2] }] }, "outputs[0].shape must be a list of integers (-1 for a variable dimension), got [-2]"],
    [{ versionPolicy: "all" }, `'versionPolicy' must be one of {latest: {numVersions}}, {all: {}}, {specific: {versions}}, got "all"`],
    [{ versionPolicy: { latest: { numVersions: 0 } } }, "versionPolicy.latest.numVersions must be an integer >= 1, got 0"],
    [{ versionPolicy: { specific: { versions: [] } } }, "versionPolicy.specific.versions must be a non-empty list of positive integers, got []"],
    [{ version_policy: { specific: { versions: [0] } } }, "version_policy.specific.versions must be a non-empty list of positive integers, got [0]"],
    [{ classLabels: [1, 2] }, "'classLabels' must be a list of strings, got [1,2]"],
    [{ versionLabels: { stable: 1.5 } }, "versionLabels.stable must be a version number (a positive integer), got 1.5"],
  ])("%j", (raw, expected) => {
    const text = message(raw).replace(/^model-settings.json: /, "");
    if (typeof expected === "string") expect(text).toBe(expected);
    else expect(text).toMatch(expected);
  });

  it("`runtime` is one of the names given (a runtime registry's), any name otherwise", () => {
    expect(message({ runtime: "tf" }, { runtimes: ["onnx", "module"] })).toBe(`model-settings.json: 'runtime' must be one of "onnx", "module", got "tf"`);
    expect(parseModelSettings({ runtime: "tf" }).runtime).toBe("tf");
    expect(message({ runtime: "" })).toMatch(/'runtime' must be a non-empty string/);
  });

  it("the root must be an object", () => {
    expect(message([1])).toBe("model-settings.json must be an object");
  });
});

describe("model-settings.json accepted forms stay accepted", () => {
  it("camelCase and snake_case keys, numeric-string labels, defaults", () => {
    expect(
      parseModelSettings({
        name: "m",
        runtime: "onnx",
        model_file: "a.onnx",
        version_policy: { latest: { num_versions: 2 } },
        inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4], parameters: { content_type: "np" } }],
        parameters: { intraOpNumThreads: 2 },
        version_labels: { stable: 1, canary: "2" },
        class_labels: ["a", "b"],
      }),
    ).toEqual({
      name: "m",
      runtime: "onnx",
      modelFile: "a.onnx",
      versionPolicy: { latest: { numVersions: 2 } },
      inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
      parameters: { intraOpNumThreads: 2 },
      versionLabels: { stable: 1, canary: 2 },
      classLabels: ["a", "b"],
    });
    expect(parseModelSettings({ versionPolicy: { latest: {} } }).versionPolicy).toEqual({ latest: { numVersions: 1 } });
    expect(parseModelSettings({ versionPolicy: { all: {} } }).versionPolicy).toEqual({ all: {} });
    expect(parseModelSettings({ versionPolicy: { specific: { versions: [1, 3] } } }).versionPolicy).toEqual({ specific: { versions: [1, 3] } });
    expect(parseModelSettings({})).toEqual({});
  });

  it("an empty versionPolicy still says which forms there are", () => {
    expect(message({ versionPolicy: {} })).toBe(
      "model-settings.json: versionPolicy must be one of {latest: {numVersions}}, {all: {}}, {specific: {versions}}",
    );
  });

  it("readModelSettings names the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tserve-settings-"));
    try {
      await writeFile(join(dir, "model-settings.json"), JSON.stringify({ versionPolcy: { all: {} } }));
      await expect(readModelSettings(dir)).rejects.toThrow(`${join(dir, "model-settings.json")}: /versionPolcy is not a setting; did you mean versionPolicy?`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("closest", () => {
  it("ignores case and underscores, then allows a small edit distance", () => {
    expect(closest("model_file", ["modelFile", "name"])).toBe("modelFile");
    expect(closest("versionPolcy", ["versionPolicy", "version_policy"])).toBe("versionPolicy");
    expect(closest("implementation", ["name", "runtime"])).toBeUndefined();
  });
});
