/**
 * One ring record = one valid OTLP ExportTraceServiceRequest (specs/receiver-workers.md W1).
 * A protobuf request that fits is its own record, byte for byte; anything else (JSON, or a
 * request larger than a record may be) is re-encoded, split at span boundaries when needed.
 */
import { encodeTraceRequest, type Span } from '#spanring/otlp';
import type { DecodedRequest } from '../span-sink.ts';

export interface RingRecord {
  readonly bytes: Uint8Array;
  readonly spanCount: number;
}

/** A single span's encoding is larger than a ring record may be: it can never be received. */
export class SpanTooLargeError extends Error {
  constructor(spanBytes: number, maxRecordBytes: number) {
    super(
      `one span encodes to ${spanBytes} bytes, more than a receiver worker's ring record holds (${maxRecordBytes} bytes); ` +
        'run with spanring.workers: 0 or send smaller spans',
    );
    this.name = 'SpanTooLargeError';
  }
}

/** Encodes spans into one record's bytes: the one place records are made from spans. */
export function encodeRecord(spans: readonly Span[]): Uint8Array {
  return encodeTraceRequest(spans);
}

/** The records carrying a request, in span order; each at most maxRecordBytes. */
export function toRecords(request: DecodedRequest, maxRecordBytes: number): RingRecord[] {
  const { protobuf, spans } = request;
  if (protobuf !== undefined && protobuf.byteLength <= maxRecordBytes) return [{ bytes: protobuf, spanCount: request.spanCount }];
  if (spans === undefined) throw new Error('a request larger than a ring record must be decoded into spans to be split (RingSink.decode)');
  const records: RingRecord[] = [];
  splitInto(spans, maxRecordBytes, records);
  return records;
}

/** Slack so that proportional slices usually fit on the first try. */
const SPLIT_SLACK = 1.1;

function splitInto(spans: readonly Span[], maxRecordBytes: number, out: RingRecord[]): void {
  const bytes = encodeRecord(spans);
  if (bytes.byteLength <= maxRecordBytes) {
    out.push({ bytes, spanCount: spans.length });
    return;
  }
  if (spans.length === 1) throw new SpanTooLargeError(bytes.byteLength, maxRecordBytes);
  // Slices sized in proportion to the bytes; a slice that is still too large splits again.
  const parts = Math.min(spans.length, Math.ceil((bytes.byteLength * SPLIT_SLACK) / maxRecordBytes));
  const perPart = Math.ceil(spans.length / parts);
  for (let from = 0; from < spans.length; from += perPart) splitInto(spans.slice(from, from + perPart), maxRecordBytes, out);
}
