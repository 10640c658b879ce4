import { describe, expect, it } from "vitest";
import { ModelMutations } from "../../../src/model/index.ts";

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

  it("a change may call another change of the same model inside it", async () => {
    const mutations = new ModelMutations();
    const nested = await mutations.run("m", "upload", async () => {
      await new Promise((r) => setTimeout(r, 0));
      return mutations.run("m", "install", async () => "inner");
    });
    expect(nested).toBe("inner");
  });

  it("frees the name when the change fails", async () => {
    const mutations = new ModelMutations();
    await expect(mutations.run("m", "load", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(mutations.busy("m")).toBeUndefined();
  });
});
