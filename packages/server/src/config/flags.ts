/**
 * The command line's flags as a typed schema: `defineFlags({ http_port: { type: "number", … } })`. A leaf (no
 * imports), so the CLI and the protocol families (src/server/families/*, each declaring its own flags) share it;
 * `cli/args.ts` parses argv and the environment against it.
 */

export interface FlagBase {
  /** Other spellings, shown in the help (dash/underscore variants are accepted anyway); one letter: `-h`. */
  aliases?: readonly string[];
  /** The environment variable read when the flag is not given (default `TSERVE_` + the name in capitals; "": none). */
  env?: string;
  help: string;
}

export interface BooleanFlag extends FlagBase {
  type: "boolean";
  /** Default false. */
  default?: boolean;
}

export interface StringFlag extends FlagBase {
  type: "string";
  default?: string;
}

/** What a number flag must be: checked on the command line and in the environment alike. */
export type NumberCheck = "nonNegative" | "positive" | "nonNegativeInteger" | "positiveInteger";

export interface NumberFlag extends FlagBase {
  type: "number";
  default?: number;
  check?: NumberCheck;
  /** Named in the error message: "must be a positive number of seconds". */
  unit?: "seconds";
}

export interface EnumFlag extends FlagBase {
  type: "enum";
  values: readonly string[];
  default?: string;
  /** Match the values whatever their case (the parsed value is the listed spelling). */
  ignoreCase?: boolean;
  /** Other accepted spellings and the value each means (`warning` -> `warn`). */
  synonyms?: Readonly<Record<string, string>>;
  /** How the error message lists what is accepted (default "a, b or c"). */
  expected?: string;
}

/** A flag of KServe or Seldon accepted so their command lines keep working; it has no effect and warns once. */
export interface CompatFlag extends FlagBase {
  type: "compat";
  project: "KServe" | "Seldon";
  default?: never;
}

export type FlagDef = BooleanFlag | StringFlag | NumberFlag | EnumFlag | CompatFlag;
export type FlagSchema = Readonly<Record<string, FlagDef>>;

/** The parsed value type of one flag definition. */
export type FlagValue<F> = F extends { type: "boolean" }
  ? boolean
  : F extends { type: "number" }
    ? F extends { default: number }
      ? number
      : number | undefined
    : F extends { type: "string" }
      ? F extends { default: string }
        ? string
        : string | undefined
      : F extends { type: "enum"; values: readonly (infer V extends string)[] }
        ? F extends { default: string }
          ? V
          : V | undefined
        : F extends { type: "compat" }
          ? string | undefined
          : never;

/** The parsed flags of a schema, keyed by canonical name. */
export type FlagValues<S> = { -readonly [K in keyof S]: FlagValue<S[K]> };

/** Checks a schema's defaults once and returns it with its literal types kept (for FlagValues). */
export function defineFlags<const S extends FlagSchema>(schema: S): S {
  for (const [name, def] of Object.entries(schema)) {
    if (def.type === "enum" && def.default !== undefined && !def.values.includes(def.default)) {
      throw new Error(`flag ${name}: default '${def.default}' is not one of ${def.values.join(", ")}`);
    }
  }
  return schema;
}


/** Flags of KServe or Seldon accepted so their command lines keep working: no effect, one warning each when used. */
export function compatFlags<const N extends string>(names: readonly N[], project: CompatFlag["project"]): Record<N, CompatFlag> {
  const flags = {} as Record<N, CompatFlag>;
  for (const name of names) flags[name] = { type: "compat", project, aliases: [name.replace(/_/g, "-")], help: `accepted for ${project} compatibility; no effect` };
  return flags;
}
