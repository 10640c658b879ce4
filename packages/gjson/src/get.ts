/**
 * `get(json, path)`: the entry point. A path starting with a modifier (`@name`), a literal (`!value`) or
 * a multipath (`[…]`, `{…}`) is handled here; anything else walks the document from its first `{` or `[`
 * (or, with a `..` prefix, treats the document as JSON Lines, one array element per value).
 */
import { readLiteral } from "./literal.ts";
import { applyModifier } from "./modifiers.ts";
import { buildSelection, parseSelection } from "./multipath.ts";
import { parse } from "./parse.ts";
import { Result, setPathEngine } from "./result.ts";
import { newWalk, walkArray, walkObject } from "./walk.ts";

/** Continues with the rest of a path after a component that produced `json` as a whole. */
function continueWith(json: string, rest: string): Result {
  if (rest.length > 0 && (rest[0] === "|" || rest[0] === ".")) return get(json, rest.slice(1));
  return parse(json);
}

/** Finds the value at `path` in the JSON text `json`. */
export function get(json: string, path: string): Result {
  if (path.length > 1) {
    const lead = path[0];
    if (lead === "@" || lead === "!") {
      const out = lead === "@" ? applyModifier(json, path, get) : readLiteral(path);
      if (out) return continueWith(out.json, out.rest);
    }
    if (lead === "[" || lead === "{") {
      const selection = parseSelection(path);
      // An unbalanced multipath leaves an empty path behind, as in the reference.
      path = selection ? selection.rest : "";
      if (selection && (path.length === 0 || path[0] === "|" || path[0] === ".")) {
        const built = new Result("JSON", buildSelection(json, lead, selection.selectors, get));
        return path.length > 0 ? built.get(path.slice(1)) : built;
      }
    }
  }
  const w = newWalk(json);
  if (path.length >= 2 && path[0] === "." && path[1] === ".") {
    walkArray(w, 0, path.slice(2));
  } else {
    for (let i = 0; i < json.length; i++) {
      if (json[i] === "{") {
        walkObject(w, i + 1, path);
        break;
      }
      if (json[i] === "[") {
        walkArray(w, i + 1, path);
        break;
      }
    }
  }
  return w.piped ? w.value.get(w.pipe) : w.value;
}

// The one place the recursion is tied: results run further paths (`Result.get`) with this engine.
setPathEngine(get);

/** Finds several paths in one document. */
export function getMany(json: string, ...paths: string[]): Result[] {
  return paths.map((path) => get(json, path));
}
