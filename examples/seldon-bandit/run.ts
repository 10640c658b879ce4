/**
 * Runs the two Seldon graphs of this example as real `node bin/tserve.js seldon-graph` processes on free ports:
 *
 *   bandit.yaml    an epsilon-greedy ROUTER in front of model-a (sepals) and model-b (petals)
 *   combiner.yaml  a COMBINER that averages both models' answers
 *
 * It asks the bandit about 200 flowers (the 23 of flowers.ts in turn), and after each answer sends Seldon feedback
 * with the request, the response it got (its meta.routing says which model answered) and a reward: 1 when the answer
 * names the flower's species, else 0. model-b is always right on these flowers and model-a always wrong, so the
 * router should move its traffic to model-b; the table shows each model's share per 50 requests. Then it asks the
 * combiner about one flower and checks the answer is the mean of the two models' answers.
 *
 *   npm run example:seldon-bandit
 *
 * Exits 0 when the traffic moved to model-b and the combiner averaged correctly, 1 otherwise, 130 on Ctrl-C.
 */
import { freePort, servers, startServer, stopAll, waitReady } from "../shared/processes.ts";
import { type Flower, FLOWERS } from "./flowers.ts";
import { FEATURES } from "./iris.ts";

const DIR = "examples/seldon-bandit";
const REQUESTS = 200;
const BATCH = 50;
/** The router's node name in bandit.yaml: its key in meta.routing. */
const ROUTER = "eg-router";
const MODELS = ["model-a", "model-b"];
const LABELS = ["model-a (sepals)", "model-b (petals)"];
/** What "the traffic moved" means: model-b gets at least this share of the last batch… */
const MIN_FINAL_SHARE = 0.8;
/** …and at least this much more of it than of the first batch. */
const MIN_GAIN = 0.2;
/** The flower the combiner is asked about: examples/iris's first request (data set row 77, a versicolor). */
const COMBINER_FLOWER = FLOWERS.find((f) => f.row === 77)!;
const REQUEST_TIMEOUT_MS = 30_000;

interface SeldonAnswer {
  data: { names: string[]; ndarray: number[][] };
  meta: { puid: string; routing: Record<string, number>; tags: Record<string, unknown> };
}

async function post(url: string, body: unknown): Promise<any> {
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`POST ${url} answered ${r.status}: ${text}`);
  return JSON.parse(text);
}

/** The species an answer gives the (only) flower: the column with the highest probability. */
function species(answer: SeldonAnswer): string {
  const row = answer.data.ndarray[0];
  return answer.data.names[row.indexOf(Math.max(...row))];
}

function seldonRequest(flower: Flower) {
  return { data: { names: FEATURES, ndarray: [flower.measurements] } };
}

interface Outcome {
  branch: number;
  explored: boolean;
  reward: number;
}

async function runBandit(url: string): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const flower = FLOWERS[i % FLOWERS.length];
    const request = seldonRequest(flower);
    const response = (await post(`${url}/api/v1.0/predictions`, request)) as SeldonAnswer;
    const branch = response.meta.routing[ROUTER];
    if (branch !== 0 && branch !== 1) throw new Error(`meta.routing has no branch for ${ROUTER}: ${JSON.stringify(response.meta)}`);
    const reward = species(response) === flower.species ? 1 : 0;
    // The response goes back as it came: the executor reads meta.routing to credit the router's choice.
    await post(`${url}/api/v1.0/feedback`, {
      request,
      response,
      reward,
      truth: { data: { names: ["species"], ndarray: [[flower.species]] } },
    });
    outcomes.push({ branch, explored: response.meta.tags.explored === true, reward });
  }
  return outcomes;
}

const percent = (n: number, of: number) => `${Math.round((100 * n) / of)}%`.padStart(4);

/** Model-b's share of each batch, after printing the table. */
function printTable(outcomes: Outcome[]): number[] {
  console.log(`\n${REQUESTS} predictions through ${ROUTER}, each followed by its feedback (reward 1 when the answer names the species):\n`);
  console.log(`requests   ${LABELS.map((l) => l.padEnd(18)).join(" ")} explored   mean reward`);
  const shares: number[] = [];
  for (let start = 0; start < outcomes.length; start += BATCH) {
    const batch = outcomes.slice(start, start + BATCH);
    const counts = MODELS.map((_, b) => batch.filter((o) => o.branch === b).length);
    const explored = batch.filter((o) => o.explored).length;
    const reward = batch.reduce((s, o) => s + o.reward, 0) / batch.length;
    const range = `${start + 1}-${start + batch.length}`.padEnd(10);
    const cells = counts.map((c) => `${String(c).padStart(3)} ${percent(c, batch.length)}`.padEnd(18));
    console.log(`${range} ${cells.join(" ")} ${String(explored).padStart(8)}   ${reward.toFixed(2).padStart(11)}`);
    shares.push(counts[1] / batch.length);
  }
  const firstB = outcomes.findIndex((o) => o.branch === 1);
  if (firstB >= 0) {
    const how = outcomes[firstB].explored ? "exploring" : "exploiting";
    console.log(`\nThe router first sent a flower to model-b at request ${firstB + 1} (${how}); model-b's reward of 1 made it the best branch.`);
  }
  return shares;
}

/** The router's and the feedback counters' samples from /metrics, shortened to the labels that matter here. */
async function printMetrics(url: string): Promise<void> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).text();
  console.log(`\nGET ${url}/metrics (the router's custom metrics and Seldon's feedback counters; other labels cut):`);
  for (const line of text.split("\n")) {
    const m = /^(bandit_\w+|seldon_api_model_feedback\w*)\{(.*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    // The gauges are set on every call; the feedback series holds the values after the last reward.
    if (m[1] === "bandit_branch_value" && labels.method !== "feedback") continue;
    const keep = ["model_name", "method", "branch", "decision"].filter((k) => labels[k] !== undefined);
    console.log(`  ${m[1]}{${keep.map((k) => `${k}="${labels[k]}"`).join(",")}} ${m[3]}`);
  }
}

async function runCombiner(url: string): Promise<boolean> {
  const flower = COMBINER_FLOWER;
  const answer = (await post(`${url}/api/v1.0/predictions`, seldonRequest(flower))) as SeldonAnswer;
  // Every node with a modelUri is also a model of the process, so each child can be asked on its own (KServe V1).
  const children = await Promise.all(
    MODELS.map(async (m) => ((await post(`${url}/v1/models/${m}:predict`, { instances: [flower.measurements] })) as { predictions: number[][] }).predictions[0]),
  );
  console.log(`\nPOST ${url}/api/v1.0/predictions (combiner.yaml), flower ${flower.row} [${flower.measurements.join(", ")}], a ${flower.species}:`);
  console.log(JSON.stringify(answer.data));
  const names = answer.data.names;
  console.log(`\n                   ${names.map((n) => n.padStart(10)).join(" ")}   answer`);
  const row = (label: string, p: number[]) =>
    console.log(`${label.padEnd(18)} ${p.map((v) => v.toFixed(4).padStart(10)).join(" ")}   ${names[p.indexOf(Math.max(...p))]}`);
  children.forEach((p, i) => row(LABELS[i], p));
  row("average", answer.data.ndarray[0]);
  const expected = children[0].map((v, i) => (v + children[1][i]) / 2);
  return answer.data.ndarray[0].every((v, i) => Math.abs(v - expected[i]) < 1e-12);
}

async function main(): Promise<number> {
  const [banditPort, combinerPort] = [await freePort(), await freePort()];
  const bandit = startServer("bandit", ["seldon-graph", `${DIR}/bandit.yaml`, "--enable_grpc", "false"], banditPort);
  const combiner = startServer("combiner", ["seldon-graph", `${DIR}/combiner.yaml`, "--enable_grpc", "false"], combinerPort);
  await Promise.all([waitReady(bandit, "/ready"), waitReady(combiner, "/ready")]);

  const outcomes = await runBandit(bandit.url);
  const shares = printTable(outcomes);
  await printMetrics(bandit.url);
  const averaged = await runCombiner(combiner.url);

  const failures: string[] = [];
  const rewards = MODELS.map((_, b) => outcomes.filter((o) => o.branch === b).map((o) => o.reward));
  if (rewards[0].some((r) => r !== 0) || rewards[1].some((r) => r !== 1)) failures.push("model-a was not always wrong, or model-b not always right");
  const [first, last] = [shares[0], shares[shares.length - 1]];
  if (last < MIN_FINAL_SHARE || last - first < MIN_GAIN) {
    failures.push(`the traffic did not move to model-b: ${percent(first * BATCH, BATCH).trim()} of the first ${BATCH} requests, ${percent(last * BATCH, BATCH).trim()} of the last`);
  }
  if (!averaged) failures.push("the combiner's answer is not the mean of the two models' answers");
  console.log();
  if (failures.length > 0) {
    for (const f of failures) console.error(`FAILED: ${f}`);
    return 1;
  }
  console.log(`OK: model-b's share grew from ${percent(first * BATCH, BATCH).trim()} of the first ${BATCH} requests to ${percent(last * BATCH, BATCH).trim()} of the last ${BATCH}; the combiner answered the mean of both models.`);
  return 0;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the servers`);
    void stopAll().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  });
}

try {
  process.exitCode = await main();
} catch (err) {
  console.error(`\nFAILED: ${err instanceof Error ? err.message : String(err)}`);
  for (const s of servers) {
    const log = s.log().trim();
    if (log) console.error(`\n--- ${s.label} output ---\n${log}`);
  }
  process.exitCode = 1;
} finally {
  await stopAll();
}
