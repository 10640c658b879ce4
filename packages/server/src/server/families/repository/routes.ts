import type { FastifyInstance } from "fastify";
import { InvalidInput } from "../../../errors/index.ts";
import type { DataPlane } from "../../../model/index.ts";
import { isPlainObject, parseJsonBody, v2 } from "../../../protocol/index.ts";
import type { ModelControl } from "../../model-control.ts";
import { bodyBytes, sendJson } from "../../rest.ts";

/**
 * Triton's model-repository extension: index (open to all), load and unload (behind the model control check:
 * mode, then admin token). A model another change is busy with answers 409.
 */
export function registerRepositoryRoutes(app: FastifyInstance, dataplane: DataPlane, control: ModelControl): void {
  app.post("/v2/repository/index", async (req, reply) => {
    const bytes = bodyBytes(req);
    let readyOnly = false;
    if (bytes.byteLength > 0) {
      const body = parseJsonBody(bytes);
      if (!isPlainObject(body)) throw new InvalidInput("Repository index request must be a JSON object");
      if (body.ready !== undefined && typeof body.ready !== "boolean")
        throw new InvalidInput("'ready' must be a boolean");
      readyOnly = body.ready === true;
    }
    return sendJson(reply, 200, dataplane.index(readyOnly));
  });

  app.post("/v2/repository/models/:name/load", { onRequest: control.restHook("load") }, async (req, reply) => {
    const { name } = req.params as { name: string };
    // Triton's override parameters (`config`, `file:…`) are refused, naming them, rather than ignored.
    const bytes = bodyBytes(req);
    if (bytes.byteLength > 0) {
      const body = parseJsonBody(bytes);
      if (isPlainObject(body) && isPlainObject(body.parameters)) v2.checkLoadParameters(body.parameters);
    }
    await dataplane.load(name);
    return sendJson(reply, 200, { name, load: true });
  });

  app.post("/v2/repository/models/:name/unload", { onRequest: control.restHook("unload") }, async (req, reply) => {
    const { name } = req.params as { name: string };
    await dataplane.unload(name);
    return sendJson(reply, 200, { name, unload: true });
  });
}
