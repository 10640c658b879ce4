import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { Model, type ModelLoader, ModelRepository, type ModelSource } from "../../../packages/server/src/model/index.ts";
import { type FaultScope, ReloadBudget, readableStack, scopeForStack, stackFiles } from "../../../packages/server/src/model/faults.ts";

class Plain extends Model {
  loads = 0;
  unloads = 0;
  override load(): void {
    this.loads++;
    this.ready = true;
  }
  override unload(): void {
    this.unloads++;
    this.ready = false;
  }
  override predict(): unknown {
    return { predictions: [this.loads] };
  }
}

class NeverLoads extends Model {
  override load(): Promise<void> {
    return new Promise(() => {});
  }
}

function repo(options: { loadTimeoutMs?: number; loader?: ModelLoader } = {}): { repository: ModelRepository; logs: string[] } {
  const logs: string[] = [];
  const repository = new ModelRepository({ ...options, events: { log: (level, message) => logs.push(`${level} ${message}`) } });
  return { repository, logs };
}

const DIR = join("/srv", "repo", "m");
/** A stray error's stack whose top frame is a timer callback in `dir`'s model.ts (below one in tserve-like code). */
const stackIn = (dir: string) =>
  [
    "Error: boom",
    `    at Timeout._onTimeout (${pathToFileURL(join(dir, "model.ts")).href}?mtime=1:4:11)`,
    "    at listOnTimeout (node:internal/timers:581:17)",
  ].join("\n");

/** A repository serving `model` (every load hands back that same instance) from the folder DIR. */
async function served(model: Model, options: { loadTimeoutMs?: number } = {}) {
  const r = repo({ ...options, loader: async () => model });
  await r.repository.addSource(source("m"));
  return r;
}

function source(name: string, dir = DIR): ModelSource {
  return { name, dir, settings: {}, versions: [{ dir }] };
}

function scopeOf(repository: ModelRepository, dir = DIR): FaultScope {
  const scope = repository.faultScopeForStack(stackIn(dir));
  if (!scope) throw new Error("no fault scope for a stack in " + dir);
  return scope;
}

describe("fault attribution by stack", () => {
  it("a stack running through a served model's folder names that model; other stacks name none", async () => {
    const model = new Plain("m");
    const { repository } = await served(model);
    expect(scopeOf(repository)).toMatchObject({ name: "m", model, owner: repository, dir: DIR });
    expect(repository.faultScopeForStack("Error: x\n    at f (/srv/repo/other/model.ts:1:1)")).toBeUndefined();
    expect(repository.faultScopeForStack(undefined)).toBeUndefined();
    // A model registered in code has no folder: nothing can be attributed to it.
    await repository.register(new Plain("coded"));
    expect(repository.faultScopeForStack(stackIn(DIR))?.name).toBe("m");
  });

  it("a load under way is named, even before the loader has built it; after an unload, the instance that served", async () => {
    let finishImport: () => void = () => undefined;
    const model = new Plain("m");
    const { repository } = repo({ loader: () => new Promise<Model>((r) => (finishImport = () => r(model))) });
    const loading = repository.addSource(source("m"));
    await new Promise((r) => setTimeout(r, 0));
    // Still importing the module: the scope has no instance yet, but a fault would fail this load.
    const importing = scopeOf(repository);
    expect(importing).toMatchObject({ name: "m", failLoad: expect.any(Function) });
    expect(importing.model).toBeUndefined();
    finishImport();
    await loading;
    expect(scopeOf(repository)).toMatchObject({ model, failLoad: undefined });
    await repository.unload("m");
    // Its leftovers (a timer it did not clear) are still the model's, not the process's: fault() only logs them.
    expect(scopeOf(repository)).toMatchObject({ model, failLoad: undefined });
    expect(repository.faultScopeForStack(stackIn(join("/srv", "repo", "never-loaded")))).toBeUndefined();
  });
});

describe("faults", () => {
  it("a fault of a READY model marks it UNAVAILABLE with the reason, unloads and reloads it", async () => {
    const model = new Plain("m");
    const { repository, logs } = await served(model);
    await repository.fault(scopeOf(repository), new Error("boom in a timer"), "uncaughtException");
    expect(model.unloads).toBe(1);
    expect(model.loads).toBe(2);
    expect(repository.index()).toEqual([{ name: "m", state: "READY", reason: "" }]);
    expect(logs.some((l) => l.startsWith("error model m: uncaught exception in the model's code") && l.includes("boom in a timer"))).toBe(true);
  });

  it("after 3 fault reloads within a minute the model stays UNAVAILABLE with the reason", async () => {
    const model = new Plain("m");
    const { repository } = await served(model);
    for (let i = 0; i < 3; i++) await repository.fault(scopeOf(repository), new Error(`fault ${i}`), "unhandledRejection");
    expect(repository.isReady("m")).toBe(true);
    await repository.fault(scopeOf(repository), new Error("fault 3"), "unhandledRejection");
    expect(repository.isReady("m")).toBe(false);
    const [row] = repository.index();
    expect(row.state).toBe("UNAVAILABLE");
    expect(row.reason).toContain("unhandled promise rejection: fault 3");
    expect(row.reason).toContain("not reloaded again after 3 reloads within 60 s");
    // An explicit load brings it back.
    await repository.load("m");
    expect(repository.isReady("m")).toBe(true);
  });

  it("a fault of an instance no longer served is only logged", async () => {
    const model = new Plain("m");
    const { repository, logs } = await served(model);
    await repository.unload("m");
    await repository.fault(scopeOf(repository), new Error("late timer"), "uncaughtException");
    expect(model.loads).toBe(1);
    expect(repository.index()[0]).toMatchObject({ state: "UNAVAILABLE", reason: "unloaded" });
    expect(logs.some((l) => l.includes("late timer"))).toBe(true);
  });

  it("a fault while loading fails that load with the reason", async () => {
    const { repository } = repo({ loader: async () => new NeverLoads("m") });
    const loading = repository.addSource(source("m"));
    // The load is in flight: its scope has failLoad.
    await new Promise((r) => setTimeout(r, 0));
    await repository.fault(scopeOf(repository), new Error("thrown while loading"), "uncaughtException");
    await loading;
    expect(repository.index()[0]).toMatchObject({ state: "UNAVAILABLE", reason: "uncaught exception while loading: thrown while loading" });
  });

  it("a reload beside the served instance, in the same folder: the load is blamed and the old instance serves on", async () => {
    const old = new Plain("m");
    let next: Model = old;
    const { repository, logs } = repo({ loader: async () => next });
    await repository.addSource(source("m"));
    next = new NeverLoads("m");
    const reloading = repository.load("m").catch(() => undefined);
    await new Promise((r) => setTimeout(r, 0));
    const scope = scopeOf(repository);
    expect(scope.model).toBe(next);
    await repository.fault(scope, new Error("thrown while reloading"), "uncaughtException");
    await reloading;
    expect(repository.get("m")).toBe(old);
    expect(old.unloads).toBe(0);
    expect(logs).toContain("warn reload of m v failed; the old one keeps serving");
  });

  it("during the reload after a fault, the faulted instance's leftovers are only logged and do not fail the reload", async () => {
    const faulted = new Plain("m");
    let finishLoad: () => void = () => undefined;
    class SlowLoad extends Model {
      override load(): Promise<void> {
        return new Promise<void>((r) => (finishLoad = r)).then(() => {
          this.ready = true;
        });
      }
    }
    const replacement = new SlowLoad("m");
    let next: Model = faulted;
    const { repository, logs } = repo({ loader: async () => next });
    await repository.addSource(source("m"));
    next = replacement;
    const reloading = repository.fault(scopeOf(repository), new Error("first"), "unhandledRejection");
    await new Promise((r) => setTimeout(r, 0));
    expect(repository.isReady("m")).toBe(false);
    // A second rejection (a request the faulted instance was still handling) while its replacement loads.
    const leftover = scopeOf(repository);
    expect(leftover.model).toBe(faulted);
    await repository.fault(leftover, new Error("second"), "unhandledRejection");
    finishLoad();
    await reloading;
    expect(repository.get("m")).toBe(replacement);
    expect(logs.some((l) => l.includes("second"))).toBe(true);
    // Once it serves, a stack in the folder names the replacement.
    expect(scopeOf(repository).model).toBe(replacement);
  });
});

describe("load timeout", () => {
  it("a load() that never finishes is UNAVAILABLE with the reason once the timeout passes", async () => {
    const { repository, logs } = repo({ loadTimeoutMs: 20 });
    await repository.register(new NeverLoads("hung"));
    await repository.register(new Plain("fine"));
    expect(repository.index()).toEqual([
      { name: "fine", state: "READY", reason: "" },
      { name: "hung", state: "UNAVAILABLE", reason: "load() did not finish within 0.02 s (--model_load_timeout)" },
    ]);
    expect(repository.isLoading()).toBe(false);
    expect(logs).toContain("error failed to load model hung: load() did not finish within 0.02 s (--model_load_timeout)");
  });

  it("0 means no limit", async () => {
    const { repository } = repo({ loadTimeoutMs: 0 });
    let finish: () => void = () => undefined;
    class Slow extends Model {
      override load(): Promise<void> {
        return new Promise<void>((r) => (finish = r)).then(() => {
          this.ready = true;
        });
      }
    }
    const loading = repository.register(new Slow("slow"));
    await new Promise((r) => setTimeout(r, 30));
    expect(repository.index()[0].state).toBe("LOADING");
    finish();
    await loading;
    expect(repository.index()[0].state).toBe("READY");
  });
});

describe("attribution by stack", () => {
  const dir = join("/srv", "models", "a");
  const stack = [
    "Error: boom",
    "    at Array.forEach (<anonymous>)",
    `    at helper (${join(dir, "node_modules", "lib", "index.js")}:3:9)`,
    `    at Timeout._onTimeout (${pathToFileURL(join(dir, "model.ts")).href}?mtime=17:12:5)`,
    "    at listOnTimeout (node:internal/timers:581:17)",
  ].join("\n");

  it("lists the files of a stack's frames, file URLs as paths", () => {
    expect(stackFiles(stack)).toEqual([join(dir, "node_modules", "lib", "index.js"), join(dir, "model.ts")]);
  });

  it("the top frame in a model's own folder decides; dependencies under node_modules do not", () => {
    const candidates = [
      { dir, scope: "a" },
      { dir: join("/srv", "models", "b"), scope: "b" },
    ];
    expect(scopeForStack(stack, candidates)).toBe("a");
    expect(scopeForStack("Error: x\n    at /srv/other/file.js:1:1", candidates)).toBeUndefined();
    expect(scopeForStack(undefined, candidates)).toBeUndefined();
  });

  it("nested folders: the deepest wins", () => {
    const candidates = [
      { dir: "/srv", scope: "outer" },
      { dir, scope: "inner" },
    ];
    expect(scopeForStack(`Error\n    at f (${join(dir, "model.ts")}:1:1)`, candidates)).toBe("inner");
  });

  it("tsx's data: URL frames name the module file", () => {
    const file = "/tmp/repo/m/model.ts";
    const frame = `    at Timeout._onTimeout (data:text/javascript,__filename%3D%22x%22%3B(()%3D%3E%7B%7D)()?filePath=${encodeURIComponent(`${file}?namespace=123`)}:2:1117)`;
    expect(readableStack(`Error: x\n${frame}`)).toBe(`Error: x\n    at Timeout._onTimeout (${file}:2:1117)`);
    expect(stackFiles(`Error: x\n${frame}`)).toEqual([file]);
  });
});

describe("ReloadBudget", () => {
  it("allows 3 reloads per key within the window, then again once they age out", () => {
    let now = 0;
    const budget = new ReloadBudget(3, 60_000, () => now);
    expect([budget.take("a"), budget.take("a"), budget.take("a"), budget.take("a")]).toEqual([true, true, true, false]);
    expect(budget.take("b")).toBe(true);
    now = 60_000;
    expect(budget.take("a")).toBe(true);
  });
});
