import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process started by the harness; always killed when the harness exits. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  readonly exited: Promise<ExitInfo>;
  isRunning(): boolean;
  /** True once a line containing `text` (case-insensitive) appeared on stdout or stderr. */
  sawOutput(text: string): boolean;
  /** The last `lines` lines of combined stdout/stderr. */
  tail(lines?: number): string;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  cwd: string;
  logPath: string;
  env?: NodeJS.ProcessEnv;
}

const TAIL_LINES = 200;
const live = new Map<number, ChildProcess>();

/** Signals the whole process group (children are spawned detached, i.e. as group leaders). */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export function startProcess(name: string, command: string, args: string[], options: StartOptions): ManagedProcess {
  mkdirSync(dirname(options.logPath), { recursive: true });
  const log = createWriteStream(options.logPath);
  log.write(`$ ${[command, ...args].join(" ")}\n`);

  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
    // Own process group, so grandchildren die with it and a terminal ^C reaches only the harness,
    // which then shuts the servers down itself.
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`failed to spawn ${name}: ${command} ${args.join(" ")}`);
  live.set(pid, child);

  // First and last TAIL_LINES lines of output: enough for readiness messages and crash reports.
  const head: string[] = [];
  const lines: string[] = [];
  let partial = "";
  let running = true;
  const onData = (chunk: Buffer): void => {
    log.write(chunk);
    const parts = (partial + chunk.toString("utf8")).split(/\r?\n/);
    partial = parts.pop() ?? "";
    for (const line of parts) {
      if (line === "") continue;
      if (head.length < TAIL_LINES) head.push(line);
      lines.push(line);
      if (lines.length > TAIL_LINES) lines.shift();
    }
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);

  const exited = new Promise<ExitInfo>((resolve) => {
    child.once("exit", (code, signal) => {
      running = false;
      live.delete(pid);
      log.end(`\n[exit code=${code} signal=${signal}]\n`);
      resolve({ code, signal });
    });
    child.once("error", (err) => {
      running = false;
      live.delete(pid);
      log.end(`\n[spawn error: ${err.message}]\n`);
      resolve({ code: null, signal: null });
    });
  });

  const allLines = (): string[] => (partial === "" ? [...head, ...lines] : [...head, ...lines, partial]);
  return {
    name,
    pid,
    logPath: options.logPath,
    exited,
    isRunning: () => running,
    sawOutput: (text: string) => {
      const needle = text.toLowerCase();
      return allLines().some((line) => line.toLowerCase().includes(needle));
    },
    tail: (n = 40) => (partial === "" ? lines : [...lines, partial]).slice(-n).join("\n"),
    stop: async (graceMs = 3_000) => {
      if (!running) return;
      signalGroup(pid, "SIGTERM");
      const timedOut = await Promise.race([exited.then(() => false), sleep(graceMs).then(() => true)]);
      if (timedOut && running) {
        signalGroup(pid, "SIGKILL");
        await exited;
      }
    },
  };
}

/** Polls `url` until it answers 200; fails early if the process dies. */
export async function waitForHttpOk(
  proc: ManagedProcess,
  url: string,
  timeoutMs: number,
  intervalMs = 100,
): Promise<number> {
  const started = performance.now();
  let lastProblem = "no response yet";
  while (performance.now() - started < timeoutMs) {
    if (!proc.isRunning()) {
      const info = await proc.exited;
      throw new Error(
        `${proc.name} exited before becoming ready (code=${info.code}, signal=${info.signal}).\n` +
          `--- last output (${proc.logPath}) ---\n${proc.tail()}`,
      );
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - started;
      lastProblem = `HTTP ${res.status}`;
    } catch (err) {
      lastProblem = err instanceof Error ? err.message : String(err);
    }
    await sleep(intervalMs);
  }
  throw new Error(
    `${proc.name} not ready after ${timeoutMs} ms at ${url} (last: ${lastProblem}).\n` +
      `--- last output (${proc.logPath}) ---\n${proc.tail()}`,
  );
}

/** Synchronous last resort: used from process 'exit', where nothing async can run. */
export function killAllNow(): void {
  for (const pid of live.keys()) signalGroup(pid, "SIGKILL");
  live.clear();
}

/** Graceful shutdown of everything still running. */
export async function stopAll(graceMs = 3_000): Promise<void> {
  const children = [...live.entries()];
  for (const [pid] of children) signalGroup(pid, "SIGTERM");
  const deadline = performance.now() + graceMs;
  while (live.size > 0 && performance.now() < deadline) await sleep(50);
  killAllNow();
}

let installed = false;

/** Makes sure no server outlives the harness: normal exit, ^C, SIGTERM, SIGHUP, crashes. */
export function installCleanupHandlers(): void {
  if (installed) return;
  installed = true;
  process.on("exit", killAllNow);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n[bench] ${signal} received, stopping child processes...\n`);
      void stopAll(1_500).finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
    });
  }
  process.on("uncaughtException", (err) => {
    process.stderr.write(`[bench] uncaught exception: ${err.stack ?? err.message}\n`);
    killAllNow();
    process.exit(1);
  });
  process.on("unhandledRejection", (reason) => {
    process.stderr.write(`[bench] unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}\n`);
    killAllNow();
    process.exit(1);
  });
}
