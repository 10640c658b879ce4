/**
 * `tserve serve` started as a KServe ServingRuntime starts it (deploy/kserve/clusterservingruntime.yaml):
 * `--model_name=<InferenceService> --model_dir=/mnt/models --http_port=… --grpc_port=…`, with /mnt/models laid out
 * as KServe's storage initializer leaves it, read-only. Each layout answers a V1 prediction and gRPC ModelReady and
 * ModelInfer under the given name.
 */
import type { ChildProcess } from "node:child_process";
import { chmod, copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { FIXTURES, freePort, IRIS_REPO, runCli, startCli, stopCli } from "../helpers/server.ts";
import { decodeRaw, f32, type GrpcClient, grpcClient } from "./grpc-util.ts";

const IRIS = join(IRIS_REPO, "iris"); // model-settings.json ({"name": "iris"}), labels.json, 1/model.onnx

interface Expected {
  tolerance: number;
  inputs: number[][];
  probabilities: number[][];
}

/** chmod -R a-w (or back to u+w): /mnt/models is mounted read-only. */
async function setWritable(path: string, writable: boolean): Promise<void> {
  const entries = await readdir(path, { withFileTypes: true });
  if (writable) await chmod(path, 0o755);
  for (const e of entries) {
    const p = join(path, e.name);
    if (e.isDirectory()) await setWritable(p, writable);
    else await chmod(p, writable ? 0o644 : 0o444);
  }
  if (!writable) await chmod(path, 0o555);
}

const work: string[] = [];
afterAll(async () => {
  for (const dir of work) {
    await setWritable(dir, true).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
});

/** A fresh /mnt/models: `fill` lays the model out in it, then it turns read-only. */
async function mntModels(fill: (dir: string) => Promise<void>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "tserve-mnt-"));
  work.push(root);
  const dir = join(root, "models");
  await mkdir(dir);
  await fill(dir);
  await setWritable(dir, false);
  return dir;
}

const LAYOUTS: [string, string, (dir: string) => Promise<void>][] = [
  // storageUri pointing at the ONNX file's folder: model.onnx directly in /mnt/models.
  ["the model file directly in the folder", "iris", (dir) => copyFile(join(IRIS, "1", "model.onnx"), join(dir, "model.onnx"))],
  // storageUri pointing at a whole model folder: settings, labels and numbered version folders.
  ["numbered version folders with model-settings.json", "iris", (dir) => cp(IRIS, dir, { recursive: true })],
  // A `tserve pack` archive, unpacked by the storage initializer: the model folder is the one folder in /mnt/models.
  ["an unpacked archive's one top folder, served under the InferenceService's name", "iris-isvc", (dir) => cp(IRIS, join(dir, "iris"), { recursive: true })],
];

describe("tserve serve --model_dir (KServe's /mnt/models)", () => {
  let child: ChildProcess | undefined;
  let client: GrpcClient | undefined;
  afterEach(async () => {
    client?.close();
    client = undefined;
    if (child) await stopCli(child);
    child = undefined;
  });

  it.each(LAYOUTS)("serves %s", async (_layout, name, fill) => {
    const expected = JSON.parse(await readFile(join(FIXTURES, "iris-expected.json"), "utf8")) as Expected;
    const dir = await mntModels(fill);
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    const args = ["serve", `--model_name=${name}`, `--model_dir=${dir}`, `--http_port=${httpPort}`, `--grpc_port=${grpcPort}`, "--host=127.0.0.1"];
    const cli = await startCli(args, httpPort, { portFlags: "none" });
    child = cli.child;

    // V1, as KServe's iris example asks it.
    const rows = expected.inputs.slice(0, 2);
    const res = await fetch(`${cli.url}/v1/models/${name}:predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ instances: rows }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const { predictions } = (await res.json()) as { predictions: number[][] };
    predictions.flat().forEach((p, i) => expect(p).toBeCloseTo(expected.probabilities.slice(0, 2).flat()[i], 5));
    expect((await fetch(`${cli.url}/v1/models/models:predict`, { method: "POST", body: "{}" })).status).toBe(404);

    // Open Inference Protocol over gRPC, as a transformer with --predictor_protocol grpc-v2 calls it.
    client = grpcClient(grpcPort);
    expect(await client.call("ModelReady", { name })).toEqual({ ready: true });
    const infer = await client.infer({
      model_name: name,
      inputs: [{ name: "input", datatype: "FP32", shape: [expected.inputs.length, 4] }],
      raw_input_contents: [f32(expected.inputs.flat())],
    });
    expect(infer.model_name).toBe(name);
    expect(infer.outputs![0]).toMatchObject({ name: "probabilities", datatype: "FP32", shape: [String(expected.inputs.length), "3"] });
    const out = Array.from(decodeRaw("FP32", infer.raw_output_contents![0]) as Float32Array);
    out.forEach((p, i) => expect(Math.abs(p - expected.probabilities.flat()[i])).toBeLessThanOrEqual(expected.tolerance));
  });

  it("serves a TypeScript module in the folder", async () => {
    // test/fixtures/modules/doubler.ts (V2: x FP32 -> doubled), its relative imports made absolute as an image's are.
    const fixture = join(FIXTURES, "modules", "doubler.ts");
    const source = (await readFile(fixture, "utf8")).replace(/from "(\.{1,2}\/[^"]+)"/g, (_m, spec: string) => `from ${JSON.stringify(resolve(dirname(fixture), spec))}`);
    const dir = await mntModels((d) => writeFile(join(d, "model.ts"), source));
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    const args = ["serve", "--model_name=doubler", `--model_dir=${dir}`, `--http_port=${httpPort}`, `--grpc_port=${grpcPort}`, "--host=127.0.0.1"];
    const cli = await startCli(args, httpPort, { portFlags: "none" });
    child = cli.child;
    const res = await fetch(`${cli.url}/v2/models/doubler/infer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs: [{ name: "x", datatype: "FP32", shape: [3], data: [1, 2, 3.5] }] }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { outputs: { name: string; data: unknown }[] }).outputs[0]).toMatchObject({ name: "doubled", data: [2, 4, 7] });
    client = grpcClient(grpcPort);
    expect(await client.call("ModelReady", { name: "doubler" })).toEqual({ ready: true });
    const infer = await client.infer({ model_name: "doubler", inputs: [{ name: "x", datatype: "FP32", shape: [2] }], raw_input_contents: [f32([0.5, -1])] });
    expect(Array.from(decodeRaw("FP32", infer.raw_output_contents![0]) as Float32Array)).toEqual([1, -2]);
  });

  it("takes --model-dir with a dash, and the folder's name without --model_name", async () => {
    const dir = await mntModels((d) => copyFile(join(IRIS, "1", "model.onnx"), join(d, "model.onnx")));
    const httpPort = await freePort();
    const cli = await startCli(["serve", "--model-dir", dir], httpPort);
    child = cli.child;
    expect(await (await fetch(`${cli.url}/v1/models`)).json()).toEqual({ models: ["models"] });
  });

  it("refuses a MODEL argument together with --model_dir", async () => {
    const result = await runCli(["serve", IRIS, `--model_dir=${IRIS}`, "--http_port=0", "--grpc_port=0"]);
    expect(result.code, result.output).toBe(2);
    expect(result.stderr).toContain("Give either a MODEL argument or --model_dir, not both");
  });

  it("names a --model_dir that does not exist", async () => {
    const missing = join(tmpdir(), "tserve-no-such-models");
    const result = await runCli(["serve", `--model_dir=${missing}`, "--http_port=0", "--grpc_port=0"]);
    expect(result.code, result.output).toBe(2);
    expect(result.stderr).toContain(`${missing} does not exist`);
  });
});
