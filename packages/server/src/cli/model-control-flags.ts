import { DEFAULT_REPOSITORY_POLL_SECS, MODEL_CONTROL_MODES, type ModelServerOptions } from "../server/index.ts";
import { ADMIN_TOKEN_ENV } from "./admin-token.ts";
import { defineFlags, type FlagValues, UsageError } from "./args.ts";

/** Who may change the served models, and how the admin token is given (see SECURITY.md). */
export const MODEL_CONTROL_FLAGS = defineFlags({
  model_control_mode: {
    aliases: ["model-control-mode"],
    type: "enum",
    values: MODEL_CONTROL_MODES,
    ignoreCase: true,
    expected: MODEL_CONTROL_MODES.join(", "),
    help: `${MODEL_CONTROL_MODES.join(" | ")}: none refuses load, unload and upload (403); explicit allows them, behind the admin token when one is set; poll re-reads --model_repository every --repository_poll_secs and refuses them. Default: explicit with an admin token, none without`,
  },
  repository_poll_secs: { aliases: ["repository-poll-secs"], type: "number", check: "positive", unit: "seconds", default: DEFAULT_REPOSITORY_POLL_SECS, help: "seconds between scans of --model_repository in poll mode" },
  admin_token_file: {
    aliases: ["admin-token-file"],
    type: "string",
    help: `a file holding the bearer token that load, unload and upload need (trailing newline ignored); or set ${ADMIN_TOKEN_ENV}`,
  },
  admin_token: {
    aliases: ["admin-token"],
    type: "string",
    env: ADMIN_TOKEN_ENV,
    help: `the admin token itself; prefer the env ${ADMIN_TOKEN_ENV} or --admin_token_file (a token on the command line is visible to other local users and is warned about)`,
  },
});

/** The ModelServer options of the flags above, the admin token already resolved (resolveAdminToken). */
export function modelControlOptions(
  flags: FlagValues<typeof MODEL_CONTROL_FLAGS>,
  adminToken: string | undefined,
  repository: string | undefined,
): Pick<ModelServerOptions, "adminToken" | "modelControlMode" | "repositoryPollSecs"> {
  const mode = flags.model_control_mode;
  if (mode === "poll" && !repository) throw new UsageError("--model_control_mode poll watches a model repository: give --model_repository DIR");
  return { adminToken, modelControlMode: mode, repositoryPollSecs: flags.repository_poll_secs };
}
