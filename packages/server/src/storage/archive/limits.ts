import { InvalidInput } from "../../errors/index.ts";

/** Bounds on what one archive may expand to: archives come from users, and zip bombs lie about their sizes. */
export interface ExtractLimits {
  /** Total bytes written by the extraction (actual inflated bytes, not declared sizes). Default 4 GiB. */
  maxBytes: number;
  /** Entries extracted: files, folders and (materialised) links. Default 10,000. */
  maxFiles: number;
  /** Largest single file, in bytes; unbounded (apart from maxBytes) when absent. */
  maxEntryBytes?: number;
}

export const DEFAULT_EXTRACT_LIMITS: Readonly<ExtractLimits> = Object.freeze({
  maxBytes: 4 * 1024 ** 3,
  maxFiles: 10_000,
});

/** Largest accepted model upload body (`--max_upload_size`), default 1 GiB. */
export const DEFAULT_MAX_UPLOAD_SIZE = 1024 ** 3;

/**
 * The limits in force: explicit overrides win, then the environment (TSERVE_EXTRACT_MAX_BYTES,
 * TSERVE_EXTRACT_MAX_FILES, TSERVE_EXTRACT_MAX_ENTRY_BYTES), then the defaults.
 */
export function resolveExtractLimits(
  overrides: Partial<ExtractLimits> = {},
  env: NodeJS.ProcessEnv = process.env,
): ExtractLimits {
  const limits: ExtractLimits = {
    maxBytes: overrides.maxBytes ?? fromEnv(env, "TSERVE_EXTRACT_MAX_BYTES") ?? DEFAULT_EXTRACT_LIMITS.maxBytes,
    maxFiles: overrides.maxFiles ?? fromEnv(env, "TSERVE_EXTRACT_MAX_FILES") ?? DEFAULT_EXTRACT_LIMITS.maxFiles,
  };
  const entry = overrides.maxEntryBytes ?? fromEnv(env, "TSERVE_EXTRACT_MAX_ENTRY_BYTES");
  if (entry !== undefined) limits.maxEntryBytes = entry;
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 0) throw new InvalidInput(`Extract limit ${key} must be a non-negative integer, got ${value}`);
  }
  return limits;
}

function fromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidInput(`${name} must be a non-negative integer number of ${name.endsWith("FILES") ? "entries" : "bytes"}, got '${raw}'`);
  return n;
}
