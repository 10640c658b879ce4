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
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DIR = "examples/dog-breed-pipeline";
const MODES = ["in-process", "remote"] as const;
type Mode = (typeof MODES)[number];
const REQUESTS = ["cat.json", "dog.json"] as const;

const CAT_ANSWER = JSON.stringify({ predictions: ["It's a cat!"] });
/** The breed of the dog drawn in dog.json (scripts/gen_dog_breed.py). */
const DOG_BREED = "Kuvasz";

const READY_TIMEOUT_MS = 60_000;
const REQUEST_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

interface Server {
  label: string;
  child: ChildProcess;
  url: string;
  /** The last 64 kB the process wrote, shown when something goes wrong. */
  log: () => string;
}

const servers: Server[] = [];
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
async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const { port } = srv.address() as { port: number };
  srv.close();
  await once(srv, "close");
  return port;
}

/** Starts `node bin/tserve.js <args>` on 127.0.0.1 and remembers it, so it is stopped whatever happens. */
function startServer(label: string, args: string[], httpPort: number): Server {
  const argv = ["bin/tserve.js", ...args, "--http_port", String(httpPort), "--host", "127.0.0.1"];
  console.log(`${label}: node ${argv.join(" ")}`);
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString()).slice(-65_536);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const server: Server = { label, child, url: `http://127.0.0.1:${httpPort}`, log: () => log };
  servers.push(server);
  return server;
}

/** Polls a readiness path until it answers 200 (/v2/health/ready for model servers, /readyz for a router). */
async function waitReady(server: Server, path: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(`${server.label} exited (${server.child.exitCode ?? server.child.signalCode}) before it was ready`);
    }
    try {
      const r = await fetch(`${server.url}${path}`, { signal: AbortSignal.timeout(2_000) });
      if (r.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${server.label} was not ready after ${READY_TIMEOUT_MS / 1000} s`);
}

/** SIGTERM (tserve drains and exits), then SIGKILL if it takes too long. */
async function stop(server: Server): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

let stopping: Promise<void> | undefined;
function stopAll(): Promise<void> {
  stopping ??= Promise.all(servers.map(stop))
    .then(() => Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true }))))
    .then(() => undefined);
  return stopping;
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
