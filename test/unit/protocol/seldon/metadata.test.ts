import { describe, expect, it } from "vitest";
import { buildSeldonMetadata, validateSeldonMetadata } from "../../../../packages/server/src/protocol/seldon/metadata.ts";

const DEFAULTS = { name: "my-image", versions: ["0.1"] };

function errorOf(doc: unknown): string {
  const result = validateSeldonMetadata(doc);
  if (result.ok) throw new Error(`expected ${JSON.stringify(doc)} to be invalid`);
  return result.error;
}

describe("validateSeldonMetadata: valid documents", () => {
  const valid: [string, unknown][] = [
    ["an empty document", {}],
    [
      "V2 tensors (Seldon's documented example)",
      {
        name: "my-model",
        versions: ["my-model/v1"],
        platform: "platform-name",
        inputs: [{ name: "input", datatype: "BYTES", shape: [1, 4] }],
        outputs: [{ name: "output", datatype: "BYTES", shape: [3] }],
      },
    ],
    ["a V2 tensor with a dynamic dimension", { inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }] }],
    ["a V2 tensor with fields left out (none is required)", { inputs: [{ name: "x" }, {}] }],
    [
      "v1 array messagetypes",
      {
        inputs: [
          { messagetype: "tensor", schema: { names: ["a", "b"], shape: [2] } },
          { messagetype: "ndarray", schema: { shape: [2, 2] } },
          { messagetype: "tftensor" },
        ],
      },
    ],
    ["jsonData with any schema", { inputs: [{ messagetype: "jsonData", schema: { type: "object", properties: {} } }] }],
    ["strData and binData", { inputs: [{ messagetype: "strData" }], outputs: [{ messagetype: "binData" }] }],
    ["a custom messagetype", { inputs: [{ messagetype: "image/png", schema: { width: 224 } }, { messagetype: "custom" }] }],
    ["custom string tags", { custom: { author: "me", "build-id": "42" } }],
  ];
  for (const [what, doc] of valid) {
    it(`accepts ${what}`, () => {
      expect(validateSeldonMetadata(doc)).toEqual({ ok: true, value: doc });
    });
  }
});

describe("validateSeldonMetadata: invalid documents name the problem", () => {
  const invalid: [string, unknown, string | RegExp][] = [
    ["a list", [], "metadata must be an object, got an array"],
    ["a string", "name: x", 'metadata must be an object, got string "name: x"'],
    ["an unknown top-level key", { name: "m", version: "1" }, /^metadata has unexpected property "version"/],
    ["a numeric name", { name: 1 }, "metadata.name must be a string, got number 1"],
    ["versions as a string", { versions: "v1" }, 'metadata.versions must be a list of strings, got string "v1"'],
    ["a non-string version", { versions: ["v1", 2] }, "metadata.versions[1] must be a string, got number 2"],
    ["a null platform", { platform: null }, "metadata.platform must be a string, got null"],
    ["inputs as an object", { inputs: { name: "x" } }, "metadata.inputs must be a list, got an object"],
    ["a non-string custom value", { custom: { n: 1 } }, "metadata.custom.n must be a string, got number 1"],
    [
      "an unknown datatype",
      { inputs: [{ name: "x", datatype: "FLOAT32", shape: [1] }] },
      /^metadata\.inputs\[0\]\.datatype must be one of BOOL, UINT8, .*BYTES, got string "FLOAT32"$/,
    ],
    ["a fractional shape", { outputs: [{ name: "y", shape: [1.5] }] }, "metadata.outputs[0].shape[0] must be an integer, got number 1.5"],
    ["a tensor with an extra field", { inputs: [{ name: "x", dtype: "FP32" }] }, /^metadata\.inputs\[0\] has unexpected property "dtype"/],
    [
      "an array schema with an extra field",
      { inputs: [{ messagetype: "ndarray", schema: { names: ["a"], dtype: "f" } }] },
      /^metadata\.inputs\[0\]\.schema has unexpected property "dtype"/,
    ],
    [
      "non-string names in an array schema",
      { inputs: [{ messagetype: "tensor", schema: { names: [1] } }] },
      "metadata.inputs[0].schema.names[0] must be a string, got number 1",
    ],
    ["strData with a schema", { inputs: [{ messagetype: "strData", schema: {} }] }, /^metadata\.inputs\[0\] has unexpected property "schema"/],
    ["a non-string messagetype", { inputs: [{ messagetype: 3 }] }, "metadata.inputs[0].messagetype must be a string, got number 3"],
    ["a messagetype mixed with tensor fields", { inputs: [{ messagetype: "ndarray", name: "x" }] }, /unexpected property "name"/],
    ["a custom messagetype with a list schema", { inputs: [{ messagetype: "mine", schema: [] }] }, "metadata.inputs[0].schema must be an object, got an array"],
    ["a non-object item", { inputs: ["x"] }, 'metadata.inputs[0] must be an object, got string "x"'],
  ];
  for (const [what, doc, message] of invalid) {
    it(`rejects ${what}`, () => {
      const error = errorOf(doc);
      if (typeof message === "string") expect(error).toBe(message);
      else expect(error).toMatch(message);
    });
  }
});

describe("buildSeldonMetadata", () => {
  it("starts from the defaults", () => {
    const doc = buildSeldonMetadata({ defaults: DEFAULTS });
    expect(doc).toEqual({ name: "my-image", versions: ["0.1"], platform: "", inputs: [], outputs: [], custom: {} });
    expect(validateSeldonMetadata(doc).ok).toBe(true);
  });

  it("lets the model's metadata override defaults key by key", () => {
    const fromModel = { name: "iris", inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }] };
    expect(buildSeldonMetadata({ fromModel, defaults: DEFAULTS })).toEqual({
      name: "iris",
      versions: ["0.1"],
      platform: "",
      inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
      outputs: [],
      custom: {},
    });
  });

  it("lets MODEL_METADATA as JSON win over the model, replacing whole top-level keys", () => {
    const fromModel = { name: "iris", platform: "sklearn", custom: { a: "1", b: "2" } };
    const env = '{"platform":"onnx","custom":{"b":"3"}}';
    expect(buildSeldonMetadata({ fromModel, env, defaults: DEFAULTS })).toMatchObject({
      name: "iris",
      platform: "onnx",
      custom: { b: "3" },
    });
  });

  it("reads MODEL_METADATA as YAML", () => {
    const env = [
      "name: my-model",
      "versions: [my-model/v1]",
      "platform: platform-name",
      "inputs:",
      "- datatype: BYTES",
      "  name: input",
      "  shape: [ 1, 4 ]",
      "outputs:",
      "- messagetype: ndarray",
      "  schema:",
      "    names: [a, b, c]",
      "",
    ].join("\n");
    const doc = buildSeldonMetadata({ fromModel: { name: "from-model", outputs: [] }, env, defaults: DEFAULTS });
    const result = validateSeldonMetadata(doc);
    expect(result).toEqual({
      ok: true,
      value: {
        name: "my-model",
        versions: ["my-model/v1"],
        platform: "platform-name",
        inputs: [{ datatype: "BYTES", name: "input", shape: [1, 4] }],
        outputs: [{ messagetype: "ndarray", schema: { names: ["a", "b", "c"] } }],
        custom: {},
      },
    });
  });

  it("ignores an unset or blank MODEL_METADATA and a model without metadata", () => {
    const base = buildSeldonMetadata({ defaults: DEFAULTS });
    expect(buildSeldonMetadata({ env: "", defaults: DEFAULTS })).toEqual(base);
    expect(buildSeldonMetadata({ env: "  \n", fromModel: null, defaults: DEFAULTS })).toEqual(base);
  });

  it("makes the result invalid, without throwing, when MODEL_METADATA is not YAML or JSON", () => {
    const doc = buildSeldonMetadata({ env: "name: [unclosed", defaults: DEFAULTS });
    expect(errorOf(doc)).toMatch(/^MODEL_METADATA: not valid YAML or JSON \(/);
    const json = buildSeldonMetadata({ env: '{"name": "x"', defaults: DEFAULTS });
    expect(validateSeldonMetadata(json).ok).toBe(false);
  });

  it("makes the result invalid when MODEL_METADATA is not a mapping", () => {
    expect(errorOf(buildSeldonMetadata({ env: "just-a-string", defaults: DEFAULTS }))).toBe(
      'MODEL_METADATA: must be a YAML or JSON mapping, got string "just-a-string"',
    );
    expect(errorOf(buildSeldonMetadata({ env: "- a\n- b", defaults: DEFAULTS }))).toBe(
      "MODEL_METADATA: must be a YAML or JSON mapping, got an array",
    );
  });

  it("makes the result invalid when MODEL_METADATA has a key outside the schema or a wrong type", () => {
    expect(errorOf(buildSeldonMetadata({ env: "author: me", defaults: DEFAULTS }))).toMatch(
      /^metadata has unexpected property "author"/,
    );
    expect(errorOf(buildSeldonMetadata({ env: "platform:", defaults: DEFAULTS }))).toBe(
      "metadata.platform must be a string, got null",
    );
  });

  it("makes the result invalid when the model's metadata is not an object", () => {
    expect(errorOf(buildSeldonMetadata({ fromModel: ["x"], defaults: DEFAULTS }))).toBe(
      "initMetadata: must return an object, got an array",
    );
  });

  it("keeps a __proto__ key from MODEL_METADATA as an (invalid) property", () => {
    const doc = buildSeldonMetadata({ env: '{"__proto__": {"polluted": "yes"}}', defaults: DEFAULTS }) as Record<string, unknown>;
    expect(Object.getPrototypeOf(doc)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(errorOf(doc)).toMatch(/unexpected property "__proto__"/);
  });
});
