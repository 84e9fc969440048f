/**
 * One ring record = one valid OTLP ExportTraceServiceRequest and its span index
 * (specs/receiver-workers.md W1, W14). A protobuf request that fits is its own record, byte for
 * byte; anything else (JSON, or a request larger than a record may be) is re-encoded, split at
 * span boundaries when needed.
 *
 * Layout: the request's bytes, then the index: where each span's trace id starts in those
 * bytes (indexTraceRequest), one little-endian uint32 per span in span order, then the span
 * count as one more. The main thread builds the spans from the index (scanIndexedTraceRequest)
 * instead of walking every span's fields a second time. Little-endian written byte by byte, so
 * neither side depends on the platform's byte order or on the index being 4-byte aligned.
 */
import { encodeTraceRequest, indexTraceRequest, type Span } from '#spanring/otlp';
import type { DecodedRequest } from '../span-sink.ts';

export interface RingRecord {
  /** The request's bytes. */
  readonly bytes: Uint8Array;
  /** The span index written after them (indexBytes). */
  readonly index: Uint8Array;
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

/** Bytes a record takes in the ring. */
export function recordLength(record: RingRecord): number {
  return record.bytes.byteLength + record.index.byteLength;
}

/** Whether a request of `requestBytes` with `spanCount` spans fits one record with its index. */
export function fitsOneRecord(requestBytes: number, spanCount: number, maxRecordBytes: number): boolean {
  return requestBytes + indexLength(spanCount) <= maxRecordBytes;
}

/** The records carrying a request, in span order; each at most maxRecordBytes. */
export function toRecords(request: DecodedRequest, maxRecordBytes: number): RingRecord[] {
  const { protobuf, spans, traceIdIndex } = request;
  if (protobuf !== undefined && traceIdIndex !== undefined && fitsOneRecord(protobuf.byteLength, traceIdIndex.length, maxRecordBytes)) {
    return [{ bytes: protobuf, index: indexBytes(traceIdIndex), spanCount: traceIdIndex.length }];
  }
  if (spans === undefined) throw new Error('a request without its span index, or larger than a ring record, must be decoded into spans (RingSink.decode)');
  const records: RingRecord[] = [];
  splitInto(spans, maxRecordBytes, records);
  return records;
}

/** A record's request bytes and span index, as toRecords wrote them: views into `record`. */
export interface RecordParts {
  readonly request: Uint8Array;
  readonly traceIdIndex: Uint32Array;
}

/** Index storage readRecord reuses: records are read one at a time on the main thread. */
let indexScratch = new Uint32Array(1024);

/**
 * Splits a record into its request bytes and span index. The index view is valid until the
 * next call. Throws when the record is too short for the span count it ends with (a bug: the
 * worker wrote it).
 */
export function readRecord(record: Uint8Array): RecordParts {
  const length = record.byteLength;
  const spanCount = length >= 4 ? readUint32(record, length - 4) : -1;
  const requestLength = length - indexLength(spanCount);
  if (spanCount < 0 || requestLength < 0) throw new Error(`a ${length}-byte ring record is too short for the span index it ends with`);
  if (indexScratch.length < spanCount) indexScratch = new Uint32Array(Math.max(spanCount, indexScratch.length * 2));
  for (let i = 0, at = requestLength; i < spanCount; i++, at += 4) indexScratch[i] = readUint32(record, at);
  return { request: record.subarray(0, requestLength), traceIdIndex: indexScratch.subarray(0, spanCount) };
}

function indexLength(spanCount: number): number {
  return 4 * (spanCount + 1);
}

function indexBytes(traceIdIndex: Uint32Array): Uint8Array {
  const out = new Uint8Array(indexLength(traceIdIndex.length));
  let at = 0;
  for (let i = 0; i < traceIdIndex.length; i++, at += 4) writeUint32(out, at, traceIdIndex[i]!);
  writeUint32(out, at, traceIdIndex.length);
  return out;
}

function writeUint32(out: Uint8Array, at: number, value: number): void {
  out[at] = value & 0xff;
  out[at + 1] = (value >>> 8) & 0xff;
  out[at + 2] = (value >>> 16) & 0xff;
  out[at + 3] = value >>> 24;
}

function readUint32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

/** Encodes spans into one record: the one place records are made from spans. */
function encodeRecord(spans: readonly Span[]): RingRecord {
  const bytes = encodeTraceRequest(spans);
  // Our own encoding decodes (C5), so indexing it cannot fail; it is the rare path (JSON, splits).
  return { bytes, index: indexBytes(indexTraceRequest(bytes)), spanCount: spans.length };
}

/** Slack so that proportional slices usually fit on the first try. */
const SPLIT_SLACK = 1.1;

function splitInto(spans: readonly Span[], maxRecordBytes: number, out: RingRecord[]): void {
  const record = encodeRecord(spans);
  const length = recordLength(record);
  if (length <= maxRecordBytes) {
    out.push(record);
    return;
  }
  if (spans.length === 1) throw new SpanTooLargeError(length, maxRecordBytes);
  // Slices sized in proportion to the bytes; a slice that is still too large splits again.
  const parts = Math.min(spans.length, Math.ceil((length * SPLIT_SLACK) / maxRecordBytes));
  const perPart = Math.ceil(spans.length / parts);
  for (let from = 0; from < spans.length; from += perPart) splitInto(spans.slice(from, from + perPart), maxRecordBytes, out);
}
