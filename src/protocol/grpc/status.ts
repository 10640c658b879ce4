import type { ErrorKind, TServeError } from "../../errors/index.ts";

/** gRPC status codes (google.rpc.Code); plain numbers so codecs need no gRPC library. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

const BY_KIND: Record<ErrorKind, number> = {
  INVALID_ARG: GrpcStatus.INVALID_ARGUMENT,
  NOT_ACCEPTABLE: GrpcStatus.INVALID_ARGUMENT,
  NOT_FOUND: GrpcStatus.NOT_FOUND,
  PAYLOAD_TOO_LARGE: GrpcStatus.RESOURCE_EXHAUSTED,
  UNSUPPORTED: GrpcStatus.UNIMPLEMENTED,
  UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  DEADLINE_EXCEEDED: GrpcStatus.DEADLINE_EXCEEDED,
  INTERNAL: GrpcStatus.INTERNAL,
  UNAUTHENTICATED: GrpcStatus.UNAUTHENTICATED,
  PERMISSION_DENIED: GrpcStatus.PERMISSION_DENIED,
  // A concurrent change of the same model: gRPC's code for "retry at a higher level".
  CONFLICT: GrpcStatus.ABORTED,
};

/** Our error -> its gRPC status (Triton's mapping). */
export function grpcStatusOf(err: TServeError): number {
  return BY_KIND[err.kind] ?? GrpcStatus.INTERNAL;
}

const HTTP_BY_GRPC: Record<number, number> = {
  [GrpcStatus.INVALID_ARGUMENT]: 400,
  [GrpcStatus.NOT_FOUND]: 404,
  [GrpcStatus.RESOURCE_EXHAUSTED]: 413,
  [GrpcStatus.UNIMPLEMENTED]: 501,
  [GrpcStatus.UNAVAILABLE]: 503,
  [GrpcStatus.DEADLINE_EXCEEDED]: 504,
  [GrpcStatus.UNAUTHENTICATED]: 401,
  [GrpcStatus.PERMISSION_DENIED]: 403,
  [GrpcStatus.CANCELLED]: 499,
  [GrpcStatus.ABORTED]: 409,
};

/** A gRPC status -> the HTTP status a REST caller would have seen for the same failure. */
export function httpStatusOfGrpc(code: number): number {
  return HTTP_BY_GRPC[code] ?? 500;
}
