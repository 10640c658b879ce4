/**
 * examples/dog-breed-pipeline, end to end: the README's setups as real CLI processes on free ports (one process
 * with --graph; three processes with graph-remote.yaml; two processes with --service_url_template), every curl
 * of the README answered with the output it shows, the answers checked against the same models run here with
 * onnxruntime-node, and `npm run example:dog-breed`.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { CROP, imageToTensor, softmax, topK } from "../../examples/custom-model/image.ts";
import { freePort, ROOT, type RunningCli, startCli, stopCli } from "../helpers/server.ts";
import { type Curl, expectClose, fencedBlocks, parseCurl, send, shellWords } from "./readme.ts";

const DIR = "examples/dog-breed-pipeline";
const EXAMPLE = fileURLToPath(new URL(`../../${DIR}/`, import.meta.url));
const README = readFileSync(`${EXAMPLE}README.md`, "utf8");
const MODELS = `${EXAMPLE}models/`;
const BREEDS: string[] = JSON.parse(readFileSync(`${MODELS}dog-breed-classifier/labels.json`, "utf8"));
const CAT_DOG_LABELS: string[] = JSON.parse(readFileSync(`${MODELS}cat-dog-classifier/labels.json`, "utf8"));
const CAT_ANSWER = '{"predictions":["It\'s a cat!"]}';
/** The breed drawn in dog.json (scripts/gen_dog_breed.py). */
const DOG_BREED = "Kuvasz";
/** Agreement with the README and with onnxruntime-node here: same pixels (no resampling), same float32 model. */
const TOLERANCE = 1e-6;

const SECTIONS = {
  inProcess: "## One process: the models and the graph together",
  remote: "## Three processes: each model on its own port, and a router",
  template: "### The unchanged graph.yaml behind a router",
} as const;
type Setup = keyof typeof SECTIONS;

/** The text under a heading, up to the next heading. */
function section(heading: string): string {
  const start = README.indexOf(`\n${heading}\n`);
  expect(start, `README has "${heading}"`).toBeGreaterThanOrEqual(0);
  const rest = README.slice(start + heading.length + 2);
  const end = rest.search(/^#{1,6} /m);
  return end < 0 ? rest : rest.slice(0, end);
}

/** The `node bin/tserve.js ...` commands of a section, as shell words. */
function commands(setup: Setup): string[][] {
  return fencedBlocks(section(SECTIONS[setup]))
    .filter((b) => b.lang === "sh" && b.text.trim().startsWith("node bin/tserve.js"))
    .map((b) => shellWords(b.text.trim()));
}

/** The curl commands of a section, each with the block after it (the output the README shows). */
function curls(setup: Setup): Curl[] {
  const blocks = fencedBlocks(section(SECTIONS[setup]));
  return blocks.flatMap((b, i) =>
    /^curl\s/.test(b.text.trim()) ? [{ ...parseCurl(b.text), expected: blocks[i + 1]?.lang === "json" ? blocks[i + 1] : undefined }] : [],
  );
}

function withFlag(words: string[], flag: string, value: string): string[] {
  const i = words.indexOf(flag);
  expect(i, `${words.join(" ")} has ${flag}`).toBeGreaterThan(0);
  return [...words.slice(0, i + 1), value, ...words.slice(i + 2)];
}

/** `tserve graph` has no model routes and no gRPC: readiness is GET /readyz, and only --http_port and --host are added. */
const startRouter = (args: string[], port: number) => startCli(args, port, { readyPath: "/readyz", portFlags: "http" });

function requestBody(file: "cat.json" | "dog.json"): string {
  return readFileSync(`${EXAMPLE}${file}`, "utf8");
}

function requestImage(file: "cat.json" | "dog.json"): Buffer {
  return Buffer.from(JSON.parse(requestBody(file)).instances[0].image.b64 as string, "base64");
}

async function postGraph(url: string, file: "cat.json" | "dog.json"): Promise<{ status: number; text: string }> {
  const r = await fetch(`${url}/`, { method: "POST", headers: { "content-type": "application/json" }, body: requestBody(file) });
  return { status: r.status, text: await r.text() };
}

/** A dog answer: one object of the 5 breeds, most likely first, probabilities in [0, 1] summing to <= 1. */
function expectBreeds(text: string): [string, number][] {
  const body = JSON.parse(text) as { predictions: Record<string, number>[] };
  expect(Object.keys(body)).toEqual(["predictions"]);
  expect(body.predictions).toHaveLength(1);
  const entries = Object.entries(body.predictions[0]);
  expect(entries.map(([b]) => b).sort()).toEqual([...BREEDS].sort());
  for (const [, p] of entries) {
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThanOrEqual(1);
  }
  for (let i = 1; i < entries.length; i++) expect(entries[i][1]).toBeLessThanOrEqual(entries[i - 1][1]);
  // float32 probabilities: their sum may round a few ulps above 1.
  expect(entries.reduce((s, [, p]) => s + p, 0)).toBeLessThanOrEqual(1 + 1e-6);
  return entries;
}

describe("examples/dog-breed-pipeline, the README's setups", () => {
  const running: RunningCli[] = [];
  const graphs = new Map<Setup, string>();
  let tmp: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "dog-breed-test-"));
    // README port -> the free port this test uses instead.
    const ports = new Map<string, number>();
    for (const p of ["8080", "8081", "8082"]) ports.set(p, await freePort());
    const port = (readme: string) => ports.get(readme)!;

    const start = async (setup: Setup): Promise<void> => {
      const cmds = commands(setup);
      if (setup === "inProcess") {
        expect(cmds).toEqual([
          ["node", "bin/tserve.js", "serve", "--model-repository", `${DIR}/models`, "--graph", `${DIR}/graph.yaml`],
        ]);
        // startCli adds --http_port, --host 127.0.0.1 and --grpc_port 0.
        const server = await startCli(cmds[0].slice(2), await freePort());
        running.push(server);
        graphs.set(setup, server.url);
      } else if (setup === "remote") {
        expect(cmds).toEqual([
          ["node", "bin/tserve.js", "serve", `${DIR}/models/cat-dog-classifier`, "--http_port", "8081", "--grpc_port", "0"],
          ["node", "bin/tserve.js", "serve", `${DIR}/models/dog-breed-classifier`, "--http_port", "8082", "--grpc_port", "0"],
          ["node", "bin/tserve.js", "graph", `${DIR}/graph-remote.yaml`],
        ]);
        const models = await Promise.all(
          cmds.slice(0, 2).map((words) => {
            const p = port(words[5]);
            return startCli(withFlag(words.slice(2), "--http_port", String(p)), p);
          }),
        );
        running.push(...models);
        // graph-remote.yaml names localhost:8081 and localhost:8082; the copy names the ports used here.
        const yaml = readFileSync(`${EXAMPLE}graph-remote.yaml`, "utf8");
        const rewritten = yaml
          .replace("http://localhost:8081/", `http://127.0.0.1:${port("8081")}/`)
          .replace("http://localhost:8082/", `http://127.0.0.1:${port("8082")}/`);
        expect(rewritten).not.toContain("localhost");
        const file = join(tmp, "graph-remote.yaml");
        writeFileSync(file, rewritten);
        const router = await startRouter(["graph", file], port("8080"));
        running.push(router);
        graphs.set(setup, router.url);
      } else {
        expect(cmds).toEqual([
          ["node", "bin/tserve.js", "serve", "--model-repository", `${DIR}/models`, "--http_port", "8081", "--grpc_port", "0"],
          [
            "node",
            "bin/tserve.js",
            "graph",
            `${DIR}/graph.yaml`,
            "--service_url_template",
            "http://localhost:8081/v1/models/{name}:predict",
          ],
        ]);
        const [p, routerPort] = [await freePort(), await freePort()];
        running.push(await startCli(withFlag(cmds[0].slice(2), "--http_port", String(p)), p));
        const template = `http://127.0.0.1:${p}/v1/models/{name}:predict`;
        const router = await startRouter(withFlag(cmds[1].slice(2), "--service_url_template", template), routerPort);
        running.push(router);
        graphs.set(setup, router.url);
      }
    };
    await Promise.all((Object.keys(SECTIONS) as Setup[]).map(start));
  }, 90_000);

  afterAll(async () => {
    const codes = await Promise.all(running.map((r) => stopCli(r.child)));
    for (const [i, code] of codes.entries()) expect(code, running[i].output()).toBe(0);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it.each(Object.keys(SECTIONS) as Setup[])("%s: the cat gets the first model's answer, the dog the breeds", async (setup) => {
    const url = graphs.get(setup)!;
    const cat = await postGraph(url, "cat.json");
    expect(cat.status).toBe(200);
    // The condition finds no "dog": the graph stops after the first step and returns its answer as it is.
    expect(cat.text).toBe(CAT_ANSWER);
    const dog = await postGraph(url, "dog.json");
    expect(dog.status).toBe(200);
    expect(expectBreeds(dog.text)[0][0]).toBe(DOG_BREED);
  });

  it("in-process and remote: every curl in the README gets the output the README shows", async () => {
    for (const setup of ["inProcess", "remote"] as const) {
      const list = curls(setup);
      expect(list.length, setup).toBeGreaterThanOrEqual(2);
      for (const curl of list) {
        expect(curl.expected, `README shows the output of: ${curl.command}`).toBeDefined();
        expect(curl.command).toMatch(/^curl localhost:8080[/ ]/);
        const r = await send(curl, graphs.get(setup)!);
        expect(r.status, curl.command).toBe(200);
        expect(r.headers.get("content-type"), curl.command).toMatch(/^application\/json/);
        expectClose(await r.json(), JSON.parse(curl.expected!.text), TOLERANCE, `${setup}: ${curl.command}`);
      }
      // The two graph requests, as the README sends them (-d @file, curl's default content type).
      const graphCurls = list.filter((c) => c.path === "");
      expect(graphCurls.map((c) => c.command.trim())).toEqual([
        `curl localhost:8080 -d @${DIR}/cat.json`,
        `curl localhost:8080 -d @${DIR}/dog.json`,
      ]);
      expect(graphCurls[0].expected!.text.trim()).toBe(CAT_ANSWER);
    }
  });

  it("every setup answers byte for byte the same", async () => {
    for (const file of ["cat.json", "dog.json"] as const) {
      const answers = await Promise.all([...graphs.values()].map(async (url) => (await postGraph(url, file)).text));
      expect(answers).toHaveLength(3);
      for (const a of answers) expect(a).toBe(answers[0]);
    }
  });

  it("answers what the two ONNX models say when run here with onnxruntime-node", async () => {
    const catDog = await ort.InferenceSession.create(`${MODELS}cat-dog-classifier/model.onnx`);
    const breed = await ort.InferenceSession.create(`${MODELS}dog-breed-classifier/model.onnx`);
    try {
      const classify = async (session: ort.InferenceSession, image: Buffer, classes: number) => {
        const input = new ort.Tensor("float32", await imageToTensor(image), [1, 3, CROP, CROP]);
        return softmax((await session.run({ input })).logits.data as Float32Array, 1, classes);
      };
      const catScores = await classify(catDog, requestImage("cat.json"), 2);
      const dogScores = await classify(catDog, requestImage("dog.json"), 2);
      expect(CAT_DOG_LABELS[topK(catScores, 1)[0]]).toBe("It's a cat!");
      expect(CAT_DOG_LABELS[topK(dogScores, 1)[0]]).toBe("dog");

      const probs = await classify(breed, requestImage("dog.json"), BREEDS.length);
      const expected = { predictions: [Object.fromEntries(topK(probs, 5).map((c) => [BREEDS[c], probs[c]]))] };
      for (const url of graphs.values()) {
        const answer = JSON.parse((await postGraph(url, "dog.json")).text);
        expect(Object.keys(answer.predictions[0])).toEqual(Object.keys(expected.predictions[0]));
        expectClose(answer, expected, TOLERANCE);
      }
    } finally {
      await catDog.release();
      await breed.release();
    }
  });
});

describe("examples/dog-breed-pipeline files", () => {
  it("graph.yaml is the tutorial's graph, as the README shows it; graph-remote.yaml differs only in serviceUrl", () => {
    const graph = parseYaml(readFileSync(`${EXAMPLE}graph.yaml`, "utf8"));
    const shown = fencedBlocks(README).find((b) => b.lang === "yaml" && b.text.includes("kind: InferenceGraph"));
    expect(parseYaml(shown!.text)).toEqual(graph);
    expect(graph).toEqual({
      apiVersion: "serving.kserve.io/v1alpha1",
      kind: "InferenceGraph",
      metadata: { name: "dog-breed-pipeline" },
      spec: {
        nodes: {
          root: {
            routerType: "Sequence",
            steps: [
              { serviceName: "cat-dog-classifier", name: "cat_dog_classifier" },
              {
                serviceName: "dog-breed-classifier",
                name: "dog_breed_classifier",
                data: "$request",
                condition: '[@this].#(predictions.0=="dog")',
              },
            ],
          },
        },
      },
    });
    const remote = parseYaml(readFileSync(`${EXAMPLE}graph-remote.yaml`, "utf8"));
    const ports = { "cat-dog-classifier": 8081, "dog-breed-classifier": 8082 } as Record<string, number>;
    const steps = graph.spec.nodes.root.steps.map(({ serviceName, ...rest }: { serviceName: string }) => ({
      serviceUrl: `http://localhost:${ports[serviceName]}/v1/models/${serviceName}:predict`,
      ...rest,
    }));
    expect(remote).toEqual({ ...graph, spec: { nodes: { root: { routerType: "Sequence", steps } } } });
    const shownSteps = fencedBlocks(README).find((b) => b.lang === "yaml" && b.text.includes("serviceUrl"));
    expect(parseYaml(shownSteps!.text)).toEqual({ steps });
  });

  it("model folders: module runtime, small ONNX files, one label per logit", async () => {
    for (const [name, labels] of [
      ["cat-dog-classifier", CAT_DOG_LABELS],
      ["dog-breed-classifier", BREEDS],
    ] as const) {
      const folder = `${MODELS}${name}/`;
      expect(JSON.parse(readFileSync(`${folder}model-settings.json`, "utf8"))).toEqual({ runtime: "module", modelFile: "model.ts" });
      expect(statSync(`${folder}model.onnx`).size).toBeLessThan(200_000);
      const session = await ort.InferenceSession.create(`${folder}model.onnx`);
      try {
        expect(session.inputNames).toEqual(["input"]);
        expect(session.outputNames).toEqual(["logits"]);
        const out = await session.run({ input: new ort.Tensor("float32", new Float32Array(2 * 3 * CROP * CROP), [2, 3, CROP, CROP]) });
        expect(out.logits.dims).toEqual([2, labels.length]);
      } finally {
        await session.release();
      }
    }
    expect(CAT_DOG_LABELS).toEqual(["It's a cat!", "dog"]);
    expect(BREEDS).toHaveLength(5);
  });

  it("cat.json and dog.json each hold one small 256x256 PNG", async () => {
    for (const file of ["cat.json", "dog.json"] as const) {
      expect(statSync(`${EXAMPLE}${file}`).size).toBeLessThan(30_000);
      expect(JSON.parse(requestBody(file)).instances).toHaveLength(1);
      const meta = await sharp(requestImage(file)).metadata();
      expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(["png", 256, 256, 3]);
    }
  });
});

describe("npm run example:dog-breed", () => {
  it("runs both setups, checks the answers and exits 0", async () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8"));
    expect(pkg.scripts["example:dog-breed"]).toBe(`tsx ${DIR}/run.ts`);
    // Its own process group, so a hung run can be stopped with everything it started.
    const child = spawn("npm", ["run", "example:dog-breed"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 150_000);
    const [code] = (await once(child, "exit")) as [number | null];
    clearTimeout(timer);
    expect(code, out).toBe(0);
    expect(out).toContain("OK: in-process and remote gave the same answers");
    for (const mode of ["in-process", "remote"]) {
      for (const file of ["cat.json", "dog.json"]) {
        expect(out).toMatch(new RegExp(`^${mode}: POST .* \\(${DIR}/${file}\\) -> 200 in \\d+ ms$`, "m"));
      }
    }
  }, 180_000);
});
