/**
 * The command line's flags, defined once as a typed schema: `defineFlags({ http_port: { type: "number", … } })`.
 * `parseArgs` returns values whose types follow from the schema (a number flag with a default is a `number`,
 * without one `number | undefined`, an enum a union of its values), validated, with the `TSERVE_*` environment
 * as fallback. Dashes and underscores in flag names are interchangeable.
 */

import {
  defineFlags,
  type FlagBase,
  type FlagDef,
  type FlagSchema,
  type FlagValues,
  type NumberCheck,
} from "../config/flags.ts";

export { type BooleanFlag, type CompatFlag, defineFlags, type EnumFlag, type FlagDef, type FlagSchema, type FlagValue, type FlagValues, type NumberCheck, type NumberFlag, type StringFlag } from "../config/flags.ts";

/** `-h`, `--help`: every subcommand has it. */
export const HELP_FLAG = defineFlags({ help: { type: "boolean", aliases: ["h"], env: "", help: "show this help" } });

export interface ParsedArgs<S extends FlagSchema = FlagSchema> {
  positionals: string[];
  flags: FlagValues<S>;
  /** Flags that took their schema's default (neither given on the command line nor by environment). */
  defaulted: Set<keyof S & string>;
}

export interface ParseOptions {
  /** Where the compatibility flags' warnings go (default: stderr, `tserve: warning: …`). */
  warn?: (message: string) => void;
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

const isBoolWord = (s: string) => TRUE.has(s.toLowerCase()) || FALSE.has(s.toLowerCase());

export function stderrWarning(message: string): void {
  process.stderr.write(`tserve: warning: ${message}\n`);
}

/** Parses `--flag value`, `--flag=value`, bare boolean flags and one-letter aliases (`-h`). */
export function parseArgs<const S extends FlagSchema>(argv: readonly string[], schema: S, options: ParseOptions = {}): ParsedArgs<S> {
  const warn = options.warn ?? stderrWarning;
  const byName = new Map<string, string>();
  const short = new Map<string, string>();
  for (const [name, def] of Object.entries(schema)) {
    byName.set(normalize(name), name);
    for (const a of def.aliases ?? []) {
      if (a.length === 1) short.set(a, name);
      else byName.set(normalize(a), name);
    }
  }
  const flags: Record<string, unknown> = {};
  const positionals: string[] = [];
  const compatUsed: string[] = [];
  const warnings: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    let name: string | undefined;
    let raw: string | undefined;
    if (/^-[A-Za-z]$/.test(arg) && short.has(arg.slice(1))) {
      name = short.get(arg.slice(1))!;
    } else if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const given = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      name = byName.get(normalize(given));
      if (!name) {
        const near = suggest(given, schema);
        throw new UsageError(`Unknown option --${given}${near ? `; did you mean ${near}?` : ""}`);
      }
      if (eq >= 0) raw = arg.slice(eq + 1);
    } else {
      positionals.push(arg);
      continue;
    }
    const def = schema[name];
    if (raw === undefined) {
      const next = argv[i + 1];
      const bare = next === undefined || next.startsWith("--");
      if (def.type === "boolean" && (bare || !isBoolWord(next))) raw = "true";
      else if (def.type === "compat" && bare) raw = "true";
      else {
        if (next === undefined) throw new UsageError(`--${name} needs a value`);
        raw = next;
        i++;
      }
    }
    flags[name] = convert(raw, name, def);
    if (def.type === "compat" && !compatUsed.includes(name)) {
      compatUsed.push(name);
      warnings.push(`--${name} is accepted for ${def.project} compatibility and has no effect`);
    }
  }
  const defaulted = new Set<keyof S & string>();
  for (const [name, def] of Object.entries(schema)) {
    if (flags[name] !== undefined) continue;
    const env = envName(name, def);
    const fromEnv = env === "" ? undefined : process.env[env];
    if (fromEnv !== undefined && fromEnv !== "") {
      flags[name] = convert(fromEnv, name, def);
      if (def.type === "compat") warnings.push(`${env} (--${name}) is accepted for ${def.project} compatibility and has no effect`);
    } else if (def.default !== undefined || def.type === "boolean") {
      flags[name] = def.default ?? false;
      defaulted.add(name);
    }
  }
  // Only once the whole command line is valid, so a usage error is not buried under warnings.
  for (const message of warnings) warn(message);
  return { positionals, flags: flags as FlagValues<S>, defaulted };
}

/** Every flag is also an environment variable: `TSERVE_` + its name in capitals, unless the schema names one. */
export function envName(name: string, def: Pick<FlagBase, "env">): string {
  return def.env ?? `TSERVE_${name.toUpperCase()}`;
}

/** "a, b or c". */
function orList(values: readonly string[]): string {
  return values.length <= 1 ? values.join("") : `${values.slice(0, -1).join(", ")} or ${values[values.length - 1]}`;
}

const NUMBER_CHECKS: Record<NumberCheck, { ok: (n: number) => boolean; what: (unit: string) => string }> = {
  nonNegative: { ok: (n) => n >= 0, what: (unit) => `a number${unit} >= 0` },
  positive: { ok: (n) => n > 0, what: (unit) => `a positive number${unit}` },
  nonNegativeInteger: { ok: (n) => Number.isSafeInteger(n) && n >= 0, what: () => "a whole number >= 0" },
  positiveInteger: { ok: (n) => Number.isSafeInteger(n) && n >= 1, what: () => "a whole number >= 1" },
};

function convert(raw: string, name: string, def: FlagDef): string | number | boolean {
  switch (def.type) {
    case "boolean":
      return parseBool(raw, name);
    case "number": {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n)) throw new UsageError(`--${name} expects a number, got '${raw}'`);
      if (def.check && !NUMBER_CHECKS[def.check].ok(n)) {
        throw new UsageError(`--${name} must be ${NUMBER_CHECKS[def.check].what(def.unit ? ` of ${def.unit}` : "")}, got ${raw}`);
      }
      return n;
    }
    case "enum": {
      const key = def.ignoreCase ? raw.toLowerCase() : raw;
      const same = (v: string) => (def.ignoreCase ? v.toLowerCase() : v) === key;
      const value = def.values.find(same) ?? Object.entries(def.synonyms ?? {}).find(([k]) => same(k))?.[1];
      if (value === undefined) throw new UsageError(`--${name} must be ${def.expected ?? orList(def.values)}, got '${raw}'`);
      return value;
    }
    default:
      return raw;
  }
}

/** Levenshtein distance (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/** The known flag nearest to an unknown one (`--htp_port` -> `--http_port`), if any is near enough. */
export function suggest(given: string, schema: FlagSchema): string | undefined {
  const g = normalize(given).toLowerCase();
  let best: { name: string; d: number } | undefined;
  for (const [name, def] of Object.entries(schema)) {
    for (const candidate of [name, ...(def.aliases ?? [])]) {
      if (candidate.length === 1) continue;
      const d = editDistance(g, normalize(candidate).toLowerCase());
      if (!best || d < best.d) best = { name, d };
    }
  }
  if (!best || best.d > Math.max(1, Math.min(3, Math.floor(g.length / 3)))) return undefined;
  // Dashes and underscores are interchangeable: answer in the spelling the user used.
  return `--${given.includes("-") && !given.includes("_") ? best.name.replace(/_/g, "-") : best.name}`;
}

export function formatHelp(schema: FlagSchema): string {
  return Object.entries(schema)
    .map(([name, def]) => {
      const names = [name, ...(def.aliases ?? [])].map((n) => (n.length === 1 ? `-${n}` : `--${n}`)).join(", ");
      const choices = def.type === "enum" ? `one of ${def.values.join(", ")}` : "";
      const extra = [choices, def.default !== undefined ? `default ${def.default}` : "", def.env ? `env ${def.env}` : ""]
        .filter(Boolean)
        .join("; ");
      return `  ${names}\n      ${def.help}${extra ? ` (${extra})` : ""}`;
    })
    .join("\n");
}
