/**
 * The SpanSink of a receiver worker thread: each request becomes ring records (records.ts)
 * written by the worker's FairRingWriter into its own SharedRing; accepted/refused counts go
 * to a shared counters buffer the main thread reads for otelcol_receiver_* metrics.
 */
import type { AdmitOutcome, ReceivedRequest, SpanSink, Transport } from '../span-sink.ts';
import type { FairRingWriter } from './fair-ring-writer.ts';
import { COUNTER_INDEX } from './protocol.ts';
import { toRecords } from './records.ts';

export class RingSink implements SpanSink {
  readonly retryAfterSeconds: number;
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

  admit(request: ReceivedRequest): Promise<AdmitOutcome> {
    return this.writer.write(request.clientKey, toRecords(request.spans, request.protobuf, this.maxRecordBytes), request.signal);
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
