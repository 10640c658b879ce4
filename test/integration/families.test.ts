import * as grpcJs from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { BUILTIN_FAMILIES, defineFamily, type Model, type ModelServer, type ProtocolFamily } from "../../packages/server/src/index.ts";
import { IRIS_REPO, startServer } from "../helpers/server.ts";

/**
 * Protocol families are plugins: a family written outside tserve (here, in the test) declares its routes, its gRPC
 * service, its per-model setup and its shutdown, and the server assembles it beside the built-in ones.
 */

const running: ModelServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

/** A one-method gRPC service whose messages are raw UTF-8 (no .proto needed). */
const echoService: grpcJs.ServiceDefinition = {
  Names: {
    path: "/test.Models/Names",
    requestStream: false,
    responseStream: false,
    requestSerialize: (s: string) => Buffer.from(s),
    requestDeserialize: (b: Buffer) => b.toString(),
    responseSerialize: (s: string) => Buffer.from(s),
    responseDeserialize: (b: Buffer) => b.toString(),
  },
};

interface HelloOptions {
  greeting?: string;
}

function helloFamily(log: string[]): ProtocolFamily<HelloOptions> {
  return defineFamily<HelloOptions>({
    name: "hello",
    setupModel: (model: Model & { tagged?: string }) => {
      model.tagged = `set up ${model.name}`;
      log.push(`setup ${model.name}`);
    },
    beforeLoad: async () => {
      log.push("beforeLoad");
    },
    mount: ({ dataplane, options }) => {
      log.push("mount");
      return {
        routes: (app) => {
          app.get("/hello/:name", async (req, reply) => {
            const { name } = req.params as { name: string };
            const model = dataplane.model(name) as Model & { tagged?: string };
            return reply.send({ greeting: options.greeting ?? "hi", model: name, tagged: model.tagged });
          });
        },
        grpc: (server) => {
          server.addService(echoService, {
            Names: (call: grpcJs.ServerUnaryCall<string, string>, callback: grpcJs.sendUnaryData<string>) =>
              callback(null, `${call.request}: ${dataplane.modelNames().join(",")}`),
          });
        },
        close: async () => {
          log.push("close");
        },
      };
    },
  });
}

describe("protocol families as plugins", () => {
  it("serves a family added beside the built-in ones: its REST route, its gRPC service, its per-model setup", async () => {
    const log: string[] = [];
    const { server, url } = await startServer({
      modelRepository: IRIS_REPO,
      families: [...BUILTIN_FAMILIES, helloFamily(log)] as ProtocolFamily<never>[],
      greeting: "hello",
    } as never);
    running.push(server);

    const hello = await fetch(`${url}/hello/iris`);
    expect(hello.status).toBe(200);
    expect(await hello.json()).toEqual({ greeting: "hello", model: "iris", tagged: "set up iris" });
    // The built-in families still answer beside it.
    const v1 = await fetch(`${url}/v1/models/iris:predict`, { method: "POST", body: JSON.stringify({ instances: [[6.8, 2.8, 4.8, 1.4]] }) });
    expect(v1.status).toBe(200);
    expect(((await v1.json()) as { predictions: unknown[] }).predictions).toHaveLength(1);

    const Client = grpcJs.makeGenericClientConstructor(echoService, "Models");
    const client = new Client(`127.0.0.1:${server.grpcPort}`, grpcJs.credentials.createInsecure());
    const answer = await new Promise<string>((resolve, reject) =>
      (client as unknown as { Names: (r: string, cb: (e: Error | null, r: string) => void) => void }).Names("models", (e, r) => (e ? reject(e) : resolve(r))),
    );
    client.close();
    expect(answer).toBe("models: iris");

    expect(log.slice(0, 3)).toEqual(["beforeLoad", "setup iris", "mount"]);
    await server.stop();
    running.pop();
    expect(log).toContain("close");
  });

  it("serves only the families it is given: without V1, KServe V1's routes are 404 and V2 still answers", async () => {
    const withoutV1 = BUILTIN_FAMILIES.filter((f) => f.name !== "v1");
    const { server, url } = await startServer({ modelRepository: IRIS_REPO, families: withoutV1 });
    running.push(server);
    expect((await fetch(`${url}/v1/models/iris`)).status).toBe(404);
    expect((await fetch(`${url}/v2/models/iris/ready`)).status).toBe(200);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
  });

  it("fails start() when a family cannot mount, and unloads the models it had loaded", async () => {
    const unloaded: string[] = [];
    const failing = defineFamily({
      name: "broken",
      setupModel: (model) => {
        const unload = model.unload?.bind(model);
        model.unload = async () => {
          unloaded.push(model.name);
          await unload?.();
        };
      },
      mount: () => {
        throw new Error("the broken family needs a setting it did not get");
      },
    });
    await expect(
      startServer({ modelRepository: IRIS_REPO, families: [...BUILTIN_FAMILIES, failing] as ProtocolFamily<never>[] }),
    ).rejects.toThrow("the broken family needs a setting it did not get");
    expect(unloaded).toEqual(["iris"]);
  });
});
