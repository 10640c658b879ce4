import { DEFAULT_REPOSITORY_POLL_SECS, isModelControlMode, MODEL_CONTROL_MODES, type ModelServerOptions } from "../server/index.ts";
import { ADMIN_TOKEN_ENV } from "./admin-token.ts";
import { type FlagSpec, UsageError } from "./args.ts";

/** Who may change the served models, and how the admin token is given (see SECURITY.md). */
export const MODEL_CONTROL_FLAGS: FlagSpec[] = [
  {
    name: "model_control_mode",
    aliases: ["model-control-mode"],
    type: "string",
    help: `${MODEL_CONTROL_MODES.join(" | ")}: none refuses load, unload and upload (403); explicit allows them, behind the admin token when one is set; poll re-reads --model_repository every --repository_poll_secs and refuses them. Default: explicit with an admin token, none without`,
  },
  { name: "repository_poll_secs", aliases: ["repository-poll-secs"], type: "number", default: DEFAULT_REPOSITORY_POLL_SECS, help: "seconds between scans of --model_repository in poll mode" },
  {
    name: "admin_token_file",
    aliases: ["admin-token-file"],
    type: "string",
    help: `a file holding the bearer token that load, unload and upload need (trailing newline ignored); or set ${ADMIN_TOKEN_ENV}`,
  },
  {
    name: "admin_token",
    aliases: ["admin-token"],
    type: "string",
    env: ADMIN_TOKEN_ENV,
    help: `the admin token itself; prefer the env ${ADMIN_TOKEN_ENV} or --admin_token_file (a token on the command line is visible to other local users and is warned about)`,
  },
  { name: "allow_code_uploads", aliases: ["allow-code-uploads"], type: "boolean", default: false, help: "accept uploaded archives that hold code (.ts/.js modules, start.sh and other scripts, executables, native addons), which then run with the server's rights" },
];

/** The ModelServer options of the flags above, the admin token already resolved (resolveAdminToken). */
export function modelControlOptions(
  flags: Record<string, unknown>,
  adminToken: string | undefined,
  repository: string | undefined,
): Pick<ModelServerOptions, "adminToken" | "modelControlMode" | "repositoryPollSecs" | "allowCodeUploads"> {
  const mode = flags.model_control_mode === undefined ? undefined : String(flags.model_control_mode).toLowerCase();
  if (mode !== undefined && !isModelControlMode(mode)) {
    throw new UsageError(`--model_control_mode must be ${MODEL_CONTROL_MODES.join(", ")}, got '${flags.model_control_mode}'`);
  }
  const pollSecs = Number(flags.repository_poll_secs);
  if (!(pollSecs > 0)) throw new UsageError(`--repository_poll_secs must be a positive number of seconds, got '${flags.repository_poll_secs}'`);
  if (mode === "poll" && !repository) throw new UsageError("--model_control_mode poll watches a model repository: give --model_repository DIR");
  return { adminToken, modelControlMode: mode, repositoryPollSecs: pollSecs, allowCodeUploads: flags.allow_code_uploads === true };
}
