/**
 * The path walker: it reads the raw document once, front to back, matching one path component per
 * nesting level and skipping everything else without parsing it. Answers are slices of the document
 * (or, for `#`, `#.` and `#(…)#`, arrays assembled from such slices).
 */
import { parseIndex } from "./go-number.ts";
import { parseIndexStep, parseKeyStep, splitPipe, type IndexStep } from "./path.ts";
import { queryMatches } from "./query.ts";
import { unescapeJSON } from "./json-string.ts";
import { matchPattern } from "./match.ts";
import { EMPTY, literalResult, numberResult, readValue, Result, stringResult } from "./result.ts";
import { containerEnd, literalEnd, numberEnd, scanString, valueKindAt } from "./scanner.ts";

/** The state of one walk: the document, the answer so far, and a pipe to apply to the answer. */
export interface Walk {
  readonly json: string;
  value: Result;
  piped: boolean;
  pipe: string;
}

/** Where a walk step stopped, and whether it produced the answer. */
interface Stop {
  end: number;
  hit: boolean;
}

function stop(end: number, hit: boolean): Stop {
  return { end, hit };
}

/** Walks the object whose members start at `i` (just past its `{`). */
export function walkObject(w: Walk, i: number, path: string): Stop {
  const json = w.json;
  const step = parseKeyStep(path);
  if (!step.more && step.piped) {
    w.pipe = step.pipe;
    w.piped = true;
  }
  let key = "";
  let keyEscaped = false;
  while (i < json.length) {
    for (; i < json.length; i++) {
      const c = json[i];
      if (c === '"') {
        const scan = scanString(json, i + 1);
        key = json.slice(i + 1, scan.closed ? scan.end - 1 : scan.end);
        keyEscaped = scan.escaped;
        i = scan.end;
        break;
      }
      if (c === "}") return stop(i + 1, false);
    }
    const name = keyEscaped ? unescapeJSON(key) : key;
    const matched = step.wild ? matchPattern(name, step.part) : name === step.part;
    const hit = matched && !step.more;
    for (; i < json.length; i++) {
      const kind = valueKindAt(json, i);
      if (kind === "none") continue;
      if (kind === "string") {
        const scan = scanString(json, i + 1);
        if (!scan.closed) return stop(scan.end, false);
        if (hit) {
          w.value = stringResult(json, i, scan);
          return stop(scan.end, true);
        }
        i = scan.end;
      } else if (kind === "container") {
        if (matched && !hit) {
          const inner = json[i] === "{" ? walkObject(w, i + 1, step.rest) : walkArray(w, i + 1, step.rest);
          if (inner.hit) return inner;
          i = inner.end;
        } else {
          const end = containerEnd(json, i);
          if (hit) {
            w.value = new Result("JSON", json.slice(i, end));
            return stop(end, true);
          }
          i = end;
        }
      } else {
        const end = kind === "literal" ? literalEnd(json, i) : numberEnd(json, i);
        if (hit) {
          const raw = json.slice(i, end);
          w.value = kind === "literal" ? literalResult(raw) : numberResult(raw);
          return stop(end, true);
        }
        i = end;
      }
      break;
    }
  }
  return stop(i, false);
}

/** The `#(…)` / `#(…)#` part of an array walk: tests elements and collects matches. */
class QueryRun {
  readonly matches: string[] = [];

  constructor(
    private readonly w: Walk,
    private readonly step: IndexStep,
  ) {}

  /** Tests one element; true when it is the answer (first-match queries stop there). */
  test(element: Result): boolean {
    const { step, w } = this;
    const query = step.query!;
    let found: Result;
    if (element.type === "JSON") found = element.get(query.path);
    else if (query.path !== "") return false;
    else found = element;
    if (!queryMatches(query, found)) return false;
    let picked = element;
    if (step.more) {
      const split = splitPipe(step.rest);
      if (split) {
        step.rest = split[0];
        w.pipe = split[1];
        w.piped = true;
      }
      picked = element.get(step.rest);
    }
    if (!query.all) {
      w.value = picked;
      return true;
    }
    const raw = picked.raw || picked.str;
    if (raw !== "") this.matches.push(raw);
    return false;
  }
}

/** `#.path`: the path applied to every element, collected into an array. */
function mapElements(w: Walk, step: IndexStep, starts: number[]): Result {
  const json = w.json;
  let path = step.mapPath!;
  const split = splitPipe(path);
  if (split) {
    path = split[0];
    w.pipe = split[1];
    w.piped = true;
  }
  const parts: string[] = [];
  for (let idx of starts) {
    while (idx < json.length && (json[idx] === " " || json[idx] === "\t" || json[idx] === "\r" || json[idx] === "\n")) idx++;
    if (idx >= json.length || json[idx] === "]") continue;
    const element = readValue(json, idx);
    if (!element) continue;
    const found = element.value.get(path);
    if (found.exists) parts.push(found.raw || found.str);
  }
  return new Result("JSON", "[" + parts.join(",") + "]");
}

/** Walks the array whose elements start at `i` (just past its `[`; 0 for JSON Lines). */
export function walkArray(w: Walk, i: number, path: string): Stop {
  const json = w.json;
  const step = parseIndexStep(path);
  const wanted = step.hash ? -1 : parseIndex(step.part);
  if (!step.more && step.piped) {
    w.pipe = step.pipe;
    w.piped = true;
  }
  const query = step.query ? new QueryRun(w, step) : undefined;
  const starts: number[] | undefined = step.mapPath !== undefined ? [] : undefined;
  let count = 0;
  while (i < json.length + 1) {
    const matched = !step.hash && wanted === count;
    const hit = matched && !step.more;
    count++;
    starts?.push(i);
    for (; i <= json.length; i++) {
      // The end of the text closes any array still open.
      const c = i === json.length ? "]" : json[i];
      if (c === "]") return closeArray(w, step, i, count, starts, query);
      const kind = valueKindAt(json, i);
      if (kind === "none") continue;
      if (kind === "string") {
        const scan = scanString(json, i + 1);
        if (!scan.closed) return stop(scan.end, false);
        if (query) {
          if (query.test(stringResult(json, i, scan))) return stop(scan.end, true);
        } else if (hit) {
          w.value = stringResult(json, i, scan);
          return stop(scan.end, true);
        }
        i = scan.end;
      } else if (kind === "container") {
        if (matched && !hit) {
          const inner = json[i] === "{" ? walkObject(w, i + 1, step.rest) : walkArray(w, i + 1, step.rest);
          if (inner.hit) return inner;
          i = inner.end;
        } else {
          const end = containerEnd(json, i);
          if (query) {
            if (query.test(new Result("JSON", json.slice(i, end)))) return stop(end, true);
          } else if (hit) {
            w.value = new Result("JSON", json.slice(i, end));
            return stop(end, true);
          }
          i = end;
        }
      } else {
        const end = kind === "literal" ? literalEnd(json, i) : numberEnd(json, i);
        const raw = json.slice(i, end);
        if (query) {
          if (query.test(kind === "literal" ? literalResult(raw) : numberResult(raw))) return stop(end, true);
        } else if (hit) {
          w.value = kind === "literal" ? literalResult(raw) : numberResult(raw);
          return stop(end, true);
        }
        i = end;
      }
      break;
    }
  }
  return stop(i, false);
}

/** At the array's end: `#` counts, `#.` maps, `#(…)#` gives its matches. */
function closeArray(
  w: Walk,
  step: IndexStep,
  i: number,
  count: number,
  starts: number[] | undefined,
  query: QueryRun | undefined,
): Stop {
  if (step.hash && step.part === "#") {
    if (starts) {
      w.value = mapElements(w, step, starts);
      return stop(i + 1, true);
    }
    const n = count - 1;
    w.value = new Result("Number", String(n), "", n);
    return stop(i + 1, true);
  }
  if (!w.value.exists && query && step.query!.all) {
    w.value = new Result("JSON", "[" + query.matches.join(",") + "]");
  }
  return stop(i + 1, false);
}

/** A fresh walk over a document. */
export function newWalk(json: string): Walk {
  return { json, value: EMPTY, piped: false, pipe: "" };
}
