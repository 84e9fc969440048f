/**
 * The receivers' scan (scanTraceRequest → WireSpan): same outcome as the full decoder on every
 * input (C22), and spans re-encoded as the bytes they arrived in (C21). proto.test.ts runs all
 * of its decoding rules against the scan as well.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OtlpDecodeError } from './errors.ts';
import {
  countTraceRequestSpans,
  decodeTraceRequest,
  encodeTraceRequest,
  indexTraceRequest,
  plainSpan,
  scanIndexedTraceRequest,
  scanTraceRequest,
  scanValidatedTraceRequest,
  traceIdHex,
  validateTraceRequest,
  WireSpan,
} from './index.ts';
import type { Span } from './index.ts';
import { len, shape, spansOf, str, vint } from './test-support.ts';

function outcome(decode: () => Span[]): { spans: Span[] } | { error: string } {
  try {
    return { spans: decode().map(plainSpan) };
  } catch (error) {
    if (error instanceof OtlpDecodeError) return { error: error.message };
    throw error;
  }
}

function countOutcome(count: () => number): { count: number } | { error: string } {
  try {
    return { count: count() };
  } catch (error) {
    if (error instanceof OtlpDecodeError) return { error: error.message };
    throw error;
  }
}

/** The scan, the count-only validation and the indexing validation all agree with the decoder. */
function expectSameOutcome(bytes: Uint8Array): void {
  const decoded = outcome(() => decodeTraceRequest(bytes));
  expect(outcome(() => scanTraceRequest(bytes))).toEqual(decoded);
  const counted = 'spans' in decoded ? { count: decoded.spans.length } : decoded;
  expect(countOutcome(() => validateTraceRequest(bytes))).toEqual(counted);
  expect(countOutcome(() => indexTraceRequest(bytes).length)).toEqual(counted);
}

/** Where a WireSpan sits in its request and which trace it names. */
function placement(span: Span): [number, number, string] {
  if (!(span instanceof WireSpan)) throw new Error('expected a WireSpan');
  return [span.wireStart, span.wireEnd, traceIdHex(span)];
}

describe('scanTraceRequest', () => {
  it('returns WireSpans that re-encode to exactly the bytes they were scanned from', () => {
    fc.assert(
      fc.property(shape, (request) => {
        const bytes = encodeTraceRequest(spansOf(request));
        const scanned = scanTraceRequest(bytes);
        expect(scanned.every((span) => span instanceof WireSpan)).toBe(true);
        expect(encodeTraceRequest(scanned)).toEqual(bytes);
        expect(scanned.map(plainSpan)).toEqual(decodeTraceRequest(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('has the decoder outcome, error message included, on every corrupted byte and cut of generated requests (validateTraceRequest too)', () => {
    fc.assert(
      fc.property(shape, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(), (request, at, byte, cut) => {
        const bytes = encodeTraceRequest(spansOf(request));
        if (bytes.length === 0) return;
        const corrupted = bytes.slice();
        corrupted[at % bytes.length] = byte;
        expectSameOutcome(corrupted);
        expectSameOutcome(bytes.subarray(0, cut % bytes.length));
      }),
      { numRuns: 1000 },
    );
  });

  it('has the decoder outcome on random bytes (validateTraceRequest too)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => expectSameOutcome(bytes)), { numRuns: 1000 });
  });

  it('keeps unknown span fields on the way through, unlike the full decoder', () => {
    const traceId = Array.from({ length: 16 }, (_, i) => i + 1);
    const span = len(2, len(1, traceId), len(2, [1, 2, 3, 4, 5, 6, 7, 8]), str(5, 'op'), vint(99, 7));
    const bytes = new Uint8Array(len(1, len(2, span)));
    const [scanned] = scanTraceRequest(bytes) as [WireSpan];
    expect(encodeTraceRequest([scanned])).toEqual(bytes);
    expect(encodeTraceRequest([plainSpan(scanned)])).not.toEqual(bytes);
    expect(scanned.name).toBe('op');
  });

  it('reads the trace id into four big-endian words without decoding the span', () => {
    const traceId = [0x80, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0];
    const bytes = new Uint8Array(len(1, len(2, len(2, len(1, traceId), len(2, [1, 2, 3, 4, 5, 6, 7, 8])))));
    const [span] = scanTraceRequest(bytes) as [WireSpan];
    expect([span.traceWord0, span.traceWord1, span.traceWord2, span.traceWord3]).toEqual([0x80000001 | 0, 0x7fffffff, 0xdeadbeef | 0, 0]);
    expect([...span.traceId]).toEqual(traceId);
    expect(traceIdHex(span)).toBe('800000017fffffffdeadbeef00000000');
    expect(traceIdHex(plainSpan(span))).toBe(traceIdHex(span));
  });

  it('encodes WireSpans and decoded spans together in one request, grouped by holder', () => {
    fc.assert(
      fc.property(shape, shape, (first, second) => {
        const scanned = scanTraceRequest(encodeTraceRequest(spansOf(first)));
        const plain = spansOf(second);
        const mixed = [...scanned, ...plain];
        expect(decodeTraceRequest(encodeTraceRequest(mixed))).toEqual(decodeTraceRequest(encodeTraceRequest(mixed.map(plainSpan))));
      }),
      { numRuns: 100 },
    );
  });

  it('validateTraceRequest counts the spans of valid requests without building them', () => {
    fc.assert(
      fc.property(shape, (request) => {
        const spans = spansOf(request);
        expect(validateTraceRequest(encodeTraceRequest(spans))).toBe(spans.length);
      }),
      { numRuns: 200 },
    );
  });

  it('countTraceRequestSpans counts what the decoder decodes, on every input the decoder accepts', () => {
    fc.assert(
      fc.property(shape, fc.nat(), fc.integer({ min: 0, max: 255 }), (request, at, byte) => {
        const bytes = encodeTraceRequest(spansOf(request));
        expect(countTraceRequestSpans(bytes)).toBe(spansOf(request).length);
        if (bytes.length === 0) return;
        const corrupted = bytes.slice();
        corrupted[at % bytes.length] = byte;
        const decoded = outcome(() => decodeTraceRequest(corrupted));
        if ('spans' in decoded) expect(countOutcome(() => countTraceRequestSpans(corrupted))).toEqual({ count: decoded.spans.length });
      }),
      { numRuns: 500 },
    );
    // A span too broken for the decoder is still counted: the count does not look inside spans.
    const badSpan = new Uint8Array(len(1, len(2, len(2, len(1, [1, 2, 3])))));
    expect(() => decodeTraceRequest(badSpan)).toThrow(OtlpDecodeError);
    expect(countTraceRequestSpans(badSpan)).toBe(1);
  });

  it('scanIndexedTraceRequest with the index indexTraceRequest made gives the same WireSpans as scanValidatedTraceRequest (C24)', () => {
    fc.assert(
      fc.property(shape, (request) => {
        const bytes = encodeTraceRequest(spansOf(request));
        const index = indexTraceRequest(bytes);
        const indexed = scanIndexedTraceRequest(bytes, index);
        const trusted = scanValidatedTraceRequest(bytes);
        expect(index.length).toBe(spansOf(request).length);
        expect(indexed.map(placement)).toEqual(trusted.map(placement));
        expect(indexed.map(plainSpan)).toEqual(trusted.map(plainSpan));
      }),
      { numRuns: 200 },
    );
    // Invariant C20 holds through the index: a repeated trace id keeps its last value.
    const twoTraceIds = new Uint8Array(len(1, len(2, len(2, [...len(1, Array(16).fill(1)), ...len(1, Array(16).fill(2)), ...len(2, Array(8).fill(3))]))));
    expect(scanIndexedTraceRequest(twoTraceIds, indexTraceRequest(twoTraceIds)).map(traceIdHex)).toEqual(['02'.repeat(16)]);
  });

  it('scanIndexedTraceRequest refuses an index that does not fit the request: a span too many or too few, an offset outside its span', () => {
    fc.assert(
      fc.property(shape, fc.nat(), (request, pick) => {
        const bytes = encodeTraceRequest(spansOf(request));
        const index = indexTraceRequest(bytes);
        if (index.length === 0) return;
        const spans = scanIndexedTraceRequest(bytes, index) as WireSpan[];
        expect(() => scanIndexedTraceRequest(bytes, index.subarray(1))).toThrow(OtlpDecodeError);
        expect(() => scanIndexedTraceRequest(bytes, Uint32Array.of(...index, index[0]!))).toThrow(/lists \d+ spans but the request holds/);
        const i = pick % index.length;
        for (const outside of [spans[i]!.wireStart - 1, spans[i]!.wireEnd - 15]) {
          const wrong = index.slice();
          wrong[i] = outside;
          expect(() => scanIndexedTraceRequest(bytes, wrong)).toThrow(/indexed trace id offset is outside the span/);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('scanValidatedTraceRequest gives validated bytes the same WireSpans as scanTraceRequest', () => {
    fc.assert(
      fc.property(shape, (request) => {
        const bytes = encodeTraceRequest(spansOf(request));
        const trusted = scanValidatedTraceRequest(bytes);
        const checked = scanTraceRequest(bytes) as WireSpan[];
        expect(trusted.map((span) => span instanceof WireSpan && [span.wireStart, span.wireEnd, traceIdHex(span)])).toEqual(
          checked.map((span) => [span.wireStart, span.wireEnd, traceIdHex(span)]),
        );
        expect(trusted.map(plainSpan)).toEqual(checked.map(plainSpan));
      }),
      { numRuns: 200 },
    );
  });
});
