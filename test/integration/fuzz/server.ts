/**
 * A real tserve CLI in a child process for the fuzz suite: a crash (uncaught exception, out of memory, abort) shows
 * as an exit of the child instead of killing the vitest worker, and the server is restarted so fuzzing goes on.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/** Heap cap for the child: a hostile body that allocates without bound dies fast as a visible crash. */
const HEAP_MB = Number(process.env.FUZZ_HEAP_MB ?? 512);

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, "close");
  return port;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines the child wrote before it died. */
  output: string;
}

/** The environment of the parent without tserve's own variables, so only the command line configures the child. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("TSERVE_") || k === "PREDICTIVE_UNIT_PARAMETERS" || k === "MODEL_METADATA") continue;
    if (k === "NODE_OPTIONS" || k.startsWith("VITEST") || k === "NODE_ENV") continue;
    env[k] = v;
  }
  return { ...env, NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}`, ...extra };
}

export interface ServerSpec {
  /** Arguments after `node bin/tserve.js` (ports and host are added). */
  args: string[];
  /** A GET path that answers 200 once the server is ready. */
  readyPath: string;
  /** Serve gRPC too (on `grpcPort`). */
  grpc?: boolean;
  env?: Record<string, string>;
}

export class ServerProcess {
  child?: ChildProcess;
  httpPort = 0;
  grpcPort = 0;
  readonly exits: Exit[] = [];
  private output = "";

  constructor(readonly spec: ServerSpec) {}

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    this.httpPort = await freePort();
    this.grpcPort = this.spec.grpc ? await freePort() : 0;
    const grpcArgs = this.spec.grpc ? ["--grpc_port", String(this.grpcPort)] : ["--enable_grpc", "false"];
    this.output = "";
    const child = spawn(
      process.execPath,
      ["bin/tserve.js", ...this.spec.args, "--http_port", String(this.httpPort), "--host", "127.0.0.1", ...grpcArgs],
      { cwd: ROOT, env: childEnv(this.spec.env ?? {}), stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child = child;
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString("utf8")).slice(-8000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (!this.alive()) throw new Error(`tserve ${this.spec.args.join(" ")} exited while starting:\n${this.output}`);
      try {
        const r = await fetch(`${this.url}${this.spec.readyPath}`);
        await r.arrayBuffer();
        if (r.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGKILL");
    throw new Error(`tserve ${this.spec.args.join(" ")} did not become ready:\n${this.output}`);
  }

  /** When the child has died: records how, restarts it, and returns the exit. */
  async checkExit(): Promise<Exit | undefined> {
    if (this.alive() || !this.child) return undefined;
    const exit: Exit = { code: this.child.exitCode, signal: this.child.signalCode, output: this.output.slice(-2000) };
    this.exits.push(exit);
    await this.start();
    return exit;
  }

  /** Waits briefly for a dying child to finish exiting (a crash right after a reset connection). */
  async settle(ms = 300): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  }

  /**
   * After a request got no answer: waits until the server answers `probe` again (it may be busy with an earlier
   * request's work). Returns how long that took, or undefined if it never came back within `ms`.
   */
  async waitResponsive(probe: () => Promise<boolean>, ms = 60_000): Promise<number | undefined> {
    const start = Date.now();
    while (Date.now() - start < ms) {
      if (!this.alive()) return undefined;
      if (await probe().catch(() => false)) return Date.now() - start;
      await new Promise((r) => setTimeout(r, 200));
    }
    return undefined;
  }

  /** Kills a hung child (SIGKILL) and starts a fresh one. */
  async restart(): Promise<void> {
    const child = this.child;
    if (child && this.alive()) {
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    }
    await this.start();
  }

  /** SIGTERM and wait; returns the exit code (0 for a clean shutdown). */
  async stop(): Promise<number | null> {
    const child = this.child;
    if (!child) return null;
    if (!this.alive()) return child.exitCode;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const [code] = (await exited) as [number | null];
    clearTimeout(timer);
    return code;
  }
}
