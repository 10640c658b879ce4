export { buildOpenApiDocument } from "./document.ts";
export { exampleFits, exampleShape, jsonContent, nested, op, pathParam, ref, segment } from "./helpers.ts";
export { registerOpenApiRoutes } from "./routes.ts";
export type { OpenApiHook, OpenApiPart } from "./types.ts";
