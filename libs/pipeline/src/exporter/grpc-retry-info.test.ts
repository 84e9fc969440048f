import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { encodeRetryInfo, encodeRpcStatus, RETRY_INFO_TYPE_URL } from '#spanring/otlp';
import type { ProtoAny, ProtoDuration } from '#spanring/otlp';
import { retryDelayFromStatus, retryDelayFromTrailers, STATUS_DETAILS_TRAILER } from './grpc-retry-info.ts';

const retryInfo = (retryDelay: ProtoDuration | undefined, typeUrl = RETRY_INFO_TYPE_URL): ProtoAny => ({ typeUrl, value: encodeRetryInfo({ retryDelay }) });
const status = (...details: ProtoAny[]): Uint8Array => encodeRpcStatus({ code: 8, message: 'quota', details });

describe('retryDelayFromStatus', () => {
  it.each([
    ['2 s', { seconds: 2n, nanos: 0 }, 2_000],
    ['1 ns', { seconds: 0n, nanos: 1 }, 1],
    ['1.999999999 s', { seconds: 1n, nanos: 999_999_999 }, 2_000],
    ['-3 s', { seconds: -3n, nanos: 0 }, 0],
  ])('turns a delay of %s into %i ms, never less than the server asked', (_label, delay, ms) => {
    expect(retryDelayFromStatus(status(retryInfo(delay)))).toBe(ms);
  });

  it('finds RetryInfo among other details, under any type URL host', () => {
    const other: ProtoAny = { typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo', value: new Uint8Array([10, 1, 65]) };
    const bytes = status(other, retryInfo({ seconds: 4n, nanos: 0 }, 'example.com/types/google.rpc.RetryInfo'));
    expect(retryDelayFromStatus(bytes)).toBe(4_000);
  });

  it('gives undefined without RetryInfo, or for bytes that are not a Status', () => {
    expect(retryDelayFromStatus(status())).toBeUndefined();
    expect(retryDelayFromStatus(new Uint8Array([0xff, 0xff]))).toBeUndefined();
    expect(retryDelayFromStatus(status({ typeUrl: RETRY_INFO_TYPE_URL, value: new Uint8Array([0x0a, 0x09]) }))).toBeUndefined();
  });
});

describe('retryDelayFromTrailers', () => {
  it('reads the grpc-status-details-bin trailer', () => {
    const trailers = new Metadata();
    trailers.set(STATUS_DETAILS_TRAILER, Buffer.from(status(retryInfo({ seconds: 1n, nanos: 500_000_000 }))));
    expect(retryDelayFromTrailers(trailers)).toBe(1_500);
    expect(retryDelayFromTrailers(new Metadata())).toBeUndefined();
    expect(retryDelayFromTrailers(undefined)).toBeUndefined();
  });
});
