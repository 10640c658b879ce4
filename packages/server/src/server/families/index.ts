import { defineFlags } from "../../config/flags.ts";
import type { ProtocolFamily } from "../family.ts";
import { GRAPH_FLAGS, graphFamily } from "./graph/index.ts";
import { metricsFamily } from "./metrics/index.ts";
import { openbayesFamily } from "./openbayes/index.ts";
import { REPOSITORY_FLAGS, repositoryFamily } from "./repository/index.ts";
import { SELDON_FLAGS, seldonFamily } from "./seldon/index.ts";
import { SELDON_GRAPH_FLAGS, seldonGraphFamily } from "./seldon-graph/index.ts";
import { v1Family } from "./v1/index.ts";
import { v2Family } from "./v2/index.ts";

export type { GraphFamilyOptions } from "./graph/index.ts";
export type { OpenBayesFamilyOptions } from "./openbayes/index.ts";
export type { RepositoryFamilyOptions } from "./repository/index.ts";
export type { SeldonFamilyOptions } from "./seldon/index.ts";
export type { SeldonGraphFamilyOptions } from "./seldon-graph/index.ts";
export { GRAPH_ROUTING_FLAGS, GRAPH_STEP_TIMEOUT_FLAG } from "./graph/index.ts";

/**
 * The built-in protocol families, in the order their routes are registered (OpenBayes before V1, which leaves it
 * the root). A ModelServer serves these unless given its own list.
 */
export const BUILTIN_FAMILIES: readonly ProtocolFamily<never>[] = [
  openbayesFamily,
  v1Family,
  v2Family,
  repositoryFamily,
  seldonFamily,
  seldonGraphFamily,
  graphFamily,
  metricsFamily,
] as ProtocolFamily<never>[];

/** Every built-in family's `tserve serve` flags, types kept. */
export const FAMILY_FLAGS = defineFlags({ ...REPOSITORY_FLAGS, ...GRAPH_FLAGS, ...SELDON_FLAGS, ...SELDON_GRAPH_FLAGS });
