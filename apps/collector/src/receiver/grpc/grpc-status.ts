import { Metadata, status } from '@grpc/grpc-js';
import type { ServerErrorResponse } from '@grpc/grpc-js';
import { encodeRetryInfo, encodeRpcStatus, RETRY_INFO_TYPE_URL } from '#spanring/otlp';

/** The trailer in which gRPC servers carry a google.rpc.Status with typed details. */
export const STATUS_DETAILS_TRAILER = 'grpc-status-details-bin';

/** The error object grpc-js turns into a status (and trailers) for a unary call. */
function serverError(code: status, details: string, metadata?: Metadata): ServerErrorResponse {
  return Object.assign(new Error(details), { code, details, metadata });
}

/** Bad request data: OTLP says INVALID_ARGUMENT, which clients must not retry. */
export function invalidArgument(message: string): ServerErrorResponse {
  return serverError(status.INVALID_ARGUMENT, message);
}

/**
 * The pipeline is pushing back (or shutting down): UNAVAILABLE, which OTLP clients retry, with
 * google.rpc.RetryInfo in the status details saying how long to wait first, the gRPC
 * counterpart of HTTP's Retry-After.
 */
export function unavailableWithRetryInfo(message: string, retryAfterSeconds: number): ServerErrorResponse {
  const retryInfo = encodeRetryInfo({ retryDelay: { seconds: BigInt(Math.ceil(retryAfterSeconds)), nanos: 0 } });
  const details = encodeRpcStatus({
    code: status.UNAVAILABLE,
    message,
    details: [{ typeUrl: RETRY_INFO_TYPE_URL, value: retryInfo }],
  });
  const trailers = new Metadata();
  trailers.set(STATUS_DETAILS_TRAILER, Buffer.from(details.buffer, details.byteOffset, details.byteLength));
  return serverError(status.UNAVAILABLE, message, trailers);
}

/** A bug on our side; the message stays generic so internals do not leak to clients. */
export function internalError(): ServerErrorResponse {
  return serverError(status.INTERNAL, 'internal error in the OTLP/gRPC receiver');
}
