/**
 * Atomicity of uploads across a crash: the real CLI is killed (SIGKILL) in the middle of an upload, or with a
 * swap half done, and restarted on the same repository.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dir, file, readTree, tgz } from "../fixtures/archives/build.ts";
import { freePort, startCli, stopCli } from "../helpers/server.ts";
import { FIXTURE_MODELS, post, tempRepo } from "./util.ts";

const TOKEN = "crash-test-token";
const SCALE_V2 = { inputs: [{ name: "x", shape: [2], datatype: "FP32", data: [1, 2] }] };
const scaleOnnx = (v: number) => readFile(join(FIXTURE_MODELS, "scale", String(v), "model.onnx"));

async function scaled(url: string): Promise<number[]> {
  const r = await post(`${url}/v2/models/m/infer`, SCALE_V2);
  expect(r.status, r.text).toBe(200);
  return r.json.outputs[0].data;
}

async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await exited;
}

/** Polls until `check` holds (the deadline only guards against a hang; nothing here measures time). */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("a crash during an upload leaves the previous model serving", () => {
  let root: string;
  let original: Map<string, Buffer | "dir">;
  const children: ChildProcess[] = [];

  const start = async () => {
    const server = await startCli(["serve", "--model_repository", root, "--admin_token", TOKEN], await freePort());
    children.push(server.child);
    return server;
  };

  beforeEach(async () => {
    root = await tempRepo();
    await mkdir(join(root, "m"));
    await cp(join(FIXTURE_MODELS, "scale", "1"), join(root, "m", "1"), { recursive: true });
    original = await readTree(join(root, "m"));
  });
  afterEach(async () => {
    for (const c of children.splice(0)) await killHard(c);
    await rm(root, { recursive: true, force: true });
  });

  /** After a restart: the old model answers, its folder is intact, and no upload leftovers remain. */
  async function expectRecovered(url: string): Promise<void> {
    expect(await scaled(url)).toEqual([1, 2]);
    expect(await readdir(root)).toEqual(["m"]);
    expect(await readTree(join(root, "m"))).toEqual(original);
  }

  it("SIGKILL while the archive is still arriving", async () => {
    const first = await start();
    expect(await scaled(first.url)).toEqual([1, 2]);

    // A large archive (incompressible weights), sent slowly in small pieces and never finished.
    const archive = await tgz([dir("2"), file("2/model.onnx", await scaleOnnx(2)), file("2/weights.bin", randomBytes(4 * 1024 * 1024))]);
    const req = httpRequest(`${first.url}/v2/repository/models/m/upload`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/gzip", "content-length": archive.length },
    });
    const ended = new Promise<void>((resolve) => {
      req.on("error", () => resolve());
      req.on("close", () => resolve());
    });
    req.on("response", (res) => res.resume());
    let sent = 0;
    let killed = false;
    const sending = (async () => {
      while (!killed && sent < archive.length / 2) {
        const piece = archive.subarray(sent, sent + 16 * 1024);
        sent += piece.length;
        req.write(piece);
        await new Promise((r) => setTimeout(r, 5));
      }
    })().catch(() => undefined);

    // Wait until the server has put part of the body on disk, in its upload area.
    const area = join(root, ".tserve-tmp");
    await until(async () => {
      for (const work of await readdir(area).catch(() => [] as string[])) {
        const size = await stat(join(area, work, "upload.archive")).then((s) => s.size, () => 0);
        if (size > 0) return true;
      }
      return false;
    }, "the upload to reach the server's disk");
    await killHard(first.child);
    killed = true;
    await sending;
    req.destroy();
    await ended;
    expect(sent).toBeLessThan(archive.length);
    // The half-received upload is still there: only a restart cleans it.
    expect((await readdir(area)).length).toBe(1);

    const second = await start();
    await expectRecovered(second.url);
    await stopCli(second.child);
  });

  it("SIGKILL with a swap half done: the restart undoes it", async () => {
    // What a crash between "new folder renamed in" and "commit" leaves: the new model in place, the old one
    // aside in the work folder, and the journal.
    const work = join(root, ".tserve-tmp", "upload-crashed");
    await mkdir(work, { recursive: true });
    await writeFile(join(work, "swap.json"), JSON.stringify({ name: "m" }));
    await rename(join(root, "m"), join(work, "old"));
    await mkdir(join(root, "m", "3"), { recursive: true });
    await writeFile(join(root, "m", "3", "model.onnx"), await scaleOnnx(3));
    // And a stray, unjournaled upload beside it.
    await mkdir(join(root, ".tserve-tmp", "upload-stray"));
    await writeFile(join(root, ".tserve-tmp", "upload-stray", "upload.archive"), "partial");

    const server = await start();
    await expectRecovered(server.url);
    expect(server.output()).toContain("restored the previous m");

    // Uploads still work after the recovery.
    const r = await fetch(`${server.url}/v2/repository/models/m/upload`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
      body: await tgz([dir("2"), file("2/model.onnx", await scaleOnnx(2))]),
    });
    expect(r.status, await r.text()).toBe(200);
    expect(await scaled(server.url)).toEqual([2, 4]);
    await stopCli(server.child);
  });
});
