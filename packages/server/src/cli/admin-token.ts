import { readFile, stat } from "node:fs/promises";
import { UsageError } from "./args.ts";

/** The environment variable the admin token may come from (the `--admin_token` flag's env fallback). */
export const ADMIN_TOKEN_ENV = "TSERVE_ADMIN_TOKEN";
const FLAG = /^--admin[-_]token(?:=|$)/;

/**
 * Works out the admin token from `--admin_token_file PATH`, `TSERVE_ADMIN_TOKEN` or (kept for compatibility,
 * with a warning) `--admin_token VALUE`, then removes it from where a served module could read it without trying:
 * the variable is deleted from process.env and the value in process.argv is replaced. The file's contents are
 * the token with trailing whitespace (the newline editors add) removed.
 */
export async function resolveAdminToken(
  argv: string[],
  flags: { admin_token?: unknown; admin_token_file?: unknown },
  warn: (message: string) => void,
): Promise<string | undefined> {
  const given = typeof flags.admin_token === "string" && flags.admin_token !== "" ? flags.admin_token : undefined;
  const file = typeof flags.admin_token_file === "string" && flags.admin_token_file !== "" ? flags.admin_token_file : undefined;
  const onCommandLine = argv.some((a) => FLAG.test(a));
  delete process.env[ADMIN_TOKEN_ENV];
  scrubArgv(process.argv);
  if (given && file) {
    throw new UsageError(`Give the admin token one way: --admin_token_file or ${ADMIN_TOKEN_ENV} (or --admin_token), not both`);
  }
  if (file) return readTokenFile(file, warn);
  if (given && onCommandLine) {
    warn(
      `--admin_token on the command line is visible to every local user (ps, /proc/<pid>/cmdline); set ${ADMIN_TOKEN_ENV} or use --admin_token_file instead`,
    );
  }
  return given;
}

async function readTokenFile(path: string, warn: (message: string) => void): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new UsageError(`Cannot read --admin_token_file ${path}: ${(err as Error).message}`);
  }
  const token = text.replace(/\s+$/, "");
  if (token === "") throw new UsageError(`--admin_token_file ${path} is empty`);
  if (/[\r\n]/.test(token)) throw new UsageError(`--admin_token_file ${path} holds more than one line; it must hold the token alone`);
  if (process.platform !== "win32" && ((await stat(path)).mode & 0o077) !== 0) {
    warn(`--admin_token_file ${path} is readable by other users; chmod 600 it`);
  }
  return token;
}

/** Replaces the value of every `--admin_token` in an argument list, in place. */
export function scrubArgv(args: string[]): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!FLAG.test(arg)) continue;
    const eq = arg.indexOf("=");
    if (eq >= 0) args[i] = `${arg.slice(0, eq)}=<redacted>`;
    else if (i + 1 < args.length) args[++i] = "<redacted>";
  }
}
