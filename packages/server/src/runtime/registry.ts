import { readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import type { TSchema } from "@sinclair/typebox";
import { InvalidInput } from "../errors/index.ts";
import {
  type Model,
  type ModelLoader,
  type ModelSettings,
  modelSettingsSchema,
  type ModelSource,
  type RemotePredictorFactory,
  SETTINGS_FILE,
  schemaProblem,
} from "../model/index.ts";

/** What a runtime sees of the version folder it may serve. */
export interface RuntimeFolder {
  /** The version folder (the model folder when it has no numbered versions). */
  dir: string;
  /** Its file names, sorted. */
  files: readonly string[];
  settings: ModelSettings;
}

/** What `create` gets beyond the folder: the served name and the version being loaded. */
export interface RuntimeTarget extends RuntimeFolder {
  source: ModelSource;
  version?: string;
}

/**
 * One way of serving a model folder (MLServer's runtimes, Triton's backends). Registered once in a
 * RuntimeRegistry; `model-settings.json`'s `runtime` names it, or the registry recognises the folder for it.
 */
export interface Runtime {
  /** The `runtime` value in model-settings.json. */
  name: string;
  /** One line for help, errors and the JSON Schema. */
  description: string;
  /**
   * Whether a folder with no `runtime` in its settings is this runtime's. Runtimes are asked in order of
   * `priority`, highest first (ties: registration order); a runtime without `recognise` is chosen by name only.
   */
  recognise?(folder: RuntimeFolder): boolean;
  priority?: number;
  /** Whether a single file given as the MODEL argument (`tserve serve ./iris.onnx`) is this runtime's. */
  recogniseFile?(file: string): boolean;
  /** The schema of this runtime's `parameters` in model-settings.json (checked before `create`). */
  parametersSchema?: TSchema;
  /** Builds the model (not yet loaded: the repository calls `load()`). */
  create(target: RuntimeTarget): Promise<Model>;
}

/**
 * The runtimes a server can serve models with: picks one per model folder (by `runtime` in its settings, else by
 * recognition in priority order) and builds the model. A new runtime is one `register` call; nothing else changes.
 */
export class RuntimeRegistry {
  private readonly runtimes = new Map<string, Runtime>();
  /** How a transformer (a Model with `predictorHost`) reaches its predictor; the server installs it. */
  remotePredictor?: RemotePredictorFactory;

  constructor(options: { remotePredictor?: RemotePredictorFactory } = {}) {
    this.remotePredictor = options.remotePredictor;
  }

  register(runtime: Runtime): this {
    if (this.runtimes.has(runtime.name)) throw new Error(`A runtime named "${runtime.name}" is already registered`);
    this.runtimes.set(runtime.name, runtime);
    return this;
  }

  get(name: string): Runtime | undefined {
    return this.runtimes.get(name);
  }

  /** Registered names, in registration order: the values `runtime` may take. */
  names(): string[] {
    return [...this.runtimes.keys()];
  }

  /** The runtimes that recognise folders, in the order they are asked. */
  recognisers(): Runtime[] {
    return [...this.runtimes.values()]
      .filter((r) => r.recognise)
      .sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0));
  }

  /** The runtime named by `name`; an unknown name is an error listing the registered ones. */
  named(name: string, where = SETTINGS_FILE): Runtime {
    const runtime = this.runtimes.get(name);
    if (!runtime) {
      throw new InvalidInput(
        `${where}: 'runtime' must be one of the registered runtimes ${this.names().map((n) => JSON.stringify(n)).join(", ")}, got ${JSON.stringify(name)}`,
      );
    }
    return runtime;
  }

  /** The runtime for a folder: its settings' `runtime`, else the first that recognises it; undefined when none does. */
  pick(folder: RuntimeFolder, where?: string): Runtime | undefined {
    if (folder.settings.runtime !== undefined) return this.named(folder.settings.runtime, where);
    return this.recognisers().find((r) => r.recognise!(folder));
  }

  /** The runtime for a single model file (highest priority first); undefined when none claims it. */
  forFile(file: string): Runtime | undefined {
    return [...this.runtimes.values()]
      .filter((r) => r.recogniseFile?.(file))
      .sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0))[0];
  }

  /** Builds the model for one version of a source: picks the runtime, checks its parameters, creates it. */
  async create(source: ModelSource, version: { version?: string; dir: string }): Promise<Model> {
    const files = (await readdir(version.dir)).sort();
    const folder: RuntimeFolder = { dir: version.dir, files, settings: source.settings };
    const where = join(source.dir, SETTINGS_FILE);
    const runtime = this.pick(folder, where);
    if (!runtime) {
      throw new InvalidInput(
        `Cannot tell how to serve ${basename(source.dir)}: no .onnx file or model module found in ${version.dir} (files: ${files.join(", ") || "none"})`,
      );
    }
    if (runtime.parametersSchema && source.settings.parameters !== undefined) {
      const problem = schemaProblem(runtime.parametersSchema, source.settings.parameters, "/parameters");
      if (problem) throw new InvalidInput(`${where}: ${problem} (runtime "${runtime.name}")`);
    }
    const model = await runtime.create({ ...folder, source, version: version.version });
    model.name = source.name;
    return model;
  }

  /** This registry as the repository's loader. */
  readonly load: ModelLoader = (source, version) => this.create(source, version);

  /**
   * model-settings.json's JSON Schema for editors: `runtime` limited to the registered names, and each runtime's
   * `parameters` schema applied when `runtime` names it.
   */
  settingsJsonSchema(): Record<string, unknown> {
    const base = modelSettingsSchema({ runtimes: this.names() });
    const conditional = [...this.runtimes.values()]
      .filter((r) => r.parametersSchema)
      .map((r) => ({
        if: { properties: { runtime: { const: r.name } }, required: ["runtime"] },
        then: { properties: { parameters: r.parametersSchema } },
      }));
    const runtimeDescriptions = [...this.runtimes.values()].map((r) => `${r.name}: ${r.description}`).join("; ");
    const schema = {
      $schema: "http://json-schema.org/draft-07/schema#",
      ...base,
      properties: {
        ...base.properties,
        runtime: { ...base.properties.runtime, description: `${base.properties.runtime.description}. ${runtimeDescriptions}` },
      },
      ...(conditional.length > 0 ? { allOf: conditional } : {}),
    };
    // A plain JSON document: TypeBox's symbols and tserve's `expected` wording annotation left out.
    return JSON.parse(JSON.stringify(schema, (key, value) => (key === "expected" ? undefined : value)));
  }
}
