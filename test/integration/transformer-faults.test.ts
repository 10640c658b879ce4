/**
 * Transformers in front of a predictor that answers badly: a V1 predictor's 200 whose body is not a JSON object
 * (an HTML page, text, bytes, nothing, a JSON array or scalar) is a 502 naming the predictor, as an undecodable V2
 * answer is, never passed through as 200; error replies with HTML bodies keep their status with a short message.
 */
import { once } from "node:events";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Model, type ModelOptions } from "../../packages/server/src/index.ts";
import IrisTransformer from "../fixtures/modules/iris-transformer.ts";
import { expectError, post, type Reply, startWith } from "./util.ts";

/** How the fake predictor answers every POST. */
interface Answer {
  status: number;
  contentType?: string;
  body: string | Buffer;
  headers?: Record<string, string>;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

/** A node:http predictor that answers every request with `answer`; returns its host:port. */
async function fakePredictor(answer: Answer): Promise<{ host: string; posts: () => number }> {
  let posts = 0;
  const server: Server = createServer((req, res: ServerResponse) => {
    req.resume();
    req.on("end", () => {
      if (req.method === "POST") posts++;
      const headers: Record<string, string> = { "content-length": String(Buffer.byteLength(answer.body)), ...answer.headers };
      if (answer.contentType) headers["content-type"] = answer.contentType;
      res.writeHead(answer.status, headers);
      res.end(answer.body);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, "close").catch(() => undefined);
  });
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, posts: () => posts };
}

/** Serves `model` (default: a pass-through transformer, a plain Model) named iris; stopped after the test. */
async function transformer(options: ModelOptions, model?: Model): Promise<string> {
  const running = await startWith({ models: [model ?? new Model("iris", options)], gracePeriodMs: 1000, enableGrpc: false });
  cleanups.push(() => running.server.stop());
  return running.url;
}

function predict(url: string): Promise<Reply> {
  return post(`${url}/v1/models/iris:predict`, { instances: [[68, 28, 48, 14]] });
}

const HTML = "<html><head><title>Welcome</title></head><body><h1>It works!</h1></body></html>";

describe("a V1 predictor whose 200 is not a JSON object", () => {
  it.each([
    ["an HTML page", { status: 200, contentType: "text/html; charset=utf-8", body: HTML }, "It works!"],
    ["plain text", { status: 200, contentType: "text/plain", body: "OK" }, "text (OK)"],
    ["bytes", { status: 200, contentType: "application/octet-stream", body: Buffer.from([0xde, 0xad, 0xbe, 0xef]) }, "binary body"],
    ["HTML labelled as JSON", { status: 200, contentType: "application/json", body: HTML }, "invalid answer"],
    ["garbage with no content type", { status: 200, body: "not json {" }, "invalid answer"],
    ["an empty body", { status: 200, contentType: "application/json", body: "" }, "empty body"],
    ["a JSON array", { status: 200, contentType: "application/json", body: "[[0.1, 0.9]]" }, "JSON array"],
    ["a JSON string", { status: 200, contentType: "application/json", body: '"predictions"' }, "not a JSON object"],
    ["JSON null", { status: 200, contentType: "application/json", body: "null" }, "JSON null"],
  ] satisfies [string, Answer, string][])("%s -> 502 naming the predictor (pass-through transformer)", async (_what, answer, mention) => {
    const fake = await fakePredictor(answer);
    const url = await transformer({ predictorHost: fake.host, predictorProtocol: "v1" });
    expectError(await predict(url), 502, fake.host, mention);
  });

  it("an HTML page -> 502 from a transformer with its own postprocess too (not a 500 from postprocess)", async () => {
    const fake = await fakePredictor({ status: 200, contentType: "text/html", body: HTML });
    const url = await transformer({}, new IrisTransformer("iris", { predictorHost: fake.host, predictorProtocol: "v1" }));
    const error = expectError(await predict(url), 502, fake.host);
    expect(error).toContain("not a JSON object");
  });

  it("the V2 path answers the same 502 for the same HTML page", async () => {
    const fake = await fakePredictor({ status: 200, contentType: "text/html", body: HTML });
    const url = await transformer({}, new IrisTransformer("iris", { predictorHost: fake.host, predictorProtocol: "v2" }));
    expectError(await predict(url), 502, fake.host);
  });

  it("a V1 :explain answered with an HTML page -> 502 too", async () => {
    const fake = await fakePredictor({ status: 200, contentType: "text/html", body: HTML });
    const url = await transformer({ predictorHost: fake.host, predictorProtocol: "v1" });
    expectError(await post(`${url}/v1/models/iris:explain`, { instances: [[1, 2, 3, 4]] }), 502, fake.host);
  });

  it("a JSON object is still passed through as it is", async () => {
    const fake = await fakePredictor({ status: 200, contentType: "application/json", body: '{"predictions": [[0.1, 0.9]], "extra": 1}' });
    const url = await transformer({ predictorHost: fake.host, predictorProtocol: "v1" });
    const r = await predict(url);
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ predictions: [[0.1, 0.9]], extra: 1 });
  });
});

describe("a V1 predictor's error reply whose body is not JSON", () => {
  it("a 500 HTML error page keeps 500, names the predictor and quotes the page briefly", async () => {
    const page = `<html><body>${"Internal Server Error ".repeat(200)}</body></html>`;
    const fake = await fakePredictor({ status: 500, contentType: "text/html", body: page });
    const url = await transformer({ predictorHost: fake.host, predictorProtocol: "v1" });
    const error = expectError(await predict(url), 500, fake.host, "500");
    expect(error.length).toBeLessThan(400);
  });

  it("a 503 text reply keeps 503", async () => {
    const fake = await fakePredictor({ status: 503, contentType: "text/plain", body: "upstream connect error" });
    const url = await transformer({ predictorHost: fake.host, predictorProtocol: "v1" });
    expectError(await predict(url), 503, fake.host, "upstream connect error");
  });

  it("a redirect is not followed and is a 502, not the client's error", async () => {
    const fake = await fakePredictor({ status: 302, contentType: "text/html", body: "<a href='/login'>Found</a>", headers: { location: "/login" } });
    const url = await transformer({ predictorHost: fake.host, predictorProtocol: "v1" });
    expectError(await predict(url), 502, fake.host, "302");
    expect(fake.posts()).toBe(1);
  });
});
