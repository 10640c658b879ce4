import { defineFamily } from "../../family.ts";

/** Prometheus's exposition of every family's counters and histograms on GET /metrics. */
export const metricsFamily = defineFamily({
  name: "metrics",
  mount: ({ metrics }) => ({
    routes: (app) => {
      app.get("/metrics", async (_req, reply) => {
        const { body, contentType } = await metrics.render();
        return reply.header("content-type", contentType).send(body);
      });
    },
  }),
});
