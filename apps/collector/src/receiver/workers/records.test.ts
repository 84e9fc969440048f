import { describe, expect, it } from 'vitest';
import { encodeTraceRequest, plainSpan, scanTraceRequest } from '#spanring/otlp';
import { makeSpan } from '../../../../../libs/pipeline/src/test-support.ts';
import { SpanTooLargeError, toRecords } from './records.ts';

describe('receiver worker ring records', () => {
  const spans = Array.from({ length: 300 }, (_, i) => makeSpan(i >> 3, i));
  const protobuf = encodeTraceRequest(spans);

  it('writes a protobuf request that fits as one record, byte for byte', () => {
    const [record, ...rest] = toRecords(spans, protobuf, protobuf.byteLength);
    expect(rest).toEqual([]);
    expect(record!.bytes).toBe(protobuf);
    expect(record!.spanCount).toBe(300);
  });

  it('splits a larger request at span boundaries into valid requests that fit, in order, losing nothing', () => {
    const max = Math.floor(protobuf.byteLength / 7);
    const records = toRecords(spans, protobuf, max);
    expect(records.length).toBeGreaterThan(6);
    for (const record of records) expect(record.bytes.byteLength).toBeLessThanOrEqual(max);
    const decoded = records.flatMap((record) => scanTraceRequest(record.bytes).map(plainSpan));
    expect(records.reduce((sum, record) => sum + record.spanCount, 0)).toBe(300);
    expect(decoded).toEqual(spans.map(plainSpan));
  });

  it('re-encodes JSON-decoded spans (no protobuf bytes) as one record when they fit', () => {
    const records = toRecords(spans, undefined, 1 << 24);
    expect(records).toHaveLength(1);
    expect(scanTraceRequest(records[0]!.bytes).map(plainSpan)).toEqual(spans.map(plainSpan));
  });

  it('refuses a single span larger than a record with a typed error', () => {
    expect(() => toRecords(spans.slice(0, 1), undefined, 16)).toThrow(SpanTooLargeError);
  });
});
