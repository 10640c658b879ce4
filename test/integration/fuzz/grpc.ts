/**
 * gRPC under fuzz: every call goes through one generic client with identity serializers, so well-typed messages
 * (serialized here from the .proto) and malformed protobuf bytes reach the server alike.
 */
import * as grpc from "@grpc/grpc-js";
import type { loadSync } from "@grpc/proto-loader";
import type fc from "fast-check";
import { expect } from "vitest";
import { clip, renderBytes } from "./http.ts";
import { explore, FuzzFailure, Score } from "./runner.ts";
import type { ServerProcess } from "./server.ts";
import { diagnoseStall, Recent, SLOW_MS } from "./stalls.ts";
import { REQUEST_TIMEOUT_MS } from "./http.ts";

/** gRPC status codes by name. */
export const Code = grpc.status;

export interface GrpcCase {
  /** Label for grouping failures: service/method and the kind of message. */
  route: string;
  /** `/package.Service/Method` */
  path: string;
  bytes: Buffer;
  /** A mutation without credentials: OK is a failure. */
  mustRefuse?: boolean;
  /** Readable form of the typed message, when there is one. */
  shown?: string;
}

/** Codes a client mistake may get. INTERNAL, UNKNOWN, DATA_LOSS, UNAVAILABLE and DEADLINE_EXCEEDED are failures. */
const CLIENT_CODES = new Set<number>([
  Code.OK,
  Code.CANCELLED,
  Code.INVALID_ARGUMENT,
  Code.NOT_FOUND,
  Code.ALREADY_EXISTS,
  Code.PERMISSION_DENIED,
  Code.RESOURCE_EXHAUSTED,
  Code.FAILED_PRECONDITION,
  Code.ABORTED,
  Code.OUT_OF_RANGE,
  Code.UNIMPLEMENTED,
  Code.UNAUTHENTICATED,
]);

const REFUSALS = new Set<number>([Code.INVALID_ARGUMENT, Code.NOT_FOUND, Code.PERMISSION_DENIED, Code.FAILED_PRECONDITION, Code.UNIMPLEMENTED, Code.UNAUTHENTICATED]);

const CODE_NAMES = Object.fromEntries(Object.entries(Code).map(([k, v]) => [v, k])) as Record<number, string>;

type Definition = ReturnType<typeof loadSync>;

/** Serializes a plain message object as the request of `service`'s `method` (throws for unencodable values). */
export function serializer(definition: Definition, service: string, method: string): (message: unknown) => Buffer {
  const m = (definition[service] as Record<string, { requestSerialize: (v: unknown) => Buffer }>)[method];
  if (!m) throw new Error(`no method ${service}/${method}`);
  return (message) => m.requestSerialize(message);
}

export function deserializer(definition: Definition, service: string, method: string): (bytes: Buffer) => unknown {
  const m = (definition[service] as Record<string, { responseDeserialize: (b: Buffer) => unknown }>)[method];
  return (bytes) => m.responseDeserialize(bytes);
}

const identity = (b: Buffer) => b;

export class GrpcTarget {
  readonly score: Score;
  private client?: grpc.Client;
  private port = 0;
  private readonly recent = new Recent();

  constructor(
    readonly server: ServerProcess,
    family: string,
  ) {
    this.score = new Score(family);
  }

  private channel(): grpc.Client {
    if (!this.client || this.port !== this.server.grpcPort) {
      this.client?.close();
      this.port = this.server.grpcPort;
      this.client = new grpc.Client(`127.0.0.1:${this.port}`, grpc.credentials.createInsecure(), {
        "grpc.max_send_message_length": -1,
        "grpc.max_receive_message_length": -1,
      });
    }
    return this.client;
  }

  /** One unary call; resolves with the status (OK with the response bytes). */
  call(path: string, bytes: Buffer, timeoutMs = REQUEST_TIMEOUT_MS): Promise<{ code: number; details: string; response?: Buffer }> {
    return new Promise((resolve) => {
      this.channel().makeUnaryRequest(path, identity, identity, bytes, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) resolve({ code: err.code, details: err.details });
        else resolve({ code: Code.OK, details: "", response: res });
      });
    });
  }

  async check(c: GrpcCase): Promise<void> {
    const started = Date.now();
    const r = await this.call(c.path, c.bytes);
    const latency = Date.now() - started;
    this.score.count(CODE_NAMES[r.code] ?? String(r.code));
    const shown = `${c.path} ${c.shown ?? `bytes(${c.bytes.byteLength})=${renderBytes(c.bytes)}`}`;
    this.recent.push(`${clip(shown, 300)} -> ${CODE_NAMES[r.code]} in ${latency} ms`);
    if (r.code === Code.UNAVAILABLE || r.code === Code.INTERNAL || r.code === Code.UNKNOWN) {
      await this.server.settle();
      await this.crashed(c, shown);
    }
    if (r.code === Code.DEADLINE_EXCEEDED || latency > SLOW_MS) {
      await diagnoseStall({
        server: this.server,
        score: this.score,
        recent: this.recent,
        route: c.route,
        shown,
        what: r.code === Code.DEADLINE_EXCEEDED ? "no answer" : `slow answer (>${SLOW_MS} ms)`,
        probe: async () => (await this.call("/inference.GRPCInferenceService/ServerLive", Buffer.alloc(0), 1_000)).code !== Code.DEADLINE_EXCEEDED,
        again: async () => {
          const t = Date.now();
          const again = await this.call(c.path, c.bytes);
          return again.code === Code.DEADLINE_EXCEEDED ? undefined : Date.now() - t;
        },
      });
    }
    // grpc-js answers INTERNAL itself when the service's deserializer throws: one kind for every method
    const where = r.code === Code.INTERNAL && r.details.startsWith("Error deserializing request") ? "(request deserializer, any method)" : c.route;
    if (c.mustRefuse && !REFUSALS.has(r.code) && r.code !== Code.INTERNAL) {
      throw new FuzzFailure(`${c.route}: unauthenticated mutation answered ${CODE_NAMES[r.code]}`, shown, r.details);
    }
    if (!CLIENT_CODES.has(r.code)) {
      const gist = r.details.replace(/'[^']*'|"[^"]*"/g, "'…'").replace(/-?\d+(\.\d+)?/g, "N").slice(0, 90);
      throw new FuzzFailure(`${where}: answered ${CODE_NAMES[r.code] ?? r.code} "${gist}"`, shown, r.details);
    }
    if (r.code !== Code.OK && (typeof r.details !== "string" || r.details.length === 0)) {
      throw new FuzzFailure(`${c.route}: ${CODE_NAMES[r.code]} without details`, shown, "");
    }
  }

  private async crashed(c: GrpcCase, shown: string): Promise<void> {
    const exit = await this.server.checkExit();
    if (!exit) return;
    this.score.crashes++;
    this.score.count("crash");
    throw new FuzzFailure(`${c.route}: server process died (exit ${exit.code ?? exit.signal})`, shown, exit.output);
  }

  /** One property, then the known-good calls, then every distinct failure it found (shrunk) fails the test. */
  async run(arb: fc.Arbitrary<GrpcCase>, numRuns: number, good: GrpcCase[]): Promise<void> {
    const before = new Set(this.score.failures.keys());
    await explore(this.score, arb, (c) => this.check(c), numRuns);
    await this.expectHealthy(good);
    const found = [...this.score.failures.values()].filter((f) => !before.has(f.kind));
    expect(found.map((f) => `${f.kind}\n    ${f.example}\n    -> ${clip(f.detail, 300)}`)).toEqual([]);
  }

  /** Known-good calls still succeed. */
  async expectHealthy(cases: GrpcCase[]): Promise<void> {
    for (const c of cases) {
      const r = await this.call(c.path, c.bytes);
      expect(`${c.path}: ${CODE_NAMES[r.code]} ${r.details}`).toBe(`${c.path}: OK `);
    }
    expect(this.server.alive()).toBe(true);
  }

  close(): void {
    this.client?.close();
  }
}
