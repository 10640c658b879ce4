/**
 * Multipaths: `[a,b]` builds an array of what each path finds, `{a,"k":b}` builds an object. Paths that
 * find nothing are left out. An object member is named by its explicit key, or else by its path's last
 * component when that is a plain name, or else `_`.
 */
import { quoteJSON } from "./json-string.ts";
import type { PathEngine } from "./result.ts";
import { valid } from "./valid.ts";

export interface Selector {
  /** The explicit `name:` before the path ("" when absent), raw as written. */
  name: string;
  path: string;
}

export interface Selection {
  selectors: Selector[];
  /** The path after the closing bracket. */
  rest: string;
}

/** Splits the `[…]` or `{…}` at the start of `path`; undefined when its brackets never close. */
export function parseSelection(path: string): Selection | undefined {
  const selectors: Selector[] = [];
  let depth = 1;
  let colon = 0;
  let modifier = 0;
  let start = 1;
  const push = (end: number) => {
    selectors.push(
      colon === 0
        ? { name: "", path: path.slice(start, end) }
        : { name: path.slice(start, colon), path: path.slice(colon + 1, end) },
    );
    colon = 0;
    modifier = 0;
    start = end + 1;
  };
  for (let i = 1; i < path.length; i++) {
    switch (path[i]) {
      case "\\":
        i++;
        break;
      case "@":
        // A modifier's `:` introduces its argument, not a member name.
        if (modifier === 0 && (path[i - 1] === "." || path[i - 1] === "|")) modifier = i;
        break;
      case ":":
        if (modifier === 0 && colon === 0 && depth === 1) colon = i;
        break;
      case ",":
        if (depth === 1) push(i);
        break;
      case '"':
        for (i++; i < path.length; i++) {
          if (path[i] === "\\") i++;
          else if (path[i] === '"') break;
        }
        break;
      case "[": case "(": case "{":
        depth++;
        break;
      case "]": case ")": case "}":
        depth--;
        if (depth === 0) {
          push(i);
          return { selectors, rest: path.slice(i + 1) };
        }
        break;
    }
  }
  return undefined;
}

/** The last component of a path (after its last unescaped `.` or `|`). */
function lastComponent(path: string): string {
  for (let i = path.length - 1; i >= 0; i--) {
    if ((path[i] === "|" || path[i] === ".") && !(i > 0 && path[i - 1] === "\\")) return path.slice(i + 1);
  }
  return path;
}

function isPlainName(component: string): boolean {
  for (let i = 0; i < component.length; i++) {
    if (component.charCodeAt(i) < 0x20) return false;
    switch (component[i]) {
      case "[": case "]": case "{": case "}": case "(": case ")": case "#": case "|": case "!":
        return false;
    }
  }
  return true;
}

function memberName(selector: Selector): string {
  const { name } = selector;
  if (name.length > 0) return name[0] === '"' && valid(name) ? name : quoteJSON(name);
  const last = lastComponent(selector.path);
  return quoteJSON(isPlainName(last) ? last : "_");
}

/** Builds the array (`kind` "[") or object (`kind` "{") of what each selector finds in `json` with `get`. */
export function buildSelection(json: string, kind: "[" | "{", selectors: Selector[], get: PathEngine): string {
  const parts: string[] = [];
  for (const selector of selectors) {
    const found = get(json, selector.path);
    if (!found.exists) continue;
    const raw = found.raw || found.str || "null";
    parts.push(kind === "{" ? memberName(selector) + ":" + raw : raw);
  }
  return kind + parts.join(",") + (kind === "[" ? "]" : "}");
}
