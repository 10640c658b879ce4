import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { InvalidInput, ModelNotReady, NotFound } from "../../../errors/index.ts";
import type { DataPlane, RequestContext } from "../../../model/index.ts";
import { v1 } from "../../../protocol/index.ts";
import { LARGE_JSON_BYTES, parseLargeJson } from "../../json-off-loop.ts";
import { applyHeaders, bodyBytes, isJsonContentType, requestContext } from "../../rest.ts";

/**
 * `name`, `name/versions/N` or `name/labels/L`, then `/metadata` (GET) or `:verb` (POST): TF Serving's URL grammar
 * (`http_rest_api_util.cc`), matched case-insensitively as TF Serving does; the model name keeps its case.
 */
const V1_PATH = /^([^/:]+)(?:\/versions\/([^/:]+)|\/labels\/([^/:]+))?(?:\/(metadata))?(?::([a-z]+))?$/i;

interface V1Target {
  name: string;
  version?: string;
  label?: string;
  metadata: boolean;
  verb?: string;
}

/** `rest` is the wildcard as the router hands it over: already percent-decoded once (decoding again broke on `%25`). */
function parseTarget(rest: string): V1Target {
  const m = V1_PATH.exec(rest);
  if (!m) throw new NotFound(`Not Found: /v1/models/${rest}`);
  return { name: m[1], version: m[2], label: m[3], metadata: m[4] !== undefined, verb: m[5]?.toLowerCase() };
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
    const target = parseTarget((req.params as { "*": string })["*"]);
    if (target.verb) throw new NotFound(`Not Found: GET ${req.url}; use POST for :${target.verb}`);
    const version = versionOf(dataplane, target);
    if (target.metadata) return modelMetadata(dataplane, reply, target.name, version);
    return modelStatus(dataplane, reply, target.name, version);
  };
  const postModel = async (req: FastifyRequest, reply: FastifyReply) => {
    const target = parseTarget((req.params as { "*": string })["*"]);
    const verb = target.verb;
    if (target.metadata || !verb || !["predict", "explain", "classify", "regress"].includes(verb)) {
      throw new NotFound(`Not Found: POST ${req.url}; expected :predict, :classify, :regress or :explain`);
    }
    const version = versionOf(dataplane, target);
    const ctx = requestContext(req, "v1");
    if (verb === "classify" || verb === "regress") {
      const result = await classifyOrRegress(dataplane, target.name, version, await parseV1Body(req), ctx, verb);
      return sendV1Result(reply, result, ctx);
    }
    // Small bodies stay synchronous: no promise per request on the hot path.
    let body = decodeV1Body(req);
    if (body instanceof Promise) body = await body;
    const result = await dataplane.predictV1(target.name, version, body, ctx, verb as "predict" | "explain");
    return sendV1Result(reply, v1.v1Result(result), ctx);
  };

  app.get("/v1/models", list);
  app.get("/v1/models/*", getModel);
  app.post("/v1/models/*", postModel);
  // TF Serving matches `(?i)/v1/models…`: other spellings of the two fixed segments reach the same handlers.
  const prefix = `/:v1(^${anyCase("v1")}$)/:models(^${anyCase("models")}$)`;
  app.get(prefix, list);
  app.get(`${prefix}/*`, getModel);
  app.post(`${prefix}/*`, postModel);
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
