/**
 * examples/seldon-bandit, end to end: `npm run example:seldon-bandit` (the router's traffic moves to model-b, the
 * combiner answers the mean of both models, the output is the one the README shows), and the README's own
 * commands: its two `tserve seldon-graph` servers answer every curl with the output the README shows.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import PetalModel from "../../examples/seldon-bandit/PetalModel.ts";
import SepalModel from "../../examples/seldon-bandit/SepalModel.ts";
import { NDArray } from "../../packages/server/src/index.ts";
import { freePort, ROOT, startCli, stopCli } from "../helpers/server.ts";
import { type Curl, expectClose, fencedBlocks, parseCurl, send, shellWords } from "./readme.ts";

const DIR = "examples/seldon-bandit";
const EXAMPLE = fileURLToPath(new URL(`../../${DIR}/`, import.meta.url));
const README = readFileSync(`${EXAMPLE}README.md`, "utf8");
const BLOCKS = fencedBlocks(README);
/** The flower run.ts asks the combiner about (data set row 77). */
const FLOWER_77 = [6.8, 2.8, 4.8, 1.4];

/** What each model answers here, in this process: the combiner's answer must be their mean. */
function localAnswers(rows: number[][]): { a: number[][]; b: number[][] } {
  const X = NDArray.from(rows);
  return { a: new SepalModel().predict(X).toArray(), b: new PetalModel().predict(X).toArray() };
}

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

describe("npm run example:seldon-bandit", () => {
  let code: number | null;
  let out = "";

  beforeAll(async () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8"));
    expect(pkg.scripts["example:seldon-bandit"]).toBe(`tsx ${DIR}/run.ts`);
    // Its own process group, so a hung run can be stopped with the servers it started.
    const child = spawn("npm", ["run", "example:seldon-bandit"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 150_000);
    [code] = (await once(child, "exit")) as [number | null];
    clearTimeout(timer);
  }, 180_000);

  it("exits 0 and says why", () => {
    expect(code, out).toBe(0);
    expect(out).toMatch(/^OK: model-b's share grew from \d+% of the first 50 requests to \d+% of the last 50; the combiner answered the mean of both models\.$/m);
  });

  it("moves the router's traffic from model-a to model-b, and every reward follows the model that answered", () => {
    const rows = [...out.matchAll(/^(\d+)-(\d+)\s+(\d+)\s+(\d+)%\s+(\d+)\s+(\d+)%\s+(\d+)\s+([\d.]+)$/gm)].map((m) => ({
      range: [Number(m[1]), Number(m[2])],
      a: Number(m[3]),
      b: Number(m[5]),
      explored: Number(m[7]),
      reward: Number(m[8]),
    }));
    expect(rows.map((r) => r.range)).toEqual([
      [1, 50],
      [51, 100],
      [101, 150],
      [151, 200],
    ]);
    for (const r of rows) {
      expect(r.a + r.b).toBe(50);
      // model-b is always right and model-a always wrong on these flowers: the mean reward is model-b's share.
      expect(r.reward).toBeCloseTo(r.b / 50, 10);
      expect(r.explored).toBeLessThan(50);
    }
    const first = rows[0].b / 50;
    const last = rows[3].b / 50;
    expect(last).toBeGreaterThanOrEqual(0.8);
    expect(last - first).toBeGreaterThanOrEqual(0.3);
    // The router's own view, from /metrics: model-b's mean reward 1, model-a's 0.
    expect(out).toContain('bandit_branch_value{model_name="eg-router",method="feedback",branch="0"} 0');
    expect(out).toContain('bandit_branch_value{model_name="eg-router",method="feedback",branch="1"} 1');
    const routed = [...out.matchAll(/^ {2}bandit_routes_total\{.*branch="(\d)",decision="(\w+)"\} (\d+)$/gm)];
    const total = (branch: string) => routed.filter((m) => m[1] === branch).reduce((s, m) => s + Number(m[3]), 0);
    expect(total("0")).toBe(rows.reduce((s, r) => s + r.a, 0));
    expect(total("1")).toBe(rows.reduce((s, r) => s + r.b, 0));
    // Only rewarded feedback is counted (Seldon's rule): once per model-b answer, at the router and at model-b.
    for (const node of ["eg-router", "model-b"]) {
      expect(out).toContain(`seldon_api_model_feedback_reward_total{model_name="${node}",method="feedback"} ${total("1")}`);
    }
  });

  it("averages the two models' answers in the combiner graph", () => {
    const json = /^POST .*\(combiner\.yaml\), flower 77 .*:\n(.*)$/m.exec(out);
    expect(json, out).not.toBeNull();
    const data = JSON.parse(json![1]) as { names: string[]; ndarray: number[][] };
    expect(data.names).toEqual(["setosa", "versicolor", "virginica"]);
    const { a, b } = localAnswers([FLOWER_77]);
    expectClose(data.ndarray, [a[0].map((v, i) => (v + b[0][i]) / 2)], 1e-12);
    // The two models disagree on this versicolor; their mean picks versicolor, just.
    expect(out).toMatch(/^model-a \(sepals\)\s+0\.0189\s+0\.3316\s+0\.6495\s+virginica$/m);
    expect(out).toMatch(/^model-b \(petals\)\s+0\.0000\s+0\.6593\s+0\.3407\s+versicolor$/m);
    expect(out).toMatch(/^average\s+0\.0094\s+0\.4955\s+0\.4951\s+versicolor$/m);
  });

  it("prints exactly the output the README shows, but for the ports", () => {
    const shown = BLOCKS.find((b) => b.lang === "text" && b.text.includes("200 predictions through eg-router"));
    expect(shown).toBeDefined();
    expect(normalise(out)).toEqual(normalise(shown!.text));
  });
});

describe("examples/seldon-bandit README commands", () => {
  const running: { child: ChildProcess; url: string }[] = [];
  /** README port -> the URL of the server started here for it. */
  const urls = new Map<string, string>();

  beforeAll(async () => {
    const commands = BLOCKS.filter((b) => b.lang === "sh" && b.text.trim().startsWith("node bin/tserve.js seldon-graph")).map((b) =>
      shellWords(b.text.trim()),
    );
    expect(commands).toEqual([
      ["node", "bin/tserve.js", "seldon-graph", `${DIR}/bandit.yaml`, "--enable_grpc", "false"],
      ["node", "bin/tserve.js", "seldon-graph", `${DIR}/combiner.yaml`, "--http_port", "8001", "--enable_grpc", "false"],
    ]);
    // seldon-graph listens on 8000 by default; startCli adds --http_port (a free port) and --host.
    const [bandit, combiner] = await Promise.all([
      freePort().then((p) => startCli(commands[0].slice(2), p)),
      freePort().then((p) => startCli([...commands[1].slice(2, 4), ...commands[1].slice(6)], p)),
    ]);
    running.push(bandit, combiner);
    urls.set("8000", bandit.url);
    urls.set("8001", combiner.url);
  }, 90_000);

  afterAll(async () => {
    for (const r of running) expect(await stopCli(r.child)).toBe(0);
  });

  it("bandit.yaml is the graph the README shows", () => {
    const shown = BLOCKS.find((b) => b.lang === "yaml" && b.text.includes("kind: SeldonDeployment"));
    expect(shown!.text).toBe(readFileSync(`${EXAMPLE}bandit.yaml`, "utf8"));
    expect(parseYaml(shown!.text).spec.predictors[0].graph.children.map((c: { name: string }) => c.name)).toEqual(["model-a", "model-b"]);
  });

  it("answers every curl, in the README's order, with the output the README shows (the puid aside)", async () => {
    const curls: Curl[] = BLOCKS.flatMap((b, i) =>
      /^curl\s/.test(b.text.trim()) && BLOCKS[i + 1]?.lang === "json" ? [{ ...parseCurl(b.text), expected: BLOCKS[i + 1] }] : [],
    );
    expect(curls).toHaveLength(7);
    for (const curl of curls) {
      const port = /^curl -s localhost:(\d+)\//.exec(curl.command)?.[1];
      expect(urls.has(port!), curl.command).toBe(true);
      const r = await send(curl, urls.get(port!)!);
      const expected = JSON.parse(curl.expected!.text);
      // A Seldon error body is a 400 here (MICROSERVICE_BAD_DATA); every other answer a 200.
      expect(r.status, curl.command).toBe(expected.status ? 400 : 200);
      const body = (await r.json()) as any;
      if (expected.meta?.puid !== undefined) {
        expect(body.meta.puid).toMatch(/^[0-9a-v]{26}$/);
        body.meta.puid = expected.meta.puid;
      }
      expectClose(body, expected, 1e-12, curl.command);
    }
  });

  it("the combiner's rows are the mean of what the two models answer", async () => {
    const rows = [FLOWER_77, [5.1, 3.5, 1.4, 0.2]];
    const r = await fetch(`${urls.get("8001")}/api/v1.0/predictions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ data: { ndarray: rows } }),
    });
    const { a, b } = localAnswers(rows);
    expectClose(((await r.json()) as any).data.ndarray, a.map((row, i) => row.map((v, j) => (v + b[i][j]) / 2)), 1e-12);
  });
});
