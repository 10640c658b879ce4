import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { InvalidInput, ModelNotReady } from "../../../errors/index.ts";
import type { DataPlane, RequestContext } from "../../../model/index.ts";
import { v1 } from "../../../protocol/index.ts";
import { LARGE_JSON_BYTES, parseLargeJson } from "../../json-off-loop.ts";
import { applyHeaders, bodyBytes, isJsonContentType, requestContext } from "../../rest.ts";

/**
 * TF Serving's URL grammar (`http_rest_api_util.cc`), matched case-insensitively as TF Serving does; the model name
 * keeps its case. GET: `name`, `name/versions/N` or `name/labels/L`, then optionally `/metadata`. POST: the same,
 * then `:predict`, `:classify` or `:regress` (and KServe's `:explain`). Versions are digits, as TF Serving's `\d+`.
 */
const V1_GET_PATH = /^([^/:]+)(?:\/versions\/(\d+)|\/labels\/([^/:]+))?(?:\/(metadata))?$/i;
const V1_POST_PATH = /^([^/:]+)(?:\/versions\/(\d+)|\/labels\/([^/:]+))?:(predict|classify|regress|explain)$/i;
const INT64_MAX = 2n ** 63n - 1n;

interface V1Target {
  name: string;
  version?: string;
  label?: string;
  metadata: boolean;
  verb?: "predict" | "classify" | "regress" | "explain";
}

/**
 * TF Serving's answer to a path or method its grammar does not parse (`http_rest_api_handler.cc` ProcessRequest):
 * INVALID_ARGUMENT, 400, "Malformed request: POST /v1/models/m/metadata" (the raw path and query, as sent).
 */
function malformed(req: FastifyRequest): InvalidInput {
  return new InvalidInput(`Malformed request: ${req.method} ${req.url}`);
}

/**
 * Parses the path after `/v1/models/` for a GET or a POST; anything else is malformed. `rest` is the wildcard as the
 * router hands it over: already percent-decoded once (decoding again broke on `%25`).
 */
function parseTarget(req: FastifyRequest, method: "GET" | "POST"): V1Target {
  const rest = (req.params as { "*": string })["*"];
  const m = (method === "GET" ? V1_GET_PATH : V1_POST_PATH).exec(rest);
  if (!m) throw malformed(req);
  const version = m[2];
  // TF Serving's SimpleAtoi into an int64: digits past its range are not a version.
  if (version !== undefined && BigInt(version) > INT64_MAX) {
    throw new InvalidInput(`Failed to convert version: ${version} to numeric.`);
  }
  if (method === "GET") return { name: m[1], version, label: m[3], metadata: m[4] !== undefined };
  return { name: m[1], version, label: m[3], metadata: false, verb: m[4].toLowerCase() as V1Target["verb"] };
}

/** `[A-Za-z]` classes for a path segment, so find-my-way matches it in any case. */
function anyCase(segment: string): string {
  return [...segment].map((c) => (/[a-z]/i.test(c) ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c)).join("");
}

/**
 * KServe V1 and TF Serving's REST API on the same routes: health, model status (KServe's `{name, ready}` plus TF
 * Serving's `model_version_status`), metadata, :predict, :explain, :classify and :regress, each also under
 * `/versions/{n}` and `/labels/{label}`.
 */
export function registerV1Routes(app: FastifyInstance, dataplane: DataPlane, options: { root?: boolean } = {}): void {
  // KServe's liveness on GET /, unless another protocol family (an OpenBayes predictor) owns the root.
  if (options.root !== false) app.get("/", async (_req, reply) => sendV1Json(reply, 200, { status: "alive" }));

  const list = async (_req: FastifyRequest, reply: FastifyReply) =>
    sendV1Json(reply, 200, { models: dataplane.modelNames() });
  const getModel = async (req: FastifyRequest, reply: FastifyReply) => {
    const target = parseTarget(req, "GET");
    const version = versionOf(dataplane, target);
    if (target.metadata) return modelMetadata(dataplane, reply, target.name, version);
    return modelStatus(dataplane, reply, target.name, version);
  };
  const postModel = async (req: FastifyRequest, reply: FastifyReply) => {
    const target = parseTarget(req, "POST");
    const verb = target.verb!;
    const version = versionOf(dataplane, target);
    const ctx = requestContext(req, "v1");
    if (verb === "classify" || verb === "regress") {
      const result = await classifyOrRegress(dataplane, target.name, version, await parseV1Body(req), ctx, verb);
      return sendV1Result(reply, result, ctx);
    }
    // Small bodies stay synchronous: no promise per request on the hot path.
    let body = decodeV1Body(req);
    if (body instanceof Promise) body = await body;
    const result = await dataplane.predictV1(target.name, version, body, ctx, verb);
    return sendV1Result(reply, v1.v1Result(result), ctx);
  };

  // What TF Serving's grammar has no route for (a POST to the list, PUT/DELETE/PATCH anywhere) is malformed, 400.
  const rejectMalformed = async (req: FastifyRequest) => {
    throw malformed(req);
  };
  const OTHER_METHODS = ["PUT", "DELETE", "PATCH"];

  app.get("/v1/models", list);
  app.get("/v1/models/*", getModel);
  app.post("/v1/models/*", postModel);
  app.post("/v1/models", rejectMalformed);
  app.route({ method: OTHER_METHODS, url: "/v1/models", handler: rejectMalformed });
  app.route({ method: OTHER_METHODS, url: "/v1/models/*", handler: rejectMalformed });
  // TF Serving matches `(?i)/v1/models…`: other spellings of the two fixed segments reach the same handlers.
  const prefix = `/:v1(^${anyCase("v1")}$)/:models(^${anyCase("models")}$)`;
  app.get(prefix, list);
  app.get(`${prefix}/*`, getModel);
  app.post(`${prefix}/*`, postModel);
  app.post(prefix, rejectMalformed);
  app.route({ method: OTHER_METHODS, url: prefix, handler: rejectMalformed });
  app.route({ method: OTHER_METHODS, url: `${prefix}/*`, handler: rejectMalformed });
}

/**
 * The version a target names: its `/versions/{n}`, the version its `/labels/{label}` points to, or none (latest).
 * An unknown label is TF Serving's INVALID_ARGUMENT, 400 (`ServerCore::GetModelVersionForLabel`).
 */
function versionOf(dataplane: DataPlane, target: V1Target): string | undefined {
  if (target.label === undefined) return target.version;
  const version = dataplane.resolveLabel(target.name, target.label);
  if (version === undefined) throw new InvalidInput(`Unrecognized servable version label: ${target.label}`);
  return version;
}

/**
 * `GET /v1/models/{m}[/versions/{n}|/labels/{l}]`: KServe's `{"name","ready"}` and, for versioned models, TF
 * Serving's `model_version_status` (every version when none is named). Unknown model or version: 404. Not ready:
 * 503 as KServe clients expect, with the same body plus `error`, so the version states are still visible.
 */
async function modelStatus(
  dataplane: DataPlane,
  reply: FastifyReply,
  name: string,
  version: string | undefined,
): Promise<FastifyReply> {
  const ready = await dataplane.modelReady(name, version);
  const rows = dataplane
    .index()
    .filter((r) => r.name === name && (version === undefined || Number(r.version) === Number(version)));
  const statuses = v1.modelVersionStatus(rows);
  if (statuses.length === 0) {
    // An unversioned model has no TF Serving version to report: KServe's answer alone.
    if (!ready) throw new ModelNotReady(name);
    return sendV1Json(reply, 200, { name, ready: true });
  }
  const body = { name, ready, model_version_status: statuses };
  if (!ready) return sendV1Json(reply, 503, { error: new ModelNotReady(name).message, ...body });
  return sendV1Json(reply, 200, body);
}

/** `GET …/metadata`: TF Serving's GetModelMetadataResponse (signature_def only) for the version that answers. */
async function modelMetadata(
  dataplane: DataPlane,
  reply: FastifyReply,
  name: string,
  version: string | undefined,
): Promise<FastifyReply> {
  const resolved = dataplane.resolveVersion(name, version);
  const meta = await dataplane.modelMetadata(name, resolved);
  return sendV1Json(reply, 200, v1.modelMetadataToTfServing(meta, resolved));
}

/**
 * `:classify` / `:regress`: the V1 codec turns the examples into the model's input tensor (see `planExamples` for
 * which models fit), the DataPlane runs it like any V2 request, and the codec turns the outputs into `{"results": …}`.
 */
async function classifyOrRegress(
  dataplane: DataPlane,
  name: string,
  version: string | undefined,
  body: unknown,
  ctx: RequestContext,
  method: v1.ExamplesMethod,
): Promise<Record<string, unknown>> {
  const parsed = v1.parseExamplesRequest(body, method);
  const resolved = dataplane.resolveVersion(name, version);
  const meta = await dataplane.modelMetadata(name, resolved);
  const call = v1.examplesCall(parsed, meta, dataplane.settingsOf(name), dataplane.limits);
  const response = await dataplane.infer(name, resolved, call.request, ctx);
  return v1.examplesResults(call, response.outputs);
}

/** A body that must be JSON whatever its content type (classify / regress); a large one is parsed off the event loop. */
function parseV1Body(req: FastifyRequest): Promise<unknown> {
  return parseLargeJson(bodyBytes(req), v1.parseV1Json);
}

/** The V1 body: parsed JSON (off the event loop when large: a promise then), or the raw bytes of other content types. */
function decodeV1Body(req: FastifyRequest): unknown {
  const bytes = bodyBytes(req);
  if (!isJsonContentType(req.headers["content-type"])) return bytes;
  if (bytes.byteLength === 0)
    throw new InvalidInput('The request body is empty; expected JSON such as {"instances": [...]}');
  return bytes.byteLength >= LARGE_JSON_BYTES ? parseLargeJson(bytes, v1.parseV1Json) : v1.parseV1Json(bytes);
}

function sendV1Json(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header("content-type", "application/json").send(v1.stringifyV1(body));
}

/** Objects go out as JSON (NaN/Infinity as TF Serving's tokens), strings as text, bytes as octet-stream, a web Response as it is. */
async function sendV1Result(reply: FastifyReply, result: unknown, ctx: RequestContext): Promise<FastifyReply> {
  applyHeaders(reply, ctx);
  if (result instanceof Response) {
    reply.code(result.status);
    result.headers.forEach((v, k) => {
      reply.header(k, v);
    });
    return reply.send(Buffer.from(await result.arrayBuffer()));
  }
  if (typeof result === "string")
    return reply.code(200).header("content-type", "text/plain; charset=utf-8").send(result);
  if (result instanceof Uint8Array)
    return reply
      .code(200)
      .header("content-type", "application/octet-stream")
      .send(Buffer.from(result.buffer, result.byteOffset, result.byteLength));
  return sendV1Json(reply, 200, result ?? null);
}
