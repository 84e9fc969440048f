import { idWordAt, WireSpan, type Span } from '#spanring/otlp';
import type { BatchOptions } from '../config.ts';

/** The spans of one trace pending in the batcher, in arrival order. */
interface TraceBucket {
  /** The trace id as four big-endian int32 words (see WireSpan). */
  readonly word0: number;
  readonly word1: number;
  readonly word2: number;
  readonly word3: number;
  readonly spans: Span[];
  /** Next bucket whose trace id hashes to the same key. */
  next: TraceBucket | undefined;
}

export type BatchSink = (batch: Span[]) => void;

/**
 * processors.batch semantics with trace grouping: flush when sendBatchSize spans are pending
 * or timeoutMs after the first pending span; never emit more than sendBatchMaxSize (0 = no
 * limit). Within a flush, traces are packed whole, in order of first arrival, each keeping
 * its spans' arrival order (Invariant P5); a trace larger than the maximum is split in order.
 *
 * Grouping compares trace ids as four int32 words (read from a WireSpan's fields, or from a
 * decoded span's id bytes) and costs one Map lookup per change of trace, keyed by a 32-bit
 * hash of the id: no string and no allocation per span; buckets cost one object per trace
 * per flush window.
 */
export class TraceBatcher {
  private readonly options: BatchOptions;
  private readonly sink: BatchSink;
  private readonly buckets = new Map<number, TraceBucket>();
  private readonly order: TraceBucket[] = [];
  private pending = 0;
  private firstPendingAt = 0;
  /** The bucket the previous span went to: spans of one trace often arrive back to back. */
  private last: TraceBucket | undefined;

  constructor(options: BatchOptions, sink: BatchSink) {
    this.options = options;
    this.sink = sink;
  }

  get pendingSpans(): number {
    return this.pending;
  }

  add(span: Span): void {
    let word0: number;
    let word1: number;
    let word2: number;
    let word3: number;
    if (span instanceof WireSpan) {
      word0 = span.traceWord0;
      word1 = span.traceWord1;
      word2 = span.traceWord2;
      word3 = span.traceWord3;
    } else {
      const id = span.traceId;
      word0 = idWordAt(id, 0);
      word1 = idWordAt(id, 4);
      word2 = idWordAt(id, 8);
      word3 = idWordAt(id, 12);
    }
    let bucket = this.last;
    if (bucket === undefined || bucket.word3 !== word3 || bucket.word2 !== word2 || bucket.word1 !== word1 || bucket.word0 !== word0) {
      bucket = this.bucketFor(word0, word1, word2, word3);
      this.last = bucket;
    }
    bucket.spans.push(span);
    if (this.pending++ === 0) this.firstPendingAt = performance.now();
  }

  private bucketFor(word0: number, word1: number, word2: number, word3: number): TraceBucket {
    // W3C trace ids put their randomness at the end, so the last two words spread well.
    const key = word3 ^ Math.imul(word2, 0x9e3779b1);
    const first = this.buckets.get(key);
    let bucket = first;
    while (bucket !== undefined && (bucket.word3 !== word3 || bucket.word2 !== word2 || bucket.word1 !== word1 || bucket.word0 !== word0)) {
      bucket = bucket.next;
    }
    if (bucket === undefined) {
      bucket = { word0, word1, word2, word3, spans: [], next: first };
      this.buckets.set(key, bucket);
      this.order.push(bucket);
    }
    return bucket;
  }

  /** Flushes if enough spans are pending; returns the number of spans emitted. */
  flushIfFull(): number {
    return this.pending >= this.options.sendBatchSize ? this.flush() : 0;
  }

  /** Flushes if the oldest pending span has waited timeoutMs. */
  flushIfDue(now = performance.now()): number {
    return this.pending > 0 && now - this.firstPendingAt >= this.options.timeoutMs ? this.flush() : 0;
  }

  /** Milliseconds until the pending spans are due; Infinity when nothing is pending. */
  msUntilDue(now = performance.now()): number {
    if (this.pending === 0) return Number.POSITIVE_INFINITY;
    return Math.max(0, this.firstPendingAt + this.options.timeoutMs - now);
  }

  /** Emits every pending span in batches; returns how many spans were emitted. */
  flush(): number {
    const emitted = this.pending;
    if (emitted === 0) return 0;
    const max = this.options.sendBatchMaxSize === 0 ? Number.POSITIVE_INFINITY : this.options.sendBatchMaxSize;
    let batch: Span[] = [];
    for (const bucket of this.order) {
      const spans = bucket.spans;
      // A trace that does not fit the current batch starts a new one, so it stays whole.
      if (batch.length > 0 && batch.length + spans.length > max) {
        this.sink(batch);
        batch = [];
      }
      for (let i = 0; i < spans.length; i++) {
        if (batch.length === max) {
          this.sink(batch);
          batch = [];
        }
        batch.push(spans[i]!);
      }
    }
    if (batch.length > 0) this.sink(batch);
    this.buckets.clear();
    this.order.length = 0;
    this.last = undefined;
    this.pending = 0;
    return emitted;
  }
}
