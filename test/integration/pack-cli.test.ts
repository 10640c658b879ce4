import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extractArchive } from "../../packages/server/src/storage/index.ts";
import { readTree } from "../fixtures/archives/build.ts";
import { freePort, ROOT, startCli, stopCli } from "../helpers/server.ts";
import { IRIS_DIR, post } from "./util.ts";

const CLI = join(ROOT, "bin", "tserve.js");

function tserve(args: string[], cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe("tserve pack", () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "tserve-pack-cli-"));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it("packs a model folder and prints what it packed; the archive unpacks to the same files", async () => {
    const out = join(work, "iris.tgz");
    const r = await tserve(["pack", IRIS_DIR, "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    for (const line of ["1/", "1/model.onnx", "labels.json", "model-settings.json", "3 files"]) expect(r.stdout).toContain(line);
    const result = await extractArchive(out, join(work, "iris-out"));
    expect(result.format).toBe("tar.gz");
    expect(await readTree(result.root)).toEqual(await readTree(IRIS_DIR));
  });

  it("defaults to <dir-name>.tar.gz in the current folder; .zip and .tar by extension; the same bytes every time", async () => {
    const cwd = join(work, "cwd");
    await mkdir(cwd);
    expect((await tserve(["pack", IRIS_DIR], cwd)).code).toBe(0);
    expect(await readdir(cwd)).toEqual(["iris.tar.gz"]);
    expect((await tserve(["pack", IRIS_DIR, "--output", join(cwd, "again.tar.gz")])).code).toBe(0);
    expect(await readFile(join(cwd, "again.tar.gz"))).toEqual(await readFile(join(cwd, "iris.tar.gz")));
    for (const name of ["iris.zip", "iris.tar"]) {
      expect((await tserve(["pack", IRIS_DIR, `--output=${join(cwd, name)}`])).code).toBe(0);
      const result = await extractArchive(join(cwd, name), join(work, `out-${name}`));
      expect(result.format).toBe(name.endsWith(".zip") ? "zip" : "tar");
    }
  });

  it("refuses symlinks, writing nothing", async () => {
    const src = join(work, "linked");
    await mkdir(join(src, "1"), { recursive: true });
    await writeFile(join(src, "1", "model.onnx"), "m");
    await symlink("/etc/hostname", join(src, "1", "extra"));
    const r = await tserve(["pack", src, "-o", join(work, "linked.tgz")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("1/extra is a symlink");
    expect((await readdir(work)).filter((f) => f.startsWith("linked.") || f.startsWith(".linked."))).toEqual([]);
  });

  it("usage errors exit 2", async () => {
    const [none, missing, rar, help, top] = await Promise.all([
      tserve(["pack"]),
      tserve(["pack", join(work, "missing")]),
      tserve(["pack", IRIS_DIR, "-o", join(work, "x.rar")]),
      tserve(["pack", "--help"]),
      tserve(["--help"]),
    ]);
    expect([none.code, missing.code, rar.code]).toEqual([2, 2, 2]);
    expect(rar.stderr).toContain(".tar.gz");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("tserve pack DIR");
    expect(top.stdout).toContain("tserve pack DIR");
  });

  it("a packed archive uploads to a server started with TSERVE_ADMIN_TOKEN, and serves", async () => {
    const archive = join(work, "upload-me.tar.gz");
    expect((await tserve(["pack", IRIS_DIR, "-o", archive])).code).toBe(0);
    const repo = join(work, "repo");
    await mkdir(repo);
    process.env.TSERVE_ADMIN_TOKEN = "from-the-environment";
    let server: Awaited<ReturnType<typeof startCli>>;
    try {
      server = await startCli(["serve", "--model_repository", repo], await freePort());
    } finally {
      delete process.env.TSERVE_ADMIN_TOKEN;
    }
    try {
      const r = await fetch(`${server.url}/v2/repository/models/iris/upload`, {
        method: "POST",
        headers: { authorization: "Bearer from-the-environment", "content-type": "application/gzip" },
        body: await readFile(archive),
      });
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ name: "iris", versions: ["1"], state: "READY" });
      const p = await post(`${server.url}/v1/models/iris:predict`, { instances: [[6.8, 2.8, 4.8, 1.4]] });
      expect(p.status, p.text).toBe(200);
      expect(p.json.predictions[0][1]).toBeCloseTo(0.8015484809875488, 5);
    } finally {
      await stopCli(server.child);
    }
  });
});
