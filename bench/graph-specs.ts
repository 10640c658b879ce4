/**
 * The InferenceGraphs of the graph stage, generated at run time (the HTTP ones need the iris server's port)
 * as KServe InferenceGraph YAML that `tserve serve --graph` and `tserve graph` read.
 */

export type GraphRouterType = "Sequence" | "Ensemble";

export interface BenchGraph {
  /** metadata.name, also the `graph` label of tserve's graph metrics. */
  name: string;
  routerType: GraphRouterType;
  /** Step names, in order (Ensemble answers are keyed by them). */
  steps: string[];
  /** serviceName (in-process model) or serviceUrl (HTTP). */
  target: { serviceName: string } | { serviceUrl: string };
  yaml: string;
}

/** Step names: `iris-1` … `iris-n`. */
export function stepNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `iris-${i + 1}`);
}

/** One root node of `count` steps, every step calling the same target with the node input (`data: $request`). */
export function benchGraph(
  name: string,
  routerType: GraphRouterType,
  count: number,
  target: BenchGraph["target"],
): BenchGraph {
  const steps = stepNames(count);
  const targetLine = "serviceName" in target ? `serviceName: ${target.serviceName}` : `serviceUrl: ${target.serviceUrl}`;
  const yaml = [
    "apiVersion: serving.kserve.io/v1alpha1",
    "kind: InferenceGraph",
    "metadata:",
    `  name: ${name}`,
    "spec:",
    "  nodes:",
    "    root:",
    `      routerType: ${routerType}`,
    "      steps:",
    ...steps.flatMap((step) => [`        - name: ${step}`, `          ${targetLine}`, "          data: $request"]),
    "",
  ].join("\n");
  return { name, routerType, steps, target, yaml };
}
