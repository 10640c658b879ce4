import { join } from "node:path";
import { Type } from "@sinclair/typebox";
import { InvalidInput } from "../../errors/index.ts";
import type { Runtime, RuntimeFolder } from "../registry.ts";
import { OnnxModel } from "./onnx-model.ts";

const ONNX_FILE = /\.onnx$/;

/** The .onnx file of a folder: settings' modelFile when it is one, else model.onnx, else the first *.onnx. */
export function onnxFileOf({ files, settings }: Pick<RuntimeFolder, "files" | "settings">): string | undefined {
  if (settings.modelFile && ONNX_FILE.test(settings.modelFile)) return settings.modelFile;
  return files.includes("model.onnx") ? "model.onnx" : files.find((f) => ONNX_FILE.test(f));
}

const threads = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: "^[0-9]+$" })]);

/** An ONNX file served with onnxruntime-node; inputs/outputs in settings override the graph's metadata. */
export const onnxRuntime: Runtime = {
  name: "onnx",
  description: "an ONNX file (*.onnx) run with onnxruntime-node",
  priority: 20,
  recognise: (folder) => onnxFileOf(folder) !== undefined,
  recogniseFile: (file) => ONNX_FILE.test(file),
  parametersSchema: Type.Object(
    {
      intraOpNumThreads: Type.Optional(threads),
      intra_op_threads: Type.Optional(threads),
    },
    { additionalProperties: true, description: "onnxruntime session settings" },
  ),
  async create({ source, dir, files, settings, version }) {
    const file = onnxFileOf({ files, settings });
    if (!file) throw new InvalidInput(`No .onnx file in ${dir}`);
    return new OnnxModel(source.name, {
      modelDir: dir,
      parameters: settings.parameters,
      version,
      path: join(dir, file),
      inputs: settings.inputs,
      outputs: settings.outputs,
      engine: settings,
    });
  },
};
