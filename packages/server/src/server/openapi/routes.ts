import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { FastifyInstance } from "fastify";
import { buildOpenApiDocument } from "./document.ts";
import type { OpenApiHook } from "./types.ts";

/** The Swagger UI files /docs serves from the swagger-ui-dist package (no CDN: the page works offline). */
const ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
};

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tserve API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

// validatorUrl null: Swagger UI would otherwise send the document to validator.swagger.io.
const INIT_JS = `window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", validatorUrl: null, deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout" });
`;

function assetDir(): string {
  return dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
}

/**
 * GET /openapi.json (always) and, with `docs`, GET /docs: Swagger UI from the swagger-ui-dist package, KServe's
 * `--enable_docs_url`.
 */
export function registerOpenApiRoutes(app: FastifyInstance, options: { hooks: readonly OpenApiHook[]; docs: boolean; version: string }): void {
  app.get("/openapi.json", async (_req, reply) => {
    const doc = await buildOpenApiDocument(options.hooks, { title: "tserve", version: options.version });
    return reply.code(200).header("content-type", "application/json").send(JSON.stringify(doc));
  });
  if (!options.docs) return;
  const dir = assetDir();
  app.get("/docs", async (_req, reply) => reply.code(200).header("content-type", "text/html; charset=utf-8").send(DOCS_PAGE));
  app.get("/docs/init.js", async (_req, reply) => reply.code(200).header("content-type", ASSETS["swagger-ui-bundle.js"]).send(INIT_JS));
  for (const [file, type] of Object.entries(ASSETS)) {
    app.get(`/docs/${file}`, async (_req, reply) =>
      reply.code(200).header("content-type", type).header("cache-control", "public, max-age=3600").send(await readFile(join(dir, file))),
    );
  }
}
