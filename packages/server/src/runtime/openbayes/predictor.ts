import { readdir } from "node:fs/promises";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { InvalidInput, Overloaded, Unsupported } from "../../errors/index.ts";
import { Model, type ModelOptions, type RequestContext } from "../../model/index.ts";
import { isInferRequest } from "../../protocol/index.ts";
import { createPredictArgs, PREDICT_ARGUMENTS, type PredictArgs, type PredictInput } from "../../protocol/openbayes/index.ts";
import { destructuredNames, mentionsOnnx } from "./signature.ts";

/** Where a predictor's background errors and notes go (the server's logger fits). */
export interface OpenBayesLogger {
  log(level: "debug" | "info" | "warn" | "error", message: string): void;
}

const stderrLogger: OpenBayesLogger = {
  log: (level, message) => process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase()} ${message}\n`),
};

/** OpenBayes's `config` argument: serving settings a predictor makes in its constructor. */
export interface PredictorConfig {
  /** Requests past `n` in flight are answered 503 at once. */
  limitConcurrency(n: number): void;
  /** `limitConcurrency` under OpenBayes's Python name. */
  limit_concurrency(n: number): void;
  /** The limit set, if any. */
  readonly concurrencyLimit: number | undefined;
}

/** What a predictor's constructor may ask for: destructure the names you need (`constructor({ onnx, config })`). */
export interface PredictorInit {
  /**
   * An onnxruntime-node InferenceSession for the first `*.onnx` beside the predictor. It is created before the
   * constructor runs when the class's source mentions `onnx` (that is how tserve knows it is wanted).
   */
  readonly onnx: ort.InferenceSession;
  readonly config: PredictorConfig;
  /** The predictor's folder: open your own files relative to it. */
  readonly modelDir: string;
}

/** The names a predictor's constructor may ask for. */
export const PREDICTOR_INIT_ARGUMENTS = ["onnx", "config", "modelDir"] as const;

/** A user's OpenBayes predictor: any class with `predict`, and optionally `run`. */
export interface PredictorLike {
  predict(args: PredictArgs): unknown;
  /** A background task started once the predictor is loaded; `signal` aborts when the server stops. */
  run?(options: { signal: AbortSignal }): unknown;
}

export type PredictorClass = new (init: PredictorInit) => PredictorLike;

export interface OpenBayesPredictorOptions extends ModelOptions {
  /** The `onnx` model file (default: the first `*.onnx` in `modelDir`). */
  onnxFile?: string;
  sessionOptions?: ort.InferenceSession.SessionOptions;
  /** Where run()'s errors go (the server sets its own logger). */
  logger?: OpenBayesLogger;
  /** Names the predictor in messages (its module file). */
  source?: string;
}

/** Thrown when a predictor asks for an argument there is none of. */
class UnknownArgument extends Error {
  override name = "UnknownArgument";
}

const PREDICTOR_MARK = Symbol.for("tserve.OpenBayesPredictor");

function isObjectPrototypeName(name: string): boolean {
  return name in Object.prototype || name === "then" || name === "toJSON";
}

/**
 * Wraps a user's OpenBayes-style predictor class into tserve's Model contract. Its constructor receives one
 * object (`onnx`, `config`, `modelDir`); its `predict` receives the request (`json`, `payload`, `data`, `params`,
 * `headers`, `request`). The OpenBayes routes call `handle`; V1 `:predict` reaches the same `predict` with the body.
 */
export class OpenBayesPredictor extends Model {
  readonly [PREDICTOR_MARK] = true;
  readonly predictorClass: PredictorClass;
  logger: OpenBayesLogger;
  /** The user's predictor, once loaded. */
  instance?: PredictorLike;
  /** The `onnx` session, when the predictor asked for one. */
  session?: ort.InferenceSession;
  private readonly modelDir: string;
  private readonly options: OpenBayesPredictorOptions;
  private limit?: number;
  private inFlight = 0;
  private background?: AbortController;
  /** Settles when run() ends (tests and shutdown wait on it). */
  runTask?: Promise<void>;

  constructor(predictorClass: PredictorClass, name: string, options: OpenBayesPredictorOptions = {}) {
    super(name, options);
    this.predictorClass = predictorClass;
    this.modelDir = options.modelDir ?? process.cwd();
    this.options = options;
    this.logger = options.logger ?? stderrLogger;
  }

  private get what(): string {
    return this.options.source ?? `predictor ${this.name}`;
  }

  /** The requests being predicted now. */
  get requestsInFlight(): number {
    return this.inFlight;
  }

  get concurrencyLimit(): number | undefined {
    return this.limit;
  }

  override async load(): Promise<void> {
    const cls = this.predictorClass;
    let onnxProblem = `there is no *.onnx file in ${this.modelDir}`;
    if (mentionsOnnx(cls)) {
      const file = this.options.onnxFile ?? (await firstOnnxFile(this.modelDir));
      if (file) {
        const path = join(this.modelDir, file);
        try {
          this.session = await ort.InferenceSession.create(path, this.options.sessionOptions ?? {});
        } catch (err) {
          throw new InvalidInput(`${this.what}: cannot load ${path} for its onnx argument: ${(err as Error).message}`, { cause: err });
        }
      }
    } else {
      onnxProblem = "tserve creates the session only for classes whose source mentions `onnx`";
    }
    const init = this.initArguments(() => onnxProblem);
    try {
      this.instance = new cls(init);
    } catch (err) {
      await this.releaseSession();
      const reason = err instanceof UnknownArgument ? err.message : `its constructor threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
      throw new InvalidInput(`Cannot start ${this.what}: ${reason}`, { cause: err });
    }
    if (typeof this.instance?.predict !== "function") {
      await this.releaseSession();
      throw new InvalidInput(`Cannot start ${this.what}: it has no predict() method; OpenBayes predictors define predict({ json, … })`);
    }
    const asked = destructuredNames(this.instance.predict);
    const unknown = asked?.names.filter((n) => !(PREDICT_ARGUMENTS as readonly string[]).includes(n)) ?? [];
    if (unknown.length > 0) {
      await this.releaseSession();
      throw new InvalidInput(
        `Cannot start ${this.what}: predict() asks for ${unknown.map((n) => `'${n}'`).join(", ")}; it may ask for ${PREDICT_ARGUMENTS.join(", ")}`,
      );
    }
    this.ready = true;
    this.startBackground();
  }

  /** The constructor's one argument: known names as getters, any other name a startup error (as OpenBayes). */
  private initArguments(onnxProblem: () => string): PredictorInit {
    const limit = (n: number) => {
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`limitConcurrency needs a whole number >= 1, got ${n}`);
      this.limit = n;
    };
    const limitOf = () => this.limit;
    const config: PredictorConfig = Object.freeze({
      limitConcurrency: limit,
      limit_concurrency: limit,
      get concurrencyLimit() {
        return limitOf();
      },
    });
    const values: Record<string, () => unknown> = {
      onnx: () => {
        if (!this.session) throw new UnknownArgument(`the predictor asks for onnx, but ${onnxProblem()}`);
        return this.session;
      },
      config: () => config,
      modelDir: () => this.modelDir,
    };
    return new Proxy(Object.create(null) as PredictorInit, {
      get: (_target, key) => {
        if (typeof key !== "string") return undefined;
        const value = values[key];
        if (value) return value();
        if (isObjectPrototypeName(key)) return undefined;
        throw new UnknownArgument(
          `the predictor asks for '${key}', which OpenBayes does not provide; a predictor's constructor may ask for ${PREDICTOR_INIT_ARGUMENTS.join(", ")}`,
        );
      },
      has: (_target, key) => typeof key === "string" && key in values,
      ownKeys: () => Object.keys(values).filter((k) => k !== "onnx" || this.session !== undefined),
      getOwnPropertyDescriptor: (_target, key) =>
        typeof key === "string" && key in values && (key !== "onnx" || this.session !== undefined)
          ? { configurable: true, enumerable: true, value: values[key]() }
          : undefined,
    });
  }

  /** run(): a background task; its failure is logged and does not stop serving. */
  private startBackground(): void {
    const run = this.instance?.run;
    if (typeof run !== "function") return;
    const controller = new AbortController();
    this.background = controller;
    this.runTask = (async () => {
      try {
        await run.call(this.instance, { signal: controller.signal });
        if (!controller.signal.aborted) this.logger.log("info", `${this.what}: run() finished`);
      } catch (err) {
        if (controller.signal.aborted) return;
        this.logger.log("error", `${this.what}: run() failed (serving goes on): ${(err as Error)?.stack ?? String(err)}`);
      }
    })();
  }

  /** One POST /: the concurrency limit, then the user's predict with the lazy request arguments. */
  async handle(input: PredictInput): Promise<unknown> {
    const instance = this.instance;
    if (!instance) throw new Unsupported(`${this.what} is not loaded`);
    if (this.limit !== undefined && this.inFlight >= this.limit) {
      throw new Overloaded(`Too many requests: ${this.name} serves at most ${this.limit} at a time (config.limitConcurrency); try again later`);
    }
    this.inFlight++;
    try {
      return await instance.predict(createPredictArgs(input));
    } finally {
      this.inFlight--;
    }
  }

  /** V1 `:predict` reaches the same predict, with the JSON body (or the raw bytes) as the request. */
  override predict(payload: any, context: RequestContext): Promise<unknown> {
    if (isInferRequest(payload)) {
      throw new Unsupported(`${this.name} is an OpenBayes predictor: POST / or V1 :predict, not V2 infer`);
    }
    const bytes = payload instanceof Uint8Array;
    const headers = { ...context.headers, "content-type": bytes ? context.headers["content-type"] : "application/json" };
    const body = bytes ? payload : Buffer.from(JSON.stringify(payload ?? null), "utf8");
    return this.handle({ method: "POST", url: `/v1/models/${this.name}:predict`, headers, body });
  }

  override async unload(): Promise<void> {
    this.background?.abort();
    this.background = undefined;
    this.instance = undefined;
    await this.releaseSession();
    await super.unload();
  }

  private async releaseSession(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    try {
      await session?.release();
    } catch {
      // Released twice or never fully created: nothing left to free.
    }
  }
}

async function firstOnnxFile(dir: string): Promise<string | undefined> {
  try {
    return (await readdir(dir)).filter((f) => f.endsWith(".onnx")).sort()[0];
  } catch {
    return undefined;
  }
}

export function isOpenBayesPredictor(value: unknown): value is OpenBayesPredictor {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[PREDICTOR_MARK] === true;
}
