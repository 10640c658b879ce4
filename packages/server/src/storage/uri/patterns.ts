/**
 * STORAGE_ALLOW_PATTERNS / STORAGE_IGNORE_PATTERNS: Python fnmatch-style patterns (`*` also crosses `/`, `?`,
 * `[seq]`, `[!seq]`), given as a JSON list or a comma-separated string, matched against each file's path
 * relative to the model folder. A pattern ending in `/` matches everything under that folder (as huggingface_hub).
 */
import { InvalidInput } from "../../errors/index.ts";
import type { Env } from "./config.ts";

/** Translates one fnmatch pattern into an anchored RegExp (as Python's fnmatch.translate). */
export function fnmatchToRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") {
      re += ".*";
    } else if (c === "?") {
      re += ".";
    } else if (c === "[") {
      let j = i + 1;
      if (pattern[j] === "!") j++;
      if (pattern[j] === "]") j++;
      while (j < pattern.length && pattern[j] !== "]") j++;
      if (j >= pattern.length) {
        re += "\\[";
      } else {
        let body = pattern.slice(i + 1, j).replace(/\\/g, "\\\\");
        if (body.startsWith("!")) body = `^${body.slice(1)}`;
        else if (body.startsWith("^")) body = `\\${body}`;
        re += `[${body}]`;
        i = j;
      }
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    }
  }
  return new RegExp(`^${re}$`, "s");
}

export function fnmatch(name: string, pattern: string): boolean {
  return fnmatchToRegExp(pattern.endsWith("/") ? `${pattern}*` : pattern).test(name);
}

/** A JSON list (`["*.onnx"]`) or a comma-separated list (`*.bin,*.gguf`); empty means none. */
export function parsePatternList(raw: string | undefined, name: string): string[] {
  if (raw === undefined) return [];
  const text = raw.trim();
  if (text === "") return [];
  if (text.startsWith("[")) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new InvalidInput(`${name} is neither a JSON list nor a comma-separated list: ${text}`);
    }
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) throw new InvalidInput(`${name} must be a list of strings`);
    return (value as string[]).map((s) => s.trim()).filter((s) => s !== "");
  }
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

export interface FileFilter {
  allow: string[];
  ignore: string[];
}

export function fileFilterFromEnv(env: Env): FileFilter {
  return {
    allow: parsePatternList(env.STORAGE_ALLOW_PATTERNS, "STORAGE_ALLOW_PATTERNS"),
    ignore: parsePatternList(env.STORAGE_IGNORE_PATTERNS, "STORAGE_IGNORE_PATTERNS"),
  };
}

/** True when `path` passes the filter: it matches an allow pattern (if any) and no ignore pattern. */
export function passesFilter(path: string, filter: FileFilter): boolean {
  if (filter.allow.length > 0 && !filter.allow.some((p) => fnmatch(path, p))) return false;
  return !filter.ignore.some((p) => fnmatch(path, p));
}
