/** Child-process plumbing shared by the examples' runners: start tserve processes, wait for them, stop them all. */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

export interface Server {
  label: string;
  child: ChildProcess;
  url: string;
  /** The last 64 kB the process wrote, shown when something goes wrong. */
  log: () => string;
}

export const servers: Server[] = [];

/** A port nothing listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const { port } = srv.address() as { port: number };
  srv.close();
  await once(srv, "close");
  return port;
}

/** Starts `node bin/tserve.js <args>` on 127.0.0.1 and remembers it, so it is stopped whatever happens. */
export function startServer(label: string, args: string[], httpPort: number, env: Record<string, string> = {}): Server {
  const argv = ["bin/tserve.js", ...args, "--http_port", String(httpPort), "--host", "127.0.0.1"];
  console.log(`${label}: node ${argv.join(" ")}`);
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
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
export async function waitReady(server: Server, path = "/v2/health/ready"): Promise<void> {
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
export async function stop(server: Server): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** Stops every server started so far (each once; servers started later are stopped by a later call). */
export async function stopAll(): Promise<void> {
  await Promise.all(servers.splice(0).map(stop));
}

