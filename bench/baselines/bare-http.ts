/**
 * Baseline A: the cheapest honest HTTP "model server" Node can be.
 *
 * A bare node:http server that reads the whole request body, JSON.parse()s it (binary bodies are only
 * read), and answers with a canned prediction of about the same size as tserve's iris answer. Anything
 * tserve costs on top of this is framework, protocol and inference overhead.
 *
 * Run as a child process: node --import tsx bench/baselines/bare-http.ts --port <port> [--host 127.0.0.1]
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { pathToFileURL } from "node:url";

export const CANNED_RESPONSE = Buffer.from('{"predictions":[[0.0076,0.6284,0.3639],[0.0081,0.6434,0.3485]]}');

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: Buffer): void {
  res.writeHead(status, { "content-type": "application/json", "content-length": body.length });
  res.end(body);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "POST") {
    // Health checks (GET /v2/health/ready etc.) for the harness' readiness polling.
    send(res, 200, Buffer.from("{}"));
    return;
  }
  const body = await readBody(req);
  const contentType = req.headers["content-type"] ?? "";
  if (!contentType.startsWith("application/octet-stream")) {
    try {
      JSON.parse(body.toString("utf8"));
    } catch {
      send(res, 400, Buffer.from('{"error":"invalid JSON"}'));
      return;
    }
  }
  send(res, 200, CANNED_RESPONSE);
}

export function createBareHttpServer(): Server {
  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, Buffer.from(JSON.stringify({ error: String(err) })));
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
  const server = createBareHttpServer();
  server.listen(port, host, () => {
    const address = server.address();
    const actual = address !== null && typeof address === "object" ? address.port : port;
    console.log(`bare node:http baseline listening on http://${host}:${actual}`);
  });
  const shutdown = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
