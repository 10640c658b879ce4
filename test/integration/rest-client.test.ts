import { once } from "node:events";
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  InferenceConnectionError,
  InferenceRESTClient,
  InferenceServerError,
  InferenceTimeoutError,
  InferInput,
  InferRequestedOutput,
} from "../../packages/server/src/client/index.ts";
import type { ModelServer } from "../../packages/server/src/index.ts";
import { freePort, startServer } from "../helpers/server.ts";
import { expectClose, FIXTURES, IRIS_DIR, MULTI_IO_DIR, readJson, TYPES_DIR, tempRepo } from "./util.ts";

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  responseHeaders?: IncomingHttpHeaders;
}

/**
 * A node:http server in front of tserve that records each request, counts client connections, and can answer
 * the first `failFirst` requests itself with `failStatus` instead of forwarding them.
 */
class Proxy {
  readonly requests: Recorded[] = [];
  connections = 0;
  failFirst = 0;
  url = "";
  failStatus = 503;
  private readonly server: Server;

  constructor(private readonly target: string) {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on("connection", () => {
      this.connections++;
    });
  }

  async listen(port = 0): Promise<string> {
    this.server.listen(port, "127.0.0.1");
    await once(this.server, "listening");
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  reset(): void {
    this.requests.length = 0;
    this.connections = 0;
    this.failFirst = 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, "close");
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rec: Recorded = {
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      body: Buffer.concat(chunks),
    };
    this.requests.push(rec);
    if (this.requests.length <= this.failFirst) {
      res.writeHead(this.failStatus, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: `busy (attempt ${this.requests.length})` }));
      return;
    }
    const upstream = httpRequest(`${this.target}${rec.url}`, { method: rec.method, headers: req.headers }, (up) => {
      rec.responseHeaders = up.headers;
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    upstream.end(rec.body);
  }
}

/** A node:http server that never answers: the client's timeout has to fire. */
async function startSilentServer(): Promise<{
  url: string;
  hits: () => number;
  close: () => Promise<void>;
}> {
  let hits = 0;
  const server = createServer(() => {
    hits++;
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: () => hits,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

describe("InferenceRESTClient against a real tserve", () => {
  let server: ModelServer;
  let url: string;
  let client: InferenceRESTClient;
  let proxy: Proxy;
  let proxied: InferenceRESTClient;
  let expected: {
    tolerance: number;
    inputs: number[][];
    probabilities: number[][];
  };

  beforeAll(async () => {
    const root = await tempRepo({ iris: IRIS_DIR, multi_io: MULTI_IO_DIR, types: TYPES_DIR });
    ({ server, url } = await startServer({ modelRepository: root, modelControlMode: "explicit" }));
    client = new InferenceRESTClient(url);
    proxy = new Proxy(url);
    proxied = new InferenceRESTClient(await proxy.listen(), { retries: 3, retryBaseDelayMs: 5, maxRetryDelayMs: 20 });
    expected = await readJson(join(FIXTURES, "iris-expected.json"));
  });
  afterAll(async () => {
    client?.close();
    proxied?.close();
    await proxy?.close();
    await server?.stop();
  });

  const irisInput = () => new InferInput("input", [7, 4], "FP32", Float32Array.from(expected.inputs.flat()));

  describe("infer", () => {
    it("binary (the default) and JSON give identical tensors", async () => {
      const binary = await client.infer("iris", [irisInput()]);
      const json = await client.infer("iris", [irisInput()], { binary: false });
      expect(binary.modelName).toBe("iris");
      expect(binary.modelVersion).toBe("1");
      expect(binary.outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([["probabilities", "FP32", [7, 3]]]);
      expect(binary.asTypedArray("probabilities")).toBeInstanceOf(Float32Array);
      expect(binary.asTypedArray("probabilities")).toEqual(json.asTypedArray("probabilities"));
      expectClose(binary.asNested("probabilities"), expected.probabilities, expected.tolerance);
    });

    it("binary mode puts raw tensors on the wire both ways; JSON mode plain JSON", async () => {
      proxy.reset();
      await proxied.infer("iris", [irisInput()]);
      await proxied.infer("iris", [irisInput()], { binary: false });
      const [bin, json] = proxy.requests;
      expect(bin.headers["content-type"]).toBe("application/octet-stream");
      const headerLength = Number(bin.headers["inference-header-content-length"]);
      expect(bin.body.byteLength - headerLength).toBe(7 * 4 * 4);
      const header = JSON.parse(bin.body.subarray(0, headerLength).toString("utf8"));
      expect(header.inputs[0]).toEqual({
        name: "input",
        shape: [7, 4],
        datatype: "FP32",
        parameters: { binary_data_size: 112 },
      });
      expect(header.parameters).toEqual({ binary_data_output: true });
      expect(bin.responseHeaders?.["content-type"]).toBe("application/octet-stream");
      expect(bin.responseHeaders?.["inference-header-content-length"]).toBeDefined();
      expect(json.headers["content-type"]).toBe("application/json");
      expect(json.headers["inference-header-content-length"]).toBeUndefined();
      expect(JSON.parse(json.body.toString("utf8")).inputs[0].data).toHaveLength(28);
      expect(json.responseHeaders?.["content-type"]).toMatch(/^application\/json/);
    });

    it("outputs filter and order the response; each output may pick binary or JSON", async () => {
      const a = new InferInput("a", [2, 2], "FP32", [
        [1, 2],
        [3, 4],
      ]);
      const b = new InferInput("b", [2, 2], "FP32", Float32Array.of(0.5, 0.5, 1, 1));
      const only = await client.infer("multi_io", [a, b], { outputs: [new InferRequestedOutput("diff")] });
      expect(only.outputs.map((o) => o.name)).toEqual(["diff"]);
      expect(only.asNested("diff")).toEqual([
        [0.5, 1.5],
        [2, 3],
      ]);
      expect(() => only.output("sum")).toThrow("available outputs: 'diff'");

      proxy.reset();
      b.setData(Float32Array.of(0.5, 0.5, 1, 1), { binary: false });
      const both = await proxied.infer("multi_io", [a, b], {
        outputs: [new InferRequestedOutput("diff", { binary: false }), new InferRequestedOutput("sum")],
      });
      expect(both.outputs.map((o) => o.name)).toEqual(["diff", "sum"]);
      expect(Array.from(both.asTypedArray("sum") as Float32Array)).toEqual([1.5, 2.5, 4, 5]);
      const sent = proxy.requests[0];
      const header = JSON.parse(
        sent.body.subarray(0, Number(sent.headers["inference-header-content-length"])).toString("utf8"),
      );
      expect(header.inputs[0].parameters).toEqual({ binary_data_size: 16 });
      expect(header.inputs[1].data).toEqual([0.5, 0.5, 1, 1]);
      expect(header.outputs).toEqual([
        { name: "diff", parameters: { binary_data: false } },
        { name: "sum", parameters: { binary_data: true } },
      ]);
    });

    for (const binary of [true, false]) {
      it(`every datatype of the types model, ${binary ? "binary" : "JSON"}`, async () => {
        // Beyond 2^53 INT64 stays exact only in binary (a JSON answer is a JS number).
        const big = binary ? 2n ** 60n + 3n : 2n ** 40n + 3n;
        const inputs = [
          new InferInput("i64", [2], "INT64", BigInt64Array.of(big, -7n)),
          new InferInput("i32", [3], "INT32", Int32Array.of(1, -2, 2147483646)),
          new InferInput("u8", [3], "UINT8", [0, 200, 255]),
          new InferInput("f64", [2], "FP64", Float64Array.of(0.1, -3)),
          new InferInput("flag", [2], "BOOL", [true, false]),
          new InferInput("f16", [2], "FP16", Float32Array.of(1.5, -4)),
          new InferInput("text", [3], "BYTES", ["héllo", "", "binary ✓ data"]),
        ];
        const r = await client.infer("types", inputs, { binary });
        expect(r.outputs.map((o) => o.name).sort()).toEqual(
          ["f16_out", "f64_out", "flag_out", "i32_out", "i64_out", "text_out", "u8_out"].sort(),
        );
        expect(r.asTypedArray("i64_out")).toEqual(BigInt64Array.of(big * 2n, -14n));
        expect(r.asTypedArray("i32_out")).toEqual(Int32Array.of(2, -1, 2147483647));
        expect(r.asTypedArray("u8_out")).toEqual(Uint8Array.of(0, 200, 255));
        expect(r.asTypedArray("f64_out")).toEqual(Float64Array.of(0.05, -1.5));
        expect(r.asNested("flag_out")).toEqual([false, true]);
        expect(r.output("f16_out").data).toEqual(Uint16Array.of(0x4200, 0xc800)); // 3, -8 as half bits
        expect(r.asTypedArray("f16_out")).toEqual(Float32Array.of(3, -8));
        expect(r.asStrings("text_out")).toEqual(["héllo", "", "binary ✓ data"]);
        expect(r.output("text_out").shape).toEqual([3]);
      });
    }

    it("accepts a ready-made InferRequest and sends requestId as id and x-request-id", async () => {
      proxy.reset();
      const r = await proxied.infer(
        "multi_io",
        {
          inputs: [
            { name: "a", datatype: "FP32", shape: [1, 2], data: Float32Array.of(1, 2) },
            { name: "b", datatype: "FP32", shape: [1, 2], data: Float32Array.of(3, 4) },
          ],
        },
        { requestId: "req-42", headers: { "X-Trace": "t1" } },
      );
      expect(r.id).toBe("req-42");
      expect(r.asNested("sum")).toEqual([[4, 6]]);
      expect(proxy.requests[0].headers["x-request-id"]).toBe("req-42");
      expect(proxy.requests[0].headers["x-trace"]).toBe("t1");
      expect(proxy.requests[0].url).toBe("/v2/models/multi_io/infer");
    });

    it("addresses a version", async () => {
      proxy.reset();
      const r = await proxied.infer("iris", [irisInput()], { modelVersion: "1" });
      expect(r.modelVersion).toBe("1");
      expect(proxy.requests[0].url).toBe("/v2/models/iris/versions/1/infer");
    });
  });

  describe("V1", () => {
    it("predict sends JSON and returns the parsed answer", async () => {
      const answer = (await client.predict("iris", { instances: expected.inputs.slice(0, 2) })) as {
        predictions: number[][];
      };
      expectClose(answer.predictions, expected.probabilities.slice(0, 2), expected.tolerance);
      const versioned = (await client.predict("iris", { instances: [expected.inputs[0]] }, { modelVersion: "1" })) as {
        predictions: number[][];
      };
      expectClose(versioned.predictions, [expected.probabilities[0]], expected.tolerance);
    });

    it("explain reports the server's error and status", async () => {
      const err = await client.explain("iris", { instances: [expected.inputs[0]] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InferenceServerError);
      expect((err as InferenceServerError).status).toBe(501);
      expect((err as InferenceServerError).message).toContain("explain");
    });
  });

  describe("health, metadata and repository", () => {
    it("live, ready and model ready are booleans", async () => {
      expect(await client.isServerLive()).toBe(true);
      expect(await client.isServerReady()).toBe(true);
      expect(await client.isModelReady("iris")).toBe(true);
      expect(await client.isModelReady("iris", "1")).toBe(true);
      expect(await client.isModelReady("no_such_model")).toBe(false);
    });

    it("server and model metadata", async () => {
      const meta = await client.serverMetadata();
      expect(meta.name).toBe("tserve");
      expect(meta.extensions).toEqual(expect.arrayContaining(["binary_tensor_data", "model_repository"]));
      const iris = await client.modelMetadata("iris");
      expect(iris.name).toBe("iris");
      expect(iris.inputs).toEqual([{ name: "input", datatype: "FP32", shape: [-1, 4] }]);
      expect(iris.outputs.map((o) => o.name)).toEqual(["probabilities"]);
      expect((await client.modelMetadata("iris", "1")).name).toBe("iris");
    });

    it("repository index, unload and load", async () => {
      const index = await client.repositoryIndex();
      expect(index.map((m) => m.name).sort()).toEqual(["iris", "multi_io", "types"]);
      expect(index.every((m) => m.state === "READY")).toBe(true);
      await client.unloadModel("multi_io");
      expect(await client.isModelReady("multi_io")).toBe(false);
      expect((await client.repositoryIndex(true)).map((m) => m.name).sort()).toEqual(["iris", "types"]);
      const unavailable = await client
        .infer("multi_io", [new InferInput("a", [1, 2], "FP32", [1, 2]), new InferInput("b", [1, 2], "FP32", [1, 2])])
        .catch((e: unknown) => e);
      expect((unavailable as InferenceServerError).status).toBe(503);
      await client.loadModel("multi_io");
      expect(await client.isModelReady("multi_io")).toBe(true);
    });
  });

  describe("errors", () => {
    it("an unknown model is a 404 with the server's message", async () => {
      const err = await client.infer("no_such_model", [irisInput()]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InferenceServerError);
      const e = err as InferenceServerError;
      expect(e.status).toBe(404);
      expect(e.message).toBe("Model with name no_such_model does not exist.");
      expect(e.body).toEqual({ error: e.message });
      const meta = await client.modelMetadata("no_such_model").catch((x: unknown) => x);
      expect((meta as InferenceServerError).status).toBe(404);
    });

    it("a bad input is a 400 naming the input", async () => {
      const wrongType = new InferInput("input", [1, 4], "INT32", Int32Array.of(1, 2, 3, 4));
      const err = (await client.infer("iris", [wrongType]).catch((e: unknown) => e)) as InferenceServerError;
      expect(err).toBeInstanceOf(InferenceServerError);
      expect(err.status).toBe(400);
      expect(err.message).toContain("input");
      expect(err.message).toContain("INT32");
      const v1 = (await client.predict("iris", { nope: 1 }).catch((e: unknown) => e)) as InferenceServerError;
      expect(v1.status).toBe(400);
      expect(v1.message).toContain("instances");
    });

    it("client-side validation fails before anything is sent", async () => {
      proxy.reset();
      await expect(proxied.infer("iris", [new InferInput("input", [1, 4], "FP32")])).rejects.toThrow(
        "InferInput 'input' has no data",
      );
      expect(proxy.requests).toHaveLength(0);
    });
  });

  describe("transport", () => {
    it("times out against a server that never answers, and does not retry a timeout", async () => {
      const silent = await startSilentServer();
      const slow = new InferenceRESTClient(silent.url, { timeoutMs: 100, retries: 2, retryBaseDelayMs: 5 });
      try {
        const started = Date.now();
        const err = await slow.infer("iris", [irisInput()]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InferenceTimeoutError);
        expect((err as InferenceTimeoutError).status).toBe(504);
        expect((err as InferenceTimeoutError).message).toContain("timed out after 100 ms");
        expect(Date.now() - started).toBeLessThan(2000);
        expect(silent.hits()).toBe(1);
        await expect(slow.isServerLive({ timeoutMs: 50 })).rejects.toBeInstanceOf(InferenceTimeoutError);
      } finally {
        slow.close();
        await silent.close();
      }
    });

    it("retries 503 with backoff until the server answers (3 attempts)", async () => {
      proxy.reset();
      proxy.failFirst = 2;
      const retries: [number, number][] = [];
      const patient = new InferenceRESTClient(proxy.url, {
        retries: 3,
        retryBaseDelayMs: 10,
        maxRetryDelayMs: 15,
        onRetry: (_err, retry, delay) => retries.push([retry, delay]),
      });
      try {
        const r = await patient.infer("iris", [irisInput()]);
        expectClose(r.asNested("probabilities"), expected.probabilities, expected.tolerance);
        expect(proxy.requests).toHaveLength(3);
        // The body is re-sent intact on every attempt.
        expect(proxy.requests[2].body.equals(proxy.requests[0].body)).toBe(true);
        expect(retries.map(([n]) => n)).toEqual([1, 2]);
        expect(retries[0][1]).toBeGreaterThanOrEqual(5);
        expect(retries[0][1]).toBeLessThanOrEqual(10);
        expect(retries[1][1]).toBeGreaterThanOrEqual(7);
        expect(retries[1][1]).toBeLessThanOrEqual(15);
      } finally {
        patient.close();
      }
    });

    it("gives up after `retries` extra attempts with the last 503; health checks read 503 as false", async () => {
      proxy.reset();
      proxy.failFirst = 10;
      const err = (await proxied.serverMetadata().catch((e: unknown) => e)) as InferenceServerError;
      expect(err).toBeInstanceOf(InferenceServerError);
      expect(err.status).toBe(503);
      expect(err.message).toBe("busy (attempt 4)");
      expect(err.body).toEqual({ error: "busy (attempt 4)" });
      expect(proxy.requests).toHaveLength(4);
      expect(await proxied.isServerReady()).toBe(false);
      expect(proxy.requests).toHaveLength(5);
    });

    it("does not retry a 400", async () => {
      proxy.reset();
      proxy.failFirst = 1;
      proxy.failStatus = 400;
      try {
        const err = (await proxied.infer("iris", [irisInput()]).catch((e: unknown) => e)) as InferenceServerError;
        expect(err.status).toBe(400);
        expect(err.message).toBe("busy (attempt 1)");
        expect(proxy.requests).toHaveLength(1);
      } finally {
        proxy.failStatus = 503;
      }
    });

    it("connection refused is an InferenceConnectionError, retried when retries > 0", async () => {
      const port = await freePort();
      const once_ = new InferenceRESTClient(`127.0.0.1:${port}`);
      const err = (await once_.isServerLive().catch((e: unknown) => e)) as InferenceConnectionError;
      expect(err).toBeInstanceOf(InferenceConnectionError);
      expect(err).toBeInstanceOf(InferenceServerError);
      expect(err.systemCode).toBe("ECONNREFUSED");
      expect(err.status).toBe(503);
      expect(err.message).toContain("ECONNREFUSED");
      once_.close();

      let retried = 0;
      const stubborn = new InferenceRESTClient(`http://127.0.0.1:${port}`, {
        retries: 2,
        retryBaseDelayMs: 5,
        onRetry: () => retried++,
      });
      await expect(stubborn.isServerReady()).rejects.toBeInstanceOf(InferenceConnectionError);
      expect(retried).toBe(2);

      // A server that comes up while the client is backing off is reached on a later attempt.
      const late = new Proxy(url);
      const recovering = new InferenceRESTClient(`http://127.0.0.1:${port}`, {
        retries: 5,
        retryBaseDelayMs: 20,
        onRetry: (_e, retry) => {
          if (retry === 1) void late.listen(port);
        },
      });
      try {
        expect(await recovering.isServerLive()).toBe(true);
        expect(late.requests).toHaveLength(1);
      } finally {
        recovering.close();
        stubborn.close();
        await late.close();
      }
    });

    it("keeps connections alive: many calls, one server-side connection", async () => {
      proxy.reset();
      const keep = new InferenceRESTClient(proxy.url);
      try {
        for (let i = 0; i < 5; i++) await keep.infer("iris", [irisInput()]);
        expect(await keep.isServerReady()).toBe(true);
        await keep.predict("iris", { instances: [expected.inputs[0]] });
        expect(proxy.requests).toHaveLength(7);
        expect(proxy.connections).toBe(1);
      } finally {
        keep.close();
      }
    });
  });
});
