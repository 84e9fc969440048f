import type { Metadata } from '@grpc/grpc-js';
import { decodeRetryInfo, decodeRpcStatus, OtlpDecodeError, RETRY_INFO_TYPE_URL } from '#spanring/otlp';
import type { ProtoDuration } from '#spanring/otlp';

/** The trailer in which gRPC servers send the full google.rpc.Status, details included. */
export const STATUS_DETAILS_TRAILER = 'grpc-status-details-bin';

const RETRY_INFO_TYPE_NAME = RETRY_INFO_TYPE_URL.slice(RETRY_INFO_TYPE_URL.lastIndexOf('/') + 1);

/**
 * The delay a server asked for with google.rpc.RetryInfo in the status details trailer, in ms;
 * undefined when it attached none. RetryInfo without retry_delay yields 0: as in the Collector,
 * its presence alone makes RESOURCE_EXHAUSTED retryable.
 */
export function retryDelayFromTrailers(trailers: Metadata | undefined): number | undefined {
  for (const value of trailers?.get(STATUS_DETAILS_TRAILER) ?? []) {
    // grpc-js hands "-bin" values over base64-decoded, as Buffers; a string cannot be a Status.
    if (typeof value === 'string') continue;
    const delay = retryDelayFromStatus(value);
    if (delay !== undefined) return delay;
  }
  return undefined;
}

/** Same as retryDelayFromTrailers, from the bytes of one google.rpc.Status. */
export function retryDelayFromStatus(statusBytes: Uint8Array): number | undefined {
  try {
    const status = decodeRpcStatus(statusBytes);
    // Any type URLs may use another host than type.googleapis.com; the type name is what counts.
    const detail = status.details.find((any) => any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1) === RETRY_INFO_TYPE_NAME);
    if (detail === undefined) return undefined;
    const { retryDelay } = decodeRetryInfo(detail.value);
    return retryDelay === undefined ? 0 : durationToMs(retryDelay);
  } catch (error) {
    // A malformed trailer must not turn a classified failure into a crash; it only loses the hint.
    if (error instanceof OtlpDecodeError) return undefined;
    throw error;
  }
}

/** Rounded up so a retry never comes before the server's delay; a negative delay means none. */
function durationToMs(duration: ProtoDuration): number {
  const nanos = duration.seconds * 1_000_000_000n + BigInt(duration.nanos);
  if (nanos <= 0n) return 0;
  return Number((nanos + 999_999n) / 1_000_000n);
}
