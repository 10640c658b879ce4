import { describe, expect, it } from "vitest";
import { type ModelChange, ModelMutations } from "../../../packages/server/src/model/index.ts";

describe("ModelMutations", () => {
  it("refuses a second change of the same model with ModelBusy (409) naming both, and frees the name after", async () => {
    const mutations = new ModelMutations();
    let release!: () => void;
    const first = mutations.run("m", "upload", () => new Promise<string>((r) => (release = () => r("done"))));
    expect(mutations.busy("m")).toBe("upload");
    await expect(mutations.run("m", "load", async () => "no")).rejects.toMatchObject({
      status: 409,
      code: "TSERVE_MODEL_BUSY",
      message: expect.stringMatching(/Model m is busy: an upload is in progress, so this load was refused/),
    });
    // Other models are not held up.
    await expect(mutations.run("other", "load", async () => "yes")).resolves.toBe("yes");
    release();
    await expect(first).resolves.toBe("done");
    expect(mutations.busy("m")).toBeUndefined();
    await expect(mutations.run("m", "load", async () => "again")).resolves.toBe("again");
  });

  it("a change may run another change of the same model inside it, given its token", async () => {
    const mutations = new ModelMutations();
    const nested = await mutations.run("m", "upload", async (change) => {
      await new Promise((r) => setTimeout(r, 0));
      expect(change).toMatchObject({ name: "m", action: "upload" });
      // Without the token it is just another change, and refused.
      await expect(mutations.run("m", "install", async () => "no")).rejects.toMatchObject({ status: 409 });
      return mutations.run("m", "install", async (inner) => (inner === change ? "inner" : "another token"), change);
    });
    expect(nested).toBe("inner");
    expect(mutations.busy("m")).toBeUndefined();
  });

  it("refuses a token of a change that has ended, or of another model", async () => {
    const mutations = new ModelMutations();
    let kept: ModelChange | undefined;
    await mutations.run("m", "upload", async (change) => {
      kept = change;
    });
    await expect(mutations.run("m", "install", async () => "no", kept)).rejects.toMatchObject({
      status: 500,
      code: "TSERVE_STALE_MODEL_CHANGE",
      message: expect.stringContaining("a change that has ended"),
    });
    // Of another model: refused whether that model is free …
    await mutations.run("a", "upload", async (a) => {
      await expect(mutations.run("b", "load", async () => "no", a)).rejects.toMatchObject({ code: "TSERVE_STALE_MODEL_CHANGE" });
      // … or busy (then with the usual 409).
      let release!: () => void;
      const b = mutations.run("b", "load", () => new Promise<void>((r) => (release = r)));
      await expect(mutations.run("b", "install", async () => "no", a)).rejects.toMatchObject({ status: 409, code: "TSERVE_MODEL_BUSY" });
      release();
      await b;
    });
  });

  it("frees the name when the change fails", async () => {
    const mutations = new ModelMutations();
    await expect(mutations.run("m", "load", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(mutations.busy("m")).toBeUndefined();
  });
});
