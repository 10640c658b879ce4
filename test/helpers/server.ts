import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { type Model, ModelServer, type ModelServerOptions } from "../../src/index.ts";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
export const IRIS_REPO = fileURLToPath(new URL("../../examples/iris/models", import.meta.url));

const quiet = { log() {} };

/** Starts a real ModelServer on a free port; remember to `await server.stop()`. */
export async function startServer(
  options: ModelServerOptions = {},
  models: Model[] = [],
): Promise<{ server: ModelServer; url: string }> {
  const server = new ModelServer({ httpPort: 0, grpcPort: 0, host: "127.0.0.1", logger: quiet, ...options });
  await server.start(models);
  return { server, url: `http://127.0.0.1:${server.port}` };
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, "close");
  return port;
}

/** Runs the real CLI (`node bin/tserve.js ...`) and waits until /v2/health/ready answers 200. */
export async function startCli(
  args: string[],
  port: number,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(
    process.execPath,
    [
      "bin/tserve.js",
      ...args,
      "--http_port",
      String(port),
      "--host",
      "127.0.0.1",
      ...(args.some((a) => a.startsWith("--grpc_port") || a.startsWith("--enable_grpc")) ? [] : ["--grpc_port", "0"]),
    ],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout?.on("data", (d) => (out += d));
  child.stderr?.on("data", (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`tserve exited with ${child.exitCode}:\n${out}`);
    try {
      const r = await fetch(`${url}/v2/health/ready`);
      if (r.status === 200) return { child, url, output: () => out };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`tserve did not become ready:\n${out}`);
}

export async function stopCli(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  child.kill("SIGTERM");
  const [code] = await once(child, "exit");
  return code as number | null;
}
