/**
 * @tserve/client's browser/edge bundle (packages/client/dist/browser) in a context with only the web platform's globals
 * (no process, Buffer or require): health checks, V2 inference (binary, and JSON with gzip both ways), a V1
 * prediction and an error, against a real tserve serving iris. The runner is a child process because node:vm's ES
 * modules need --experimental-vm-modules. And an app that imports @tserve/client bundles for the browser.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "../helpers/build.ts";
import { expectClose, FIXTURES, IRIS_DIR, readJson, ROOT, type Running, startWith } from "./util.ts";

const run = promisify(execFile);
const BUNDLE = join(ROOT, "packages", "client", "dist", "browser");

interface VmRun {
  result?: any;
  dynamicImports: string[];
  error?: string;
}

describe("@tserve/client in a browser-like context", () => {
  let running: Running;
  let vmRun: VmRun;
  let expected: { probabilities: number[][]; tolerance: number };

  beforeAll(async () => {
    await ensureBuilt("@tserve/client");
    expected = await readJson(join(FIXTURES, "iris-expected.json"));
    running = await startWith({ dirs: [IRIS_DIR] });
    const { stdout } = await run(
      process.execPath,
      ["--experimental-vm-modules", "--no-warnings", join(FIXTURES, "web-bundle", "run-in-vm.mjs"), BUNDLE, running.url],
      { timeout: 60_000 },
    );
    vmRun = JSON.parse(stdout) as VmRun;
  }, 180_000);

  afterAll(async () => {
    await running?.server.stop();
  });

  it("loads with no Node globals and never imports the Node transport", () => {
    expect(vmRun.error).toBeUndefined();
    expect(vmRun.result.globals).toEqual({ process: "undefined", Buffer: "undefined", require: "undefined", fetch: "function" });
    expect(vmRun.dynamicImports).toEqual([]);
  });

  it("answers the health checks over fetch", () => {
    expect(vmRun.result).toMatchObject({ live: true, ready: true, modelReady: true });
  });

  it("runs a V2 inference on iris with binary tensors, and as JSON compressed both ways", () => {
    expect(vmRun.result.binary.model).toBe("iris");
    expect(vmRun.result.binary.outputs).toEqual([["probabilities", "FP32", [2, 3]]]);
    expectClose(vmRun.result.binary.probabilities, expected.probabilities.slice(0, 2), expected.tolerance);
    expectClose(vmRun.result.jsonGzip, expected.probabilities.slice(0, 2), expected.tolerance);
  });

  it("makes V1 predictions and reports server errors as InferenceServerError", () => {
    expectClose(vmRun.result.v1.predictions, expected.probabilities.slice(0, 1), expected.tolerance);
    expect(vmRun.result.missing).toEqual({ isServerError: true, status: 404, message: expect.stringContaining("no-such-model") });
  });

  it("has the gRPC client's name, which explains that it needs Node", () => {
    expect(vmRun.result.grpc).toMatch(/needs Node\.js.*InferenceRESTClient/);
  });

  it("bundles into a browser app (esbuild, platform browser) by the package's browser condition, with nothing of Node", async () => {
    const result = await build({
      stdin: { contents: 'import { InferenceRESTClient } from "@tserve/client";\nexport const client = new InferenceRESTClient("http://localhost:8080");\n', resolveDir: ROOT, loader: "ts" },
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs).filter((input) => input !== "<stdin>");
    expect(inputs).toEqual(["packages/client/dist/browser/index.js"]);
    expect(Object.values(result.metafile.outputs).flatMap((output) => output.imports)).toEqual([]);
  });
});
