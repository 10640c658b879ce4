import { defineFamily } from "../../family.ts";
import { op } from "../../openapi/index.ts";
import { workerLink } from "../../worker-link.ts";

/**
 * Prometheus's exposition of every family's counters and histograms on GET /metrics. In a worker of
 * `tserve serve --workers N` it is the sum over every worker (the primary gathers them), answered with an
 * `x-tserve-worker` header naming the worker that answered.
 */
export const metricsFamily = defineFamily({
  name: "metrics",
  mount: ({ metrics, logger }) => ({
    routes: (app) => {
      app.get("/metrics", async (_req, reply) => {
        const link = workerLink();
        if (!link) {
          const { body, contentType } = await metrics.render();
          return reply.header("content-type", contentType).send(body);
        }
        reply.header("x-tserve-worker", String(link.id));
        try {
          const { body, contentType } = await link.clusterMetrics();
          return reply.header("content-type", contentType).send(body);
        } catch (err) {
          // One worker's counters alone would read as a reset of the sums: no answer rather than a wrong one.
          const message = `cannot gather the workers' metrics: ${(err as Error).message}`;
          logger.log("warn", message);
          return reply.code(503).send({ error: message });
        }
      });
    },
    openapi: () => ({
      tags: [{ name: "Metrics" }],
      paths: { "/metrics": { get: op({ tag: "Metrics", summary: "Prometheus metrics (text exposition format)", ok: { "text/plain": { schema: { type: "string" } } } }) } },
    }),
  }),
});
