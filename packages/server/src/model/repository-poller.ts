import { createHash } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { isTServeError, toTServeError } from "../errors/index.ts";
import { listModelDirs } from "./discovery.ts";
import type { ModelRepository } from "./repository.ts";

export interface RepositoryPollerOptions {
  repository: ModelRepository;
  /** The repository root to watch (`--model_repository`). */
  root: string;
  /** Pause between the end of one scan and the start of the next, in ms (`--repository_poll_secs`). */
  intervalMs: number;
  log?: (level: "info" | "warn" | "error", message: string) => void;
}

// Bounds on one model folder's fingerprint walk: deep enough for version folders and their assets.
const MAX_DEPTH = 8;
const MAX_ENTRIES = 100_000;

/**
 * Triton's `--model-control-mode=poll`: the repository root is re-read every interval and the served models follow
 * it. A new model folder is loaded, a changed one (any file added, removed, resized or touched, in the model
 * folder or its version folders) is reloaded, with the old versions serving until the new ones are READY, and a
 * removed folder's model is unloaded and forgotten. A folder is named after its directory. A change that fails
 * to load is logged and retried only once the folder changes again; a model another change holds (409) is
 * retried at the next scan.
 */
export class RepositoryPoller {
  private readonly options: RepositoryPollerOptions;
  /** Folder name -> fingerprint of its contents when last acted upon. */
  private readonly known = new Map<string, string>();
  private timer?: NodeJS.Timeout;
  private scanning?: Promise<void>;
  private stopped = false;

  constructor(options: RepositoryPollerOptions) {
    this.options = options;
  }

  /** Notes what is on disk now, as the start-up load will serve it; later scans act only on changes from here. */
  async prime(): Promise<void> {
    for (const dir of await this.modelDirs()) {
      const print = await fingerprint(dir).catch(() => undefined);
      if (print !== undefined) this.known.set(basename(dir), print);
    }
  }

  /** Starts scanning every interval, until stop(). */
  start(): void {
    if (this.stopped || this.timer) return;
    this.schedule();
  }

  /** Stops scanning; resolves once a scan under way has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.scanning;
  }

  /** One pass over the repository root: load new folders, reload changed ones, remove vanished ones. */
  scan(): Promise<void> {
    if (!this.scanning) {
      this.scanning = this.scanOnce().finally(() => {
        this.scanning = undefined;
      });
    }
    return this.scanning;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.scan().finally(() => {
        if (!this.stopped) this.schedule();
      });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  private async modelDirs(): Promise<string[]> {
    try {
      return await listModelDirs(this.options.root);
    } catch (err) {
      this.log("error", `cannot read the model repository ${this.options.root}: ${(err as Error).message}`);
      return [];
    }
  }

  private async scanOnce(): Promise<void> {
    const { repository } = this.options;
    const seen = new Set<string>();
    const changed: { name: string; print: string }[] = [];
    for (const dir of await this.modelDirs()) {
      const name = basename(dir);
      const print = await fingerprint(dir).catch(() => undefined);
      if (print === undefined) continue; // gone between the listing and the walk: the next scan sees it removed
      seen.add(name);
      if (this.known.get(name) !== print) changed.push({ name, print });
    }
    if (this.stopped) return;
    await Promise.all(
      changed.map(async ({ name, print }) => {
        const verb = this.known.has(name) ? "reloaded" : "loaded";
        try {
          await repository.mutations.run(name, "reload by the repository poll", (change) => repository.load(name, change));
          this.known.set(name, print);
          this.log("info", `repository poll: ${verb} model ${name}`);
        } catch (err) {
          if (isBusy(err)) return; // another change holds it; look again next scan
          this.known.set(name, print); // retried once the folder changes again, as Triton does
          this.log("error", `repository poll: model ${name} failed to load: ${toTServeError(err).message}`);
        }
      }),
    );
    const vanished = [...this.known.keys()].filter((name) => !seen.has(name));
    await Promise.all(
      vanished.map(async (name) => {
        try {
          await repository.mutations.run(name, "removal by the repository poll", (change) => repository.remove(name, change));
          this.known.delete(name);
          this.log("info", `repository poll: unloaded model ${name}, its folder was removed`);
        } catch (err) {
          if (!isBusy(err)) {
            this.known.delete(name);
            this.log("error", `repository poll: unloading model ${name} failed: ${toTServeError(err).message}`);
          }
        }
      }),
    );
  }

  private log(level: "info" | "warn" | "error", message: string): void {
    this.options.log?.(level, message);
  }
}

function isBusy(err: unknown): boolean {
  return isTServeError(err) && err.code === "TSERVE_MODEL_BUSY";
}

/**
 * A digest of a model folder's tree: every entry's relative path, and each file's size and modification time
 * (symlinks followed, so a Kubernetes volume's `..data` swap shows). Dot-entries are skipped.
 */
export async function fingerprint(dir: string): Promise<string> {
  const hash = createHash("sha256");
  let entries = 0;
  const walk = async (folder: string, prefix: string, depth: number): Promise<void> => {
    const listing = (await readdir(folder, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of listing) {
      if (e.name.startsWith(".")) continue;
      if (++entries > MAX_ENTRIES) return;
      const path = join(folder, e.name);
      const rel = `${prefix}${e.name}`;
      let info: Awaited<ReturnType<typeof stat>>;
      try {
        info = await stat(path);
      } catch {
        hash.update(`${rel}\0dangling\n`);
        continue;
      }
      if (info.isDirectory()) {
        hash.update(`${rel}/\n`);
        if (depth < MAX_DEPTH) await walk(path, `${rel}/`, depth + 1);
      } else {
        hash.update(`${rel}\0${info.size}\0${info.mtimeMs}\n`);
      }
    }
  };
  await walk(dir, "", 0);
  return hash.digest("hex");
}
