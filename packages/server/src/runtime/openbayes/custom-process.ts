import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { connect, createServer } from "node:net";

export interface CustomProcessOptions {
  /** The folder start.sh runs in. */
  dir: string;
  /** The command (default `sh start.sh`). */
  command?: string;
  args?: string[];
  /** Extra environment on top of tserve's own (PORT is always set; OPENBAYES_SERVING_PRODUCTION never). */
  env?: Record<string, string>;
  /** How long the server may take to accept connections on $PORT (default 300 s). */
  startTimeoutMs?: number;
  /** Each line the process writes. */
  onOutput?: (line: string, stream: "stdout" | "stderr") => void;
  /** The process ended on its own (not through stop()). */
  onExit?: (description: string) => void;
}

/** How many characters of output are kept for error messages. */
const TAIL_CHARS = 4096;
const POLL_MS = 100;

/** A port nothing listens on right now (the OS picks it; the child binds it a moment later). */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const srv = createServer();
  srv.listen(0, host);
  await once(srv, "listening");
  const { port } = srv.address() as { port: number };
  srv.close();
  await once(srv, "close");
  return port;
}

/** Whether something accepts TCP connections on host:port. */
function accepts(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * Whether any process of the group still runs. On Linux /proc tells zombies apart (an orphan whose new parent
 * never reaps it must not count as running); elsewhere signal 0 asks the kernel.
 */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {
    return true;
  }
  for (const p of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${p}/stat`, "utf8");
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so read after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z") return true;
  }
  return false;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs OpenBayes's custom mode: `sh start.sh` in its folder, in its own process group, with `PORT` set to a
 * free port. `start()` resolves once the server accepts connections there; `stop()` sends SIGTERM to the whole
 * group and SIGKILL after the grace period, so servers start.sh launched go too.
 */
export class CustomProcess {
  readonly dir: string;
  /** The port the server was told to listen on ($PORT). */
  port?: number;
  /** The address it answered on (127.0.0.1, or ::1 for a server bound to IPv6 localhost only). */
  host = "127.0.0.1";
  private readonly options: CustomProcessOptions;
  private child?: ChildProcess;
  private exitInfo?: string;
  private exited?: Promise<void>;
  private stopping = false;
  private tail = "";
  private readonly killOnExit = () => {
    if (this.child?.pid !== undefined) signalGroup(this.child.pid, "SIGKILL");
  };

  constructor(options: CustomProcessOptions) {
    this.dir = options.dir;
    this.options = options;
  }

  /** The command line, for messages. */
  get commandLine(): string {
    return [this.options.command ?? "sh", ...(this.options.args ?? ["start.sh"])].join(" ");
  }

  /** True from start until the process exits. */
  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  /** How the process ended (`exited with code 1`, `killed by SIGKILL`), once it has. */
  get exit(): string | undefined {
    return this.exitInfo;
  }

  /** The last few kB the process wrote. */
  get output(): string {
    return this.tail;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error(`${this.commandLine} is already started`);
    const port = await freePort();
    this.port = port;
    const env: Record<string, string | undefined> = { ...process.env, ...this.options.env, PORT: String(port) };
    delete env.OPENBAYES_SERVING_PRODUCTION;
    const child = spawn(this.options.command ?? "sh", this.options.args ?? ["start.sh"], {
      cwd: this.dir,
      env,
      // Its own process group: stop() reaches whatever start.sh launched, not just the shell.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    process.on("exit", this.killOnExit);
    this.exited = new Promise((resolve) => {
      const finish = (description: string) => {
        if (this.exitInfo !== undefined) return;
        this.exitInfo = description;
        process.off("exit", this.killOnExit);
        if (!this.stopping) this.options.onExit?.(description);
        resolve();
      };
      child.once("error", (err) => finish(`could not be started (${err.message})`));
      child.once("exit", (code, signal) => finish(signal ? `was killed by ${signal}` : `exited with code ${code}`));
    });
    for (const stream of ["stdout", "stderr"] as const) {
      let partial = "";
      child[stream]?.setEncoding("utf8");
      child[stream]?.on("data", (chunk: string) => {
        this.tail = (this.tail + chunk).slice(-TAIL_CHARS);
        const lines = (partial + chunk).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) this.options.onOutput?.(line, stream);
      });
      child[stream]?.on("end", () => {
        if (partial) this.options.onOutput?.(partial, stream);
        partial = "";
      });
    }
    await this.waitUntilListening(port);
  }

  private async waitUntilListening(port: number): Promise<void> {
    const timeoutMs = this.options.startTimeoutMs ?? 300_000;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(`${this.commandLine} in ${this.dir} ${this.exitInfo} before it accepted connections on PORT=${port}${this.describeOutput()}`);
      }
      for (const host of ["127.0.0.1", "::1"]) {
        if (await accepts(host, port)) {
          this.host = host;
          return;
        }
      }
      await Promise.race([sleep(POLL_MS), this.exited]);
    }
    await this.stop(0);
    throw new Error(`${this.commandLine} in ${this.dir} did not accept connections on PORT=${port} within ${timeoutMs / 1000} s${this.describeOutput()}`);
  }

  private describeOutput(): string {
    const text = this.tail.trim();
    return text ? `; its last output:\n${text}` : " (it wrote nothing)";
  }

  /** SIGTERM to the process group, SIGKILL once `graceMs` has passed with any of it still running. */
  async stop(graceMs = 30_000): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined) return;
    const pid = child.pid;
    this.stopping = true;
    if (!groupAlive(pid) && !this.running) {
      process.off("exit", this.killOnExit);
      return;
    }
    // Until the group is gone, tserve exiting (its own shutdown bounded by the grace period) still SIGKILLs it.
    process.off("exit", this.killOnExit);
    process.on("exit", this.killOnExit);
    try {
      signalGroup(pid, "SIGTERM");
      const deadline = Date.now() + graceMs;
      while ((this.running || groupAlive(pid)) && Date.now() < deadline) await sleep(25);
      if (this.running || groupAlive(pid)) {
        signalGroup(pid, "SIGKILL");
        const killDeadline = Date.now() + 5_000;
        while ((this.running || groupAlive(pid)) && Date.now() < killDeadline) await sleep(25);
      }
      await Promise.race([this.exited, sleep(1_000)]);
    } finally {
      process.off("exit", this.killOnExit);
    }
  }
}
