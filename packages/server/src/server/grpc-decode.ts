/**
 * Requests that are not valid protobuf. grpc-js answers INTERNAL "Error deserializing request" by itself when a
 * service's deserializer throws; a client's bad bytes are its mistake, so our services are added with
 * deserializers that never throw: bytes that cannot be decoded become an `UndecodableRequest`, and the handler
 * answers INVALID_ARGUMENT "request is not a valid <message type>: <why>" instead of running.
 */
import * as grpcJs from "@grpc/grpc-js";
import { boundedStatusDetails } from "../protocol/grpc/status.ts";

/** What a guarded deserializer returns for bytes that are not a valid request message. */
export class UndecodableRequest {
  constructor(
    /** The full protobuf name of the expected message, e.g. `inference.ModelInferRequest`. */
    readonly typeName: string,
    readonly reason: string,
  ) {}

  get message(): string {
    return `request is not a valid ${this.typeName}: ${this.reason}`;
  }
}

export function isUndecodable(value: unknown): value is UndecodableRequest {
  return value instanceof UndecodableRequest;
}

/** `inference.ModelInferRequest` from the method's proto-loader definition (or a readable fallback). */
function requestTypeName(method: grpcJs.MethodDefinition<unknown, unknown>, name: string): string {
  const type = (method as { requestType?: { type?: { name?: unknown } } }).requestType?.type?.name;
  // `/inference.GRPCInferenceService/ModelInfer` -> package `inference`
  const service = method.path.split("/")[1] ?? "";
  const pkg = service.includes(".") ? service.slice(0, service.lastIndexOf(".")) : "";
  if (typeof type === "string" && type) return pkg ? `${pkg}.${type}` : type;
  return `${name} request`;
}

/**
 * `service` with every method's request deserializer guarded, and `implementation` with its unary and
 * server-streaming handlers answering INVALID_ARGUMENT for an `UndecodableRequest`. Client- and bidi-streaming
 * handlers receive the `UndecodableRequest` as a message and must check `isUndecodable` themselves.
 */
export function guardDeserializers(
  service: grpcJs.ServiceDefinition,
  implementation: grpcJs.UntypedServiceImplementation,
): [grpcJs.ServiceDefinition, grpcJs.UntypedServiceImplementation] {
  const guardedService: Record<string, grpcJs.MethodDefinition<unknown, unknown>> = {};
  const guardedImpl: grpcJs.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(service as Record<string, grpcJs.MethodDefinition<unknown, unknown>>)) {
    const typeName = requestTypeName(method, name);
    const deserialize = method.requestDeserialize;
    guardedService[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return deserialize(bytes);
        } catch (err) {
          return new UndecodableRequest(typeName, err instanceof Error ? err.message : String(err));
        }
      },
    };
    // grpc-js looks a handler up by the method's name, then by its originalName (`modelInfer`).
    const handler = implementation[name] ?? (method.originalName === undefined ? undefined : implementation[method.originalName]);
    if (handler === undefined) continue;
    guardedImpl[name] = method.requestStream ? handler : guardSingleRequest(handler as AnySingleRequestHandler, method.responseStream);
  }
  return [guardedService as grpcJs.ServiceDefinition, guardedImpl];
}

type AnySingleRequestHandler = (call: { request: unknown } & object, callback?: grpcJs.sendUnaryData<unknown>) => void;

function invalidArgument(bad: UndecodableRequest): grpcJs.ServiceError {
  const details = boundedStatusDetails(bad.message);
  return Object.assign(new Error(details), { code: grpcJs.status.INVALID_ARGUMENT, details, metadata: new grpcJs.Metadata() });
}

function guardSingleRequest(handler: AnySingleRequestHandler, responseStream: boolean): grpcJs.UntypedHandleCall {
  if (responseStream) {
    return ((call: grpcJs.ServerWritableStream<unknown, unknown>) => {
      if (isUndecodable(call.request)) call.emit("error", invalidArgument(call.request));
      else handler(call);
    }) as grpcJs.UntypedHandleCall;
  }
  return ((call: grpcJs.ServerUnaryCall<unknown, unknown>, callback: grpcJs.sendUnaryData<unknown>) => {
    if (isUndecodable(call.request)) callback(invalidArgument(call.request));
    else handler(call, callback);
  }) as grpcJs.UntypedHandleCall;
}
