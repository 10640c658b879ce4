/**
 * examples/kubeflow-iris, the Kubeflow seed end to end: `npm run example:kubeflow-iris` serves the packaged
 * iris model from its archive, from an S3 bucket (a local s3rver), the PyTorch export from its .tgz, and an
 * upload into a repository; each answers the seed's request with 3 probabilities per row. Here we also check
 * the archive's answers against the reference iris probabilities, and the PyTorch package against PyTorch's own.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FIXTURES, freePort, ROOT, startCli, stopCli } from "../helpers/server.ts";

const SEED = { instances: [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]] };
const IRIS = JSON.parse(readFileSync(join(FIXTURES, "iris-expected.json"), "utf8")) as { probabilities: number[][]; tolerance: number };
const PYTORCH = JSON.parse(readFileSync(join(ROOT, "examples/kubeflow-iris/packages/iris-pytorch-expected.json"), "utf8")) as {
  predictions: number[][];
};

async function predict(url: string, model: string): Promise<{ status: number; json: any }> {
  const r = await fetch(`${url}/v1/models/${model}:predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(SEED),
  });
  return { status: r.status, json: await r.json() };
}

function expectClose(actual: number[][], expected: number[][], tolerance: number): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - expected[i][j])).toBeLessThan(tolerance)));
}

describe("examples/kubeflow-iris", { timeout: 180_000 }, () => {
  it("serves iris.tar.gz (a 0001/ version folder) with the reference probabilities", async () => {
    const cache = mkdtempSync(join(tmpdir(), "tserve-kf-test-"));
    process.env.TSERVE_CACHE_DIR = cache;
    const { child, url } = await startCli(["serve", "examples/kubeflow-iris/packages/iris.tar.gz", "--enable_grpc", "false"], await freePort());
    try {
      const r = await predict(url, "iris");
      expect(r.status).toBe(200);
      expectClose(r.json.predictions, IRIS.probabilities.slice(0, 2), IRIS.tolerance);
      const status = (await (await fetch(`${url}/v1/models/iris/versions/1`)).json()) as { ready: boolean };
      expect(status.ready).toBe(true);
    } finally {
      await stopCli(child);
      delete process.env.TSERVE_CACHE_DIR;
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it("serves the PyTorch export from iris-pytorch.tgz with PyTorch's own answers", async () => {
    const cache = mkdtempSync(join(tmpdir(), "tserve-kf-test-"));
    process.env.TSERVE_CACHE_DIR = cache;
    const { child, url } = await startCli(["serve", "examples/kubeflow-iris/packages/iris-pytorch.tgz", "--enable_grpc", "false"], await freePort());
    try {
      const r = await predict(url, "iris-pytorch");
      expect(r.status).toBe(200);
      expectClose(r.json.predictions, PYTORCH.predictions, 1e-5);
    } finally {
      await stopCli(child);
      delete process.env.TSERVE_CACHE_DIR;
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it("npm run example:kubeflow-iris answers from the archive, S3, the PyTorch package and an upload", async () => {
    const child = spawn("npm", ["run", "--silent", "example:kubeflow-iris"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const [code] = await once(child, "exit");
    expect(code, out).toBe(0);
    for (const mode of ["archive", "s3", "pytorch", "upload"]) {
      const rows = out.split("\n").filter((l) => l.trim().startsWith(mode) && l.includes("-> versicolor"));
      expect(rows, `${mode} rows in:\n${out}`).toHaveLength(2);
    }
    expect(out).toMatch(/"model_version_status"/);
    expect(out).toMatch(/OK: every way of serving the package/);
  });
});
