/**
 * examples/openbayes-predictor, end to end: `npm run example:openbayes` (exits 0 and prints exactly what the README
 * shows, but for the ports), and the README's own commands: its two `tserve serve` servers answer every curl with
 * the output the README shows, MessagePack included.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { decode, encode } from "@msgpack/msgpack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, ROOT, startCli, stopCli } from "../helpers/server.ts";
import { type Block, fencedBlocks, parseCurl, send, shellWords } from "./readme.ts";

const DIR = "examples/openbayes-predictor";
const EXAMPLE = fileURLToPath(new URL(`../../${DIR}/`, import.meta.url));
const README = readFileSync(`${EXAMPLE}README.md`, "utf8");
const BLOCKS = fencedBlocks(README);

/** Ports and the npm banner differ between runs; nothing else may. */
function normalise(output: string): string[] {
  return output
    .split("\n")
    .filter((l) => !l.startsWith("> ") && !l.startsWith("npm warn"))
    .map((l) => l.replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:PORT").replace(/--http_port \d+/g, "--http_port PORT").trimEnd())
    .join("\n")
    .trim()
    .split("\n");
}

describe("npm run example:openbayes", () => {
  let code: number | null;
  let out = "";

  beforeAll(async () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8"));
    expect(pkg.scripts["example:openbayes"]).toBe(`tsx ${DIR}/run.ts`);
    // Its own process group, so a hung run can be stopped with the servers it started.
    const child = spawn("npm", ["run", "example:openbayes"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 150_000);
    [code] = (await once(child, "exit")) as [number | null];
    clearTimeout(timer);
  }, 180_000);

  it("exits 0 and says why", () => {
    expect(code, out).toBe(0);
    expect(out).toMatch(/^OK: the predictor answered JSON and MessagePack alike/m);
  });

  it("prints exactly the output the README shows, but for the ports", () => {
    const shown = BLOCKS.find((b) => b.lang === "text" && b.text.includes("-> 200 application/msgpack"));
    expect(shown).toBeDefined();
    expect(normalise(out)).toEqual(normalise(shown!.text));
  });
});

describe("examples/openbayes-predictor README commands", () => {
  const running: ChildProcess[] = [];
  /** README port -> the URL of the server started here for it. */
  const urls = new Map<string, string>();

  beforeAll(async () => {
    const commands = BLOCKS.filter((b) => b.lang === "sh" && b.text.trim().startsWith("node bin/tserve.js serve")).map((b) => shellWords(b.text.trim()));
    expect(commands).toEqual([
      ["node", "bin/tserve.js", "serve", `${DIR}/iris-classifier`],
      ["node", "bin/tserve.js", "serve", `${DIR}/custom-server`, "--http_port", "9090", "--enable_grpc", "false"],
    ]);
    // startCli adds --http_port (a free port), --host and --grpc_port 0.
    const [predictor, custom] = await Promise.all([
      freePort().then((p) => startCli(commands[0].slice(2), p)),
      freePort().then((p) => startCli([...commands[1].slice(2, 4), ...commands[1].slice(6)], p)),
    ]);
    running.push(predictor.child, custom.child);
    urls.set("8080", predictor.url);
    urls.set("9090", custom.url);
  }, 90_000);

  afterAll(async () => {
    for (const child of running) expect(await stopCli(child)).toBe(0);
  });

  it("answers every curl with the output the README shows", async () => {
    let checked = 0;
    for (let i = 0; i < BLOCKS.length; i++) {
      if (!/^curl\s/.test(BLOCKS[i].text.trim())) continue;
      const curl = parseCurl(BLOCKS[i].text);
      // `-o answer.msgpack` is followed by the command that prints it, then its output.
      const shown: Block = curl.outputFile ? BLOCKS[i + 2] : BLOCKS[i + 1];
      expect(shown.lang, curl.command).toBe("json");
      const port = /^curl -s '?localhost:(\d+)\//.exec(curl.command)?.[1];
      expect(urls.has(port!), curl.command).toBe(true);
      const r = await send(curl, urls.get(port!)!);
      const expected = JSON.parse(shown.text);
      expect(r.status, curl.command).toBe(expected.error === undefined ? 200 : expected.error.startsWith("Cannot answer") ? 406 : 400);
      const bytes = new Uint8Array(await r.arrayBuffer());
      const body = curl.outputFile ? decode(bytes) : JSON.parse(new TextDecoder().decode(bytes));
      if (curl.outputFile) expect(r.headers.get("content-type")).toBe("application/msgpack");
      expect(body, curl.command).toEqual(expected);
      checked++;
    }
    expect(checked).toBe(10);
  });

  it("request.msgpack is request.json as MessagePack", () => {
    const json = JSON.parse(readFileSync(`${EXAMPLE}request.json`, "utf8"));
    expect(Buffer.from(encode(json)).equals(readFileSync(`${EXAMPLE}request.msgpack`))).toBe(true);
  });

  it("serves the same iris model as examples/iris", () => {
    expect(readFileSync(`${EXAMPLE}iris-classifier/iris.onnx`).equals(readFileSync(`${ROOT}examples/iris/models/iris/1/model.onnx`))).toBe(true);
  });
});
