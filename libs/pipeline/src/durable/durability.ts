/**
 * The persistent sending queue as the pipeline sees it (specs/durable-queue.md): every request
 * a receiver admits is numbered (its seq), its spans tagged with that seq, and the request's
 * protobuf bytes appended to the durable log; the receiver answers only once the append
 * resolved (acknowledge_after: durable). Exporters with storage settle batches back here,
 * which moves their cursors in the log, which frees its segments. On start, the log's records
 * no cursor passed are replayed into the pipeline before the receivers open.
 */
import { scanTraceRequest, WireSpan, type Span } from '#spanring/otlp';
import { DurableQueueFullError, DurableWriteError, PipelineConfigError } from '../errors.ts';
import type { PipelineLogger } from '../logger.ts';
import type { AsyncSpanProducer } from '../producer/span-producer.ts';
import type { AcknowledgeAfter, DurabilityOptions, DurableStore } from './durable-store.ts';
import { lowestOrigin, originOf, originRuns } from './origin-runs.ts';
import { RecordTracker } from './record-tracker.ts';

/** What a finished admission tells the receiver: nothing (answer as usual), or why not to say 200. */
export type DurableOutcome = DurableWriteError | undefined;

export interface ReplayReport {
  readonly records: number;
  readonly spans: number;
  /** Records whose checksum held but whose bytes are not a valid request (counted, skipped). */
  readonly undecodable: number;
}

/** A batch as one queue receives it: the spans for it and the runs of their origins. */
export interface RoutedBatch {
  readonly spans: Span[];
  readonly runs: Float64Array | undefined;
}

export class Durability {
  readonly acknowledgeAfter: AcknowledgeAfter;
  readonly exporters: readonly string[];
  /** Counters for self-telemetry. */
  readonly counts = { appended: 0, writeFailures: 0, refusedFull: 0, replayedRecords: 0, replayedSpans: 0, undecodable: 0 };
  private readonly store: DurableStore;
  private readonly tracker: RecordTracker;
  private readonly startCursors: number[];
  /** Records at or below this seq were in the log at start: only replay brings them. */
  private readonly replayCeiling: number;
  private lastSeq: number;
  private readonly logger: PipelineLogger;

  constructor(options: DurabilityOptions, logger: PipelineLogger) {
    if (options.exporters.length === 0) throw new PipelineConfigError('durability.exporters', 'name at least one exporter with a persistent queue');
    this.store = options.store;
    this.exporters = [...options.exporters];
    this.acknowledgeAfter = options.acknowledgeAfter ?? 'durable';
    this.logger = logger;
    this.startCursors = this.exporters.map((name) => this.store.cursor(name));
    this.replayCeiling = this.store.highestSeq;
    this.lastSeq = this.store.highestSeq;
    this.tracker = new RecordTracker(this.exporters.length, this.startCursors, (consumer, seq) =>
      this.store.advanceCursor(this.exporters[consumer]!, seq),
    );
  }

  /** The exporter's index among the durable consumers, or -1 when its queue is in memory only. */
  consumerIndex(exporter: string): number {
    return this.exporters.indexOf(exporter);
  }

  /** The log's own figures (bytes on disk, corrupt records) for self-telemetry. */
  get storeStats(): DurableStore['stats'] {
    return this.store.stats;
  }

  /** Records the durable consumers have not all passed (diagnostics, tests). */
  get trackedRecords(): number {
    return this.tracker.tracked;
  }

  cursor(consumer: number): number {
    return this.tracker.cursor(consumer);
  }

  /** Undefined when a request of `bytes` may be taken; else the refusal to answer with. */
  refusalFor(bytes: number, spans: number): DurableQueueFullError | undefined {
    if (this.store.hasRoom(bytes)) return undefined;
    this.counts.refusedFull += spans;
    return new DurableQueueFullError(spans);
  }

  /**
   * Numbers a request and tags its spans with the number, before they enter a ring.
   * Invariant D4: only WireSpans can carry the tag; a receiver in durable mode decodes every
   * request into WireSpans (scanTraceRequest), so every span of it is tracked.
   */
  reserve(spans: readonly Span[]): number {
    const seq = ++this.lastSeq;
    let tagged = 0;
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i];
      if (span instanceof WireSpan) {
        span.origin = seq;
        tagged++;
      }
    }
    this.tracker.openRecord(seq, tagged);
    return seq;
  }

  /**
   * After admission: `accepted` of the request's spans (its first ones) are in the pipeline.
   * Any accepted → the request is appended; with acknowledge_after: durable the promise settles
   * only once the append did (Invariant D1). A write failure is returned, never thrown.
   */
  async finish(seq: number, spans: readonly Span[], accepted: number, protobuf: Uint8Array): Promise<DurableOutcome> {
    this.tracker.forget(seq, taggedFrom(spans, accepted));
    if (accepted === 0) {
      this.tracker.close(seq);
      return undefined;
    }
    const written = this.append(seq, protobuf);
    if (this.acknowledgeAfter === 'memory') {
      void written;
      return undefined;
    }
    const failure = await written;
    return failure === undefined ? undefined : new DurableWriteError(accepted, failure);
  }

  /**
   * The spans of `batch` that the queue of durable consumer `consumer` (-1: an in-memory
   * queue) must export: replayed spans go only to the consumers whose cursor had not passed
   * their record (Invariant D7); new spans go everywhere.
   */
  route(consumer: number, batch: Span[], runs: Float64Array | undefined): RoutedBatch {
    const mine = consumer < 0 ? undefined : runs;
    if (runs === undefined || lowestOrigin(runs) > this.replayCeiling) return { spans: batch, runs: mine };
    const threshold = consumer < 0 ? this.replayCeiling : this.startCursors[consumer]!;
    const spans = batch.filter((span) => {
      const origin = originOf(span);
      return origin === 0 || origin > threshold;
    });
    return { spans, runs: consumer < 0 ? undefined : originRuns(spans) };
  }

  /** Durable consumer `consumer` is done with a batch (sent, or dropped and counted). */
  settled(consumer: number, runs: Float64Array): void {
    this.tracker.settle(consumer, runs);
  }

  /**
   * Feeds every record some cursor has not passed into the pipeline through `producer`, in log
   * order, waiting for room (no timeout: these spans were acknowledged before the restart).
   */
  async replay(producer: AsyncSpanProducer): Promise<ReplayReport> {
    this.tracker.beginReplay();
    try {
      await this.store.replay(async (seq, payload) => {
        // The store's buffer is reused after the callback; the spans outlive it in the pipeline.
        const request = payload.slice();
        let spans: Span[];
        try {
          spans = scanTraceRequest(request);
        } catch (error) {
          this.counts.undecodable++;
          this.logger.error({ seq, bytes: payload.byteLength, err: error }, 'a persistent queue record is not a valid request: skipped');
          return;
        }
        if (!this.openReplayed(seq, spans)) return;
        const { accepted } = await producer.admit(spans, { timeoutMs: Number.POSITIVE_INFINITY });
        this.tracker.forget(seq, spans.length - accepted);
        this.tracker.close(seq);
        this.counts.replayedRecords++;
        this.counts.replayedSpans += accepted;
      });
    } finally {
      this.tracker.endReplay();
    }
    return { records: this.counts.replayedRecords, spans: this.counts.replayedSpans, undecodable: this.counts.undecodable };
  }

  /** Tags and opens a replayed record; false (logged, counted) for a seq the log holds twice. */
  private openReplayed(seq: number, spans: Span[]): boolean {
    try {
      this.tracker.openRecord(seq, spans.length);
    } catch (error) {
      this.counts.undecodable++;
      this.logger.error({ seq, err: error }, 'a persistent queue record repeats a seq already replayed: skipped');
      return false;
    }
    for (const span of spans) (span as WireSpan).origin = seq;
    return true;
  }

  async close(): Promise<void> {
    await this.store.flushCursors();
    await this.store.close();
  }

  private async append(seq: number, protobuf: Uint8Array): Promise<unknown> {
    try {
      await this.store.append(seq, protobuf);
      this.counts.appended++;
      return undefined;
    } catch (error) {
      this.counts.writeFailures++;
      this.logger.error({ seq, err: error }, 'writing to the persistent sending queue failed: the request is answered 503 and its spans are exported from memory');
      return error ?? new Error('append failed');
    } finally {
      // Invariant D5: closed only after the append settled, so no cursor passes a record still being written.
      this.tracker.close(seq);
    }
  }
}

/** Tagged spans in spans[from…]: those of a request that did not get in. */
function taggedFrom(spans: readonly Span[], from: number): number {
  let count = 0;
  for (let i = from; i < spans.length; i++) if (spans[i] instanceof WireSpan) count++;
  return count;
}
