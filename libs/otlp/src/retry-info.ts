/**
 * google.rpc.RetryInfo, the status detail a gRPC server attaches (inside the google.rpc.Status
 * of the `grpc-status-details-bin` trailer) to say how long a client should wait before
 * retrying. Schema, from googleapis google/rpc/error_details.proto and
 * google/protobuf/duration.proto:
 *   message RetryInfo { google.protobuf.Duration retry_delay = 1; }
 *   message Duration { int64 seconds = 1; int32 nanos = 2; }
 */
import { OtlpDecodeError, OtlpEncodeError, rethrowUnder } from './errors.ts';
import { Wire } from './schema.ts';
import { checkInt32, checkInt64 } from './validate.ts';
import { ProtoReader, ProtoWriter } from './wire.ts';

/** The type URL of a RetryInfo packed in a google.protobuf.Any (e.g. google.rpc.Status.details). */
export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/** google.protobuf.Duration: a signed span of time, seconds plus a same-signed nanosecond fraction. */
export interface ProtoDuration {
  readonly seconds: bigint;
  readonly nanos: number;
}

/** google.rpc.RetryInfo. `retryDelay` undefined means the field was absent. */
export interface RetryInfo {
  readonly retryDelay: ProtoDuration | undefined;
}

/** Duration.seconds bound from duration.proto: about ±10,000 years. */
const MAX_DURATION_SECONDS = 315_576_000_000n;
const MAX_DURATION_NANOS = 999_999_999;

// Names are the proto3 JSON names, so errors name fields as the rest of the codec does.
const RetryInfoTag = { retryDelay: 1 * 8 + Wire.Len } as const;
const DurationTag = { seconds: 1 * 8 + Wire.Varint, nanos: 2 * 8 + Wire.Varint } as const;

export function encodeRetryInfo(info: RetryInfo): Uint8Array {
  const writer = new ProtoWriter(32);
  const delay = info.retryDelay;
  if (delay !== undefined) {
    checkDurationTypes(delay, 'retryDelay');
    checkDurationRange(delay, 'retryDelay', (path, reason) => new OtlpEncodeError(path, reason));
    // Safety: begin/end reserve and patch the length prefix, so the nested Duration may be any size.
    const at = writer.begin(RetryInfoTag.retryDelay);
    if (delay.seconds !== 0n) {
      writer.tag(DurationTag.seconds);
      writer.int64(delay.seconds);
    }
    if (delay.nanos !== 0) {
      writer.tag(DurationTag.nanos);
      writer.int32(delay.nanos);
    }
    writer.end(at);
  }
  return writer.finish();
}

export function decodeRetryInfo(bytes: Uint8Array): RetryInfo {
  const reader = new ProtoReader(bytes);
  let retryDelay: ProtoDuration | undefined;
  while (reader.more()) {
    const tag = reader.tag();
    if (tag !== RetryInfoTag.retryDelay) {
      reader.skipUnknown(tag, RetryInfoTag);
      continue;
    }
    try {
      retryDelay = decodeDuration(reader, retryDelay);
    } catch (error) {
      rethrowUnder(error, 'retryDelay');
    }
  }
  if (retryDelay !== undefined) checkDurationRange(retryDelay, 'retryDelay', (path, reason) => new OtlpDecodeError(path, reason));
  return { retryDelay };
}

/** A repeated retry_delay merges into the earlier one field by field, as protobuf merges messages. */
function decodeDuration(reader: ProtoReader, earlier: ProtoDuration | undefined): ProtoDuration {
  // Invariant: enter() limits reads to the Duration's own bytes until leave() restores the outer limit.
  const outer = reader.enter();
  let seconds = earlier?.seconds ?? 0n;
  let nanos = earlier?.nanos ?? 0;
  let field = '';
  try {
    while (reader.more()) {
      field = '';
      const tag = reader.tag();
      if (tag === DurationTag.seconds) {
        field = 'seconds';
        seconds = reader.int64();
      } else if (tag === DurationTag.nanos) {
        field = 'nanos';
        nanos = reader.int32();
      } else {
        reader.skipUnknown(tag, DurationTag);
      }
    }
  } catch (error) {
    rethrowUnder(error, field);
  }
  reader.leave(outer);
  return { seconds, nanos };
}

type ErrorFactory = (path: string, reason: string) => Error;

function checkDurationTypes(duration: ProtoDuration, path: string): void {
  if (typeof duration.seconds !== 'bigint') {
    throw new OtlpEncodeError(`${path}.seconds`, `must be a bigint, got ${typeof duration.seconds}`);
  }
  checkInt64(duration.seconds, `${path}.seconds`);
  checkInt32(duration.nanos, `${path}.nanos`);
}

/**
 * duration.proto's validity rules: bounded seconds, |nanos| < 1e9, and both of one sign.
 * Decoding checks them too, so a caller never computes a delay from a malformed Duration.
 */
function checkDurationRange(duration: ProtoDuration, path: string, fail: ErrorFactory): void {
  const { seconds, nanos } = duration;
  if (seconds > MAX_DURATION_SECONDS || seconds < -MAX_DURATION_SECONDS) {
    throw fail(`${path}.seconds`, `${seconds} is outside ±${MAX_DURATION_SECONDS} (google.protobuf.Duration range)`);
  }
  if (nanos > MAX_DURATION_NANOS || nanos < -MAX_DURATION_NANOS) {
    throw fail(`${path}.nanos`, `${nanos} is outside ±${MAX_DURATION_NANOS}`);
  }
  if ((seconds > 0n && nanos < 0) || (seconds < 0n && nanos > 0)) {
    throw fail(path, `seconds (${seconds}) and nanos (${nanos}) must have the same sign`);
  }
}
