import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, runCli, startCli, stopCli } from "../helpers/server.ts";
import { expectError, get, MODULES, post, ROOT } from "./util.ts";

const SEED = {
  instances: [
    [6.8, 2.8, 4.8, 1.4],
    [6.0, 3.4, 4.5, 1.6],
  ],
};

describe("tserve CLI", () => {
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) await stopCli(c);
  });

  async function serve(args: string[]): Promise<{ child: ChildProcess; url: string; output: () => string }> {
    const started = await startCli(["serve", ...args], await freePort());
    children.push(started.child);
    return started;
  }

  async function expectIrisServes(url: string): Promise<void> {
    const r = await post(`${url}/v1/models/iris:predict`, SEED);
    expect(r.status, r.text).toBe(200);
    expect(r.json.predictions).toHaveLength(2);
    for (const row of r.json.predictions as number[][]) {
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(row.indexOf(Math.max(...row))).toBe(1);
    }
  }

  it("serve --model-repository examples/iris/models serves iris", async () => {
    const { url } = await serve(["--model-repository", "examples/iris/models"]);
    expect((await get(`${url}/v1/models`)).json).toEqual({ models: ["iris"] });
    await expectIrisServes(url);
    const v2 = await post(`${url}/v2/models/iris/infer`, {
      inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [6.8, 2.8, 4.8, 1.4] }],
    });
    expect(v2.status).toBe(200);
    expect(v2.json.model_version).toBe("1");
  });

  it("the --model_repository underscore spelling works", async () => {
    const { url } = await serve(["--model_repository", "examples/iris/models"]);
    await expectIrisServes(url);
  });

  it("--model_repository=VALUE works", async () => {
    const { url } = await serve([`--model_repository=${join(ROOT, "examples", "iris", "models")}`]);
    await expectIrisServes(url);
  });

  it("a repository folder given as the MODEL argument works", async () => {
    const { url } = await serve(["examples/iris/models"]);
    await expectIrisServes(url);
  });

  it("a model folder given as the MODEL argument serves that one model", async () => {
    const { url } = await serve(["examples/iris/models/iris"]);
    expect((await get(`${url}/v1/models`)).json).toEqual({ models: ["iris"] });
    await expectIrisServes(url);
  });

  it("a single .onnx file is served under the file's name", async () => {
    const { url } = await serve(["examples/custom-model/model/classifier.onnx"]);
    expect((await get(`${url}/v1/models`)).json).toEqual({ models: ["classifier"] });
    expect((await get(`${url}/v2/models/classifier/ready`)).json).toEqual({ name: "classifier", ready: true });
    const meta = await get(`${url}/v2/models/classifier`);
    expect(meta.json.inputs).toEqual([{ name: "input", datatype: "FP32", shape: [-1, 3, 224, 224] }]);
    expect(meta.json.outputs).toEqual([{ name: "logits", datatype: "FP32", shape: [-1, 10] }]);
    const r = await post(`${url}/v2/models/classifier/infer`, {
      inputs: [{ name: "input", shape: [1, 3, 224, 224], datatype: "FP32", data: new Array(3 * 224 * 224).fill(0.5) }],
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.outputs[0].shape).toEqual([1, 10]);
  });

  it("a single .onnx file with --model_name is served under that name", async () => {
    const { url } = await serve(["test/fixtures/models/scale/2/model.onnx", "--model_name", "doubler"]);
    const r = await post(`${url}/v1/models/doubler:predict`, { instances: [1, 2] });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ predictions: [2, 4] });
  });

  it("--max_buffer_size limits the request body", async () => {
    const { url } = await serve(["--model_repository", "examples/iris/models", "--max_buffer_size", "256"]);
    const big = { instances: new Array(50).fill([6.8, 2.8, 4.8, 1.4]) };
    expectError(await post(`${url}/v1/models/iris:predict`, big), 413);
    await expectIrisServes(url);
  });

  it("an unknown flag exits with code 2 and names the flag", async () => {
    const r = await runCli(["serve", "--model_repository", "examples/iris/models", "--no-such-flag", "1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--no-such-flag");
  });

  it("a non-numeric --http_port exits with code 2", async () => {
    const r = await runCli(["serve", "--model_repository", "examples/iris/models", "--http_port", "eighty"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("http_port");
  });

  it("a MODEL path that does not exist exits with code 2 and names it", async () => {
    const r = await runCli(["serve", "no/such/model.onnx"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no/such/model.onnx");
  });

  it("serve with nothing to serve exits with code 2", async () => {
    const r = await runCli(["serve"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Nothing to serve/);
  });

  it("an unknown command exits with code 2", async () => {
    const r = await runCli(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("frobnicate");
  });

  it("--version prints the version and exits 0", async () => {
    const r = await runCli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("serve --help prints the options and exits 0", async () => {
    const r = await runCli(["serve", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--model_repository");
    expect(r.stdout).toContain("--http_port");
  });

  it("SIGTERM stops the server with exit code 0 and the port is released", async () => {
    const port = await freePort();
    const { child, url } = await startCli(["serve", "--model_repository", "examples/iris/models"], port);
    children.push(child);
    await expectIrisServes(url);
    const code = await stopCli(child);
    expect(code).toBe(0);
    await expect(fetch(`${url}/v2/health/live`)).rejects.toThrow();
  });

  it("SIGTERM lets an in-flight request finish, then exits 0 promptly", async () => {
    const { child, url } = await startCli(["serve", join(MODULES, "slow.ts")], await freePort());
    children.push(child);
    // fetch keeps its connection alive, as most HTTP clients and proxies do.
    const pending = post(`${url}/v1/models/slow:predict`, { instances: ["still here"], ms: 1000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const exited = once(child, "exit").then(([code]) => code as number | null);
    child.kill("SIGTERM");
    const r = await pending;
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ predictions: ["still here"] });
    const timeout = new Promise<"still running">((resolve) => setTimeout(() => resolve("still running"), 5_000));
    const outcome = await Promise.race([exited, timeout]);
    if (outcome === "still running") {
      child.kill("SIGKILL");
      await exited;
    }
    expect(outcome, "tserve was still running 5 s after the drained request finished").toBe(0);
  });

  it("SIGINT stops the server with exit code 0", async () => {
    const { child } = await startCli(["serve", "--model_repository", "examples/iris/models"], await freePort());
    children.push(child);
    child.kill("SIGINT");
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
  });
});
