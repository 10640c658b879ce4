import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { Model, ModelRepository } from "../../../src/model/index.ts";
import { currentFaultScope, type FaultScope, ReloadBudget, readableStack, scopeForStack, stackFiles } from "../../../src/model/faults.ts";

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

function repo(options: { loadTimeoutMs?: number } = {}): { repository: ModelRepository; logs: string[] } {
  const logs: string[] = [];
  const repository = new ModelRepository({ ...options, events: { log: (level, message) => logs.push(`${level} ${message}`) } });
  return { repository, logs };
}

function scopeOf(repository: ModelRepository, model: Model): FaultScope {
  const scope = repository.within(model, () => currentFaultScope());
  if (!scope) throw new Error("no fault scope");
  return scope;
}

describe("fault scopes", () => {
  it("calls into a loaded model run in its scope, which names it; other code runs in none", async () => {
    const { repository } = repo();
    const model = new Plain("m");
    await repository.register(model);
    expect(currentFaultScope()).toBeUndefined();
    const scope = scopeOf(repository, model);
    expect(scope).toMatchObject({ name: "m", model, owner: repository });
    // It follows the model's timers and promises.
    const inTimer = await repository.within(model, () => new Promise((r) => setTimeout(() => r(currentFaultScope()), 0)));
    expect(inTimer).toBe(scope);
  });

  it("a fault of a READY model marks it UNAVAILABLE with the reason, unloads and reloads it", async () => {
    const { repository, logs } = repo();
    const model = new Plain("m");
    await repository.register(model);
    await repository.fault(scopeOf(repository, model), new Error("boom in a timer"), "uncaughtException");
    expect(model.unloads).toBe(1);
    expect(model.loads).toBe(2);
    expect(repository.index()).toEqual([{ name: "m", state: "READY", reason: "" }]);
    expect(logs.some((l) => l.startsWith("error model m: uncaught exception in the model's code") && l.includes("boom in a timer"))).toBe(true);
  });

  it("after 3 fault reloads within a minute the model stays UNAVAILABLE with the reason", async () => {
    const { repository } = repo();
    const model = new Plain("m");
    await repository.register(model);
    for (let i = 0; i < 3; i++) await repository.fault(scopeOf(repository, model), new Error(`fault ${i}`), "unhandledRejection");
    expect(repository.isReady("m")).toBe(true);
    await repository.fault(scopeOf(repository, model), new Error("fault 3"), "unhandledRejection");
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
    const { repository, logs } = repo();
    const model = new Plain("m");
    await repository.register(model);
    const scope = scopeOf(repository, model);
    await repository.unload("m");
    await repository.fault(scope, new Error("late timer"), "uncaughtException");
    expect(model.loads).toBe(1);
    expect(repository.index()[0]).toMatchObject({ state: "UNAVAILABLE", reason: "unloaded" });
    expect(logs.some((l) => l.includes("late timer"))).toBe(true);
  });

  it("a fault while loading fails that load with the reason", async () => {
    const { repository } = repo();
    const model = new NeverLoads("hung");
    const loading = repository.register(model);
    // The load is in flight: its scope has failLoad.
    await new Promise((r) => setTimeout(r, 0));
    const scope = scopeOf(repository, model);
    await repository.fault(scope, new Error("thrown while loading"), "uncaughtException");
    await loading;
    expect(repository.index()[0]).toMatchObject({ state: "UNAVAILABLE", reason: "uncaught exception while loading: thrown while loading" });
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
