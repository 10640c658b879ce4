import { sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Model } from "./model.ts";

/**
 * Stray errors (a throw inside a user's timer, a rejected promise nobody awaited) reach the process's
 * `uncaughtException` / `unhandledRejection` handlers with no caller to blame. They are attributed by the error's
 * stack: the top frame that lies in the folder of a model being served or loaded names the model (see
 * scopeForStack); an error whose stack runs through no model's folder belongs to no model.
 *
 * Why stacks and not AsyncLocalStorage (running every call into a model's code in a store that Node carries into
 * the timers and promises it creates): on Node 20 the first `AsyncLocalStorage.run()` turns on promise hooks for
 * the whole process, so every promise of every request pays for them, and each hook call needs its own `run()`.
 * Measured on the iris example (V1 :predict, autocannon -c 32), that cost about 12 % of the server's throughput.
 * A stack costs nothing until something actually goes wrong. What it cannot see: an error thrown by tserve's or a
 * dependency's code on a model's behalf (no frame in the model's folder), and models registered in code (they
 * have no folder); those are treated as errors of the process.
 */
export interface FaultScope {
  /** Who handles this model's faults (its repository). */
  readonly owner: FaultOwner;
  readonly name: string;
  readonly version?: string;
  /** The version's folder, whose files' frames in a stack trace name this model; none for models registered in code. */
  readonly dir?: string;
  /** The instance (set once the loader has built it); a fault of an instance no longer served is only logged. */
  model?: Model;
  /** Set while its load() runs: a fault then fails the load at once instead of letting it finish. */
  failLoad?: (err: unknown) => void;
}

export type FaultKind = "uncaughtException" | "unhandledRejection";

export interface FaultOwner {
  fault(scope: FaultScope, err: unknown, kind: FaultKind): Promise<void>;
}

/** After this many reloads within RELOAD_WINDOW_MS a faulting model stays UNAVAILABLE instead of reloading again. */
export const MAX_RELOADS = 3;
export const RELOAD_WINDOW_MS = 60_000;

/** Counts a model version's fault reloads over a sliding window, so a model that faults on every load cannot loop. */
export class ReloadBudget {
  private readonly history = new Map<string, number[]>();

  constructor(
    private readonly max = MAX_RELOADS,
    private readonly windowMs = RELOAD_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether one more reload of `key` is allowed now; counts it when it is. */
  take(key: string): boolean {
    const t = this.now();
    const recent = (this.history.get(key) ?? []).filter((at) => t - at < this.windowMs);
    const allowed = recent.length < this.max;
    if (allowed) recent.push(t);
    this.history.set(key, recent);
    return allowed;
  }
}

// tserve's own sources: a frame there is never a model's, even when a model folder contains them.
const OWN_SOURCES = fileURLToPath(new URL("../", import.meta.url));
const FRAME_FILE = /(?:\(|at )((?:file:\/\/)?(?:\/|[A-Za-z]:[\\/])[^()]*?)(?:\?[^()]*)?:\d+(?::\d+)?\)?\s*$/;

// tsx's own namespace (a .ts module outside any "type": "module" package) runs modules from data: URLs that carry
// the whole compiled source and, at their end, `?filePath=<the file, URL-encoded>`.
const DATA_URL_FRAME = /data:text\/javascript,\S*?\?filePath=([^:\s)]+)/g;

/** The stack with tsx's data: URL frames shortened to the files they came from. */
export function readableStack(stack: string): string {
  return stack.replace(DATA_URL_FRAME, (_, file: string) => decodeFilePath(file));
}

function decodeFilePath(encoded: string): string {
  try {
    return decodeURIComponent(encoded).replace(/\?.*$/, "");
  } catch {
    return encoded;
  }
}

/** The source files a stack trace runs through, top frame first, as paths. */
export function stackFiles(stack: string): string[] {
  const files: string[] = [];
  for (const line of readableStack(stack).split("\n")) {
    if (!line.trimStart().startsWith("at ")) continue;
    const m = FRAME_FILE.exec(line);
    if (!m) continue;
    let file = m[1];
    if (file.startsWith("file://")) {
      try {
        file = fileURLToPath(file.replace(/\?.*$/, ""));
      } catch {
        continue;
      }
    }
    files.push(file);
  }
  return files;
}

/** Whether `file` is one of a model folder's own files (not a dependency under node_modules, not tserve's). */
export function isModelFile(file: string, dir: string): boolean {
  const folder = dir.endsWith(sep) ? dir : dir + sep;
  if (!file.startsWith(folder) || file.startsWith(OWN_SOURCES)) return false;
  return !file.slice(folder.length).split(/[\\/]/).includes("node_modules");
}

/**
 * Which candidate a stray error's stack belongs to: the top stack frame that lies in one of the candidates' folders
 * decides (frames of tserve's own sources and of dependencies under node_modules are skipped); the deepest folder
 * wins when they nest, the earlier candidate when two share a folder.
 */
export function scopeForStack<T>(stack: string | undefined, candidates: { dir: string; scope: T }[]): T | undefined {
  if (!stack) return undefined;
  for (const file of stackFiles(stack)) {
    let best: { dir: string; scope: T } | undefined;
    for (const c of candidates) if (isModelFile(file, c.dir) && (!best || c.dir.length > best.dir.length)) best = c;
    if (best) return best.scope;
  }
  return undefined;
}
