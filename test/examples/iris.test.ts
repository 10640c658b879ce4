/**
 * examples/iris, end to end: the README's serve command through the real CLI, and every curl in the
 * README answered with the output the README shows.
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binaryRequest } from "../../examples/iris/make-binary-input.ts";
import { FIXTURES, freePort, ROOT, startCli, stopCli } from "../helpers/server.ts";
import { type Curl, expectClose, fencedBlocks, readmeCurls, send } from "./readme.ts";

const README = fileURLToPath(new URL("../../examples/iris/README.md", import.meta.url));
const SERVE = "node bin/tserve.js serve --model-repository examples/iris/models";
const expected = JSON.parse(readFileSync(`${FIXTURES}iris-expected.json`, "utf8")) as {
  probabilities: number[][];
  tolerance: number;
};
/** Both README rows: examples/iris/input.json, as computed by Python onnxruntime. */
const SEED_PROBS = expected.probabilities.slice(0, 2);

describe("examples/iris", () => {
  let child: ChildProcess;
  let url: string;
  const markdown = readFileSync(README, "utf8");
  const blocks = fencedBlocks(markdown);
  const curls = readmeCurls(README);

  beforeAll(async () => {
    // The README's command, minus the port: startCli adds --http_port and --host.
    ({ child, url } = await startCli(SERVE.split(" ").slice(2), await freePort()));
  });
  afterAll(async () => {
    if (child) expect(await stopCli(child)).toBe(0);
  });

  it("documents the serve commands that the test runs and npm start uses", () => {
    expect(blocks.some((b) => b.text.trim() === SERVE)).toBe(true);
    expect(blocks.some((b) => b.text.trim() === "npm start")).toBe(true);
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8"));
    expect(pkg.scripts.start).toBe(`${SERVE} --http_port 8080`);
    expect(markdown).toContain(`\`npm start\` runs \`${pkg.scripts.start}\``);
  });

  it("answers every JSON curl in the README with the JSON the README shows", async () => {
    const json = curls.filter((c) => !c.outputFile);
    // health, V1 status, V2 metadata, V1 predict, V2 JSON, V2 binary input
    expect(json).toHaveLength(6);
    for (const curl of json) {
      expect(curl.expected?.lang, curl.command).toBe("json");
      const r = await send(curl, url);
      expect(r.status, curl.command).toBe(200);
      expect(r.headers.get("content-type"), curl.command).toMatch(/^application\/json/);
      // 1e-6: the README shows float32 values as onnxruntime returned them here.
      expectClose(await r.json(), JSON.parse(curl.expected!.text), 1e-6, curl.command);
    }
  });

  it("V1 and V2 answers agree with Python onnxruntime (test/fixtures/iris-expected.json)", async () => {
    const v1 = curls.find((c) => c.path === "/v1/models/iris:predict")!;
    expect(v1.body?.toString()).toBe(readFileSync(`${ROOT}examples/iris/input.json`, "utf8").replace(/[\r\n]/g, ""));
    const body = (await (await send(v1, url)).json()) as { predictions: number[][] };
    expectClose(body.predictions, SEED_PROBS, expected.tolerance);
    for (const row of body.predictions) expect(row.indexOf(Math.max(...row))).toBe(1); // versicolor

    for (const v2 of curls.filter((c) => c.path === "/v2/models/iris/infer" && !c.outputFile)) {
      const out = (await (await send(v2, url)).json()) as { outputs: { data: number[] }[] };
      expectClose(out.outputs[0].data, SEED_PROBS.flat(), expected.tolerance, v2.command);
    }
  });

  it("sends the committed binary request exactly as make-binary-input.ts builds it", async () => {
    const binary = curls.find((c) => c.headers["inference-header-content-length"])!;
    expect(binary.command).toContain("--data-binary @examples/iris/input-v2.bin");
    const { body, headerLength } = await binaryRequest();
    expect(binary.body?.equals(body)).toBe(true);
    expect(binary.headers["inference-header-content-length"]).toBe(String(headerLength));
    // The header the README prints is the one in the file.
    const header = body.subarray(0, headerLength).toString("utf8");
    expect(blocks.some((b) => b.text.trim() === header)).toBe(true);
    expect(markdown).toContain(`${body.byteLength} bytes`);
    expect(markdown).toContain(`${headerLength}-byte JSON header`);
  });

  it("returns binary outputs with the headers, JSON header and float32 bytes the README shows", async () => {
    const curl: Curl = curls.find((c) => c.outputFile)!;
    expect(curl.dumpHeaders).toBe(true);
    const r = await send(curl, url);
    // The status line and the headers that do not vary (not Date, Connection, Keep-Alive).
    const shown = curl.expected!.text.trim().split("\n");
    expect(shown[0]).toBe("HTTP/1.1 200 OK");
    expect(r.status).toBe(200);
    for (const name of ["inference-header-content-length", "content-type", "content-length"]) {
      const line = shown.find((l) => l.toLowerCase().startsWith(`${name}:`));
      expect(line, `README shows ${name}`).toBeDefined();
      expect(r.headers.get(name), name).toBe(line!.slice(name.length + 1).trim());
    }
    const bytes = Buffer.from(await r.arrayBuffer());
    const headerLength = Number(r.headers.get("inference-header-content-length"));
    expect(markdown).toContain(`The first ${headerLength} bytes are the JSON header`);

    // The JSON header block that follows in the README.
    const i = blocks.findIndex((b) => b.text === curl.expected!.text);
    expect(i).toBeGreaterThan(0);
    expect(blocks[i + 1].lang).toBe("json");
    expect(JSON.parse(bytes.subarray(0, headerLength).toString("utf8"))).toEqual(JSON.parse(blocks[i + 1].text));

    // `tail -c 24 FILE | od -A n -t f4` and what it prints.
    const tail = blocks.findIndex((b) => /^tail -c (\d+) \/tmp\/iris-out\.bin \| od -A n -t f4$/.test(b.text.trim()));
    expect(tail).toBeGreaterThan(i);
    const n = Number(/tail -c (\d+)/.exec(blocks[tail].text)![1]);
    expect(n).toBe(bytes.byteLength - headerLength);
    const raw = bytes.subarray(bytes.byteLength - n);
    const floats = Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + n)));
    const printed = blocks[tail + 1].text.trim().split(/\s+/).map(Number);
    expectClose(floats, printed, 1e-6);
    expectClose(floats, SEED_PROBS.flat(), expected.tolerance);
  });
});
