/**
 * RetryInfo against wire bytes built here from the protobuf encoding rules, independent of
 * ProtoWriter: RetryInfo { Duration retry_delay = 1 }, Duration { int64 seconds = 1; int32 nanos = 2 }.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OtlpDecodeError, OtlpEncodeError } from './errors.ts';
import { decodeRetryInfo, encodeRetryInfo, RETRY_INFO_TYPE_URL } from './retry-info.ts';
import type { RetryInfo } from './retry-info.ts';
import { len, vint, type Bytes } from './test-support.ts';

const retryInfoBytes = (duration: Bytes): Uint8Array => new Uint8Array(len(1, duration));

function decodeError(bytes: Uint8Array): OtlpDecodeError {
  try {
    decodeRetryInfo(bytes);
  } catch (error) {
    if (error instanceof OtlpDecodeError) return error;
    throw error;
  }
  throw new Error('expected an OtlpDecodeError, but decoding succeeded');
}

describe('RetryInfo codec', () => {
  it('names the Any type URL servers use', () => {
    expect(RETRY_INFO_TYPE_URL).toBe('type.googleapis.com/google.rpc.RetryInfo');
  });

  it('encodes seconds and nanos as the wire format says', () => {
    const bytes = encodeRetryInfo({ retryDelay: { seconds: 2n, nanos: 500_000_000 } });
    expect([...bytes]).toEqual(len(1, [...vint(1, 2), ...vint(2, 500_000_000)]));
  });

  it('decodes hand-built bytes', () => {
    const info = decodeRetryInfo(retryInfoBytes([...vint(1, 7), ...vint(2, 1)]));
    expect(info).toEqual({ retryDelay: { seconds: 7n, nanos: 1 } });
  });

  it('tells an absent retry_delay from a present zero one', () => {
    expect(decodeRetryInfo(new Uint8Array(0))).toEqual({ retryDelay: undefined });
    expect(encodeRetryInfo({ retryDelay: undefined })).toEqual(new Uint8Array(0));
    expect(decodeRetryInfo(retryInfoBytes([]))).toEqual({ retryDelay: { seconds: 0n, nanos: 0 } });
    expect([...encodeRetryInfo({ retryDelay: { seconds: 0n, nanos: 0 } })]).toEqual(len(1, []));
  });

  it('writes negative values sign-extended to ten bytes and reads them back', () => {
    const bytes = encodeRetryInfo({ retryDelay: { seconds: -3n, nanos: -5 } });
    expect([...bytes]).toEqual(len(1, [...vint(1, -3n), ...vint(2, -5n)]));
    expect(vint(2, -5n)).toHaveLength(11);
    expect(decodeRetryInfo(bytes)).toEqual({ retryDelay: { seconds: -3n, nanos: -5 } });
  });

  it('skips unknown fields at both levels', () => {
    const bytes = new Uint8Array([...vint(9, 1), ...len(1, [...vint(3, 99), ...vint(1, 4)]), ...len(15, [1, 2, 3])]);
    expect(decodeRetryInfo(bytes)).toEqual({ retryDelay: { seconds: 4n, nanos: 0 } });
  });

  it('merges a repeated retry_delay field by field, as protobuf merges messages', () => {
    const bytes = new Uint8Array([...len(1, vint(1, 4)), ...len(1, vint(2, 9))]);
    expect(decodeRetryInfo(bytes)).toEqual({ retryDelay: { seconds: 4n, nanos: 9 } });
  });

  it('round-trips every valid Duration', () => {
    const limit = 315_576_000_000n;
    const duration = fc
      .tuple(fc.bigInt({ min: -limit, max: limit }), fc.integer({ min: 0, max: 999_999_999 }))
      .map(([seconds, magnitude]) => ({ seconds, nanos: seconds < 0n && magnitude > 0 ? -magnitude : magnitude }));
    fc.assert(
      fc.property(duration, (retryDelay) => {
        const info: RetryInfo = { retryDelay };
        expect(decodeRetryInfo(encodeRetryInfo(info))).toEqual(info);
      }),
      { numRuns: 300 },
    );
  });
});

describe('RetryInfo validation', () => {
  it.each([
    ['nanos of a full second', [...vint(1, 1), ...vint(2, 1_000_000_000)], 'retryDelay.nanos'],
    ['seconds beyond ±10,000 years', vint(1, 315_576_000_001n), 'retryDelay.seconds'],
    ['seconds and nanos of opposite signs', [...vint(1, 1), ...vint(2, -1n)], 'retryDelay'],
  ])('rejects a Duration with %s', (_what, duration, path) => {
    expect(decodeError(retryInfoBytes(duration)).path).toBe(path);
  });

  it('rejects a retry_delay sent with the wrong wire type', () => {
    const error = decodeError(new Uint8Array(vint(1, 5)));
    expect(error.path).toBe('retryDelay');
    expect(error.reason).toContain('wire type 0');
  });

  it('rejects a Duration that runs past its length prefix', () => {
    const error = decodeError(new Uint8Array([0x0a, 0x05, 0x08, 0x01]));
    expect(error.reason).toContain('truncated');
  });

  it('refuses to encode what it would refuse to decode', () => {
    const bad = [
      { seconds: 1n, nanos: -1 },
      { seconds: 0n, nanos: 1e9 },
      { seconds: 315_576_000_001n, nanos: 0 },
      { seconds: 1n, nanos: 0.5 },
      { seconds: 1 as unknown as bigint, nanos: 0 },
    ];
    for (const retryDelay of bad) {
      expect(() => encodeRetryInfo({ retryDelay })).toThrow(OtlpEncodeError);
    }
  });
});
