/** A flag's spec: its canonical name, aliases (KServe's underscore and dash spellings), type and env var. */
export interface FlagSpec {
  name: string;
  aliases?: string[];
  type: "string" | "number" | "boolean";
  env?: string;
  default?: string | number | boolean;
  help: string;
}

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string | number | boolean | undefined>;
  /** Flags that took their spec's default (neither given on the command line nor by environment). */
  defaulted: Set<string>;
}

export class UsageError extends Error {}

const TRUE = new Set(["1", "true", "yes", "y", "on", "t"]);
const FALSE = new Set(["0", "false", "no", "n", "off", "f"]);

/** `strtobool`, as KServe parses its boolean flags. */
export function parseBool(value: string, flag: string): boolean {
  const v = value.toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new UsageError(`--${flag} expects a boolean (true/false), got '${value}'`);
}

function normalize(flag: string): string {
  return flag.replace(/-/g, "_");
}

/** Parses `--flag value`, `--flag=value` and bare boolean flags; dashes and underscores are interchangeable. */
export function parseArgs(argv: string[], specs: FlagSpec[]): ParsedArgs {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) {
    byName.set(normalize(s.name), s);
    for (const a of s.aliases ?? []) byName.set(normalize(a), s);
  }
  const flags: ParsedArgs["flags"] = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const key = normalize(eq >= 0 ? arg.slice(2, eq) : arg.slice(2));
    const spec = byName.get(key);
    if (!spec) throw new UsageError(`Unknown option --${arg.slice(2, eq >= 0 ? eq : undefined)}`);
    let raw: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (raw === undefined) {
      const next = argv[i + 1];
      if (
        spec.type === "boolean" &&
        (next === undefined ||
          next.startsWith("--") ||
          !(TRUE.has(next.toLowerCase()) || FALSE.has(next.toLowerCase())))
      ) {
        raw = "true";
      } else {
        if (next === undefined) throw new UsageError(`--${spec.name} needs a value`);
        raw = next;
        i++;
      }
    }
    flags[spec.name] = convert(raw, spec);
  }
  const defaulted = new Set<string>();
  for (const s of specs) {
    if (flags[s.name] !== undefined) continue;
    const fromEnv = process.env[envName(s)];
    if (fromEnv !== undefined && fromEnv !== "") flags[s.name] = convert(fromEnv, s);
    else if (s.default !== undefined) {
      flags[s.name] = s.default;
      defaulted.add(s.name);
    }
  }
  return { positionals, flags, defaulted };
}

/** Every flag is also an environment variable: `TSERVE_` + its name in capitals, unless the spec names one. */
export function envName(spec: FlagSpec): string {
  return spec.env ?? `TSERVE_${spec.name.toUpperCase()}`;
}

function convert(raw: string, spec: FlagSpec): string | number | boolean {
  if (spec.type === "boolean") return parseBool(raw, spec.name);
  if (spec.type === "number") {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n)) throw new UsageError(`--${spec.name} expects a number, got '${raw}'`);
    return n;
  }
  return raw;
}

export function formatHelp(specs: FlagSpec[]): string {
  return specs
    .map((s) => {
      const names = [s.name, ...(s.aliases ?? [])].map((n) => `--${n}`).join(", ");
      const extra = [s.default !== undefined ? `default ${s.default}` : "", s.env ? `env ${s.env}` : ""]
        .filter(Boolean)
        .join("; ");
      return `  ${names}\n      ${s.help}${extra ? ` (${extra})` : ""}`;
    })
    .join("\n");
}
