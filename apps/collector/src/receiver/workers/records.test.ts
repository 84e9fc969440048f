import { describe, expect, it } from 'vitest';
import { encodeTraceRequest, indexTraceRequest, plainSpan, scanTraceRequest, scanValidatedTraceRequest, traceIdHex, WireSpan } from '#spanring/otlp';
import { makeSpan } from '../../../../../libs/pipeline/src/test-support.ts';
import { decodeRecord } from './worker-intake.ts';
import { readRecord, recordLength, SpanTooLargeError, toRecords, type RingRecord } from './records.ts';

/** The record as the ring holds it: request bytes, then the index. */
function inRing(record: RingRecord): Uint8Array {
  const bytes = new Uint8Array(recordLength(record));
  bytes.set(record.bytes);
  bytes.set(record.index, record.bytes.byteLength);
  return bytes;
}

describe('receiver worker ring records', () => {
  const spans = Array.from({ length: 300 }, (_, i) => makeSpan(i >> 3, i));
  const protobuf = encodeTraceRequest(spans);
  const traceIdIndex = indexTraceRequest(protobuf);
  /** What RingSink.decode gives a protobuf request that fits: validated and indexed, no spans built. */
  const indexed = { spanCount: spans.length, bytes: protobuf.byteLength, spans: undefined, protobuf, traceIdIndex };
  const fromProtobuf = { spanCount: spans.length, bytes: protobuf.byteLength, spans, protobuf };
  const fromJson = { spanCount: spans.length, bytes: 0, spans, protobuf: undefined };
  /** Room for the request and its index: 4 bytes per span and 4 for the count (W14). */
  const fits = protobuf.byteLength + 4 * 301;

  it('writes a protobuf request that fits as one record, byte for byte, followed by its span index', () => {
    const [record, ...rest] = toRecords(indexed, fits);
    expect(rest).toEqual([]);
    expect(record!.bytes).toBe(protobuf);
    expect(record!.spanCount).toBe(300);
    expect(recordLength(record!)).toBe(fits);
    const { request, traceIdIndex: read } = readRecord(inRing(record!));
    expect(request).toEqual(protobuf);
    expect([...read]).toEqual([...traceIdIndex]);
    expect(() => toRecords(indexed, fits - 1)).toThrow(/must be decoded into spans/);
  });

  it('the main thread reads a record into the same spans the request holds (W14)', () => {
    for (const record of [...toRecords(indexed, fits), ...toRecords(fromJson, fits), ...toRecords(fromProtobuf, Math.floor(fits / 5))]) {
      const decoded = decodeRecord(inRing(record));
      const checked = scanValidatedTraceRequest(record.bytes) as WireSpan[];
      expect(decoded.map((span) => span instanceof WireSpan && [span.wireStart, span.wireEnd, traceIdHex(span)])).toEqual(
        checked.map((span) => [span.wireStart, span.wireEnd, traceIdHex(span)]),
      );
      expect(decoded.map(plainSpan)).toEqual(checked.map(plainSpan));
    }
    expect(() => readRecord(new Uint8Array([9, 0, 0, 0]))).toThrow(/too short for the span index/);
  });

  it('splits a larger request at span boundaries into valid requests that fit with their index, in order, losing nothing', () => {
    const max = Math.floor(fits / 7);
    const records = toRecords(fromProtobuf, max);
    expect(records.length).toBeGreaterThan(6);
    for (const record of records) expect(recordLength(record)).toBeLessThanOrEqual(max);
    const decoded = records.flatMap((record) => scanTraceRequest(record.bytes).map(plainSpan));
    expect(records.reduce((sum, record) => sum + record.spanCount, 0)).toBe(300);
    expect(decoded).toEqual(spans.map(plainSpan));
  });

  it('re-encodes JSON-decoded spans (no protobuf bytes) as one record when they fit', () => {
    const records = toRecords(fromJson, 1 << 24);
    expect(records).toHaveLength(1);
    expect(scanTraceRequest(records[0]!.bytes).map(plainSpan)).toEqual(spans.map(plainSpan));
  });

  it('refuses a single span larger than a record with a typed error', () => {
    expect(() => toRecords({ spanCount: 1, bytes: 0, spans: spans.slice(0, 1), protobuf: undefined }, 16)).toThrow(SpanTooLargeError);
  });
});
