import { basename, join } from "node:path";
import { InvalidInput, ModelNotFound, ModelNotReady, toTServeError, TServeError, Unsupported } from "../errors/index.ts";
import type { ModelIndexEntry, ModelState } from "../protocol/index.ts";
import type { Model } from "./model.ts";
import { FaultScopes } from "./fault-scopes.ts";
import { type FaultKind, type FaultOwner, type FaultScope, MAX_RELOADS, RELOAD_WINDOW_MS, readableStack, ReloadBudget } from "./faults.ts";
import { type ModelChange, ModelMutations } from "./mutations.ts";
import type { ModelSettings } from "./settings.ts";
import { discoverModel, isDirectory, listModelDirs, type ModelSource } from "./discovery.ts";

export type { ModelSource } from "./discovery.ts";

/** Builds a Model from a source (picks the runtime); supplied by the runtime layer. */
export type ModelLoader = (source: ModelSource, version: { version?: string; dir: string }) => Promise<Model>;

interface VersionSlot {
  version?: string;
  state: ModelState;
  reason: string;
  model?: Model;
  /** A model registered in code is kept across unload so that load can bring it back. */
  registered?: Model;
  /**
   * Whether this version should be served: set by each load, cleared by an unload (explicit, the version policy,
   * an upload's swap, server stop). Strict readiness waits only for versions that should be served (`unready()`).
   */
  wanted?: boolean;
}

interface ModelEntry {
  name: string;
  source?: ModelSource;
  slots: VersionSlot[];
}

export interface RepositoryEvents {
  onLoaded?(name: string, version: string | undefined, seconds: number): void;
  log?(level: "info" | "warn" | "error", message: string): void;
}

const MODEL_NAME = /^[^/\\\0]+$/;
const VERSION_ARG = /^\d+$/;

/**
 * The models a server knows, with Triton's per-version state machine
 * (UNKNOWN -> LOADING -> READY -> UNLOADING -> UNAVAILABLE). A model that fails to load is UNAVAILABLE
 * with its reason; the others keep serving.
 */
export class ModelRepository implements FaultOwner {
  private readonly entries = new Map<string, ModelEntry>();
  private readonly root?: string;
  private readonly loader?: ModelLoader;
  private readonly events: RepositoryEvents;
  /**
   * Load, unload, install and remove of one model name run one at a time; an overlapping one gets ModelBusy.
   * Each of them takes an optional ModelChange: the token of the change that holds the name now (from
   * `mutations.run`), to run as part of it.
   */
  readonly mutations = new ModelMutations();

  /** A load() (with the loader building the model) longer than this is abandoned as UNAVAILABLE; 0: no limit. */
  private readonly loadTimeoutMs: number;
  /** Which instance a stray error belongs to: the scopes of loads under way, served and last-ready instances. */
  private readonly faultScopes = new FaultScopes();
  private readonly reloads = new ReloadBudget();

  constructor(options: { root?: string; loader?: ModelLoader; events?: RepositoryEvents; loadTimeoutMs?: number } = {}) {
    this.root = options.root;
    this.loader = options.loader;
    this.events = options.events ?? {};
    this.loadTimeoutMs = options.loadTimeoutMs ?? 0;
  }

  /** Adds an already constructed model (programmatic use); loads it if it is not ready yet. */
  async register(model: Model): Promise<void> {
    if (this.entries.has(model.name)) throw new InvalidInput(`A model named ${model.name} is already registered`);
    const slot: VersionSlot = { state: "LOADING", reason: "", model, registered: model };
    this.entries.set(model.name, { name: model.name, slots: [slot] });
    await this.runLoad(model.name, slot, async () => model);
  }

  /** Adds a model folder and loads its selected versions. */
  async addSource(source: ModelSource): Promise<void> {
    const entry: ModelEntry = this.entries.get(source.name) ?? { name: source.name, slots: [] };
    entry.source = source;
    this.entries.set(source.name, entry);
    await this.loadSource(entry, source);
  }

  /** Scans the repository root and loads every model folder in it. */
  async loadAll(): Promise<void> {
    if (!this.root) return;
    const dirs = await listModelDirs(this.root);
    await Promise.all(
      dirs.map(async (dir) => {
        let source: ModelSource;
        try {
          source = await discoverModel(dir);
        } catch (err) {
          // A broken folder is reported in the index; it must not stop the other models.
          const reason = toTServeError(err).message;
          this.entries.set(basename(dir), { name: basename(dir), slots: [{ state: "UNAVAILABLE", reason }] });
          this.events.log?.("error", `failed to read model folder ${dir}: ${reason}`);
          return;
        }
        await this.addSource(source);
      }),
    );
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** The READY model for a request; the latest ready version when none is named. */
  get(name: string, version?: string): Model {
    return this.resolve(name, version).model;
  }

  /** The READY model and the version that answers a request for (name, version); one lookup for both. */
  resolve(name: string, version?: string): { model: Model; version?: string } {
    const slot = this.slot(name, version);
    if (slot.state !== "READY" || !slot.model) {
      throw new ModelNotReady(name, slot.reason ? `(${slot.state}: ${slot.reason})` : `(${slot.state})`);
    }
    return { model: slot.model, version: slot.version };
  }

  isReady(name: string, version?: string): boolean {
    const slot = this.slot(name, version);
    return slot.state === "READY" && slot.model !== undefined && slot.model.ready;
  }

  /** Every model instance that is READY now. */
  readyModels(): Model[] {
    const out: Model[] = [];
    for (const e of this.entries.values()) for (const s of e.slots) if (s.state === "READY" && s.model) out.push(s.model);
    return out;
  }

  // --- TF Serving version labels (V1 routes) ---

  /** The model's model-settings.json (empty for models registered in code); ModelNotFound when unknown. */
  settingsOf(name: string): ModelSettings {
    const entry = this.entries.get(name);
    if (!entry) throw new ModelNotFound(name);
    return entry.source?.settings ?? {};
  }

  /** The version a label names in model-settings.json `versionLabels`; undefined for an unknown label. */
  resolveLabel(name: string, label: string): string | undefined {
    const labels = this.settingsOf(name).versionLabels;
    return labels && Object.hasOwn(labels, label) ? String(labels[label]) : undefined;
  }

  // --- end TF Serving version labels ---

  versions(name: string): string[] {
    const entry = this.entries.get(name);
    if (!entry) throw new ModelNotFound(name);
    return entry.slots.filter((s) => s.version !== undefined && s.state === "READY").map((s) => s.version!);
  }

  /** True while any model is still loading: the server is not ready until it finishes. */
  isLoading(): boolean {
    for (const e of this.entries.values()) if (e.slots.some((s) => s.state === "LOADING")) return true;
    return false;
  }

  /**
   * What strict readiness waits for (Triton's `--strict-readiness` rule, server.cc `IsReady`): every version that
   * should be served and is not READY (loading, unloading, or UNAVAILABLE because its load failed, timed out or it
   * faulted), and every model with no version at all. A version unloaded on purpose (the unload API, the version
   * policy, an upload's swap) does not count: Triton's "unloaded" reason. Unlike Triton, an explicit unload of a
   * version that had failed to load also takes it out, so an operator can make the server ready without a restart.
   */
  unready(): ModelIndexEntry[] {
    const out: ModelIndexEntry[] = [];
    for (const e of this.entries.values()) {
      if (e.slots.length === 0) out.push({ name: e.name, state: "UNAVAILABLE", reason: "no version to serve" });
      for (const s of e.slots) {
        if (s.state === "READY" || s.wanted === false) continue;
        const row: ModelIndexEntry = { name: e.name, state: s.state, reason: s.reason };
        if (s.version !== undefined) row.version = s.version;
        out.push(row);
      }
    }
    return out;
  }

  index(readyOnly = false): ModelIndexEntry[] {
    const out: ModelIndexEntry[] = [];
    for (const e of this.entries.values()) {
      for (const s of e.slots) {
        if (readyOnly && s.state !== "READY") continue;
        const row: ModelIndexEntry = { name: e.name, state: s.state, reason: s.reason };
        if (s.version !== undefined) row.version = s.version;
        out.push(row);
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name) || Number(a.version ?? 0) - Number(b.version ?? 0));
  }

  /**
   * (Re)loads a model from disk. A folder that appeared in the repository since start-up is picked up.
   * On reload the old versions keep serving until the new ones are ready. ModelBusy while the model is changing.
   */
  load(name: string, change?: ModelChange): Promise<void> {
    return this.mutations.run(name, "load", () => this.loadFromDisk(name), change);
  }

  private async loadFromDisk(name: string): Promise<void> {
    let entry = this.entries.get(name);
    let source = entry?.source;
    // A name is one folder of the repository: never a path that climbs out of it.
    if (!MODEL_NAME.test(name) || name === "." || name === "..") {
      throw new InvalidInput(`Invalid model name '${name}': names may not contain '/', '\\' or be '.' / '..'`);
    }
    // Dot-folders (the upload work area `.tserve-tmp`, editors' and VCS folders) are never models.
    if (this.root && !name.startsWith(".")) {
      const dir = join(this.root, name);
      if (await isDirectory(dir)) source = await discoverModel(dir, entry?.source?.name ?? name);
    }
    if (!source) {
      if (entry) {
        // A programmatically registered model: just make sure it is loaded again.
        const slot = entry.slots[0];
        const model = slot.registered;
        if (model && slot.state !== "READY") await this.runLoad(name, slot, async () => model);
        if (slot.state !== "READY") throw new ModelNotReady(name, slot.reason);
        return;
      }
      throw new ModelNotFound(name);
    }
    if (!entry) {
      entry = { name, slots: [] };
      this.entries.set(name, entry);
    }
    entry.source = source;
    await this.loadSource(entry, source);
    const failed = entry.slots.filter((s) => s.state !== "READY");
    if (failed.length > 0 && failed.length === entry.slots.length) {
      throw new ModelNotReady(name, failed.map((s) => s.reason).join("; "));
    }
  }

  // --- install (uploads): load a replaced model folder beside the old instances, switch only when all are READY ---

  /**
   * Loads the model folder `<root>/<name>` (just swapped in by an upload) into new instances and makes them the
   * served ones only when every selected version is READY; the previous instances (any versions) are unloaded
   * after. If any version fails, the new instances are dropped, the previous ones keep serving untouched, and
   * this throws InvalidInput with the reasons.
   */
  install(name: string, change?: ModelChange): Promise<void> {
    return this.mutations.run(name, "install", () => this.installFromDisk(name), change);
  }

  private async installFromDisk(name: string): Promise<void> {
    if (!this.root) throw new Unsupported("This repository has no root folder to install models into");
    if (!this.loader) throw new Unsupported("This repository has no model loader");
    if (!MODEL_NAME.test(name) || name.startsWith(".")) {
      throw new InvalidInput(`Invalid model name '${name}': names may not contain '/', '\\' or start with '.'`);
    }
    const loader = this.loader;
    const source = await discoverModel(join(this.root, name), name);
    const slots: VersionSlot[] = source.versions.map((v) => ({ version: v.version, state: "LOADING", reason: "" }));
    const ready = await Promise.all(source.versions.map((v, i) => this.runLoad(name, slots[i], () => loader(source, v), v.dir)));
    if (ready.includes(false)) {
      await Promise.all(slots.map((s) => (s.model ? safeUnload(s.model) : undefined)));
      const reasons = slots
        .filter((s) => s.state !== "READY")
        .map((s) => (s.version === undefined ? s.reason : `version ${s.version}: ${s.reason}`));
      throw new InvalidInput(`Model ${name} failed to load: ${reasons.join("; ")}`);
    }
    slots.sort((a, b) => Number(a.version ?? 0) - Number(b.version ?? 0));
    const previous = this.entries.get(name);
    this.entries.set(name, { name, source, slots });
    if (previous) await Promise.all(previous.slots.map((s) => this.unloadSlot(s, "replaced by an upload")));
  }

  // --- end install ---

  /** Unloads every version of a model; it stays in the index (UNAVAILABLE) and load() brings it back. */
  unload(name: string, change?: ModelChange): Promise<void> {
    return this.mutations.run(
      name,
      "unload",
      async () => {
        const entry = this.entries.get(name);
        if (!entry) throw new ModelNotFound(name);
        await Promise.all(entry.slots.map((s) => this.unloadSlot(s, "unloaded")));
      },
      change,
    );
  }

  /** Unloads a model and forgets it (its folder left the repository): afterwards it is unknown (404), not UNAVAILABLE. */
  remove(name: string, change?: ModelChange): Promise<void> {
    return this.mutations.run(
      name,
      "removal",
      async () => {
        const entry = this.entries.get(name);
        if (!entry) return;
        await Promise.all(entry.slots.map((s) => this.unloadSlot(s, "removed from the repository")));
        if (this.entries.get(name) === entry) this.entries.delete(name);
      },
      change,
    );
  }

  /** The repository root folder, when there is one. */
  get rootDir(): string | undefined {
    return this.root;
  }

  async unloadAll(): Promise<void> {
    await Promise.all(
      [...this.entries.values()].flatMap((e) => e.slots.map((s) => this.unloadSlot(s, "server stopped"))),
    );
  }

  private slot(name: string, version?: string): VersionSlot {
    const entry = this.entries.get(name);
    if (!entry) throw new ModelNotFound(name);
    if (version === undefined || version === "") {
      // Slots are kept sorted by version: the last READY one wins, else the last one (to report its state).
      const slots = entry.slots;
      if (slots.length === 0) throw new ModelNotFound(name);
      for (let i = slots.length - 1; i >= 0; i--) if (slots[i].state === "READY") return slots[i];
      return slots[slots.length - 1];
    }
    if (!VERSION_ARG.test(version)) {
      throw new InvalidInput(`Invalid version '${version}' for model ${name}: versions are positive integers`);
    }
    const slot = entry.slots.find((s) => s.version !== undefined && Number(s.version) === Number(version));
    if (!slot) throw new ModelNotFound(name, version);
    return slot;
  }

  private async loadSource(entry: ModelEntry, source: ModelSource): Promise<void> {
    if (!this.loader) throw new Unsupported("This repository has no model loader");
    const loader = this.loader;
    const wanted = new Set(source.versions.map((v) => v.version));
    await Promise.all(
      source.versions.map(async (v) => {
        const previous = entry.slots.find((s) => s.version === v.version);
        const slot: VersionSlot = { version: v.version, state: "LOADING", reason: "" };
        if (!previous) entry.slots.push(slot);
        const ok = await this.runLoad(entry.name, slot, () => loader(source, v), v.dir);
        if (previous) {
          if (ok) {
            const old = previous.model;
            Object.assign(previous, slot);
            if (old && old !== slot.model) await safeUnload(old);
          } else if (previous.state !== "READY") {
            Object.assign(previous, slot);
          } else {
            this.events.log?.("warn", `reload of ${entry.name} v${v.version ?? ""} failed; the old one keeps serving`);
          }
        }
      }),
    );
    // Versions the policy no longer selects are unloaded (a failed one is just no longer wanted).
    for (const s of entry.slots) {
      if (wanted.has(s.version)) continue;
      if (s.state === "READY") await this.unloadSlot(s, "version no longer selected by the version policy");
      else s.wanted = false;
    }
    entry.slots.sort((a, b) => Number(a.version ?? 0) - Number(b.version ?? 0));
  }

  /** Runs a model's load() (`dir`: its version folder, none for a model registered in code); returns whether it ended READY. */
  private async runLoad(name: string, slot: VersionSlot, create: () => Promise<Model>, dir?: string): Promise<boolean> {
    slot.state = "LOADING";
    slot.reason = "";
    slot.wanted = true;
    const started = performance.now();
    // While the module's import, its constructor and load() run, a stray error whose stack runs through the
    // version's folder fails this load at once (failLoad); once loaded, it marks the model (fault()). load() itself
    // (not the import, whose compile time depends on the machine) gets loadTimeoutMs.
    const scope: FaultScope = { owner: this, name, version: slot.version, dir };
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let stop: (err: unknown) => void = () => undefined;
    const stopped = new Promise<never>((_, reject) => (stop = reject));
    scope.failLoad = stop;
    this.faultScopes.beginLoad(scope);
    const loading = (async () => {
      const model = await create();
      this.faultScopes.built(scope, model);
      if (settled) return model;
      slot.model = model;
      if (!model.ready) {
        if (this.loadTimeoutMs > 0) {
          const seconds = this.loadTimeoutMs / 1000;
          const message = `load() did not finish within ${seconds} s (--model_load_timeout)`;
          timer = setTimeout(() => stop(new TServeError(message, "UNAVAILABLE", 503, "TSERVE_MODEL_LOAD_TIMEOUT")), this.loadTimeoutMs);
        }
        await model.load();
      }
      if (!model.ready) throw new Error("load() finished but the model did not set ready = true");
      return model;
    })();
    try {
      await Promise.race([loading, stopped]);
      slot.state = "READY";
      this.faultScopes.ready(scope);
      this.events.onLoaded?.(name, slot.version, (performance.now() - started) / 1000);
      this.events.log?.("info", `loaded model ${name}${slot.version ? ` version ${slot.version}` : ""}`);
      return true;
    } catch (err) {
      slot.state = "UNAVAILABLE";
      slot.reason = toTServeError(err).message;
      slot.model = undefined;
      // Abandoned (timed out or faulted) while still loading: whatever it finishes building is released then.
      void loading.then((model) => this.unloadModel(model), () => undefined);
      this.events.log?.(
        "error",
        `failed to load model ${name}${slot.version ? ` version ${slot.version}` : ""}: ${slot.reason}`,
      );
      return false;
    } finally {
      settled = true;
      clearTimeout(timer);
      this.faultScopes.endLoad(scope);
    }
  }

  private async unloadSlot(slot: VersionSlot, reason: string): Promise<void> {
    slot.wanted = false;
    if (!slot.model) {
      if (slot.state === "READY") slot.state = "UNAVAILABLE";
      return;
    }
    const model = slot.model;
    slot.state = "UNLOADING";
    await this.unloadModel(model);
    slot.model = undefined;
    slot.state = "UNAVAILABLE";
    slot.reason = reason;
  }

  // --- faults: stray errors from a model's own code (timers, unhandled rejections), reported by the server's fault guard ---

  /** The fault scope of a loaded instance (see faults.ts); undefined for one this repository did not load. */
  faultScopeOf(model: Model): FaultScope | undefined {
    return this.faultScopes.of(model);
  }

  /** The model a stray error's stack names (FaultScopes.forStack says which, when several could have thrown). */
  faultScopeForStack(stack: string | undefined): FaultScope | undefined {
    return this.faultScopes.forStack(stack, this.servedModels());
  }

  private *servedModels(): Iterable<Model> {
    for (const entry of this.entries.values()) for (const slot of entry.slots) if (slot.model) yield slot.model;
  }

  /**
   * A stray error from a model's code. While it loads, the load fails with it. A READY instance is marked
   * UNAVAILABLE with the reason, unloaded, and reloaded through load(); after MAX_RELOADS such reloads within
   * RELOAD_WINDOW_MS it stays UNAVAILABLE (an explicit load brings it back). An instance no longer served is only logged.
   */
  async fault(scope: FaultScope, err: unknown, kind: FaultKind): Promise<void> {
    const label = `${scope.name}${scope.version ? ` version ${scope.version}` : ""}`;
    const what = kind === "uncaughtException" ? "uncaught exception" : "unhandled promise rejection";
    const message = err instanceof Error ? err.message : String(err);
    const detail = err instanceof Error && err.stack ? readableStack(err.stack) : message;
    this.events.log?.("error", `model ${label}: ${what} in the model's code (not from a request): ${detail}`);
    if (scope.failLoad) {
      scope.failLoad(new TServeError(`${what} while loading: ${message}`, "INTERNAL", 500, "TSERVE_MODEL_FAULT", { cause: err }));
      return;
    }
    const slot = scope.model && this.entries.get(scope.name)?.slots.find((s) => s.model === scope.model);
    if (!slot || slot.state !== "READY" || !slot.model) return;
    const model = slot.model;
    const reload = this.reloads.take(`${scope.name}\0${scope.version ?? ""}`);
    slot.state = "UNAVAILABLE";
    slot.reason = reload
      ? `${what}: ${message}; reloading`
      : `${what}: ${message}; not reloaded again after ${MAX_RELOADS} reloads within ${RELOAD_WINDOW_MS / 1000} s (load it explicitly to retry)`;
    slot.model = undefined;
    await this.unloadModel(model);
    if (!reload) {
      this.events.log?.("error", `model ${label} is UNAVAILABLE: ${slot.reason}`);
      return;
    }
    this.events.log?.("warn", `reloading model ${label} after a stray ${what}`);
    try {
      await this.faultScopes.reloadingAfterFault(scope.name, () => this.load(scope.name));
    } catch (e) {
      this.events.log?.("error", `reload of model ${label} after a stray ${what} failed: ${toTServeError(e).message}`);
    }
  }

  private unloadModel(model: Model): Promise<void> {
    return safeUnload(model);
  }

  // --- end faults ---
}

async function safeUnload(model: Model): Promise<void> {
  try {
    await model.unload();
  } catch {
    // An unload failure must not keep the slot alive; the model is dropped either way.
  }
  model.ready = false;
}
