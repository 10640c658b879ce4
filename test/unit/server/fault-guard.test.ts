import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Model, ModelRepository } from "../../../packages/server/src/model/index.ts";
import { attributeFault, guardFaults, unhandledRejectionsMode } from "../../../packages/server/src/server/fault-guard.ts";

class Plain extends Model {
  override predict(): unknown {
    return {};
  }
}

const quiet = { log() {} };

describe("attributeFault", () => {
  it("names the model whose folder the error's stack runs through, among started servers' repositories", async () => {
    const dir = join("/srv", "repo", "m");
    const repository = new ModelRepository({ loader: async (source) => new Plain(source.name) });
    await repository.addSource({ name: "m", dir, settings: {}, versions: [{ dir }] });
    const model = repository.get("m");
    const stack = `Error: boom\n    at Timeout._onTimeout (${join(dir, "model.ts")}:4:11)`;
    const err = Object.assign(new Error("boom"), { stack });

    // Only the repositories of started servers are looked at.
    expect(attributeFault(err)).toBeUndefined();
    const release = guardFaults(repository, quiet);
    try {
      expect(attributeFault(err)).toMatchObject({ name: "m", model });
      expect(attributeFault(new Error("not from a model"))).toBeUndefined();
      expect(attributeFault("a thrown string")).toBeUndefined();
      // A model frame below the top one still names it (the error came from a helper the model called) …
      const viaHelper = Object.assign(new Error("deep"), { stack: `Error: deep\n    at helper (/usr/lib/node/lib.js:1:1)\n${stack.split("\n")[1]}` });
      expect(attributeFault(viaHelper)?.name).toBe("m");
      // … but an error whose stack never enters the model's folder is not the model's, whatever ran when it was thrown.
      expect(attributeFault(Object.assign(new Error("elsewhere"), { stack: "Error: elsewhere\n    at f (/srv/repo/m2/model.ts:1:1)" }))).toBeUndefined();
    } finally {
      release();
    }
  });

  it("installs its process handlers once for any number of servers and removes them with the last", () => {
    const before = process.listenerCount("uncaughtException");
    const a = guardFaults(new ModelRepository(), quiet);
    const b = guardFaults(new ModelRepository(), quiet);
    expect(process.listenerCount("uncaughtException")).toBe(before + 1);
    a();
    expect(process.listenerCount("unhandledRejection")).toBeGreaterThan(0);
    b();
    expect(process.listenerCount("uncaughtException")).toBe(before);
  });
});

describe("unhandledRejectionsMode", () => {
  it("reads --unhandled-rejections from the command line or NODE_OPTIONS; Node's default is throw", () => {
    expect(unhandledRejectionsMode([], "")).toBe("throw");
    expect(unhandledRejectionsMode(["--unhandled-rejections=warn"], "")).toBe("warn");
    expect(unhandledRejectionsMode([], "--max-old-space-size=100 --unhandled-rejections=none")).toBe("none");
    expect(unhandledRejectionsMode(["--unhandled-rejections", "strict"], "")).toBe("strict");
  });
});
