import { createWriteStream } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { InvalidInput, PermissionDenied, TServeError, Unsupported } from "../../../errors/index.ts";
import { type DataPlane, SETTINGS_FILE } from "../../../model/index.ts";
import { MODULE_EXTENSIONS } from "../../../runtime/index.ts";
import {
  createUploadWorkDir,
  DEFAULT_MAX_UPLOAD_SIZE,
  type ExtractLimits,
  extractArchiveAs,
  findCodeFiles,
  installModelFolder,
} from "../../../storage/index.ts";
import type { Logger } from "../../logger.ts";
import type { ModelControl } from "../../model-control.ts";
import { firstHeader, sendJson } from "../../rest.ts";

export interface UploadRouteOptions {
  /** The model control check (mode, then admin token); uploads also need a token to be set at all. */
  control: ModelControl;
  /** Accept archives that hold code (modules, scripts, executables, native addons); `--allow_code_uploads`. */
  allowCodeUploads?: boolean;
  /** Largest upload body in bytes (`--max_upload_size`, default 1 GiB); larger ones get 413. */
  maxUploadSize?: number;
  /** The repository root uploads are installed into (`--model_repository`). */
  repositoryRoot?: string;
  /** Bounds on what an uploaded archive may expand to (default: TSERVE_EXTRACT_* or 4 GiB / 10,000 entries). */
  extractLimits?: Partial<ExtractLimits>;
  logger: Logger;
}

const UPLOAD_PATH = "/v2/repository/models/:name/upload";
const VERSION_FOLDER = /^0*[1-9]\d*$/; // as the repository reads them: 1, 2, 0001
const MODEL_NAME = /^[^/\\\0]+$/;

class UploadTooLarge extends TServeError {
  constructor(limit: number) {
    super(
      `The upload is larger than the maximum of ${limit} bytes (set --max_upload_size to raise it).`,
      "PAYLOAD_TOO_LARGE",
      413,
      "TSERVE_PAYLOAD_TOO_LARGE",
    );
  }
}

/**
 * `POST /v2/repository/models/{m}/upload`: installs a model archive (.tar, .tar.gz/.tgz or .zip, sent as the raw
 * body with any content type) into the repository as `<root>/<m>` and loads it, replacing the model of that name
 * atomically. Needs `Authorization: Bearer <admin token>`. The body is streamed to the repository's upload area
 * (never buffered), unpacked and checked there, then swapped in by renames; see installModelFolder.
 */
export function registerUploadRoutes(app: FastifyInstance, dataplane: DataPlane, options: UploadRouteOptions): void {
  const maxUploadSize = options.maxUploadSize ?? DEFAULT_MAX_UPLOAD_SIZE;
  // Runs before the body is read, so an unauthorised client never gets to send it to disk.
  const authorize = options.control.restHook("upload");

  // An encapsulated scope: this route alone gets the raw body as a stream instead of a buffer.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_request, payload, done) => done(null, payload));

    scope.post(UPLOAD_PATH, { onRequest: authorize }, async (request, reply) => {
      const { name } = request.params as { name: string };
      if (!MODEL_NAME.test(name) || name.startsWith(".")) {
        throw new InvalidInput(`Invalid model name '${name}': names may not contain '/', '\\' or start with '.'`);
      }
      const root = options.repositoryRoot;
      if (!root) throw new Unsupported("Uploads need a model repository to install into: start tserve with --model_repository DIR");
      const declared = Number(firstHeader(request.headers["content-length"]));
      if (declared > maxUploadSize) {
        reply.header("connection", "close");
        throw new UploadTooLarge(maxUploadSize);
      }
      const body = request.body as Readable | undefined;
      if (!body || declared === 0) throw new InvalidInput("The upload is empty: send the model archive (.tar.gz, .tgz, .tar or .zip) as the request body");

      const work = await createUploadWorkDir(root);
      let installed: { name: string; versions: string[]; state: "READY" };
      try {
        const archive = join(work, "upload.archive");
        let size: number;
        try {
          size = await receive(body, archive, maxUploadSize);
        } catch (err) {
          if (err instanceof UploadTooLarge) reply.header("connection", "close");
          throw err;
        }
        if (size === 0) throw new InvalidInput("The upload is empty: send the model archive (.tar.gz, .tgz, .tar or .zip) as the request body");
        const extracted = await extractArchiveAs(archive, join(work, "unpacked"), options.extractLimits, "the uploaded archive");
        await rm(archive, { force: true });
        if (!options.allowCodeUploads) await refuseCode(extracted.root);
        await checkServable(extracted.root, name);
        // The swap and the load are one change of the model: a load, unload or upload of it meanwhile gets 409.
        await dataplane.withModelChange(name, "upload", (change) =>
          installModelFolder({
            root,
            name,
            staged: extracted.root,
            workDir: work,
            activate: () => dataplane.install(name, change),
            log: (level, message) => options.logger.log(level, message),
          }),
        );
        const versions = dataplane.versions(name);
        options.logger.log(
          "info",
          `installed model ${name}${versions.length ? ` (versions ${versions.join(", ")})` : ""} from an upload of ${size} bytes (${extracted.files} files, ${extracted.bytes} bytes unpacked)`,
        );
        installed = { name, versions, state: "READY" };
      } finally {
        await rm(work, { recursive: true, force: true });
      }
      // Answered only once the work folder is gone: nothing of the upload is left when the client hears back.
      return sendJson(reply, 200, installed);
    });
  });
}

/**
 * Streams a request body to a new file, stopping at `max` bytes with UploadTooLarge. The request is left
 * readable (paused data is discarded) so that the 413 answer can still be sent on it.
 */
function receive(body: Readable, file: string, max: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(file, { flags: "wx" });
    let bytes = 0;
    let settled = false;
    let ended = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      body.off("data", onData);
      body.resume(); // discard the rest rather than leave the client blocked
      out.destroy();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > max) return fail(new UploadTooLarge(max));
      if (!out.write(chunk)) {
        body.pause();
        out.once("drain", () => body.resume());
      }
    };
    body.on("data", onData);
    body.once("end", () => {
      ended = true;
      if (!settled) out.end();
    });
    body.once("error", (err) => fail(new InvalidInput(`The upload was interrupted: ${err.message}`)));
    body.once("close", () => {
      if (!ended) fail(new InvalidInput("The upload was interrupted before the whole archive arrived"));
    });
    out.once("error", fail);
    out.once("finish", () => {
      if (settled) return;
      settled = true;
      resolve(bytes);
    });
  });
}

class CodeUploadRefused extends PermissionDenied {
  constructor(message: string) {
    super(message, "TSERVE_CODE_UPLOAD_REFUSED");
  }
}

/** Without --allow_code_uploads, an archive may hold model files only: anything that would run is refused (403). */
async function refuseCode(dir: string): Promise<void> {
  const code = await findCodeFiles(dir, 5);
  if (code.length === 0) return;
  const list = code.map((c) => `'${c.path}' (${c.kind})`).join(", ");
  throw new CodeUploadRefused(
    `The uploaded archive holds code, which would run with the server's rights: ${list}. This server accepts model files only (such as .onnx and model-settings.json); start it with --allow_code_uploads to accept modules and scripts from admin-token holders.`,
  );
}

/**
 * Refuses an archive that holds no servable model before anything is swapped: the model folder (or one of its
 * numbered version folders) must hold a .onnx file or a model module, and a model-settings.json `name` must
 * agree with the name it is uploaded under (at the next start the folder is served under that name).
 */
async function checkServable(dir: string, name: string): Promise<void> {
  const servable = (files: string[]) => files.some((f) => f.endsWith(".onnx") || (MODULE_EXTENSIONS.test(f) && !f.endsWith(".d.ts")));
  const entries = await readdir(dir, { withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => e.name);
  let ok = servable(files);
  for (const e of entries) {
    if (ok) break;
    if (e.isDirectory() && VERSION_FOLDER.test(e.name)) {
      const inner = await readdir(join(dir, e.name), { withFileTypes: true });
      ok = servable(inner.filter((f) => f.isFile()).map((f) => f.name));
    }
  }
  if (!ok) {
    const found = entries.map((e) => (e.isDirectory() ? `${e.name}/` : e.name)).sort();
    throw new InvalidInput(
      `The uploaded archive holds no servable model: expected a .onnx file or a model module (model.ts / model.js), directly or in numbered version folders (found: ${found.join(", ") || "nothing"})`,
    );
  }
  if (files.includes(SETTINGS_FILE)) {
    let settingsName: unknown;
    try {
      settingsName = (JSON.parse(await readFile(join(dir, SETTINGS_FILE), "utf8")) as { name?: unknown }).name;
    } catch (err) {
      throw new InvalidInput(`The uploaded ${SETTINGS_FILE} is not valid JSON: ${(err as Error).message}`);
    }
    if (settingsName !== undefined && settingsName !== name) {
      throw new InvalidInput(
        `The uploaded ${SETTINGS_FILE} names the model ${JSON.stringify(settingsName)}, but it is uploaded as '${name}': upload it under that name or change the file`,
      );
    }
  }
}
