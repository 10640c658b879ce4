/**
 * The Kubeflow seed end to end: a user hands over a packaged model and gets an HTTP service that answers
 * TF Serving's request format. Every server is a real `node bin/tserve.js` child process on a free port.
 *
 *   archive   tserve serve packages/iris.tar.gz          (TF-Serving layout: a 0001/ version folder)
 *   s3        the same package in an S3 bucket (a local s3rver), tserve serve s3://models/iris/iris.tar.gz
 *   pytorch   tserve serve packages/iris-pytorch.tgz      (a PyTorch model exported to ONNX, files at the root)
 *   upload    TSERVE_ADMIN_TOKEN=T tserve serve --model_repository DIR, then POST the archive to
 *             /v2/repository/models/iris/upload and predict with the uploaded model
 *
 * Each asks the seed's question ({"instances": [[6.8,2.8,4.8,1.4],[6.0,3.4,4.5,1.6]]}) and checks the answer:
 * 3 probabilities per row summing to 1, both rows versicolor.
 *
 *   npm run example:kubeflow-iris            # all four
 *   npm run example:kubeflow-iris -- s3      # one
 *
 * Exits 0 when every check passes, 1 otherwise, 2 on a bad argument.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import S3rver from "s3rver";
import { freePort, servers, startServer, stopAll, waitReady } from "../shared/processes.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DIR = "examples/kubeflow-iris";
const PACKAGES = join(ROOT, DIR, "packages");
const SEED_REQUEST = { instances: [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]] };
const MODES = ["archive", "s3", "pytorch", "upload"] as const;
type Mode = (typeof MODES)[number];
const LABELS = ["setosa", "versicolor", "virginica"];

const temps: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

function check(mode: string, answer: unknown): number[][] {
  const predictions = (answer as { predictions?: number[][] }).predictions;
  const ok =
    Array.isArray(predictions) &&
    predictions.length === 2 &&
    predictions.every((row) => row.length === 3 && Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-4) &&
    predictions.every((row) => row.indexOf(Math.max(...row)) === 1);
  if (!ok) throw new Error(`${mode}: unexpected answer ${JSON.stringify(answer)}`);
  return predictions;
}

async function predict(url: string, model: string): Promise<unknown> {
  const r = await fetch(`${url}/v1/models/${model}:predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(SEED_REQUEST),
  });
  const body = await r.json();
  if (r.status !== 200) throw new Error(`${model}: HTTP ${r.status} ${JSON.stringify(body)}`);
  return body;
}

function show(mode: string, predictions: number[][]): void {
  for (const row of predictions) {
    console.log(`  ${mode.padEnd(8)} [${row.map((p) => p.toFixed(6)).join(", ")}] -> ${LABELS[row.indexOf(Math.max(...row))]}`);
  }
}

async function archive(): Promise<void> {
  const port = await freePort();
  const cache = await tempDir("tserve-kf-cache-");
  process.env.TSERVE_CACHE_DIR = cache;
  const server = startServer("archive", ["serve", `${DIR}/packages/iris.tar.gz`, "--enable_grpc", "false"], port);
  await waitReady(server);
  const status = await (await fetch(`${server.url}/v1/models/iris`)).json();
  console.log(`  GET /v1/models/iris -> ${JSON.stringify(status)}`);
  show("archive", check("archive", await predict(server.url, "iris")));
}

async function s3(): Promise<void> {
  const dir = await tempDir("tserve-kf-s3-");
  const s3port = await freePort();
  const s3server = new S3rver({ port: s3port, address: "127.0.0.1", silent: true, directory: dir, configureBuckets: [{ name: "models", configs: [] }] });
  await s3server.run();
  try {
    // s3rver checks no signatures, so a plain PUT stores the object (a user would run `aws s3 cp`).
    const put = await fetch(`http://127.0.0.1:${s3port}/models/iris/iris.tar.gz`, {
      method: "PUT",
      headers: { "content-type": "application/gzip" },
      body: await readFile(join(PACKAGES, "iris.tar.gz")),
    });
    if (put.status !== 200) throw new Error(`s3: uploading the package failed with HTTP ${put.status}`);
    console.log(`  uploaded iris.tar.gz to s3://models/iris/iris.tar.gz (s3rver on port ${s3port})`);
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: `http://127.0.0.1:${s3port}`,
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      AWS_DEFAULT_REGION: "us-east-1",
      TSERVE_CACHE_DIR: await tempDir("tserve-kf-cache-"),
    });
    const port = await freePort();
    const server = startServer("s3", ["serve", "s3://models/iris/iris.tar.gz", "--enable_grpc", "false"], port);
    await waitReady(server);
    show("s3", check("s3", await predict(server.url, "iris")));
  } finally {
    await stopAll();
    await s3server.close();
  }
}

async function pytorch(): Promise<void> {
  const expected = JSON.parse(await readFile(join(PACKAGES, "iris-pytorch-expected.json"), "utf8")) as { predictions: number[][] };
  process.env.TSERVE_CACHE_DIR = await tempDir("tserve-kf-cache-");
  const port = await freePort();
  const server = startServer("pytorch", ["serve", `${DIR}/packages/iris-pytorch.tgz`, "--enable_grpc", "false"], port);
  await waitReady(server);
  const predictions = check("pytorch", await predict(server.url, "iris-pytorch"));
  const drift = Math.max(...predictions.flatMap((row, i) => row.map((p, j) => Math.abs(p - expected.predictions[i][j]))));
  if (drift > 1e-5) throw new Error(`pytorch: answers differ from PyTorch's by ${drift}`);
  show("pytorch", predictions);
  console.log(`  matches PyTorch's own output (max difference ${drift.toExponential(1)})`);
}

async function upload(): Promise<void> {
  const repo = await tempDir("tserve-kf-repo-");
  const port = await freePort();
  const token = "kubeflow-demo-token";
  const server = startServer("upload", ["serve", "--model_repository", repo, "--enable_grpc", "false"], port, { TSERVE_ADMIN_TOKEN: token });
  await waitReady(server);
  const r = await fetch(`${server.url}/v2/repository/models/iris/upload`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/gzip" },
    body: await readFile(join(PACKAGES, "iris.tar.gz")),
  });
  const body = await r.json();
  if (r.status !== 200) throw new Error(`upload: HTTP ${r.status} ${JSON.stringify(body)}`);
  console.log(`  POST /v2/repository/models/iris/upload -> ${JSON.stringify(body)}`);
  show("upload", check("upload", await predict(server.url, "iris")));
}

const RUNNERS: Record<Mode, () => Promise<void>> = { archive, s3, pytorch, upload };

async function main(): Promise<number> {
  const arg = process.argv[2] ?? "all";
  const modes = arg === "all" ? [...MODES] : MODES.filter((m) => m === arg);
  if (modes.length === 0) {
    console.error(`usage: tsx ${DIR}/run.ts [${MODES.join("|")}|all]`);
    return 2;
  }
  console.log(`request: ${JSON.stringify(SEED_REQUEST)}`);
  try {
    for (const mode of modes) {
      console.log(`\n== ${mode}`);
      await RUNNERS[mode]();
      await stopAll();
    }
    console.log("\nOK: every way of serving the package answered the seed's request with 3 probabilities per row.");
    return 0;
  } catch (err) {
    console.error(`FAILED: ${(err as Error).message}`);
    for (const s of servers) {
      const log = s.log().trim();
      if (log) console.error(`\n--- ${s.label} output ---\n${log}`);
    }
    return 1;
  } finally {
    await stopAll();
    for (const d of temps) await rm(d, { recursive: true, force: true });
  }
}

process.exitCode = await main();
