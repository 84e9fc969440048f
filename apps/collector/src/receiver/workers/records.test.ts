import { describe, expect, it } from 'vitest';
import { encodeTraceRequest, plainSpan, scanTraceRequest } from '#spanring/otlp';
import { makeSpan } from '../../../../../libs/pipeline/src/test-support.ts';
import { SpanTooLargeError, toRecords } from './records.ts';

describe('receiver worker ring records', () => {
  const spans = Array.from({ length: 300 }, (_, i) => makeSpan(i >> 3, i));
  const protobuf = encodeTraceRequest(spans);
  const fromProtobuf = { spanCount: spans.length, bytes: protobuf.byteLength, spans, protobuf };
  const fromJson = { spanCount: spans.length, bytes: 0, spans, protobuf: undefined };

  it('writes a protobuf request that fits as one record, byte for byte', () => {
    const [record, ...rest] = toRecords(fromProtobuf, protobuf.byteLength);
    expect(rest).toEqual([]);
    expect(record!.bytes).toBe(protobuf);
    expect(record!.spanCount).toBe(300);
  });

  it('passes on validated-only protobuf bytes (no spans built) with their span count', () => {
    const [record, ...rest] = toRecords({ spanCount: 300, bytes: protobuf.byteLength, spans: undefined, protobuf }, protobuf.byteLength);
    expect(rest).toEqual([]);
    expect(record).toEqual({ bytes: protobuf, spanCount: 300 });
    expect(() => toRecords({ spanCount: 300, bytes: protobuf.byteLength, spans: undefined, protobuf }, protobuf.byteLength - 1)).toThrow(/must be decoded into spans/);
  });

  it('splits a larger request at span boundaries into valid requests that fit, in order, losing nothing', () => {
    const max = Math.floor(protobuf.byteLength / 7);
    const records = toRecords(fromProtobuf, max);
    expect(records.length).toBeGreaterThan(6);
    for (const record of records) expect(record.bytes.byteLength).toBeLessThanOrEqual(max);
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
