/**
 * examples/custom-model, end to end: the README's own command through the real CLI, checked against the
 * same preprocessing run in-process with onnxruntime-node.
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CROP,
  IMAGE_SIZE,
  imageToTensor,
  MEAN,
  STD,
  softmax,
  stackBatch,
  topK,
} from "../../examples/custom-model/image.ts";
import { gradientPixels, HEIGHT, WIDTH } from "../../examples/custom-model/make-input.ts";
import { CLASSIFIER_PATH, LABELS_PATH } from "../../examples/custom-model/model.ts";
import { freePort, startCli, stopCli } from "../helpers/server.ts";
import { type Curl, expectClose, fencedBlocks, readmeCurls, send } from "./readme.ts";

const README = fileURLToPath(new URL("../../examples/custom-model/README.md", import.meta.url));
const INPUT = fileURLToPath(new URL("../../examples/custom-model/input.json", import.meta.url));
const LABELS: string[] = JSON.parse(readFileSync(LABELS_PATH, "utf8"));
const CLASSES = LABELS.length;

interface Prediction {
  predictions: number[][];
  classes: string[][];
}

/** The README's `serve` command, split into CLI arguments (startCli adds the port and host). */
function serveArgs(): string[] {
  const block = fencedBlocks(readFileSync(README, "utf8")).find((b) => b.text.trim().startsWith("node bin/tserve.js"));
  expect(block, "README shows the serve command").toBeDefined();
  const words = block!.text.trim().split(/\s+/);
  expect(words).toEqual([
    "node",
    "bin/tserve.js",
    "serve",
    "examples/custom-model/model.ts",
    "--model_name",
    "custom-model",
  ]);
  return words.slice(2);
}

async function solidPng(r: number, g: number, b: number, width = 320, height = 240): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r, g, b } } })
    .png()
    .toBuffer();
}

function instances(...images: Buffer[]): string {
  return JSON.stringify({ instances: images.map((img) => ({ image: { b64: img.toString("base64") } })) });
}

describe("examples/custom-model", () => {
  let child: ChildProcess;
  let url: string;
  let output: () => string;
  let session: ort.InferenceSession;

  beforeAll(async () => {
    ({ child, url, output } = await startCli(serveArgs(), await freePort()));
    session = await ort.InferenceSession.create(CLASSIFIER_PATH);
  });
  afterAll(async () => {
    if (child) expect(await stopCli(child)).toBe(0);
    await session?.release();
  });

  async function predict(body: string): Promise<Response> {
    return fetch(`${url}/v1/models/custom-model:predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
  }

  /** What the server should answer, computed here: same preprocessing, onnxruntime-node in-process. */
  async function local(images: Uint8Array[]): Promise<Prediction> {
    const tensors = await Promise.all(images.map((img) => imageToTensor(img)));
    const n = tensors.length;
    const out = await session.run({ input: new ort.Tensor("float32", stackBatch(tensors), [n, 3, CROP, CROP]) });
    const probs = softmax(out.logits.data as Float32Array, n, CLASSES);
    const result: Prediction = { predictions: [], classes: [] };
    for (let i = 0; i < n; i++) {
      const row = probs.subarray(i * CLASSES, (i + 1) * CLASSES);
      const top = topK(row, 5);
      result.predictions.push(top.map((c) => row[c]));
      result.classes.push(top.map((c) => LABELS[c]));
    }
    return result;
  }

  function expectWellFormed(body: Prediction, n: number): void {
    expect(Object.keys(body).sort()).toEqual(["classes", "predictions"]);
    expect(body.predictions).toHaveLength(n);
    expect(body.classes).toHaveLength(n);
    for (let i = 0; i < n; i++) {
      const scores = body.predictions[i];
      expect(scores).toHaveLength(5);
      expect(body.classes[i]).toHaveLength(5);
      expect(new Set(body.classes[i]).size).toBe(5);
      for (const c of body.classes[i]) expect(LABELS).toContain(c);
      for (const s of scores) {
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(1);
      }
      for (let k = 1; k < 5; k++) expect(scores[k]).toBeLessThanOrEqual(scores[k - 1]);
    }
  }

  it("answers every curl in the README with the output the README shows", async () => {
    const curls = readmeCurls(README);
    expect(curls.length).toBeGreaterThanOrEqual(5);
    for (const curl of curls) {
      expect(curl.expected, `README shows the output of: ${curl.command}`).toBeDefined();
      const r = await send(curl, url);
      const actual = await r.json();
      const expected = JSON.parse(curl.expected!.text);
      expect(r.status, curl.command).toBe("error" in expected ? 400 : 200);
      if ("error" in expected) expect(actual, curl.command).toEqual(expected);
      // Scores may move in the last digits with another libvips build; class names must not.
      else expectClose(actual, expected, 1e-4);
    }
  });

  it("classifies input.json as the README request sends it, consistently with in-process onnxruntime", async () => {
    const curl: Curl = readmeCurls(README)[0];
    expect(curl.path).toBe("/v1/models/custom-model:predict");
    expect(curl.headers["content-type"]).toBe("application/json");
    expect(curl.body?.toString()).toBe(readFileSync(INPUT, "utf8").replace(/[\r\n]/g, ""));
    const r = await send(curl, url);
    expect(r.status).toBe(200);
    const body = (await r.json()) as Prediction;
    expectWellFormed(body, 1);

    const b64 = JSON.parse(readFileSync(INPUT, "utf8")).instances[0].image.b64 as string;
    const expected = await local([Buffer.from(b64, "base64")]);
    expect(body.classes).toEqual(expected.classes);
    expectClose(body.predictions, expected.predictions, 1e-6);
  });

  it("gives a red and a blue image different top classes, in one batch or one at a time", async () => {
    const red = await solidPng(255, 0, 0);
    const blue = await solidPng(0, 0, 255, 200, 300);
    const r = await predict(instances(red, blue));
    expect(r.status).toBe(200);
    const batch = (await r.json()) as Prediction;
    expectWellFormed(batch, 2);
    expect(batch.classes[0][0]).not.toBe(batch.classes[1][0]);

    const expected = await local([red, blue]);
    expect(batch.classes).toEqual(expected.classes);
    expectClose(batch.predictions, expected.predictions, 1e-6);

    // Batching must not mix images up: each alone gives its row of the batch.
    for (const [i, img] of [red, blue].entries()) {
      const single = (await (await predict(instances(img))).json()) as Prediction;
      expect(single.classes[0]).toEqual(batch.classes[i]);
      expectClose(single.predictions[0], batch.predictions[i], 1e-6);
    }
  });

  it("answers bad requests with 400 and a clear message, then keeps serving", async () => {
    const png = await solidPng(0, 128, 0);
    const cases: [string, RegExp][] = [
      [JSON.stringify({ instances: [{ image: { b64: "%%% definitely not base64 %%%" } }] }), /not valid base64/],
      [JSON.stringify({ instances: [{ image: { b64: "" } }] }), /is empty/],
      [
        JSON.stringify({ instances: [{ image: { b64: Buffer.from("GIF89a but truncated").toString("base64") } }] }),
        /could not be decoded as an image/,
      ],
      // A valid PNG cut in half.
      [instances(png.subarray(0, png.byteLength >> 1)), /instances\[0\]\.image\.b64 could not be decoded/],
      [
        JSON.stringify({ instances: [{ image: { b64: png.toString("base64") } }, { image: { b64: "@@" } }] }),
        /instances\[1\]\.image\.b64 is not valid base64/,
      ],
      [JSON.stringify({}), /Expected a JSON body \{"instances"/],
      [JSON.stringify({ instances: [] }), /Expected a JSON body/],
      [JSON.stringify({ instances: "iVBOR" }), /Expected a JSON body/],
      [JSON.stringify({ instances: [{ img: { b64: "iVBOR" } }] }), /instances\[0\] must look like/],
      [JSON.stringify({ instances: [{ image: { b64: 42 } }] }), /instances\[0\] must look like/],
      [JSON.stringify({ instances: [null] }), /instances\[0\] must look like/],
    ];
    for (const [body, message] of cases) {
      const r = await predict(body);
      expect(r.status, body.slice(0, 80)).toBe(400);
      const err = (await r.json()) as { error: string };
      expect(err.error, body.slice(0, 80)).toMatch(message);
    }
    // A V2 request is refused with a 400 that points to V1.
    const v2 = await fetch(`${url}/v2/models/custom-model/infer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs: [{ name: "image", datatype: "BYTES", shape: [1], data: ["x"] }] }),
    });
    expect(v2.status).toBe(400);
    expect(((await v2.json()) as { error: string }).error).toMatch(/V1 requests/);

    // Still alive and still right.
    expect((await fetch(`${url}/v2/health/ready`)).status).toBe(200);
    const ok = await predict(readFileSync(INPUT, "utf8"));
    expect(ok.status).toBe(200);
    expectWellFormed((await ok.json()) as Prediction, 1);
    expect(output()).not.toMatch(/-> 5\d\d/);
  });

  it("committed input.json holds the 300x200 gradient make-input.ts generates", async () => {
    const { instances: rows } = JSON.parse(readFileSync(INPUT, "utf8"));
    expect(rows).toHaveLength(1);
    const { data, info } = await sharp(Buffer.from(rows[0].image.b64, "base64"))
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([WIDTH, HEIGHT, 3]);
    expect(data.equals(gradientPixels())).toBe(true);
    expect(readFileSync(INPUT).byteLength).toBeLessThan(20_000);
  });
});

describe("examples/custom-model image preprocessing", () => {
  it("normalizes each channel with the ImageNet mean and std", async () => {
    const [r, g, b] = [200, 100, 50];
    const t = await imageToTensor(await solidPng(r, g, b, 500, 300));
    expect(t).toHaveLength(IMAGE_SIZE);
    const plane = CROP * CROP;
    [r, g, b].forEach((v, c) => {
      const want = (v / 255 - MEAN[c]) / STD[c];
      for (const i of [0, 1234, plane - 1]) expect(t[c * plane + i]).toBeCloseTo(want, 5);
    });
  });

  it("resizes the shorter side to 256 and keeps the centre 224x224", async () => {
    // 600x200 in three vertical stripes: after resizing to 768x256 the centre 224 columns (272..495)
    // lie inside the green stripe (256..511), so the crop must be all green.
    const px = Buffer.alloc(600 * 200 * 3);
    for (let y = 0; y < 200; y++) {
      for (let x = 0; x < 600; x++) px[(y * 600 + x) * 3 + Math.floor(x / 200)] = 255;
    }
    const png = await sharp(px, { raw: { width: 600, height: 200, channels: 3 } })
      .png()
      .toBuffer();
    const t = await imageToTensor(png);
    const plane = CROP * CROP;
    const green = [(0 - MEAN[0]) / STD[0], (1 - MEAN[1]) / STD[1], (0 - MEAN[2]) / STD[2]];
    for (let c = 0; c < 3; c++) {
      const channel = t.subarray(c * plane, (c + 1) * plane);
      expect(Math.min(...channel)).toBeCloseTo(green[c], 5);
      expect(Math.max(...channel)).toBeCloseTo(green[c], 5);
    }
  });

  it("handles alpha and greyscale images as RGB", async () => {
    const rgba = await sharp({
      create: { width: 256, height: 256, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } },
    })
      .png()
      .toBuffer();
    const grey = await sharp(Buffer.alloc(256 * 256, 90), { raw: { width: 256, height: 256, channels: 1 } })
      .toColourspace("b-w")
      .png()
      .toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    for (const img of [rgba, grey]) expect(await imageToTensor(img)).toHaveLength(IMAGE_SIZE);
    const t = await imageToTensor(grey);
    expect(t[0]).toBeCloseTo((90 / 255 - MEAN[0]) / STD[0], 5);
    expect(t[2 * CROP * CROP]).toBeCloseTo((90 / 255 - MEAN[2]) / STD[2], 5);
  });
});
