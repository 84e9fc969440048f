import type { Span } from '#spanring/otlp';
import type { BatchOptions } from '../config.ts';

/** The spans of one trace pending in the batcher, in arrival order. */
interface TraceBucket {
  readonly traceId: Uint8Array;
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
 * Grouping costs one Map lookup per span keyed by a 32-bit hash of the trace id (no string
 * per span); buckets cost one object per trace per flush window, not per span.
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
    const traceId = span.traceId;
    let bucket = this.last;
    if (bucket === undefined || !sameId(bucket.traceId, traceId)) {
      bucket = this.bucketFor(traceId);
      this.last = bucket;
    }
    bucket.spans.push(span);
    if (this.pending++ === 0) this.firstPendingAt = performance.now();
  }

  private bucketFor(traceId: Uint8Array): TraceBucket {
    const key = traceKey(traceId);
    let bucket = this.buckets.get(key);
    while (bucket !== undefined && !sameId(bucket.traceId, traceId)) bucket = bucket.next;
    if (bucket === undefined) {
      bucket = { traceId, spans: [], next: this.buckets.get(key) };
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

/**
 * A 32-bit key from the trace id's last 8 bytes: W3C trace ids put their randomness at the
 * end, so this spreads well without reading all 16 bytes.
 */
function traceKey(id: Uint8Array): number {
  const n = id.length;
  if (n < 8) return n;
  return (
    (id[n - 1]! | (id[n - 2]! << 8) | (id[n - 3]! << 16) | (id[n - 4]! << 24)) ^
    Math.imul(id[n - 5]! | (id[n - 6]! << 8) | (id[n - 7]! << 16) | (id[n - 8]! << 24), 0x9e3779b1)
  );
}

function sameId(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
