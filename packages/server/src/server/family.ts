import type * as grpcJs from "@grpc/grpc-js";
import type { FastifyInstance } from "fastify";
import type { FlagSchema } from "../config/flags.ts";
import type { DataPlane, Model } from "../model/index.ts";
import type { ErrorReplier } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { ServerMetrics } from "./metrics.ts";
import type { ModelControl } from "./model-control.ts";
import type { OpenApiHook } from "./openapi/index.ts";

/**
 * What the server hands every protocol family: the DataPlane (the only way to models), the shared metrics and
 * logger, the model control check, and the server's options (each family reads its own; `O` names them).
 */
export interface FamilyContext<O = unknown> {
  dataplane: DataPlane;
  metrics: ServerMetrics;
  logger: Logger;
  modelControl: ModelControl;
  options: O;
  /** True once stop() has begun: readiness routes answer 503. */
  isDraining(): boolean;
}

/** How the REST app was assembled, as a family's routes see it. */
export interface Assembly {
  /** Paths another mounted family claimed (`/` for an OpenBayes predictor): leave them alone. */
  claimed: ReadonlySet<string>;
}

/** What an enabled family adds to the running server. */
export interface FamilyMount {
  /** Its REST routes, registered as an encapsulated Fastify plugin. */
  routes?: (app: FastifyInstance, assembly: Assembly) => void;
  /** Its gRPC services, added to the one gRPC server (when gRPC is enabled). */
  grpc?: (server: grpcJs.Server) => void;
  /** Paths this family takes from the others (see Assembly.claimed). */
  claims?: readonly string[];
  /** It answers every path itself (a standalone graph, an OpenBayes custom server): families that serve the models' own routes are not mounted. */
  ownsAllPaths?: boolean;
  /**
   * The server is this family's (a Seldon component or graph, an InferenceGraph, an OpenBayes predictor): requests
   * no route takes are logged under `protocol`, and errors raised before any route answer in its body.
   */
  serverWide?: {
    protocol: string;
    /** Errors Fastify raises before routing (a bad URL encoding). Default `{"error": …}`. */
    errorReply?: ErrorReplier;
    /** The body of a request node's HTTP parser refused. Default `{"error": message}`. */
    clientErrorBody?: (status: number, message: string) => unknown;
  };
  /** What the family built (the InferenceGraph's router…), for the embedding program (ModelServer.mounted). */
  handle?: unknown;
  /** Its paths and schemas in GET /openapi.json (and /docs), asked for on each request so per-model examples stay current. */
  openapi?: OpenApiHook;
  /** Called by stop() after the connections close, before the models unload (bounded by the grace period). */
  close?: () => Promise<void>;
}

/**
 * One protocol family (KServe V1 + TF Serving, OIP V2, the repository API, Seldon, OpenBayes, InferenceGraph,
 * Seldon graphs, metrics): its `tserve serve` flags, its per-model setup and, once the models are loaded, what it
 * serves. The server assembles the families it is given (families/index.ts lists the built-in ones, in the order
 * their routes are registered); adding one touches no other family's files.
 */
export interface ProtocolFamily<O = unknown> {
  readonly name: string;
  /** Its flags on `tserve serve` (the CLI maps them to the server's options). */
  readonly flags?: FlagSchema;
  /** Serves the models' own routes: not mounted when another family owns every path. */
  readonly modelRoutes?: boolean;
  /** Adjusts each model the server creates or is given (a Seldon component's metrics sink…), before it loads. */
  setupModel?(model: Model, ctx: FamilyContext<O>): void;
  /** Before the repository is first scanned (recover interrupted uploads…). */
  beforeLoad?(ctx: FamilyContext<O>): Promise<void>;
  /** Once the models are loaded: what this family serves, or undefined when it is not enabled. A throw fails start(). */
  mount(ctx: FamilyContext<O>): FamilyMount | undefined | Promise<FamilyMount | undefined>;
}

/** Keeps a family's option type while listing it among others. */
export function defineFamily<O>(family: ProtocolFamily<O>): ProtocolFamily<O> {
  return family;
}
