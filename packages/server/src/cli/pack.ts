import { stat } from "node:fs/promises";
import { basename, relative, resolve } from "node:path";
import { isTServeError } from "../errors/index.ts";
import { formatOfName, packDirectory } from "../storage/index.ts";
import { defineFlags, HELP_FLAG, suggest, UsageError } from "./args.ts";

/** pack's flags, for the nearest-flag suggestion (pack parses its own `-o FILE`/`-oFILE`). */
const PACK_FLAGS = defineFlags({ output: { type: "string", aliases: ["o"], help: "the archive to write" }, ...HELP_FLAG });

export const PACK_USAGE = `Usage: tserve pack DIR [-o OUTPUT]

Packs the contents of a model folder (numbered version folders, model-settings.json, model files) into a
deterministic archive: entries sorted, fixed times, owners and modes, so the same folder gives the same bytes.
The format follows OUTPUT's extension: .tar.gz or .tgz (default), .tar or .zip. Symlinks are refused.
Serve the archive with \`tserve serve OUTPUT\`, or upload it to a running server:
  curl -H "Authorization: Bearer $TOKEN" --data-binary @OUTPUT http://HOST:8080/v2/repository/models/NAME/upload

Options:
  -o, --output FILE   the archive to write (default: DIR's name + .tar.gz, in the current folder)
  -h, --help          show this help`;

const MODEL_FILE = /\.(onnx|ts|mts|js|mjs|cjs|cts)$/;

function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function unknownOption(arg: string): string {
  const near = arg.startsWith("--") ? suggest(arg.slice(2).split("=")[0], PACK_FLAGS) : undefined;
  return `Unknown option ${arg}${near ? `; did you mean ${near}?` : ""}`;
}

/** `tserve pack DIR [-o OUTPUT]`; returns the exit code. */
export async function pack(argv: string[]): Promise<number> {
  let output: string | undefined;
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-h" || arg === "--help") {
      process.stdout.write(`${PACK_USAGE}\n`);
      return 0;
    }
    if (arg === "-o" || arg === "--output") {
      output = argv[++i];
      if (output === undefined) throw new UsageError(`${arg} needs a file name`);
    } else if (arg.startsWith("--output=")) output = arg.slice("--output=".length);
    else if (arg.startsWith("-o") && arg.length > 2) output = arg.slice(2);
    else if (arg.startsWith("-") && arg !== "-") throw new UsageError(`${unknownOption(arg)}\n\n${PACK_USAGE}`);
    else positionals.push(arg);
  }
  if (positionals.length !== 1) throw new UsageError(`pack takes one folder${positionals.length ? `, got ${positionals.length}` : ""}\n\n${PACK_USAGE}`);
  const dir = positionals[0];
  const info = await stat(dir).catch(() => undefined);
  if (!info) throw new UsageError(`${dir} does not exist`);
  if (!info.isDirectory()) throw new UsageError(`${dir} is not a folder; tserve pack packs a model folder`);
  const target = output ?? `${basename(resolve(dir))}.tar.gz`;
  if (!formatOfName(target)) throw new UsageError(`Cannot tell the archive format of ${target}: name it .tar.gz, .tgz, .tar or .zip`);

  let result;
  try {
    result = await packDirectory(dir, target);
  } catch (err) {
    if (!isTServeError(err)) throw err;
    process.stderr.write(`tserve pack: ${err.message}\n`);
    return 1;
  }
  const shown = relative(process.cwd(), result.output) || result.output;
  const lines = result.entries.map((e) => (e.type === "directory" ? `  ${e.path}/` : `  ${e.path}  ${humanBytes(e.size)}`));
  process.stdout.write(
    `packed ${dir} into ${shown} (${result.format}, ${humanBytes(result.archiveBytes)}):\n${lines.join("\n")}\n` +
      `${result.files} file${result.files === 1 ? "" : "s"}, ${humanBytes(result.bytes)}\n`,
  );
  if (!result.entries.some((e) => e.type === "file" && MODEL_FILE.test(e.path) && !e.path.endsWith(".d.ts"))) {
    process.stderr.write(`tserve pack: note: ${dir} holds no .onnx file or model module; tserve will not find a model to serve in it\n`);
  }
  return 0;
}
