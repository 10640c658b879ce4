/**
 * Baseline of the engine stage's identity comparison: the cheapest honest KServe V1 identity "model server" Node
 * can be, on one process or on N node:cluster workers sharing the port (as `tserve serve --workers N` does).
 *
 * For any POST it reads the whole body, JSON.parse()s it and answers `{"predictions": <instances>}` built as an
 * object and JSON.stringify()ed per request — the same bytes tserve's identity module model
 * (bench/fixtures/v1-identity.ts) answers — with no routing, validation, metrics or typed-array copies. GET
 * answers `{}` (the harness' readiness and /v2/health/live polling).
 *
 * With `--workers 1` (the default) it is a plain node:http server in this process, no cluster; with `--workers N`
 * (N ≥ 2) the primary forks N workers (node:cluster, the platform's default scheduling, as tserve's pool) that all
 * listen on the port; the primary serves nothing and prints `… N workers listening on …` once every worker listens.
 *
 * Run as a child process: node --import tsx bench/baselines/bare-http-cluster.ts --port <port> [--host 127.0.0.1]
 * [--workers N]
 */
import cluster from "node:cluster";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { pathToFileURL } from "node:url";

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "POST") {
    send(res, 200, "{}");
    return;
  }
  const body = await readBody(req);
  let msg: { instances?: unknown };
  try {
    msg = JSON.parse(body.toString("utf8")) as { instances?: unknown };
  } catch {
    send(res, 400, '{"error":"invalid JSON"}');
    return;
  }
  if (!Array.isArray(msg?.instances)) {
    send(res, 400, '{"error":"expected {\\"instances\\": [...]}"}');
    return;
  }
  send(res, 200, JSON.stringify({ predictions: msg.instances }));
}

export function createBareEchoServer(): Server {
  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, JSON.stringify({ error: String(err) }));
      else res.destroy();
    });
  });
}

function argValue(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

function serve(port: number, host: string, announce: boolean): void {
  const server = createBareEchoServer();
  server.listen(port, host, () => {
    if (!announce) return;
    const address = server.address();
    const actual = address !== null && typeof address === "object" ? address.port : port;
    console.log(`bare node:http echo listening on http://${host}:${actual}`);
  });
  const shutdown = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

function primary(workers: number, port: number, host: string): void {
  let listening = 0;
  let stopping = false;
  cluster.on("listening", () => {
    listening++;
    if (listening === workers) console.log(`bare node:http echo: ${workers} workers listening on http://${host}:${port}`);
  });
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    // A baseline that lost a worker is no longer the baseline: fail loudly rather than limp on.
    console.error(`bare node:http echo: worker ${worker.process.pid} exited (code=${code}, signal=${signal}); exiting`);
    process.exit(1);
  });
  for (let i = 0; i < workers; i++) cluster.fork();
  const shutdown = (): void => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
    setTimeout(() => process.exit(0), 3_000).unref();
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

function main(): void {
  const args = process.argv.slice(2);
  const port = Number(argValue(args, "--port") ?? process.env.PORT ?? "0");
  const host = argValue(args, "--host") ?? "127.0.0.1";
  const workers = Number(argValue(args, "--workers") ?? "1");
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`--workers must be a whole number >= 1, got ${workers}`);
  if (workers === 1) serve(port, host, true);
  else if (cluster.isPrimary) {
    // Workers share the port; with port 0 each would pick its own, so a fixed port is required.
    if (port === 0) throw new Error("--workers N needs a fixed --port");
    primary(workers, port, host);
  } else serve(port, host, false);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
