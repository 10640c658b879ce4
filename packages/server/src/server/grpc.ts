import * as grpcJs from "@grpc/grpc-js";
import type { Logger } from "./logger.ts";

export interface GrpcServerOptions {
  /** Largest messages in bytes (tserve's default is 64 MiB; gRPC's own default is 4 MiB). */
  maxSendMessageLength: number;
  maxReceiveMessageLength: number;
  /** A connection with no call for this many ms is closed (GOAWAY; clients reconnect on their next call). */
  maxConnectionIdleMs?: number;
}

/** The one gRPC server: each protocol family adds its services (OIP's inference service, Seldon's). */
export function createGrpcServer(options: GrpcServerOptions): grpcJs.Server {
  return new grpcJs.Server({
    "grpc.max_receive_message_length": options.maxReceiveMessageLength,
    "grpc.max_send_message_length": options.maxSendMessageLength,
    ...(options.maxConnectionIdleMs ? { "grpc.max_connection_idle_ms": options.maxConnectionIdleMs } : {}),
  });
}

/** Binds and starts; resolves to the bound port (useful with port 0). */
export function listenGrpc(server: grpcJs.Server, host: string, port: number): Promise<number> {
  const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpcJs.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}

/** Graceful: in-flight calls finish; after `graceMs` the rest are cancelled. */
export function stopGrpc(server: grpcJs.Server, graceMs: number, logger?: Logger): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      logger?.log("warn", `grace period of ${graceMs / 1000} s is over: cancelling the gRPC calls still running`);
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
