/**
 * examples/image-transformer, end to end: the README's own commands (a predictor and one transformer per
 * protocol, real CLI processes on free ports) checked against the same preprocessing run in-process with
 * onnxruntime-node; then the predictor is stopped; then `npm run example:image-transformer`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CROP, imageToTensor, softmax, stackBatch, topK } from "../../examples/custom-model/image.ts";
import { CLASSIFIER_PATH, LABELS_PATH } from "../../examples/custom-model/model.ts";
import type { Score, TransformerResponse } from "../../examples/image-transformer/transformer.ts";
import { freePort, ROOT, startCli, stopCli } from "../helpers/server.ts";
import { type Curl, expectClose, fencedBlocks, readmeCurls, send } from "./readme.ts";

const README = fileURLToPath(new URL("../../examples/image-transformer/README.md", import.meta.url));
const INPUT = fileURLToPath(new URL("../../examples/custom-model/input.json", import.meta.url));
const LABELS: string[] = JSON.parse(readFileSync(LABELS_PATH, "utf8"));
const PROTOCOLS = ["v1", "v2", "grpc-v2"] as const;
type Protocol = (typeof PROTOCOLS)[number];

/** Agreement with in-process onnxruntime (same preprocessing, same float32 tensor). */
const TOLERANCE = 1e-5;
/** Agreement with the scores printed in the README, which another libvips build may move slightly. */
const README_TOLERANCE = 1e-4;

/** The README's `node bin/tserve.js serve ...` commands, as words. */
function serveCommands(): string[][] {
  return fencedBlocks(readFileSync(README, "utf8"))
    .filter((b) => b.lang === "sh" && b.text.trim().startsWith("node bin/tserve.js serve"))
    .map((b) => b.text.trim().split(/\s+/));
}

function flagValue(words: string[], flag: string): string | undefined {
  const i = words.indexOf(flag);
  return i >= 0 ? words[i + 1] : undefined;
}

function withFlag(words: string[], flag: string, value: string): string[] {
  const i = words.indexOf(flag);
  expect(i, `${words.join(" ")} has ${flag}`).toBeGreaterThan(0);
  return [...words.slice(0, i + 1), value, ...words.slice(i + 2)];
}

async function solidPng(r: number, g: number, b: number, width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r, g, b } } })
    .png()
    .toBuffer();
}

function instances(...images: Buffer[]): string {
  return JSON.stringify({ instances: images.map((img) => ({ image: { b64: img.toString("base64") } })) });
}

interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
}

describe("examples/image-transformer, the README's commands", () => {
  let predictor: Running | undefined;
  const transformers = new Map<Protocol, Running & { predictorHost: string }>();
  let session: ort.InferenceSession;

  beforeAll(async () => {
    const commands = serveCommands();
    const predictorWords = commands.find((w) => w[3] === "examples/custom-model/model/classifier.onnx");
    expect(predictorWords, "README shows the predictor command").toEqual([
      "node",
      "bin/tserve.js",
      "serve",
      "examples/custom-model/model/classifier.onnx",
      "--model_name",
      "classifier",
      "--http_port",
      "8085",
      "--grpc_port",
      "8086",
    ]);
    // README port -> the free port this test uses instead.
    const ports = new Map([
      ["8085", await freePort()],
      ["8086", await freePort()],
    ]);
    let args = withFlag(predictorWords!.slice(2), "--http_port", String(ports.get("8085")));
    args = withFlag(args, "--grpc_port", String(ports.get("8086")));
    // startCli adds --host 127.0.0.1 (and --http_port again, with the same port).
    predictor = await startCli(args, ports.get("8085")!);

    const started = PROTOCOLS.map(async (protocol) => {
      const words = commands.find((w) => flagValue(w, "--predictor_protocol") === protocol);
      expect(words, `README shows the transformer command for ${protocol}`).toBeDefined();
      expect(words!.slice(0, 6)).toEqual([
        "node",
        "bin/tserve.js",
        "serve",
        "examples/image-transformer/transformer.ts",
        "--model_name",
        "classifier",
      ]);
      const host = flagValue(words!, "--predictor_host")!;
      const [, readmePort] = /^localhost:(\d+)$/.exec(host) ?? [];
      // gRPC goes to the predictor's gRPC port, REST to its HTTP port.
      expect(readmePort, host).toBe(protocol === "grpc-v2" ? "8086" : "8085");
      const predictorHost = `127.0.0.1:${ports.get(readmePort)}`;
      const running = await startCli(withFlag(words!.slice(2), "--predictor_host", predictorHost), await freePort());
      transformers.set(protocol, { ...running, predictorHost });
    });
    await Promise.all(started);
    session = await ort.InferenceSession.create(CLASSIFIER_PATH);
  });

  afterAll(async () => {
    for (const t of transformers.values()) expect(await stopCli(t.child)).toBe(0);
    if (predictor) await stopCli(predictor.child);
    await session?.release();
  });

  /** What the transformers should answer, computed here: same preprocessing, onnxruntime-node in-process. */
  async function local(images: Uint8Array[]): Promise<TransformerResponse> {
    const tensors = await Promise.all(images.map((img) => imageToTensor(img)));
    const n = tensors.length;
    const out = await session.run({ input: new ort.Tensor("float32", stackBatch(tensors), [n, 3, CROP, CROP]) });
    const probs = softmax(out.logits.data as Float32Array, n, LABELS.length);
    const predictions: Score[][] = [];
    for (let i = 0; i < n; i++) {
      const row = probs.subarray(i * LABELS.length, (i + 1) * LABELS.length);
      predictions.push(topK(row, 5).map((c) => ({ label: LABELS[c], score: row[c] })));
    }
    return { predictions };
  }

  function expectSameTop5(actual: TransformerResponse, expected: TransformerResponse, tolerance: number): void {
    expect(Object.keys(actual)).toEqual(["predictions"]);
    expect(actual.predictions.map((row) => row.map((p) => p.label))).toEqual(
      expected.predictions.map((row) => row.map((p) => p.label)),
    );
    expectClose(actual, expected, tolerance);
  }

  async function predict(protocol: Protocol, body: string): Promise<Response> {
    return fetch(`${transformers.get(protocol)!.url}/v1/models/classifier:predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
  }

  it.each(PROTOCOLS)("%s: answers every curl in the README with the output the README shows", async (protocol) => {
    const curls = readmeCurls(README);
    expect(curls.length).toBeGreaterThanOrEqual(4);
    for (const curl of curls) {
      expect(curl.expected, `README shows the output of: ${curl.command}`).toBeDefined();
      const r = await send(curl, transformers.get(protocol)!.url);
      const actual = await r.json();
      const expected = JSON.parse(curl.expected!.text);
      if ("error" in expected) {
        expect(r.status, curl.command).toBe(400);
        expect(actual, curl.command).toEqual(expected);
      } else {
        expect(r.status, curl.command).toBe(200);
        expectSameTop5(actual as TransformerResponse, expected, README_TOLERANCE);
      }
    }
  });

  it.each(PROTOCOLS)("%s: input.json gets the in-process onnxruntime top 5", async (protocol) => {
    const curl: Curl = readmeCurls(README)[0];
    expect(curl.path).toBe("/v1/models/classifier:predict");
    expect(curl.body?.toString()).toBe(readFileSync(INPUT, "utf8").replace(/[\r\n]/g, ""));
    const r = await send(curl, transformers.get(protocol)!.url);
    expect(r.status).toBe(200);
    const body = (await r.json()) as TransformerResponse;
    const b64 = JSON.parse(readFileSync(INPUT, "utf8")).instances[0].image.b64 as string;
    expectSameTop5(body, await local([Buffer.from(b64, "base64")]), TOLERANCE);
  });

  it.each(PROTOCOLS)("%s: a batch of two images gets the in-process top 5 of each", async (protocol) => {
    const red = await solidPng(255, 0, 0, 320, 240);
    const blue = await solidPng(0, 0, 255, 200, 300);
    const r = await predict(protocol, instances(red, blue));
    expect(r.status).toBe(200);
    const body = (await r.json()) as TransformerResponse;
    expect(body.predictions).toHaveLength(2);
    expect(body.predictions[0][0].label).not.toBe(body.predictions[1][0].label);
    expectSameTop5(body, await local([red, blue]), TOLERANCE);
  });

  it("gives the same answer over all three protocols", async () => {
    const body = readFileSync(INPUT, "utf8");
    const answers = await Promise.all(PROTOCOLS.map(async (p) => (await predict(p, body)).text()));
    expect(answers[1]).toBe(answers[0]);
    expect(answers[2]).toBe(answers[0]);
  });

  it.each(PROTOCOLS)("%s: a bad b64 or a V2 request gets a 400, and the transformer keeps serving", async (protocol) => {
    const cases: [string, RegExp][] = [
      [JSON.stringify({ instances: [{ image: { b64: "%%% not base64 %%%" } }] }), /instances\[0\]\.image\.b64 is not valid base64/],
      [
        instances(await solidPng(1, 2, 3, 300, 300), Buffer.from("not an image")),
        /instances\[1\]\.image\.b64 could not be decoded as an image/,
      ],
      [JSON.stringify({ instances: [] }), /Expected a JSON body/],
    ];
    for (const [body, message] of cases) {
      const r = await predict(protocol, body);
      expect(r.status, body.slice(0, 80)).toBe(400);
      expect(((await r.json()) as { error: string }).error).toMatch(message);
    }
    const v2 = await fetch(`${transformers.get(protocol)!.url}/v2/models/classifier/infer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs: [{ name: "image", datatype: "BYTES", shape: [1], data: ["x"] }] }),
    });
    expect(v2.status).toBe(400);
    expect(((await v2.json()) as { error: string }).error).toMatch(/takes V1 requests/);
    expect((await predict(protocol, readFileSync(INPUT, "utf8"))).status).toBe(200);
    expect(transformers.get(protocol)!.output()).not.toMatch(/-> 5\d\d/);
  });

  // Last: it stops the predictor.
  it("answers 503 naming the predictor host once the predictor is stopped", async () => {
    expect(await stopCli(predictor!.child)).toBe(0);
    for (const protocol of PROTOCOLS) {
      const { predictorHost, url } = transformers.get(protocol)!;
      const r = await predict(protocol, readFileSync(INPUT, "utf8"));
      expect(r.status, protocol).toBe(503);
      const { error } = (await r.json()) as { error: string };
      expect(error, protocol).toContain(`Predictor ${predictorHost} is unavailable`);
      // The transformer itself is still up.
      expect((await fetch(`${url}/v2/health/live`)).status).toBe(200);
    }
  });
});

describe("npm run example:image-transformer", () => {
  it("runs all three protocols, checks they agree and exits 0", async () => {
    // Its own process group, so a hung run can be stopped with everything it started.
    const child = spawn("npm", ["run", "example:image-transformer"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 150_000);
    const [code] = (await once(child, "exit")) as [number | null];
    clearTimeout(timer);
    expect(code, out).toBe(0);
    expect(out).toContain("OK: v1, v2, grpc-v2 gave the same top 5");
    for (const p of PROTOCOLS) expect(out).toMatch(new RegExp(`^${p}: POST .* -> 200 in \\d+ ms$`, "m"));
  }, 180_000);
});
