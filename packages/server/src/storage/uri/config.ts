/**
 * Storage settings from the environment, KServe's way: STORAGE_CONFIG (a storage secret's JSON) with
 * STORAGE_OVERRIDE_CONFIG merged over it; `type: "s3"` entries become the AWS_* / S3_* variables, overriding them.
 */
import { InvalidInput } from "../../errors/index.ts";

export type Env = Record<string, string | undefined>;

/** storage-config key → the environment variable KServe sets from it. */
const S3_CONFIG_ENV: [string, string][] = [
  ["endpoint_url", "AWS_ENDPOINT_URL"],
  ["access_key_id", "AWS_ACCESS_KEY_ID"],
  ["secret_access_key", "AWS_SECRET_ACCESS_KEY"],
  ["session_token", "AWS_SESSION_TOKEN"],
  ["region", "AWS_DEFAULT_REGION"],
  ["ca_bundle", "AWS_CA_BUNDLE"],
  ["verify_ssl", "S3_VERIFY_SSL"],
  ["anonymous", "awsAnonymousCredential"],
];

function parseJsonObject(env: Env, name: string): Record<string, unknown> {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    // The variable holds credentials: never echo it.
    throw new InvalidInput(`${name} is not valid JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InvalidInput(`${name} must be a JSON object`);
  return value as Record<string, unknown>;
}

/** The environment with STORAGE_CONFIG / STORAGE_OVERRIDE_CONFIG applied (the override wins, both win over env). */
export function effectiveEnv(env: Env): Env {
  const config = { ...parseJsonObject(env, "STORAGE_CONFIG"), ...parseJsonObject(env, "STORAGE_OVERRIDE_CONFIG") };
  if (config.type !== "s3") return env;
  const out: Env = { ...env };
  for (const [key, variable] of S3_CONFIG_ENV) {
    const value = config[key];
    if (value !== undefined && value !== null) out[variable] = String(value);
  }
  return out;
}

const FALSE = new Set(["0", "false", "no", "off", "n", "f"]);
const TRUE = new Set(["1", "true", "yes", "on", "y", "t"]);

export function envFlag(env: Env, name: string, fallback: boolean): boolean {
  const v = env[name]?.trim().toLowerCase();
  if (v === undefined || v === "") return fallback;
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  return fallback;
}

/** A positive number of seconds from the environment, in milliseconds. */
export function envSecondsMs(env: Env, name: string, fallbackSeconds: number): number {
  const v = Number(env[name]);
  return (env[name] !== undefined && env[name]!.trim() !== "" && Number.isFinite(v) && v > 0 ? v : fallbackSeconds) * 1000;
}

export function envInt(env: Env, name: string, fallback: number): number {
  const v = Number(env[name]);
  return env[name] !== undefined && env[name]!.trim() !== "" && Number.isInteger(v) && v > 0 ? v : fallback;
}

/** Knobs every backend shares; set by downloadModel's options, they win over each backend's environment. */
export interface NetworkOverrides {
  connectTimeoutMs?: number;
  readTimeoutMs?: number;
  maxAttempts?: number;
}
