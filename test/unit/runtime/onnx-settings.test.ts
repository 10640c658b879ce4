import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidInput } from "../../../packages/server/src/errors/index.ts";
import { builtinRuntimes, OnnxModel } from "../../../packages/server/src/runtime/index.ts";
import { FIXTURES } from "../../helpers/server.ts";

const SCALE = join(FIXTURES, "models", "scale", "1");

describe("ONNX inputs named in model-settings.json", () => {
  it("an input absent from the graph fails the load, naming it and the graph's inputs", async () => {
    const probe = new OnnxModel("scale", { path: join(SCALE, "model.onnx") });
    await probe.load();
    const real = probe.inputs;
    await probe.unload();

    const model = await builtinRuntimes().create(
      {
        name: "scale",
        dir: SCALE,
        settings: { inputs: [...real, { name: "imgae", datatype: "FP32", shape: [-1, 3] }] },
        versions: [{ dir: SCALE }],
      },
      { dir: SCALE },
    );
    const err = await Promise.resolve(model.load()).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as Error).message).toBe(
      `Model scale: model-settings.json names input 'imgae', which model.onnx does not have; its inputs are: ${real.map((m) => m.name).join(", ")}`,
    );
    expect(model.ready).toBe(false);
    expect((model as OnnxModel).session).toBeUndefined();
  });

  it("inputs the graph has override its metadata as before", async () => {
    const probe = new OnnxModel("scale", { path: join(SCALE, "model.onnx") });
    await probe.load();
    const fixed = probe.inputs.map((m) => ({ ...m, shape: m.shape.map((d) => (d === -1 ? 2 : d)) }));
    await probe.unload();
    const model = new OnnxModel("scale", { path: join(SCALE, "model.onnx"), inputs: fixed });
    await model.load();
    expect(model.inputs).toEqual(fixed);
    await model.unload();
  });
});
