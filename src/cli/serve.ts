import { readdir, stat } from "node:fs/promises";
import { basename, dirname, extname, resolve } from "node:path";
import { discoverModel, type ModelSource, SETTINGS_FILE } from "../model/index.ts";
import { MODULE_EXTENSIONS } from "../runtime/module/load-module.ts";
import { DEFAULT_MAX_BUFFER_SIZE, ModelServer } from "../server/index.ts";
import { type FlagSpec, formatHelp, parseArgs, UsageError } from "./args.ts";

export const SERVE_FLAGS: FlagSpec[] = [
  { name: "http_port", type: "number", default: 8080, env: "TSERVE_HTTP_PORT", help: "REST port" },
  { name: "host", type: "string", default: "0.0.0.0", env: "TSERVE_HOST", help: "address to listen on" },
  {
    name: "model_name",
    type: "string",
    env: "TSERVE_MODEL_NAME",
    help: "name to serve a single model under (default: the file or folder name)",
  },
  {
    name: "model_repository",
    aliases: ["model-repository"],
    type: "string",
    env: "TSERVE_MODEL_REPOSITORY",
    help: "a folder of model folders to serve",
  },
  {
    name: "max_buffer_size",
    type: "number",
    default: DEFAULT_MAX_BUFFER_SIZE,
    env: "TSERVE_MAX_BUFFER_SIZE",
    help: "largest request body in bytes; larger bodies get 413",
  },
  // Parsed for KServe compatibility; served by later features.
  { name: "grpc_port", type: "number", default: 8081, env: "TSERVE_GRPC_PORT", help: "gRPC port (not served yet)" },
  { name: "enable_grpc", type: "boolean", default: true, help: "serve gRPC (not served yet)" },
  { name: "workers", type: "number", default: 1, env: "TSERVE_WORKERS", help: "worker processes (currently 1)" },
];

export const SERVE_USAGE = `Usage: tserve serve [MODEL] [options]

MODEL is a .onnx file, a TypeScript/JavaScript module exporting a Model class, or a model folder
(model.onnx or a module, optionally in numbered version folders, with an optional ${SETTINGS_FILE}).

Options:
${formatHelp(SERVE_FLAGS)}`;

const MODEL_FILE = /\.onnx$/;

/** Works out what a positional MODEL argument is: one file, one model folder, or a repository of them. */
export async function resolveModelArg(
  path: string,
  modelName?: string,
): Promise<{ source?: ModelSource; repository?: string }> {
  const full = resolve(path);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(full);
  } catch {
    throw new UsageError(`${path} does not exist`);
  }
  if (info.isFile()) {
    const file = basename(full);
    const isOnnx = MODEL_FILE.test(file);
    if (!isOnnx && !MODULE_EXTENSIONS.test(file))
      throw new UsageError(`${path} is neither a .onnx file nor a .ts/.js module`);
    const name = modelName ?? basename(file, extname(file));
    return {
      source: {
        name,
        dir: dirname(full),
        settings: { runtime: isOnnx ? "onnx" : "module", modelFile: file },
        versions: [{ dir: dirname(full) }],
      },
    };
  }
  const entries = await readdir(full, { withFileTypes: true });
  const looksLikeModel = entries.some(
    (e) =>
      (e.isFile() && (e.name === SETTINGS_FILE || MODEL_FILE.test(e.name) || MODULE_EXTENSIONS.test(e.name))) ||
      (e.isDirectory() && /^[1-9]\d*$/.test(e.name)),
  );
  if (looksLikeModel) return { source: await discoverModel(full, modelName) };
  return { repository: full };
}

export async function serve(argv: string[]): Promise<ModelServer | undefined> {
  const { positionals, flags } = parseArgs(argv, [
    ...SERVE_FLAGS,
    { name: "help", type: "boolean", help: "show this help" },
  ]);
  if (flags.help) {
    process.stdout.write(`${SERVE_USAGE}\n`);
    return undefined;
  }
  if (positionals.length > 1) throw new UsageError(`serve takes one MODEL argument, got ${positionals.length}`);
  let repository = flags.model_repository ? resolve(String(flags.model_repository)) : undefined;
  const sources: ModelSource[] = [];
  if (positionals[0]) {
    const resolved = await resolveModelArg(positionals[0], flags.model_name as string | undefined);
    if (resolved.source) sources.push(resolved.source);
    if (resolved.repository) {
      if (repository) throw new UsageError("Give either a model repository folder or --model-repository, not both");
      repository = resolved.repository;
    }
  }
  if (!repository && sources.length === 0) {
    throw new UsageError(`Nothing to serve: give a MODEL path or --model-repository.\n\n${SERVE_USAGE}`);
  }
  const server = new ModelServer({
    httpPort: flags.http_port as number,
    host: flags.host as string,
    modelRepository: repository,
    maxBufferSize: flags.max_buffer_size as number,
  });
  await server.start([], sources);
  return server;
}
