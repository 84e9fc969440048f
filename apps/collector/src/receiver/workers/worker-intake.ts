/**
 * The main thread's intake from the receiver workers: takes one record at a time from the
 * workers' shared rings (round-robin), copies it out of shared memory, decodes it and submits
 * its spans into the SpanCollector through the worker's own producer, waiting for span-ring
 * space without a timeout before it takes the next record. So when the pipeline is full the
 * shared rings stop draining, fill, and the workers answer 429 / UNAVAILABLE
 * (specs/receiver-workers.md W7).
 */
import { scanIndexedTraceRequest, type Span } from '#spanring/otlp';
import type { AsyncSpanProducer } from '#spanring/pipeline';
import type { RecordHandler, SharedChannel } from '#spanring/ringmpsc';
import type { RecordArena } from './record-arena.ts';
import { readRecord } from './records.ts';

/**
 * Decodes one ring record: an ExportTraceServiceRequest the worker already validated (or
 * encoded itself) and its span index, so only the request's structure is read: no span field
 * is looked at again (W14).
 */
export function decodeRecord(record: Uint8Array): Span[] {
  const { request, traceIdIndex } = readRecord(record);
  return scanIndexedTraceRequest(request, traceIdIndex);
}

/** How often an idle intake re-checks whether a worker died without closing its ring. */
const IDLE_RECHECK_MS = 1_000;

export interface WorkerIntakeOptions {
  readonly channel: SharedChannel;
  /** The span producer of ring i (worker i). */
  readonly producers: readonly AsyncSpanProducer[];
  /** Every worker closed its ring or exited (read before emptiness, ring-buffer S6). */
  readonly workersDone: () => boolean;
  readonly logError: (message: string) => void;
  /**
   * Where records are copied when the collector releases spans (SpanCollector.releasesSpans,
   * with arena.release registered as its listener); undefined: a fresh copy per record.
   */
  readonly arena?: RecordArena | undefined;
}

export class WorkerIntake {
  /** Spans acknowledged by a worker that the collector refused (only if shut down too early). */
  lostSpans = 0;
  /** Records taken from the workers' rings (a split request is several). */
  records = 0;
  private readonly options: WorkerIntakeOptions;
  private record: Uint8Array | undefined;
  private recordRing = 0;
  private readonly take: RecordHandler = (bytes, offset, length, ringIndex) => {
    // Safety: the record is valid only during this call (ring-buffer S2/Q5): copy it out
    // before the head moves and the worker may overwrite it.
    const arena = this.options.arena;
    this.record = arena === undefined ? bytes.slice(offset, offset + length) : arena.copy(bytes, offset, length);
    this.recordRing = ringIndex;
  };

  constructor(options: WorkerIntakeOptions) {
    this.options = options;
  }

  /** Runs until every worker is done and every ring is empty. */
  async run(): Promise<void> {
    const { channel } = this.options;
    for (;;) {
      if (channel.consumeAllUpTo(1, this.take) === 1) {
        this.records++;
        await this.submit(this.recordRing, this.record!);
        this.record = undefined;
        continue;
      }
      if (this.options.workersDone() && channel.isEmpty()) return;
      await channel.waitForData(IDLE_RECHECK_MS);
    }
  }

  private async submit(ring: number, record: Uint8Array): Promise<void> {
    let spans: Span[];
    try {
      spans = decodeRecord(record);
    } catch (error) {
      // Workers write only validated requests; this is a bug, and the record cannot be saved.
      this.options.logError(`receiver worker ${ring} wrote an undecodable record (${record.byteLength} bytes), dropped: ${String(error)}`);
      return;
    }
    // Invariant W12: counted before any of them can reach the collector, and so be released.
    this.options.arena?.hold(record, spans.length);
    // Invariant W7: no timeout; the worker acknowledged these spans, so they must get in.
    const { accepted, refusal } = await this.options.producers[ring]!.admit(spans, { timeoutMs: Number.POSITIVE_INFINITY });
    if (refusal !== undefined) {
      this.lostSpans += spans.length - accepted;
      this.options.logError(
        `${spans.length - accepted} span(s) acknowledged by receiver worker ${ring} were refused by the collector ` +
          `(${refusal.message}): the collector was shut down before the receiver workers drained`,
      );
    }
  }
}
