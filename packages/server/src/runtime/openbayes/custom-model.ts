import { InvalidInput, Unsupported } from "../../errors/index.ts";
import { Model, type ModelOptions } from "../../model/index.ts";
import { CustomProcess } from "./custom-process.ts";
import type { OpenBayesLogger } from "./predictor.ts";

export interface CustomServerOptions extends ModelOptions {
  /** The folder holding start.sh (default: modelDir). */
  dir?: string;
  /** How long start.sh may take to accept connections on $PORT (default 300 s). */
  startTimeoutMs?: number;
  /** How long it gets between SIGTERM and SIGKILL on shutdown (the server's grace period; default 30 s). */
  stopGraceMs?: number;
  /** Where its output and its exit are logged. */
  logger?: OpenBayesLogger;
  /** The command instead of `sh start.sh` (tests). */
  command?: string;
  args?: string[];
}

const CUSTOM_MARK = Symbol.for("tserve.OpenBayesCustomServer");

/**
 * OpenBayes's custom mode as a Model: loading runs `sh start.sh` (its own server on $PORT) and waits until it
 * accepts connections; unloading stops it. The OpenBayes routes proxy every request to it; it is healthy while
 * the process runs.
 */
export class CustomServerModel extends Model {
  readonly [CUSTOM_MARK] = true;
  readonly process: CustomProcess;
  stopGraceMs: number;
  logger?: OpenBayesLogger;

  constructor(name: string, options: CustomServerOptions = {}) {
    super(name, options);
    this.stopGraceMs = options.stopGraceMs ?? 30_000;
    this.logger = options.logger;
    const dir = options.dir ?? options.modelDir ?? process.cwd();
    this.process = new CustomProcess({
      dir,
      command: options.command,
      args: options.args,
      startTimeoutMs: options.startTimeoutMs,
      onOutput: (line, stream) => this.logger?.log(stream === "stderr" ? "warn" : "info", `[${name}] ${line}`),
      onExit: (how) => this.logger?.log("error", `${this.process.commandLine} of ${name} ${how}; requests now answer 503${this.process.output.trim() ? `; its last output:\n${this.process.output.trim()}` : ""}`),
    });
  }

  /** Where to send requests: the child's address, while it runs. */
  get target(): { host: string; port: number } | undefined {
    return this.process.running && this.process.port !== undefined ? { host: this.process.host, port: this.process.port } : undefined;
  }

  /** Why there is no target: `sh start.sh exited with code 1`. */
  get unavailableReason(): string {
    if (this.process.exit) return `The custom server (${this.process.commandLine}) of ${this.name} ${this.process.exit}`;
    return `The custom server (${this.process.commandLine}) of ${this.name} is not running`;
  }

  override async load(): Promise<void> {
    try {
      await this.process.start();
    } catch (err) {
      // Whatever start.sh launched before it failed goes too.
      await this.process.stop(0);
      throw new InvalidInput((err as Error).message, { cause: err });
    }
    this.logger?.log("info", `${this.process.commandLine} of ${this.name} accepts connections on port ${this.process.port} (pid ${this.process.pid})`);
    this.ready = true;
  }

  override async healthy(): Promise<boolean> {
    return this.ready && this.process.running;
  }

  override predict(): never {
    throw new Unsupported(`${this.name} is a custom server (start.sh): send requests to it through the OpenBayes routes, which proxy every path`);
  }

  override async unload(): Promise<void> {
    this.ready = false;
    await this.process.stop(this.stopGraceMs);
    await super.unload();
  }
}

export function isCustomServerModel(value: unknown): value is CustomServerModel {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[CUSTOM_MARK] === true;
}
