/**
 * Seldon's microservice gRPC API (seldon.protos.*) over a real socket, next to the REST routes of the same
 * server: a raw @grpc/grpc-js client built from prediction.proto calls every service; answers mirror REST's
 * (numbers come back as doubles), errors map to gRPC statuses, and the metrics count gRPC calls like REST ones.
 */
import * as grpcJs from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelServer, NDArray, SeldonComponent, SeldonError, SeldonResponse } from "../../packages/server/src/index.ts";
import type { SeldonMessage } from "../../packages/server/src/protocol/seldon/index.ts";
import {
  decodeSeldonMessage,
  encodeFeedback,
  encodeSeldonMessage,
  encodeSeldonMessageList,
  seldonPackageDefinition,
} from "../../packages/server/src/protocol/seldon/grpc/index.ts";
import { postJson, sample, scrape } from "../fixtures/seldon/harness.ts";

const Code = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, INTERNAL: 13 } as const;

/** Every Seldon method, each visibly doing its job. */
class Everything {
  feedback: { reward: number; routing: unknown; features: unknown }[] = [];
  predict(X: unknown, names: string[], meta: Record<string, unknown>) {
    if (typeof X === "string") {
      if (X === "bad") throw new SeldonError("bad input: no 'bad' here", 400);
      if (X === "missing") throw new SeldonError("nothing like that", 404);
      if (X === "crash") throw new Error("boom: division by zero");
      return `echo:${X}`;
    }
    if (X instanceof Uint8Array) return Uint8Array.from(X).reverse();
    if (X instanceof NDArray) return new SeldonResponse(X, { names: names.join(","), sawPuid: String(meta.puid ?? "") });
    return { received: X };
  }
  transformInput(X: unknown) {
    return X instanceof NDArray ? new NDArray(Float64Array.from(X.data as Float64Array, (v) => v * 2), X.shape) : X;
  }
  transformOutput(X: unknown) {
    return X instanceof NDArray ? new NDArray(Float64Array.from(X.data as Float64Array, (v) => v + 1), X.shape) : X;
  }
  route(X: unknown) {
    return X instanceof NDArray && (X.data as Float64Array)[0] > 5 ? 1 : 0;
  }
  aggregate(Xs: unknown[]) {
    const arrays = Xs as NDArray[];
    const sum = Float64Array.from(arrays[0].data as Float64Array, (_v, i) => arrays.reduce((s, a) => s + (a.data as Float64Array)[i], 0));
    return new NDArray(sum, arrays[0].shape);
  }
  sendFeedback(features: unknown, _names: string[], reward: number, _truth: unknown, routing: unknown) {
    this.feedback.push({ reward, routing, features: features instanceof NDArray ? features.toArray() : features });
    return [];
  }
}

type Unary = (req: unknown, md: grpcJs.Metadata, opts: grpcJs.CallOptions, cb: (err: grpcJs.ServiceError | null, res?: any) => void) => void;

let server: ModelServer;
let user: Everything;
let url: string;
const clients: Record<string, grpcJs.Client> = {};

function call(service: string, method: string, request: unknown): Promise<any> {
  const client = clients[service];
  const fn = (client as unknown as Record<string, Unary>)[method];
  if (typeof fn !== "function") throw new Error(`No RPC ${service}.${method}`);
  return new Promise((resolve, reject) => {
    fn.call(client, request, new grpcJs.Metadata(), { deadline: Date.now() + 30_000 }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** A call with a REST-JSON message in and out. */
async function seldon(service: string, method: string, msg: SeldonMessage): Promise<SeldonMessage> {
  return decodeSeldonMessage(await call(service, method, encodeSeldonMessage(msg)));
}

async function failure(service: string, method: string, msg: SeldonMessage): Promise<grpcJs.ServiceError> {
  try {
    const res = await call(service, method, encodeSeldonMessage(msg));
    throw new Error(`expected ${service}.${method} to fail, got ${JSON.stringify(res)}`);
  } catch (err) {
    if (typeof (err as grpcJs.ServiceError).code !== "number") throw err;
    return err as grpcJs.ServiceError;
  }
}

beforeAll(async () => {
  user = new Everything();
  const component = new SeldonComponent(user, "everything");
  server = new ModelServer({ httpPort: 0, grpcPort: 0, host: "127.0.0.1", seldon: true, logger: { log() {} } });
  await server.start([component]);
  url = `http://127.0.0.1:${server.port}`;
  const pkg = grpcJs.loadPackageDefinition(seldonPackageDefinition()) as unknown as { seldon: { protos: Record<string, grpcJs.ServiceClientConstructor> } };
  for (const name of ["Generic", "Model", "Router", "Transformer", "OutputTransformer", "Combiner", "Seldon"]) {
    clients[name] = new pkg.seldon.protos[name](`127.0.0.1:${server.grpcPort}`, grpcJs.credentials.createInsecure());
  }
});

afterAll(async () => {
  for (const c of Object.values(clients)) c.close();
  await server?.stop();
});

describe("Seldon gRPC: Model.Predict mirrors REST /predict", () => {
  it("ndarray: same answer as REST (ints read back as doubles, which in JS are the same numbers)", async () => {
    const msg: SeldonMessage = { data: { names: ["a", "b"], ndarray: [[1, 2], [3, 4.5]] }, meta: { puid: "p1", tags: { from: "client" } } };
    const grpcAnswer = await seldon("Model", "Predict", msg);
    const rest = await postJson(`${url}/predict`, msg);
    expect(rest.status).toBe(200);
    expect(grpcAnswer).toEqual(rest.json);
    expect(grpcAnswer.data!.ndarray).toEqual([[1, 2], [3, 4.5]]);
    expect(grpcAnswer.meta).toMatchObject({ puid: "p1", tags: { from: "client", names: "a,b", sawPuid: "p1" } });
  });

  it("tensor in, tensor out", async () => {
    const msg: SeldonMessage = { data: { tensor: { shape: [2, 2], values: [1, 2, 3, 4] } } };
    const grpcAnswer = await seldon("Model", "Predict", msg);
    expect(grpcAnswer.data!.tensor).toEqual({ shape: [2, 2], values: [1, 2, 3, 4] });
    expect(grpcAnswer).toEqual((await postJson(`${url}/predict`, msg)).json);
  });

  it("raw proto objects work too (what any Seldon gRPC client sends)", async () => {
    const res = await call("Model", "Predict", { data: { ndarray: { values: [{ listValue: { values: [{ numberValue: 7 }] } }] } } });
    expect(res.data.ndarray.values[0].listValue.values[0].numberValue).toBe(7);
    expect(res.data_oneof).toBe("data");
  });

  it("strData, binData and jsonData", async () => {
    expect(await seldon("Model", "Predict", { strData: "hello" })).toEqual((await postJson(`${url}/predict`, { strData: "hello" })).json);
    expect((await seldon("Model", "Predict", { strData: "hello" })).strData).toBe("echo:hello");

    const bin = Buffer.from([1, 2, 3]).toString("base64");
    const binAnswer = await seldon("Model", "Predict", { binData: bin });
    expect(Buffer.from(binAnswer.binData!, "base64")).toEqual(Buffer.from([3, 2, 1]));
    expect(binAnswer).toEqual((await postJson(`${url}/predict`, { binData: bin })).json);
    const raw = await call("Model", "Predict", { binData: Buffer.from([9, 8]) });
    expect(Buffer.from(raw.binData)).toEqual(Buffer.from([8, 9]));

    const jsonData = { a: [1, 2], b: { c: "d", e: null, f: true } };
    const jsonAnswer = await seldon("Model", "Predict", { jsonData });
    expect(jsonAnswer.jsonData).toEqual({ received: jsonData });
    expect(jsonAnswer).toEqual((await postJson(`${url}/predict`, { jsonData })).json);
  });

  it("Seldon.Predict is the same predict", async () => {
    const msg: SeldonMessage = { data: { ndarray: [[5, 6]] } };
    expect(await seldon("Seldon", "Predict", msg)).toEqual(await seldon("Model", "Predict", msg));
  });
});

describe("Seldon gRPC: the other services", () => {
  it("Router.Route and Generic.Route answer [[route]] with the puid only", async () => {
    const msg: SeldonMessage = { data: { ndarray: [[9, 1]] }, meta: { puid: "r1", tags: { a: "b" } } };
    const r = await seldon("Router", "Route", msg);
    expect(r).toEqual({ data: { names: ["t:0"], ndarray: [[1]] }, meta: { puid: "r1" } });
    expect(r).toEqual((await postJson(`${url}/route`, msg)).json);
    expect((await seldon("Generic", "Route", { data: { ndarray: [[2]] } })).data!.ndarray).toEqual([[0]]);
  });

  it("Combiner.Aggregate and Generic.Aggregate sum the messages", async () => {
    const list = [{ data: { ndarray: [[1, 2]] } }, { data: { ndarray: [[10, 20]] } }];
    const a = decodeSeldonMessage(await call("Combiner", "Aggregate", encodeSeldonMessageList(list)));
    expect(a.data!.ndarray).toEqual([[11, 22]]);
    expect(a).toEqual((await postJson(`${url}/aggregate`, { seldonMessages: list })).json);
    const g = decodeSeldonMessage(await call("Generic", "Aggregate", encodeSeldonMessageList(list)));
    expect(g).toEqual(a);
  });

  it("an empty message list is INVALID_ARGUMENT", async () => {
    const err = await call("Combiner", "Aggregate", { seldonMessages: [] }).catch((e: grpcJs.ServiceError) => e);
    expect((err as grpcJs.ServiceError).code).toBe(Code.INVALID_ARGUMENT);
    expect((err as grpcJs.ServiceError).details).toMatch(/seldonMessages/);
  });

  it("Generic.TransformInput / Transformer.TransformInput and the output transforms", async () => {
    const msg: SeldonMessage = { data: { ndarray: [[1, 2]] } };
    const t = await seldon("Generic", "TransformInput", msg);
    expect(t.data!.ndarray).toEqual([[2, 4]]);
    expect(t).toEqual((await postJson(`${url}/transform-input`, msg)).json);
    expect(await seldon("Transformer", "TransformInput", msg)).toEqual(t);
    const o = await seldon("OutputTransformer", "TransformOutput", msg);
    expect(o.data!.ndarray).toEqual([[2, 3]]);
    expect(await seldon("Generic", "TransformOutput", msg)).toEqual(o);
  });

  it("SendFeedback on Model, Seldon, Router and Generic reaches sendFeedback with reward and routing", async () => {
    user.feedback.length = 0;
    const fb = {
      request: { data: { ndarray: [[1, 2]] } },
      response: { data: { ndarray: [[0.9]] }, meta: { routing: { everything: 1 } } },
      reward: 0.5,
    };
    for (const service of ["Model", "Seldon", "Router", "Generic"]) {
      const answer = decodeSeldonMessage(await call(service, "SendFeedback", encodeFeedback(fb)));
      expect(answer.data).toEqual({ names: [], ndarray: [] });
    }
    expect(user.feedback).toEqual(Array(4).fill({ reward: 0.5, routing: 1, features: [[1, 2]] }));
    const m = await scrape(url);
    expect(sample(m, "seldon_api_model_feedback_total", { model_name: "everything" }) ?? sample(m, "seldon_api_model_feedback", { model_name: "everything" })).toBeGreaterThanOrEqual(4);
  });
});

describe("Seldon gRPC: errors", () => {
  it("a SeldonError 400 is INVALID_ARGUMENT with the message, and the server keeps serving", async () => {
    const err = await failure("Model", "Predict", { strData: "bad" });
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.details).toBe("bad input: no 'bad' here");
    expect(err.metadata.get("seldon-reason")).toEqual(["MICROSERVICE_BAD_DATA"]);
    expect((await seldon("Model", "Predict", { strData: "after" })).strData).toBe("echo:after");
  });

  it("404 is NOT_FOUND; a crash is INTERNAL with str(e)", async () => {
    expect((await failure("Seldon", "Predict", { strData: "missing" })).code).toBe(Code.NOT_FOUND);
    const crash = await failure("Model", "Predict", { strData: "crash" });
    expect(crash.code).toBe(Code.INTERNAL);
    expect(crash.details).toBe("boom: division by zero");
  });

  it("a bad request (tensor shape/values mismatch) is INVALID_ARGUMENT, as REST's 400", async () => {
    const err = await call("Model", "Predict", { data: { tensor: { shape: [2, 2], values: [1] } } }).catch((e: grpcJs.ServiceError) => e);
    expect((err as grpcJs.ServiceError).code).toBe(Code.INVALID_ARGUMENT);
    expect((err as grpcJs.ServiceError).details).toMatch(/shape/);
  });

  it("gRPC calls are counted on the same metrics path as REST", async () => {
    const value = (text: string, name: string) => sample(text, name, { model_name: "everything" }) ?? 0;
    const before = await scrape(url);
    await seldon("Model", "Predict", { strData: "count me" });
    await failure("Model", "Predict", { strData: "bad" });
    const after = await scrape(url);
    expect(value(after, "request_success_total")).toBe(value(before, "request_success_total") + 1);
    expect(value(after, "request_failure_total")).toBe(value(before, "request_failure_total") + 1);
    expect(value(after, "request_predict_seconds_count")).toBe(value(before, "request_predict_seconds_count") + 1);
  });
});

describe("Seldon gRPC: beside the OIP service", () => {
  it("inference.GRPCInferenceService still answers on the same port", async () => {
    const { inferencePackageDefinition } = await import("../../packages/server/src/protocol/grpc/index.ts");
    const pkg = grpcJs.loadPackageDefinition(inferencePackageDefinition()) as unknown as { inference: { GRPCInferenceService: grpcJs.ServiceClientConstructor } };
    const client = new pkg.inference.GRPCInferenceService(`127.0.0.1:${server.grpcPort}`, grpcJs.credentials.createInsecure());
    const live = await new Promise<any>((resolve, reject) =>
      (client as unknown as Record<string, Unary>).ServerLive.call(client, {}, new grpcJs.Metadata(), {}, (e, r) => (e ? reject(e) : resolve(r))),
    );
    client.close();
    expect(live.live).toBe(true);
  });
});
