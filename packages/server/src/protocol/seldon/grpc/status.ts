import { seldonErrorReply } from "../errors.ts";

/** gRPC status codes used for Seldon's errors (numbers, so this codec needs no gRPC library). */
export const SeldonGrpcCode = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** The gRPC status for a Seldon HTTP status: 400→INVALID_ARGUMENT, 404→NOT_FOUND, 501, 503, 504; else INTERNAL. */
export function grpcCodeOfSeldonStatus(status: number): number {
  switch (status) {
    case 400:
      return SeldonGrpcCode.INVALID_ARGUMENT;
    case 404:
      return SeldonGrpcCode.NOT_FOUND;
    case 501:
      return SeldonGrpcCode.UNIMPLEMENTED;
    case 503:
      return SeldonGrpcCode.UNAVAILABLE;
    case 504:
      return SeldonGrpcCode.DEADLINE_EXCEEDED;
    default:
      return SeldonGrpcCode.INTERNAL;
  }
}

export interface SeldonGrpcError {
  code: number;
  /** Seldon's `status.info` (the message REST would put in its body). */
  details: string;
  /** The HTTP status REST would answer with. */
  httpStatus: number;
  /** Seldon's reason (MICROSERVICE_BAD_DATA …), when the body has one. */
  reason?: string;
}

/** Anything thrown while serving a Seldon gRPC call, as the status REST's seldonErrorReply implies. */
export function seldonGrpcError(err: unknown): SeldonGrpcError {
  const { status, body } = seldonErrorReply(err);
  const s = (body as { status?: { info?: unknown; message?: unknown; reason?: unknown } } | undefined)?.status;
  const fromBody = typeof s?.info === "string" ? s.info : typeof s?.message === "string" ? s.message : undefined;
  const fromErr = err instanceof Error ? err.message : typeof err === "string" ? err : undefined;
  const details = fromBody ?? fromErr ?? JSON.stringify(body) ?? "error";
  return { code: grpcCodeOfSeldonStatus(status), details, httpStatus: status, ...(typeof s?.reason === "string" ? { reason: s.reason } : {}) };
}
