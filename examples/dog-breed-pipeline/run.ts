/**
 * Runs the dog-breed pipeline end to end, the two ways the README shows, each as real `node bin/tserve.js`
 * child processes on free ports:
 *
 *   in-process  one `tserve serve --model-repository models --graph graph.yaml`: the graph's serviceName steps
 *               call the two models inside the same process
 *   remote      three processes: each model served from its own folder on its own port, and a standalone
 *               `tserve graph graph-remote.yaml` router whose serviceUrl steps call them over HTTP
 *
 * It sends cat.json and dog.json to the graph (POST /), prints the answers, checks them (cat -> the first
 * model's {"predictions":["It's a cat!"]}; dog -> the breed model's top 5, Kuvasz first) and, with both modes,
 * that they answered identically. Every server is stopped at the end, also on an error or Ctrl-C.
 *
 *   npm run example:dog-breed                  # both modes
 *   npm run example:dog-breed -- remote        # one mode
 *
 * Exits 0 when every check passes, 1 otherwise, 2 on a bad argument and 130 on Ctrl-C.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, servers, startServer, stopAll as stopServers, waitReady } from "../shared/processes.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DIR = "examples/dog-breed-pipeline";
const MODES = ["in-process", "remote"] as const;
type Mode = (typeof MODES)[number];
const REQUESTS = ["cat.json", "dog.json"] as const;

const CAT_ANSWER = JSON.stringify({ predictions: ["It's a cat!"] });
/** The breed of the dog drawn in dog.json (scripts/gen_dog_breed.py). */
const DOG_BREED = "Kuvasz";

const REQUEST_TIMEOUT_MS = 60_000;

const tempDirs: string[] = [];

function usage(): never {
  console.error(`usage: tsx ${DIR}/run.ts [${MODES.join("|")}|all]`);
  process.exit(2);
}

function parseModes(arg: string | undefined): Mode[] {
  if (arg === undefined || arg === "all") return [...MODES];
  if ((MODES as readonly string[]).includes(arg)) return [arg as Mode];
  return usage();
}

/** A port nothing listens on right now (the OS picks it). */

function stopAll(): Promise<void> {
  return stopServers().then(() => Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })))).then(() => undefined);
}
/** graph-remote.yaml with the README's ports (8081, 8082 on localhost) replaced by the ones used here. */
function remoteGraph(yaml: string, catDogUrl: string, dogBreedUrl: string): string {
  const out = yaml
    .replace("http://localhost:8081/", `${catDogUrl}/`)
    .replace("http://localhost:8082/", `${dogBreedUrl}/`);
  if (out.includes("localhost:808")) throw new Error(`${DIR}/graph-remote.yaml has a URL this script does not rewrite`);
  return out;
}

/** Starts a mode's processes; returns the graph's URL. */
async function startMode(mode: Mode): Promise<string> {
  if (mode === "in-process") {
    const args = ["serve", "--model-repository", `${DIR}/models`, "--graph", `${DIR}/graph.yaml`, "--grpc_port", "0"];
    const server = startServer(mode, args, await freePort());
    await waitReady(server, "/v2/health/ready");
    return server.url;
  }
  const [catDogPort, dogBreedPort, routerPort] = [await freePort(), await freePort(), await freePort()];
  const catDog = startServer(`${mode} cat-dog-classifier`, ["serve", `${DIR}/models/cat-dog-classifier`, "--grpc_port", "0"], catDogPort);
  const dogBreed = startServer(`${mode} dog-breed-classifier`, ["serve", `${DIR}/models/dog-breed-classifier`, "--grpc_port", "0"], dogBreedPort);
  const dir = await mkdtemp(join(tmpdir(), "dog-breed-"));
  tempDirs.push(dir);
  const graphFile = join(dir, "graph-remote.yaml");
  const yaml = await readFile(join(ROOT, DIR, "graph-remote.yaml"), "utf8");
  await writeFile(graphFile, remoteGraph(yaml, catDog.url, dogBreed.url));
  console.log(`${mode}: ${graphFile} is ${DIR}/graph-remote.yaml with the steps on ports ${catDogPort} and ${dogBreedPort}`);
  const router = startServer(`${mode} router`, ["graph", graphFile], routerPort);
  await Promise.all([waitReady(catDog, "/v2/health/ready"), waitReady(dogBreed, "/v2/health/ready"), waitReady(router, "/readyz")]);
  return router.url;
}

/** Checks a dog answer: one image, the 5 breeds, most likely first, Kuvasz on top, probabilities summing to <= 1. */
function checkDog(answer: unknown, breeds: string[]): [string, number][] {
  const predictions = (answer as { predictions?: unknown } | null)?.predictions;
  const top = Array.isArray(predictions) && predictions.length === 1 ? predictions[0] : undefined;
  const entries = typeof top === "object" && top !== null ? Object.entries(top as Record<string, unknown>) : [];
  const scores = entries.map(([, p]) => p);
  const ok =
    Object.keys(answer as object).length === 1 &&
    entries.length === breeds.length &&
    entries.every(([breed, p]) => breeds.includes(breed) && typeof p === "number" && p >= 0 && p <= 1) &&
    scores.every((p, i) => i === 0 || (p as number) <= (scores[i - 1] as number)) &&
    (scores as number[]).reduce((a, b) => a + b, 0) <= 1 + 1e-6;
  if (!ok) throw new Error(`dog.json: expected {"predictions": [{<5 breeds>: probability, ...}]} sorted, got ${JSON.stringify(answer)}`);
  if (entries[0][0] !== DOG_BREED) throw new Error(`dog.json: expected ${DOG_BREED} first, got ${entries[0][0]}`);
  return entries as [string, number][];
}

async function runMode(mode: Mode, breeds: string[]): Promise<Map<string, string>> {
  const url = await startMode(mode);
  console.log(`${mode}: ready\n`);
  const answers = new Map<string, string>();
  for (const file of REQUESTS) {
    const body = await readFile(join(ROOT, DIR, file), "utf8");
    const started = performance.now();
    const r = await fetch(`${url}/`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await r.text();
    const ms = (performance.now() - started).toFixed(0);
    console.log(`${mode}: POST ${url}/ (${DIR}/${file}) -> ${r.status} in ${ms} ms`);
    console.log(text);
    if (r.status !== 200) throw new Error(`${mode}: the graph answered ${r.status} to ${file}`);
    if (file === "cat.json") {
      if (JSON.stringify(JSON.parse(text)) !== CAT_ANSWER) throw new Error(`cat.json: expected ${CAT_ANSWER}, got ${text}`);
    } else {
      for (const [breed, p] of checkDog(JSON.parse(text), breeds)) console.log(`  ${breed.padEnd(24)} ${p.toFixed(6)}`);
    }
    console.log();
    answers.set(file, text);
  }
  return answers;
}

async function main(): Promise<void> {
  const modes = parseModes(process.argv[2]);
  const breeds = JSON.parse(await readFile(join(ROOT, DIR, "models/dog-breed-classifier/labels.json"), "utf8")) as string[];
  const results = new Map<Mode, Map<string, string>>();
  for (const mode of modes) results.set(mode, await runMode(mode, breeds));

  const [[first, expected], ...rest] = [...results];
  for (const [mode, answers] of rest) {
    for (const file of REQUESTS) {
      if (answers.get(file) !== expected.get(file)) {
        throw new Error(`${mode} and ${first} answered ${file} differently:\n${answers.get(file)}\n${expected.get(file)}`);
      }
    }
  }
  console.log(
    rest.length > 0
      ? `OK: ${modes.join(" and ")} gave the same answers: cat.json -> ${CAT_ANSWER}, dog.json -> ${DOG_BREED} first.`
      : `OK: ${first}: cat.json -> ${CAT_ANSWER}, dog.json -> ${DOG_BREED} first.`,
  );
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the servers`);
    void stopAll().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  });
}

try {
  await main();
  await stopAll();
} catch (err) {
  console.error(`\nFAILED: ${err instanceof Error ? err.message : String(err)}`);
  for (const s of servers) {
    const log = s.log().trim();
    if (log) console.error(`\n--- ${s.label} output ---\n${log}`);
  }
  await stopAll();
  process.exitCode = 1;
}
