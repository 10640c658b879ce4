import { defineFlags } from "../../../config/flags.ts";
import { DEFAULT_MAX_UPLOAD_SIZE, recoverUploads } from "../../../storage/index.ts";
import { defineFamily } from "../../family.ts";
import { registerRepositoryRoutes } from "./routes.ts";
import { registerUploadRoutes } from "./upload.ts";
import { repositoryOpenApi } from "./openapi.ts";

export interface RepositoryFamilyOptions {
  /** The folder uploads are installed into (`--model_repository`). */
  modelRepository?: string;
  /** Largest upload body in bytes (`--max_upload_size`, default 1 GiB). */
  maxUploadSize?: number;
  /** Accept uploaded archives that hold code: modules, scripts, executables (`--allow_code_uploads`, default false). */
  allowCodeUploads?: boolean;
}

export const REPOSITORY_FLAGS = defineFlags({
  max_upload_size: { aliases: ["max-upload-size"], type: "number", check: "nonNegativeInteger", default: DEFAULT_MAX_UPLOAD_SIZE, help: "largest model upload in bytes; larger ones get 413" },
  allow_code_uploads: { aliases: ["allow-code-uploads"], type: "boolean", default: false, help: "accept uploaded archives that hold code (.ts/.js modules, start.sh and other scripts, executables, native addons), which then run with the server's rights" },
});

/**
 * Triton's model-repository extension over REST (index, load, unload) and tserve's archive upload; all changes
 * pass the server's model control check. (Over gRPC the same calls are part of OIP's service, in the v2 family.)
 */
export const repositoryFamily = defineFamily<RepositoryFamilyOptions>({
  name: "repository",
  flags: REPOSITORY_FLAGS,
  modelRoutes: true,
  // Undo swaps a crash interrupted and clear stale upload files before the repository is scanned.
  beforeLoad: async ({ options, logger }) => {
    if (options.modelRepository) await recoverUploads(options.modelRepository, (level, message) => logger.log(level, message));
  },
  mount: ({ dataplane, logger, modelControl, options }) => ({
    routes: (app) => {
      registerRepositoryRoutes(app, dataplane, modelControl);
      registerUploadRoutes(app, dataplane, {
        control: modelControl,
        logger,
        maxUploadSize: options.maxUploadSize,
        repositoryRoot: options.modelRepository,
        allowCodeUploads: options.allowCodeUploads,
      });
    },
    openapi: repositoryOpenApi,
  }),
});
