/**
 * Baseline of the seldon stage: the cheapest honest Seldon identity "component" Node can be.
 *
 * A bare node:http server that, for any POST, reads the whole body, JSON.parse()s it and answers what a Seldon
 * identity component answers: the same `data` kind (`ndarray` or `tensor`), `names` "t:0" … "t:n-1" for a ≥ 2-D
 * payload and an empty `meta`, built as an object and JSON.stringify()ed per request (no canned bytes). There is
 * no routing, no validation beyond what the answer needs, no metrics and no typed-array copy: anything tserve
 * costs on top of this is framework and Seldon-protocol overhead. GET /health/ping answers "pong", as Seldon's does.
 *
 * Run as a child process: node --import tsx bench/baselines/bare-seldon.ts --port <port> [--host 127.0.0.1]
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { pathToFileURL } from "node:url";

export interface SeldonData {
  names?: string[];
  ndarray?: unknown[];
  tensor?: { shape: number[]; values: number[] };
}

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

function names(columns: number | undefined): string[] {
  const out: string[] = [];
  for (let i = 0; i < (columns ?? 0); i++) out.push(`t:${i}`);
  return out;
}

/** The identity answer for `data`, or undefined when it carries neither an ndarray nor a tensor. */
export function identity(data: SeldonData | undefined): SeldonData | undefined {
  if (data?.tensor) {
    const { shape, values } = data.tensor;
    return { names: names(shape.length >= 2 ? shape[1] : undefined), tensor: { shape, values } };
  }
  if (Array.isArray(data?.ndarray)) {
    const first = data.ndarray[0];
    return { names: names(Array.isArray(first) ? first.length : undefined), ndarray: data.ndarray };
  }
  return undefined;
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "POST") {
    // GET /health/ping: Seldon's liveness answer, the canned-reply floor; anything else (GET /v2/health/ready,
    // the harness' readiness polling) gets {}.
    if (req.url === "/health/ping") {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "content-length": 4 });
      res.end("pong");
    } else send(res, 200, "{}");
    return;
  }
  const body = await readBody(req);
  let msg: { data?: SeldonData };
  try {
    msg = JSON.parse(body.toString("utf8")) as { data?: SeldonData };
  } catch {
    send(res, 400, '{"status":{"code":400,"info":"invalid JSON","status":"FAILURE"}}');
    return;
  }
  const data = identity(msg?.data);
  if (!data) {
    send(res, 400, '{"status":{"code":400,"info":"expected data.ndarray or data.tensor","status":"FAILURE"}}');
    return;
  }
  send(res, 200, JSON.stringify({ data, meta: {} }));
}

export function createBareSeldonServer(): Server {
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

function main(): void {
  const args = process.argv.slice(2);
  const port = Number(argValue(args, "--port") ?? process.env.PORT ?? "0");
  const host = argValue(args, "--host") ?? "127.0.0.1";
  const server = createBareSeldonServer();
  server.listen(port, host, () => {
    const address = server.address();
    const actual = address !== null && typeof address === "object" ? address.port : port;
    console.log(`bare node:http Seldon baseline listening on http://${host}:${actual}`);
  });
  const shutdown = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
