/**
 * gRPC against hostile clients, over a real socket with a generic @grpc/grpc-js client that sends raw bytes
 * (identity serializers): bytes that are not a valid protobuf message answer INVALID_ARGUMENT on every method of
 * the OIP service and of Seldon's services; an error that quotes a huge model name or shape still reaches the
 * client, with a bounded message; a huge metadata header is refused without harm. After each, the next call on
 * the same connection succeeds.
 */
import * as grpcJs from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelServer, SeldonComponent } from "../../packages/server/src/index.ts";
import { inferencePackageDefinition } from "../../packages/server/src/protocol/grpc/index.ts";
import { seldonPackageDefinition } from "../../packages/server/src/protocol/seldon/grpc/index.ts";
import { IRIS_DIR, type Running, startWith } from "./util.ts";

const Code = grpcJs.status;
const OIP = "inference.GRPCInferenceService";
/** What the client may see as a status message: a few KiB, not the 100 KB it sent. */
const BOUND = 4_200;

type Definition = ReturnType<typeof inferencePackageDefinition>;
interface MethodDef {
  requestSerialize(v: unknown): Buffer;
  responseDeserialize(b: Buffer): any;
  requestStream: boolean;
}
const methodOf = (def: Definition, service: string, method: string) => (def[service] as unknown as Record<string, MethodDef>)[method]!;

const identity = (b: Buffer) => b;

interface Answer {
  code: number;
  details: string;
  response?: Buffer;
}

/** A generic client: bytes in, bytes or a status out. */
class RawClient {
  readonly client: grpcJs.Client;
  constructor(port: number) {
    this.client = new grpcJs.Client(`127.0.0.1:${port}`, grpcJs.credentials.createInsecure(), {
      "grpc.max_send_message_length": -1,
      "grpc.max_receive_message_length": -1,
    });
  }
  call(path: string, bytes: Buffer, metadata = new grpcJs.Metadata()): Promise<Answer> {
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(path, identity, identity, bytes, metadata, { deadline: Date.now() + 10_000 }, (err, res) => {
        resolve(err ? { code: err.code, details: err.details } : { code: Code.OK, details: "", response: res });
      });
    });
  }
  close(): void {
    this.client.close();
  }
}

/** `name` of a status code, so a failed expectation reads "NOT_FOUND" rather than 5. */
const codeName = (code: number) => Code[code] ?? String(code);

function expectRefusal(answer: Answer, code: number, ...mentions: string[]): void {
  expect(codeName(answer.code), answer.details.slice(0, 300)).toBe(codeName(code));
  expect(answer.details.length).toBeGreaterThan(0);
  expect(answer.details.length).toBeLessThan(BOUND);
  for (const m of mentions) expect(answer.details).toContain(m);
}

describe("OIP gRPC (inference.GRPCInferenceService) against hostile clients", () => {
  let running: Running;
  let raw: RawClient;
  const def = inferencePackageDefinition();
  const m = (method: string) => methodOf(def, OIP, method);
  const path = (method: string) => `/${OIP}/${method}`;

  /** A known-good call on the same client: iris is ready. */
  async function expectStillServing(): Promise<void> {
    const answer = await raw.call(path("ModelReady"), m("ModelReady").requestSerialize({ name: "iris" }));
    expect(codeName(answer.code), answer.details).toBe("OK");
    expect(m("ModelReady").responseDeserialize(answer.response!)).toEqual({ ready: true });
  }

  beforeAll(async () => {
    running = await startWith({ dirs: [IRIS_DIR] });
    raw = new RawClient(running.server.grpcPort!);
  });
  afterAll(async () => {
    raw?.close();
    await running?.server.stop();
  });

  it("ModelReady for a 100 KB model name answers NOT_FOUND with a bounded message, and the connection carries on", async () => {
    const name = `${"n".repeat(50_000)}MIDDLE${"z".repeat(50_000)}`;
    const answer = await raw.call(path("ModelReady"), m("ModelReady").requestSerialize({ name }));
    expectRefusal(answer, Code.NOT_FOUND, "characters cut", "nnnn", "zzzz");
    // the middle of the name is what was cut; the start and end of the message are kept
    expect(answer.details).not.toContain("MIDDLE");
    expect(answer.details.startsWith("Model")).toBe(true);
    await expectStillServing();
  });

  it("a 40 KB name of non-ASCII characters (each percent-encoded in the trailer) is bounded too", async () => {
    const answer = await raw.call(path("ModelMetadata"), m("ModelMetadata").requestSerialize({ name: "模型😀".repeat(15_000) }));
    expectRefusal(answer, Code.NOT_FOUND, "characters cut", "模型😀");
    // what travels is percent-encoded: it stays within a few KiB there as well
    expect(encodeURI(answer.details).length).toBeLessThan(BOUND + 200);
    await expectStillServing();
  });

  it("ModelInfer for a huge model name, and for a shape of 50 000 dimensions, answers with a bounded message", async () => {
    const infer = m("ModelInfer");
    const unknown = await raw.call(path("ModelInfer"), infer.requestSerialize({ model_name: "q".repeat(120_000), inputs: [{ name: "input", datatype: "FP32", shape: ["1"], contents: { fp32_contents: [1] } }] }));
    expectRefusal(unknown, Code.NOT_FOUND, "characters cut");
    const shape = ["1", ...Array<string>(50_000).fill("1")];
    const wide = await raw.call(
      path("ModelInfer"),
      infer.requestSerialize({ model_name: "iris", inputs: [{ name: "input", datatype: "FP32", shape, contents: { fp32_contents: [1, 2, 3, 4] } }] }),
    );
    expect([Code.INVALID_ARGUMENT, Code.RESOURCE_EXHAUSTED].map(codeName)).toContain(codeName(wide.code));
    expect(wide.details.length).toBeGreaterThan(0);
    expect(wide.details.length).toBeLessThan(BOUND);
    // the message quotes the shape: its start and its end ("… needs 1") stay, the middle is cut
    expect(wide.details).toMatch(/^Input 'input' has 4 elements .*… \(\d+ characters cut\) ….* needs 1$/s);
    await expectStillServing();
  });

  it("bytes that are not a valid message answer INVALID_ARGUMENT naming the message type, on every unary method", async () => {
    const unary = Object.entries(def[OIP] as unknown as Record<string, MethodDef & { path: string }>).filter(
      ([name, d]) => !d.requestStream && /^[A-Z]/.test(name),
    );
    expect(unary.map(([name]) => name)).toContain("RepositoryModelUnload");
    // 0a 00 12: field 1 (empty), then field 2 with its length missing; 0a ff: a length past the end
    for (const bytes of [Buffer.from("0a0012", "hex"), Buffer.from("0aff", "hex"), Buffer.from("12", "hex")]) {
      for (const [name] of unary) {
        const answer = await raw.call(path(name), bytes);
        const type = name === "ModelInfer" ? "ModelInferRequest" : `${name}Request`;
        expectRefusal(answer, Code.INVALID_ARGUMENT, `request is not a valid inference.${type}: `);
      }
    }
    await expectStillServing();
  });

  it("ModelStreamInfer: an undecodable message gets an error_message in its place and the stream carries on", async () => {
    const stream = m("ModelStreamInfer");
    const good = stream.requestSerialize({
      model_name: "iris",
      inputs: [{ name: "input", datatype: "FP32", shape: ["1", "4"], contents: { fp32_contents: [6.8, 2.8, 4.8, 1.4] } }],
    });
    const responses = await new Promise<any[]>((resolve, reject) => {
      const call = raw.client.makeBidiStreamRequest(path("ModelStreamInfer"), identity, identity, new grpcJs.Metadata(), { deadline: Date.now() + 10_000 });
      const out: any[] = [];
      call.on("data", (b: Buffer) => out.push(stream.responseDeserialize(b)));
      call.on("error", reject);
      call.on("end", () => resolve(out));
      call.write(Buffer.from("0a0012", "hex"));
      call.write(good);
      call.end();
    });
    expect(responses).toHaveLength(2);
    expect(responses[0].error_message).toMatch(/^request is not a valid inference\.ModelInferRequest: /);
    expect(responses[1].error_message ?? "").toBe("");
    expect(responses[1].infer_response.model_name).toBe("iris");
  });

  it("a huge metadata header is refused by the transport at once; the server and the connection carry on", async () => {
    const ok = new grpcJs.Metadata();
    ok.set("x-note", "v".repeat(20_000));
    expect(codeName((await raw.call(path("ServerLive"), Buffer.alloc(0), ok)).code)).toBe("OK");

    const huge = new grpcJs.Metadata();
    huge.set("x-note", "v".repeat(200_000));
    const started = Date.now();
    const answer = await raw.call(path("ModelReady"), m("ModelReady").requestSerialize({ name: "iris" }), huge);
    expect(codeName(answer.code)).not.toBe("OK");
    expect(codeName(answer.code)).not.toBe("DEADLINE_EXCEEDED");
    expect(Date.now() - started).toBeLessThan(5_000);
    await expectStillServing();
  });

  it("REST: an error body may quote a long model name in full, and an over-long URL gets 431; REST carries on", async () => {
    const name = "m".repeat(10_000);
    const long = await fetch(`${running.url}/v2/models/${name}`);
    expect(long.status).toBeGreaterThanOrEqual(400);
    expect(long.status).toBeLessThan(500);
    const body = (await long.json()) as { error: string };
    expect(body.error).toContain(name);
    const tooLong = await fetch(`${running.url}/v2/models/${"m".repeat(100_000)}`);
    expect(tooLong.status).toBe(431);
    await tooLong.arrayBuffer();
    expect((await fetch(`${running.url}/v2/models/iris/ready`)).status).toBe(200);
  });
});

describe("Seldon gRPC (seldon.protos) against hostile clients", () => {
  let server: ModelServer;
  let raw: RawClient;
  const def = seldonPackageDefinition();
  const m = (service: string, method: string) => methodOf(def, `seldon.protos.${service}`, method);

  /** Answers with what it was given. */
  class Echo {
    predict(X: unknown) {
      return X;
    }
    transformOutput(X: unknown) {
      return X;
    }
  }

  async function expectStillServing(): Promise<void> {
    const predict = m("Seldon", "Predict");
    const answer = await raw.call("/seldon.protos.Seldon/Predict", predict.requestSerialize({ strData: "hello" }));
    expect(codeName(answer.code), answer.details).toBe("OK");
    expect(predict.responseDeserialize(answer.response!).strData).toBe("hello");
  }

  beforeAll(async () => {
    server = new ModelServer({ httpPort: 0, grpcPort: 0, host: "127.0.0.1", seldon: true, logger: { log() {} } });
    await server.start([new SeldonComponent(new Echo(), "echo")]);
    raw = new RawClient(server.grpcPort!);
  });
  afterAll(async () => {
    raw?.close();
    await server?.stop();
  });

  it("TransformOutput with a shape of 44 363 dimensions and 5 values answers INVALID_ARGUMENT with a bounded message", async () => {
    const transform = m("OutputTransformer", "TransformOutput");
    const shape = [1, ...Array<number>(44_362).fill(1)];
    const answer = await raw.call(
      "/seldon.protos.OutputTransformer/TransformOutput",
      transform.requestSerialize({ data: { tensor: { shape, values: [1, 2, 3, 4, 5] } } }),
    );
    expectRefusal(answer, Code.INVALID_ARGUMENT, "characters cut");
    await expectStillServing();
  });

  it("bytes that are not a valid message answer INVALID_ARGUMENT naming the message type, on every method", async () => {
    const services = ["Generic", "Model", "Router", "Transformer", "OutputTransformer", "Combiner", "Seldon"];
    let checked = 0;
    for (const service of services) {
      const methods = Object.entries(def[`seldon.protos.${service}`] as unknown as Record<string, MethodDef>).filter(([name]) => /^[A-Z]/.test(name));
      for (const [name] of methods) {
        const type = name === "SendFeedback" ? "Feedback" : name === "Aggregate" ? "SeldonMessageList" : "SeldonMessage";
        for (const bytes of [Buffer.from("12", "hex"), Buffer.from("0a0012", "hex")]) {
          const answer = await raw.call(`/seldon.protos.${service}/${name}`, bytes);
          expectRefusal(answer, Code.INVALID_ARGUMENT, `request is not a valid seldon.protos.${type}: `);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(28);
    await expectStillServing();
  });
});
