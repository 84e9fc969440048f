/**
 * The SpanSink of a receiver worker thread: each request becomes ring records (records.ts)
 * written by the worker's FairRingWriter into its own SharedRing; accepted/refused counts go
 * to a shared counters buffer the main thread reads for otelcol_receiver_* metrics.
 */
import { BufferPool, indexTraceRequest } from '#spanring/otlp';
import { decodeSpans, type AdmitOutcome, type DecodedRequest, type ReceivedRequest, type SpanSink, type Transport } from '../span-sink.ts';
import type { FairRingWriter } from './fair-ring-writer.ts';
import { COUNTER_INDEX } from './protocol.ts';
import { fitsOneRecord, toRecords } from './records.ts';

/**
 * Free request-body buffers a worker keeps for reuse: 32 bodies of the load generator's 512-span
 * requests (~210 KiB, the 256 KiB class). Bodies in use are not counted; they are bounded by
 * the clients sending at once.
 */
const POOLED_BODY_BYTES = 8 * 1024 * 1024;

export class RingSink implements SpanSink {
  readonly retryAfterSeconds: number;
  /** Invariant W11: admit() copies a body into the ring or refuses it, and keeps nothing of it. */
  readonly bodyPool = new BufferPool(POOLED_BODY_BYTES);
  private readonly writer: FairRingWriter;
  private readonly counters: BigInt64Array;
  private readonly maxRecordBytes: number;
  private draining = false;

  constructor(writer: FairRingWriter, counters: SharedArrayBuffer, maxRecordBytes: number, retryAfterSeconds: number) {
    this.writer = writer;
    this.counters = new BigInt64Array(counters);
    this.maxRecordBytes = maxRecordBytes;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  accepting(): boolean {
    return !this.draining;
  }

  /** From now on requests are answered 503 / UNAVAILABLE; those already admitted finish. */
  startDraining(): void {
    this.draining = true;
  }

  wouldRefuse(clientKey: string, bytes: number): boolean {
    return this.writer.mustRefuse(clientKey, bytes);
  }

  decode(format: 'protobuf' | 'json', body: Uint8Array): DecodedRequest {
    // A protobuf request that fits a record goes into the ring byte for byte with its span
    // index (records.ts), so checking and indexing it is enough: spans built here would only be
    // garbage once the bytes are copied.
    if (format === 'protobuf' && body.byteLength <= this.maxRecordBytes) {
      const traceIdIndex = indexTraceRequest(body);
      if (fitsOneRecord(body.byteLength, traceIdIndex.length, this.maxRecordBytes)) {
        return { spanCount: traceIdIndex.length, bytes: body.byteLength, spans: undefined, protobuf: body, traceIdIndex };
      }
    }
    return decodeSpans(format, body);
  }

  admit(request: ReceivedRequest): Promise<AdmitOutcome> {
    return this.writer.write(request.clientKey, toRecords(request, this.maxRecordBytes), request.signal);
  }

  count(transport: Transport, accepted: number, refused: number): void {
    // Invariant W5: counted before the answer goes out, so the main thread's metrics are exact
    // for every answered request. Only this thread writes these words; Atomics make the main
    // thread's reads whole 64-bit values.
    const index = COUNTER_INDEX[transport];
    if (accepted > 0) Atomics.add(this.counters, index.accepted, BigInt(accepted));
    if (refused > 0) Atomics.add(this.counters, index.refused, BigInt(refused));
  }
}
