import { Type } from "@sinclair/typebox";
import { jsonContent, type OpenApiPart, op, pathParam, ref } from "../../openapi/index.ts";

const TAG = "Model repository";

/** The repository API's bodies (routes.ts checks them by hand with the same rules). */
export const RepositoryIndexRequest = Type.Object({ ready: Type.Optional(Type.Boolean()) }, { $id: "RepositoryIndexRequest" });
export const RepositoryIndex = Type.Array(
  Type.Object({ name: Type.String(), version: Type.Optional(Type.String()), state: Type.String(), reason: Type.Optional(Type.String()) }),
  { $id: "RepositoryIndex" },
);
export const RepositoryLoadRequest = Type.Object(
  { parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown({ description: "Triton's override parameters (config, file:…) are refused" }))) },
  { $id: "RepositoryLoadRequest" },
);
export const RepositoryChange = Type.Object(
  { name: Type.String(), load: Type.Optional(Type.Boolean()), unload: Type.Optional(Type.Boolean()) },
  { $id: "RepositoryChange" },
);

const AUTH = "Needs `Authorization: Bearer <admin token>` when an admin token is set; refused unless --model_control_mode allows it.";

/** The V2 repository extension plus tserve's upload, in OpenAPI. */
export function repositoryOpenApi(): OpenApiPart {
  const name = pathParam("name", "model name");
  return {
    tags: [{ name: TAG, description: "Triton's model repository extension and tserve's archive upload" }],
    paths: {
      "/v2/repository/index": { post: op({ tag: TAG, summary: "Index of the repository's models", body: jsonContent(ref("RepositoryIndexRequest")), ok: jsonContent(ref("RepositoryIndex")), error: "V2Error" }) },
      "/v2/repository/models/{name}/load": { post: op({ tag: TAG, summary: "Load a model", description: AUTH, parameters: [name], body: jsonContent(ref("RepositoryLoadRequest")), ok: jsonContent(ref("RepositoryChange")), error: "V2Error" }) },
      "/v2/repository/models/{name}/unload": { post: op({ tag: TAG, summary: "Unload a model", description: AUTH, parameters: [name], ok: jsonContent(ref("RepositoryChange")), error: "V2Error" }) },
      "/v2/repository/models/{name}/upload": {
        post: op({
          tag: TAG,
          summary: "Upload a model archive (.tar.gz, .tgz, .tar or .zip) and load it",
          description: AUTH,
          parameters: [name],
          body: { "application/octet-stream": { schema: { type: "string", contentMediaType: "application/octet-stream" } } },
          ok: jsonContent(ref("RepositoryChange")),
          error: "V2Error",
        }),
      },
    },
    schemas: [RepositoryIndexRequest, RepositoryIndex, RepositoryLoadRequest, RepositoryChange],
  };
}
