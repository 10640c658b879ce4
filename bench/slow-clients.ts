/**
 * Slow clients vs normal requests: how much do thousands of connections that trickle a request body (1 byte
 * every 10 s) delay a normal V1 :predict? Measured for tserve and, as a baseline, a bare node:http server.
 *
 *   npx tsx bench/slow-clients.ts [--connections 2000] [--requests 200] [--write]
 *
 * For each server: start it, time --requests sequential iris predicts (over one keep-alive connection, then
 * each on a new connection) with no other load, open --connections trickling connections, time the same
 * predicts again, and (tserve only) wait past its default --body_timeout to count how many trickling
 * connections the server has closed. --write puts the table in bench/RESULTS.md (section slow-clients).
 * Client and servers share the machine (and its cores); the client's own sockets count against `ulimit -n`.
 */
import { request as httpRequest, Agent } from "node:http";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { describeMachine, machineInfo } from "./machine.ts";
import { freePort } from "./ports.ts";
import { installCleanupHandlers, type ManagedProcess, startProcess, waitForHttpOk } from "./processes.ts";
import { table, writeResultsSection } from "./report.ts";
import { percentile } from "./stats.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BODY = JSON.stringify({ instances: [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]] });
const TRICKLE_EVERY_MS = 10_000;
const TRICKLE_TICK_MS = 50;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const CONNECTIONS = arg("connections", 2_000);
const REQUESTS = arg("requests", 200);
const WRITE = process.argv.includes("--write");

interface Target {
  id: string;
  label: string;
  command: string;
  args: (port: number) => string[];
  /** Observe the server closing trickling connections (its slow-client defaults). */
  observeCutoff: boolean;
}

const TARGETS: Target[] = [
  {
    id: "tserve",
    label: "tserve (defaults)",
    command: process.execPath,
    args: (port) => ["bin/tserve.js", "serve", "--model-repository", "examples/iris/models", "--http_port", String(port), "--grpc_port", "0", "--host", "127.0.0.1"],
    observeCutoff: true,
  },
  {
    id: "bare",
    label: "bare node:http",
    command: process.execPath,
    args: (port) => ["--import", "tsx", "bench/baselines/bare-http.ts", "--port", String(port), "--host", "127.0.0.1"],
    observeCutoff: false,
  },
];

/** One predict; resolves with its latency in ms. */
function predict(port: number, agent: Agent | false): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = httpRequest(
      { host: "127.0.0.1", port, path: "/v1/models/iris:predict", method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(BODY) } },
      (res) => {
        res.resume();
        res.on("end", () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`HTTP ${res.statusCode}`))));
      },
    );
    req.on("error", reject);
    req.end(BODY);
  });
}

interface Latencies {
  keepAlive: number[];
  fresh: number[];
  failed: number;
}

/** `REQUESTS` sequential predicts over one keep-alive connection, then `REQUESTS` each on a new connection. */
async function measure(port: number): Promise<Latencies> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const out: Latencies = { keepAlive: [], fresh: [], failed: 0 };
  for (const [list, a] of [[out.keepAlive, agent], [out.fresh, false]] as const) {
    for (let i = 0; i < REQUESTS; i++) {
      try {
        list.push(await predict(port, a));
      } catch {
        out.failed++;
      }
      await sleep(5);
    }
  }
  agent.destroy();
  return out;
}

interface Trickle {
  sockets: Socket[];
  closedByServer: () => number;
  failedToOpen: number;
  stop: () => void;
}

/** Opens `count` connections that each send a predict's headers, then 1 body byte every 10 s. */
async function openTrickles(port: number, count: number): Promise<Trickle> {
  const sockets: Socket[] = [];
  let closedByServer = 0;
  let failedToOpen = 0;
  let stopping = false;
  const head = `POST /v1/models/iris:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n`;
  for (let i = 0; i < count; i += 100) {
    const batch = Array.from({ length: Math.min(100, count - i) }, () => {
      return new Promise<void>((resolve) => {
        const s = connect(port, "127.0.0.1");
        s.on("error", () => undefined);
        s.resume(); // read what the server sends, so its 408 and close are seen
        s.once("connect", () => {
          s.write(head);
          sockets.push(s);
          s.once("close", () => {
            if (!stopping) closedByServer++;
          });
          resolve();
        });
        s.once("error", () => {
          failedToOpen++;
          resolve();
        });
      });
    });
    await Promise.all(batch);
  }
  // Every connection gets one byte per TRICKLE_EVERY_MS, spread evenly over the ticks.
  const perTick = Math.max(1, Math.ceil(sockets.length / (TRICKLE_EVERY_MS / TRICKLE_TICK_MS)));
  let next = 0;
  const timer = setInterval(() => {
    for (let k = 0; k < perTick && sockets.length > 0; k++) {
      const s = sockets[next++ % sockets.length];
      if (!s.destroyed) s.write("[");
    }
  }, TRICKLE_TICK_MS);
  return {
    sockets,
    closedByServer: () => closedByServer,
    failedToOpen,
    stop: () => {
      stopping = true;
      clearInterval(timer);
      for (const s of sockets) s.destroy();
    },
  };
}

interface Row {
  target: Target;
  idle: Latencies;
  loaded: Latencies;
  opened: number;
  openFailed: number;
  openDuringMeasure: number;
  cutoff?: { afterSeconds: number; closed: number; latencies: number[]; failed: number };
}

async function runTarget(target: Target): Promise<Row> {
  const port = await freePort();
  const proc: ManagedProcess = startProcess(target.id, target.command, target.args(port), {
    cwd: ROOT,
    logPath: join(ROOT, "bench", ".logs", `slow-clients-${target.id}.log`),
  });
  try {
    await waitForHttpOk(proc, `http://127.0.0.1:${port}/v2/health/ready`, 60_000);
    await measure(port); // warm-up
    const idle = await measure(port);
    process.stderr.write(`[slow-clients] ${target.label}: opening ${CONNECTIONS} trickling connections\n`);
    const openedAt = performance.now();
    const trickle = await openTrickles(port, CONNECTIONS);
    await sleep(1_000);
    const loaded = await measure(port);
    const openDuringMeasure = trickle.sockets.length - trickle.closedByServer();
    let cutoff: Row["cutoff"];
    if (target.observeCutoff) {
      // tserve's defaults: --body_timeout 30 s, then --min_body_rate 1024 bytes/s; checked once a second.
      // Predicts keep going meanwhile: closing a thousand connections in one check must not stall them either.
      const waitUntil = openedAt + 45_000;
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const latencies: number[] = [];
      let failed = 0;
      while (performance.now() < waitUntil && trickle.closedByServer() < trickle.sockets.length) {
        await predict(port, agent).then((ms) => latencies.push(ms), () => failed++);
        await sleep(20);
      }
      agent.destroy();
      cutoff = { afterSeconds: Math.round((performance.now() - openedAt) / 1000), closed: trickle.closedByServer(), latencies, failed };
    }
    trickle.stop();
    return { target, idle, loaded, opened: trickle.sockets.length, openFailed: trickle.failedToOpen, openDuringMeasure, cutoff };
  } finally {
    await proc.stop();
  }
}

const f = (v: number) => v.toFixed(2);
const p = (list: number[], q: number) => percentile(Float64Array.from(list).sort(), q);

async function main(): Promise<void> {
  installCleanupHandlers();
  const startedAt = new Date();
  const rows: Row[] = [];
  for (const target of TARGETS) rows.push(await runTarget(target));

  const lines: string[] = [
    "## Slow clients: normal predicts while thousands of connections trickle a body",
    "",
    `- Date: ${startedAt.toISOString()}`,
    `- Machine: ${describeMachine(machineInfo())}`,
    `- Command: \`npx tsx bench/slow-clients.ts --connections ${CONNECTIONS} --requests ${REQUESTS}${WRITE ? " --write" : ""}\``,
    `- Load: ${CONNECTIONS} connections, each sends the headers of a V1 iris :predict with \`Content-Length: 1000000\` and then 1 body byte every 10 s. ` +
      `Measured: ${REQUESTS} sequential V1 iris :predicts (5 ms apart) over one keep-alive connection, then ${REQUESTS} each on a new connection; ` +
      "first with no trickling connections, then with them open (the measurement starts 1 s after the last one is opened). Client and server on the same 2-core machine.",
    "- Goal: the trickling connections delay a normal request by no more than 100 ms.",
    "",
    ...table(
      [
        ["Server", "left"],
        ["Connection", "left"],
        ["idle p50 / p99 / max ms", "right"],
        ["2,000 trickling p50 / p99 / max ms", "right"],
        ["delay p50 / p99 ms", "right"],
        ["Goal ≤ 100 ms", "center"],
        ["Trickling open during measure", "right"],
        ["Failed", "right"],
      ],
      rows.flatMap((r) =>
        (["keepAlive", "fresh"] as const).map((kind) => {
          const idle = r.idle[kind];
          const loaded = r.loaded[kind];
          const d50 = p(loaded, 50) - p(idle, 50);
          const d99 = p(loaded, 99) - p(idle, 99);
          return [
            r.target.label,
            kind === "keepAlive" ? "keep-alive" : "new each",
            `${f(p(idle, 50))} / ${f(p(idle, 99))} / ${f(Math.max(...idle))}`,
            `${f(p(loaded, 50))} / ${f(p(loaded, 99))} / ${f(Math.max(...loaded))}`,
            `${f(d50)} / ${f(d99)}`,
            Math.max(d50, d99) <= 100 ? "✅ PASS" : "❌ FAIL",
            `${r.openDuringMeasure} / ${r.opened}${r.openFailed ? ` (${r.openFailed} failed to open)` : ""}`,
            String(r.idle.failed + r.loaded.failed),
          ];
        }),
      ),
    ),
    "",
    ...rows
      .filter((r) => r.cutoff)
      .map(
        (r) =>
          `- ${r.target.label}: ${r.cutoff!.closed} of ${r.opened} trickling connections closed by the server ${r.cutoff!.afterSeconds} s after they were opened ` +
          "(default `--body_timeout 30` then `--min_body_rate 1024`: a body averaging 0.1 byte/s is cut once 30 s have passed); " +
          `${r.cutoff!.latencies.length} keep-alive predicts (20 ms apart) from the end of the measurement until all were closed: ` +
          `p50 / p99 / max ${f(p(r.cutoff!.latencies, 50))} / ${f(p(r.cutoff!.latencies, 99))} / ${f(Math.max(...r.cutoff!.latencies))} ms, ${r.cutoff!.failed} failed. ` +
          "The bare node:http server keeps them (its requestTimeout is 300 s).",
      ),
  ];
  const markdown = lines.join("\n");
  process.stdout.write(`${markdown}\n`);
  if (WRITE) writeResultsSection(join(ROOT, "bench", "RESULTS.md"), markdown, "slow-clients");
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
