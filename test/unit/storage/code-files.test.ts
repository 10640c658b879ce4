import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findCodeFiles } from "../../../packages/server/src/storage/index.ts";

describe("findCodeFiles", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tserve-code-"));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  async function tree(files: Record<string, string | { data: string; mode: number }>): Promise<string> {
    const root = await mkdtemp(join(dir, "t-"));
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(root, path, ".."), { recursive: true });
      const data = typeof content === "string" ? content : content.data;
      await writeFile(join(root, path), data);
      await chmod(join(root, path), typeof content === "string" ? 0o644 : content.mode);
    }
    return root;
  }

  it("finds nothing in model files and data", async () => {
    const root = await tree({ "1/model.onnx": "onnx", "model-settings.json": "{}", "labels.txt": "a", "1/vocab.json": "{}", "README.md": "# Title\n#! not at the start" });
    expect(await findCodeFiles(root)).toEqual([]);
  });

  it("names modules, scripts, native code, #! files and executables, sorted by path", async () => {
    const root = await tree({
      "model.ts": "",
      "lib/a.cjs": "",
      "lib/b.mts": "",
      "types.d.ts": "",
      "view.tsx": "",
      "start.sh": "",
      "1/addon.node": "",
      "1/libop.so.1": "",
      "tools/run": "#!/bin/sh\necho hi\n",
      "bin/exe": { data: "\u0000\u0001", mode: 0o755 },
      "1/model.onnx": "data",
    });
    const found = await findCodeFiles(root, 100);
    expect(found.map((f) => f.path)).toEqual([
      "1/addon.node",
      "1/libop.so.1",
      "bin/exe",
      "lib/a.cjs",
      "lib/b.mts",
      "model.ts",
      "start.sh",
      "tools/run",
      "types.d.ts",
      "view.tsx",
    ]);
    expect(found.find((f) => f.path === "bin/exe")?.kind).toContain("executable");
    expect(found.find((f) => f.path === "tools/run")?.kind).toContain("#!");
    expect((await findCodeFiles(root, 2)).length).toBe(2);
  });
});
