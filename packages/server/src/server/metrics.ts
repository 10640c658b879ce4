import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { GraphObserver } from "../graph/index.ts";
import type { InferenceObserver, Stage } from "../model/index.ts";
import type { SeldonComponent, SeldonMethod, SeldonMetricsSink } from "../runtime/index.ts";
import type { SeldonMetric } from "../protocol/seldon/index.ts";
import { SeldonMetricsStore } from "./seldon-metrics.ts";

/** KServe's latency histograms plus per-model request counters, on a registry of this server's own. */
export class ServerMetrics implements InferenceObserver, GraphObserver, SeldonMetricsSink {
  readonly registry = new Registry();
  /** Seldon components' custom metrics (COUNTER/GAUGE/TIMER with per-metric tags) and feedback counters. */
  readonly seldon = new SeldonMetricsStore();
  private readonly histograms: Record<Stage, Histogram<"model_name">>;
  private readonly success: Counter<"model_name" | "model_version">;
  private readonly failure: Counter<"model_name" | "model_version">;
  readonly loadSeconds: Gauge<"model_name" | "model_version">;
  private graphNodes?: Histogram<"graph" | "node" | "code">;
  private engine?: ReturnType<ServerMetrics["engineMetrics"]>;
  private graphSteps?: Histogram<"graph" | "node" | "step" | "code">;
  private graphStepFailures?: Counter<"graph" | "node" | "step">;
  /** Cached label children: hashing labels on every request is measurable at high request rates. */
  private readonly children = new Map<string, { observe(v: number): void }>();
  private readonly counters = new Map<string, { inc(): void }>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const buckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    const histogram = (stage: Stage) =>
      new Histogram({
        name: `request_${stage}_seconds`,
        help: `${stage} latency`,
        labelNames: ["model_name"] as const,
        buckets,
        registers: [this.registry],
      });
    this.histograms = {
      preprocess: histogram("preprocess"),
      predict: histogram("predict"),
      postprocess: histogram("postprocess"),
      explain: histogram("explain"),
    };
    this.success = new Counter({
      name: "request_success_total",
      help: "Inference requests that succeeded, per model",
      labelNames: ["model_name", "model_version"] as const,
      registers: [this.registry],
    });
    this.failure = new Counter({
      name: "request_failure_total",
      help: "Inference requests that failed, per model",
      labelNames: ["model_name", "model_version"] as const,
      registers: [this.registry],
    });
    this.loadSeconds = new Gauge({
      name: "model_load_duration_seconds",
      help: "How long the last load of a model version took",
      labelNames: ["model_name", "model_version"] as const,
      registers: [this.registry],
    });
  }

  stage(model: string, stage: Stage, seconds: number): void {
    const key = `${stage}\u0000${model}`;
    let child = this.children.get(key);
    if (!child) {
      child = this.histograms[stage].labels(model);
      this.children.set(key, child);
    }
    child.observe(seconds);
  }

  outcome(model: string, version: string | undefined, ok: boolean): void {
    const key = `${ok ? 1 : 0}\u0000${model}\u0000${version ?? ""}`;
    let counter = this.counters.get(key);
    if (!counter) {
      counter = (ok ? this.success : this.failure).labels(model, version ?? "");
      this.counters.set(key, counter);
    }
    counter.inc();
  }

  /**
   * Where a model's execution engine reports (src/engine: the batcher): rows per run (`tserve_batch_size`), how long
   * each request waited for its run (`tserve_queue_wait_seconds`) and how many wait now (`tserve_queue_depth`).
   */
  engineObserver(model: string): { batch(rows: number, requests: number): void; queueWait(seconds: number): void; depth(queued: number): void } {
    // Created at the first report: a model that never queues adds no series.
    let size: { observe(v: number): void } | undefined;
    let wait: { observe(v: number): void } | undefined;
    const engine = () => (this.engine ??= this.engineMetrics());
    return {
      batch: (rows) => (size ??= engine().sizes.labels(model)).observe(rows),
      queueWait: (seconds) => (wait ??= engine().waits.labels(model)).observe(seconds),
      depth: (queued) => engine().depths.set(model, queued),
    };
  }

  private engineMetrics() {
    const depths = new Map<string, number>();
    const sizes = new Histogram({
      name: "tserve_batch_size",
      help: "Rows (first-dimension entries) per model run; above 1 when adaptive batching merged requests",
      labelNames: ["model_name"] as const,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers: [this.registry],
    });
    const waits = new Histogram({
      name: "tserve_queue_wait_seconds",
      help: "How long a request waited in its model's queue before its run started",
      labelNames: ["model_name"] as const,
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    new Gauge({
      name: "tserve_queue_depth",
      help: "Requests waiting in a model's queue for a run (for autoscalers: HPA, KEDA)",
      labelNames: ["model_name"] as const,
      registers: [this.registry],
      collect() {
        for (const [model, n] of depths) this.labels(model).set(n);
      },
    });
    return { sizes, waits, depths };
  }

  /** `tserve_inflight_requests{model_name}`: read from `counts` at each scrape (nothing is paid per request). */
  watchInFlight(counts: () => ReadonlyMap<string, number>): void {
    new Gauge({
      name: "tserve_inflight_requests",
      help: "Inference requests being answered right now, per model (for autoscalers: HPA, KEDA)",
      labelNames: ["model_name"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [model, n] of counts()) this.labels(model).set(n);
      },
    });
  }

  modelLoaded(model: string, version: string | undefined, seconds: number): void {
    this.loadSeconds.labels(model, version ?? "").set(seconds);
  }

  private graphMetrics() {
    const buckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    this.graphNodes ??= new Histogram({
      name: "graph_node_duration_seconds",
      help: "Inference graph node latency",
      labelNames: ["graph", "node", "code"] as const,
      buckets,
      registers: [this.registry],
    });
    this.graphSteps ??= new Histogram({
      name: "graph_step_duration_seconds",
      help: "Inference graph step latency",
      labelNames: ["graph", "node", "step", "code"] as const,
      buckets,
      registers: [this.registry],
    });
    this.graphStepFailures ??= new Counter({
      name: "graph_step_failures_total",
      help: "Inference graph steps that answered with a non-2xx status",
      labelNames: ["graph", "node", "step"] as const,
      registers: [this.registry],
    });
    return { nodes: this.graphNodes, steps: this.graphSteps, failures: this.graphStepFailures };
  }

  node(graph: string, node: string, seconds: number, status: number): void {
    this.graphMetrics().nodes.labels(graph, node, String(status)).observe(seconds);
  }

  step(graph: string, node: string, step: string, seconds: number, status: number): void {
    const m = this.graphMetrics();
    m.steps.labels(graph, node, step, String(status)).observe(seconds);
    if (status < 200 || status >= 300) m.failures.labels(graph, node, step).inc();
  }

  /** The fixed labels of a Seldon component's custom metrics (Seldon takes them from its pod environment). */
  private seldonLabels(component: SeldonComponent, method: SeldonMethod): Record<string, string> {
    const env = process.env;
    return {
      method,
      model_name: component.name,
      model_image: component.image,
      model_version: component.version ?? "",
      predictor_name: component.deployment?.predictorName ?? env.PREDICTOR_ID ?? "",
      predictor_version: env.PREDICTOR_VERSION ?? "",
      deployment_name: component.deployment?.deploymentName ?? env.SELDON_DEPLOYMENT_ID ?? "",
      worker_id: String(process.pid),
    };
  }

  record(component: SeldonComponent, method: SeldonMethod, metrics: SeldonMetric[]): void {
    this.seldon.record(metrics, this.seldonLabels(component, method));
  }

  feedback(component: SeldonComponent, reward: number): void {
    this.seldon.recordFeedback(reward, this.seldonLabels(component, "feedback"));
  }

  private seldonExecutor?: {
    server: Histogram<"deployment_name" | "predictor_name" | "predictor_version" | "service" | "method" | "code">;
    client: Histogram<"deployment_name" | "predictor_name" | "predictor_version" | "model_name" | "method" | "code">;
  };

  private executorMetrics() {
    const buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    this.seldonExecutor ??= {
      server: new Histogram({
        name: "seldon_api_executor_server_requests_seconds",
        help: "Seldon graph requests (predictions, feedback) as the executor answers them",
        labelNames: ["deployment_name", "predictor_name", "predictor_version", "service", "method", "code"] as const,
        buckets,
        registers: [this.registry],
      }),
      client: new Histogram({
        name: "seldon_api_executor_client_requests_seconds",
        help: "Calls from the Seldon graph executor to its components",
        labelNames: ["deployment_name", "predictor_name", "predictor_version", "model_name", "method", "code"] as const,
        buckets,
        registers: [this.registry],
      }),
    };
    return this.seldonExecutor;
  }

  /** One Seldon graph request (Seldon executor's server histogram). */
  seldonServerRequest(spec: { deploymentName: string; predictorName: string }, service: string, method: string, status: number, seconds: number): void {
    this.executorMetrics().server.labels(spec.deploymentName, spec.predictorName, "", service, method, String(status)).observe(seconds);
  }

  /** An observer of one Seldon graph's component calls (Seldon executor's client histogram). */
  seldonGraphObserver(spec: { deploymentName: string; predictorName: string }): {
    step(node: string, method: string, seconds: number, ok: boolean, status?: number): void;
  } {
    return {
      step: (node, method, seconds, ok, status) => {
        const code = String(status ?? (ok ? 200 : 500));
        this.executorMetrics().client.labels(spec.deploymentName, spec.predictorName, "", node, method, code).observe(seconds);
      },
    };
  }

  async render(): Promise<{ body: string; contentType: string }> {
    const own = await this.registry.metrics();
    const seldon = this.seldon.render();
    return { body: seldon ? `${own.endsWith("\n") ? own : `${own}\n`}${seldon}` : own, contentType: this.registry.contentType };
  }
}
