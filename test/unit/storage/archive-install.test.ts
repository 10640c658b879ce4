import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createUploadWorkDir, installModelFolder, recoverUploads, UPLOAD_AREA } from "../../../packages/server/src/storage/index.ts";

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "tserve-install-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function modelFolder(path: string, content: string): Promise<void> {
  await mkdir(join(path, "1"), { recursive: true });
  await writeFile(join(path, "1", "model.onnx"), content);
}

const served = (name: string) => readFile(join(root, name, "1", "model.onnx"), "utf8");
const exists = (p: string) => stat(p).then(() => true, () => false);

/** A work folder with a staged model, as the upload route leaves it before installing. */
async function staged(content: string): Promise<{ work: string; staged: string }> {
  const work = await createUploadWorkDir(root);
  const dir = join(work, "unpacked");
  await modelFolder(dir, content);
  return { work, staged: dir };
}

describe("installModelFolder", () => {
  it("swaps the new folder in, activates it, then removes the old one", async () => {
    await modelFolder(join(root, "m"), "old");
    const { work, staged: dir } = await staged("new");
    let seen = "";
    await installModelFolder({ root, name: "m", staged: dir, workDir: work, activate: async () => void (seen = await served("m")) });
    expect(seen).toBe("new");
    expect(await served("m")).toBe("new");
    expect((await readdir(work)).sort()).toEqual(["committed", "swap.json"]);
  });

  it("installs a model that did not exist", async () => {
    const { work, staged: dir } = await staged("first");
    await installModelFolder({ root, name: "fresh", staged: dir, workDir: work, activate: async () => {} });
    expect(await served("fresh")).toBe("first");
  });

  it("rolls back to the old folder when activation fails, and rethrows", async () => {
    await modelFolder(join(root, "m"), "old");
    const { work, staged: dir } = await staged("broken");
    const failing = async () => {
      throw new Error("does not load");
    };
    await expect(installModelFolder({ root, name: "m", staged: dir, workDir: work, activate: failing })).rejects.toThrow("does not load");
    expect(await served("m")).toBe("old");
    expect(await exists(join(work, "rejected"))).toBe(true);
  });

  it("a failed first install leaves no folder behind", async () => {
    const { work, staged: dir } = await staged("broken");
    await expect(
      installModelFolder({ root, name: "fresh", staged: dir, workDir: work, activate: () => Promise.reject(new Error("no")) }),
    ).rejects.toThrow("no");
    expect(await exists(join(root, "fresh"))).toBe(false);
  });
});

describe("recoverUploads (what a restart finds after a crash)", () => {
  /** Builds the work folder of a swap interrupted at a given step. */
  async function crashedSwap(step: "journal" | "old-moved" | "new-moved" | "rolling-back" | "committed", hadOld = true) {
    if (hadOld) await modelFolder(join(root, "m"), "old");
    const { work, staged: dir } = await staged("new");
    await rename(dir, join(work, "new"));
    await writeFile(join(work, "swap.json"), JSON.stringify({ name: "m" }));
    if (step === "journal") return work;
    if (hadOld) await rename(join(root, "m"), join(work, "old"));
    if (step === "old-moved") return work;
    await rename(join(work, "new"), join(root, "m"));
    if (step === "new-moved") return work;
    if (step === "rolling-back") {
      await rename(join(root, "m"), join(work, "rejected"));
      return work;
    }
    await writeFile(join(work, "committed"), "");
    return work;
  }

  it("does nothing without an upload area", async () => {
    expect(await recoverUploads(root)).toEqual([]);
  });

  it("deletes an upload that was still arriving", async () => {
    const work = await createUploadWorkDir(root);
    await writeFile(join(work, "upload.archive"), "half an archive");
    await modelFolder(join(root, "m"), "old");
    const actions = await recoverUploads(root);
    expect(actions.join("\n")).toContain("removed stale upload files");
    expect(await readdir(root)).toEqual(["m"]);
    expect(await served("m")).toBe("old");
  });

  for (const step of ["journal", "old-moved", "new-moved", "rolling-back"] as const) {
    it(`restores the previous model when the crash came at step '${step}'`, async () => {
      await crashedSwap(step);
      await recoverUploads(root);
      expect(await readdir(root)).toEqual(["m"]);
      expect(await served("m")).toBe("old");
    });
  }

  it("removes an uncommitted first install (the model did not exist before)", async () => {
    await crashedSwap("new-moved", false);
    const actions = await recoverUploads(root);
    expect(actions.join("\n")).toContain("uncommitted upload of m");
    expect(await readdir(root)).toEqual([]);
  });

  it("keeps a committed swap and clears its leftovers", async () => {
    await crashedSwap("committed");
    await recoverUploads(root);
    expect(await readdir(root)).toEqual(["m"]);
    expect(await served("m")).toBe("new");
  });

  it("ignores a journal naming a path outside the repository", async () => {
    const work = await createUploadWorkDir(root);
    await writeFile(join(work, "swap.json"), JSON.stringify({ name: "../escape" }));
    await mkdir(join(work, "old"));
    await recoverUploads(root);
    expect(await exists(join(root, "..", "escape"))).toBe(false);
    expect(await exists(join(root, UPLOAD_AREA))).toBe(false);
  });
});
