import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Type } from "@sinclair/typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidInput } from "../../../packages/server/src/errors/index.ts";
import { Model, type ModelSource } from "../../../packages/server/src/model/index.ts";
import { builtinRuntimes, type Runtime, RuntimeRegistry } from "../../../packages/server/src/runtime/index.ts";
import { resolveModelArg } from "../../../packages/server/src/cli/serve.ts";

const folder = (files: string[], settings = {}) => ({ dir: "/m", files, settings });
const pick = (files: string[], settings = {}) => builtinRuntimes().pick(folder(files, settings))?.name;

describe("recognising a folder with no runtime in its settings", () => {
  it.each([
    [["start.sh", "predictor.ts", "model.onnx"], "custom"],
    [["predictor.ts", "model.onnx"], "openbayes"],
    [["model.onnx", "model.ts"], "onnx"],
    [["weights.onnx"], "onnx"],
    [["model.ts"], "module"],
    [["helper.js", "types.d.ts"], "module"],
    [["types.d.ts", "README.md"], undefined],
  ])("%j -> %s", (files, runtime) => {
    expect(pick(files)).toBe(runtime);
  });

  it("asks runtimes in priority order: custom, openbayes, onnx, module (seldon only by name)", () => {
    expect(builtinRuntimes().recognisers().map((r) => r.name)).toEqual(["custom", "openbayes", "onnx", "module"]);
  });

  it("settings' modelFile counts: a .onnx modelFile makes the folder onnx even beside a module", () => {
    expect(pick(["model.ts"], { modelFile: "sub/net.onnx" })).toBe("onnx");
  });

  it("the runtime in settings wins over the files", () => {
    expect(pick(["model.onnx", "start.sh"], { runtime: "module" })).toBe("module");
    expect(pick(["model.ts"], { runtime: "seldon" })).toBe("seldon");
  });

  it("an unknown runtime in settings is an error listing the registered names", () => {
    let err: unknown;
    try {
      builtinRuntimes().pick(folder(["model.onnx"], { runtime: "tensorflow" }), "m/model-settings.json");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as Error).message).toBe(
      `m/model-settings.json: 'runtime' must be one of the registered runtimes "onnx", "module", "seldon", "openbayes", "custom", got "tensorflow"`,
    );
  });

  it("a single MODEL file: .onnx -> onnx, .ts/.js -> module, else none", () => {
    const runtimes = builtinRuntimes();
    expect(runtimes.forFile("iris.onnx")?.name).toBe("onnx");
    expect(runtimes.forFile("model.mts")?.name).toBe("module");
    expect(runtimes.forFile("weights.bin")).toBeUndefined();
  });

  it("refuses a second runtime with a registered name", () => {
    expect(() => builtinRuntimes().register({ name: "onnx", description: "again", create: async () => new Model("x") })).toThrow(
      /already registered/,
    );
  });
});

describe("a runtime registered in a test, touching no other file", () => {
  let dir: string;
  const created: string[] = [];
  class Echo extends Model {
    override predict(payload: unknown) {
      return payload;
    }
  }
  const echo: Runtime = {
    name: "echo",
    description: "answers with the request (*.echo files)",
    priority: 50,
    recognise: ({ files }) => files.some((f) => f.endsWith(".echo")),
    recogniseFile: (file) => file.endsWith(".echo"),
    parametersSchema: Type.Object({ volume: Type.Optional(Type.Integer()) }, { additionalProperties: true }),
    async create({ source, version }) {
      created.push(`${source.name}@${version ?? "-"}`);
      return new Echo("set-by-the-registry");
    },
  };
  const runtimes = () => builtinRuntimes().register(echo);
  const source = (settings = {}): ModelSource => ({ name: "parrot", dir, settings, versions: [{ dir }] });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tserve-registry-"));
    await writeFile(join(dir, "model.onnx"), "not used");
    await writeFile(join(dir, "voice.echo"), "");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("is picked by recognition (its priority puts it before onnx) and named after the source", async () => {
    const model = await runtimes().create(source(), { dir, version: "3" });
    expect(model).toBeInstanceOf(Echo);
    expect(model.name).toBe("parrot");
    expect(created).toContain("parrot@3");
  });

  it("is picked by name, and its name joins the settings schema's runtime values", async () => {
    const registry = new RuntimeRegistry().register(echo);
    expect(await registry.create(source({ runtime: "echo" }), { dir })).toBeInstanceOf(Echo);
    const schema = runtimes().settingsJsonSchema() as { properties: { runtime: { anyOf: { const: string }[] } } };
    expect(schema.properties.runtime.anyOf.map((v) => v.const)).toContain("echo");
  });

  it("its parameters are checked against its schema, naming the key", async () => {
    await expect(runtimes().create(source({ runtime: "echo", parameters: { volume: "loud" } }), { dir })).rejects.toThrow(
      /model-settings.json: '?parameters.volume'? must be an integer, got "loud" \(runtime "echo"\)/,
    );
  });

  it("is what the CLI recognises a MODEL file by", async () => {
    const resolved = await resolveModelArg(join(dir, "voice.echo"), undefined, runtimes());
    expect(resolved.source?.settings).toEqual({ runtime: "echo", modelFile: "voice.echo" });
  });

  it("a folder no runtime recognises cannot be served, naming its files", async () => {
    const empty = await mkdtemp(join(tmpdir(), "tserve-registry-empty-"));
    try {
      await writeFile(join(empty, "notes.txt"), "");
      await expect(new RuntimeRegistry().register(echo).create({ name: "e", dir: empty, settings: {}, versions: [] }, { dir: empty })).rejects.toThrow(
        /Cannot tell how to serve .*\(files: notes.txt\)/,
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
