import { idWordAt, WireSpan, type Span } from '#spanring/otlp';
import type { BatchOptions } from '../config.ts';

export type BatchSink = (batch: Span[]) => void;

/** Marks the end of a chain in the Int32Array links below. */
const NONE = -1;
/** Capacity the pending-span and trace tables start with; they double when outgrown, never shrink. */
const INITIAL_CAPACITY = 1024;

/**
 * processors.batch semantics with trace grouping: flush when sendBatchSize spans are pending
 * or timeoutMs after the first pending span; never emit more than sendBatchMaxSize (0 = no
 * limit). Within a flush, traces are packed whole, in order of first arrival, each keeping
 * its spans' arrival order (Invariant P5); a trace larger than the maximum is split in order.
 *
 * Why hand-written tables instead of a Map of per-trace arrays: this runs once per span on the
 * consumer thread, and per-trace bucket objects and growing arrays were a tenth of that
 * thread's young-generation allocation, all of it living through the batching window and so
 * promoted to the old generation. Here the state is a few typed arrays reused from one flush
 * window to the next: in steady state adding a span allocates nothing, and a flush allocates
 * only the batches it emits.
 *
 * - Pending spans sit in `spans` in arrival order; `nextOfSameTrace[i]` links span i to the
 *   next pending span of its trace.
 * - Trace t (numbered in order of first arrival) has its id as four int32 words in
 *   `traceWords[4t..4t+3]` (read from a WireSpan's fields, or from a decoded span's id bytes),
 *   its first and last pending span in `traceHead[t]` / `traceTail[t]`, its span count in
 *   `traceSpans[t]`.
 * - `slots` is an open-addressing hash table (linear probing, load ≤ 1/2) from the trace id
 *   to t + 1 (0 = empty).
 */
export class TraceBatcher {
  private readonly options: BatchOptions;
  private readonly sink: BatchSink;
  private spans: (Span | undefined)[] = Array.from({ length: INITIAL_CAPACITY }, () => undefined);
  private nextOfSameTrace = new Int32Array(INITIAL_CAPACITY);
  private traceWords = new Int32Array(INITIAL_CAPACITY * 4);
  private traceHead = new Int32Array(INITIAL_CAPACITY);
  private traceTail = new Int32Array(INITIAL_CAPACITY);
  private traceSpans = new Int32Array(INITIAL_CAPACITY);
  private slots = new Int32Array(INITIAL_CAPACITY * 2);
  private pending = 0;
  private traces = 0;
  private firstPendingAt = 0;
  /** The trace the previous span joined: spans of one trace often arrive back to back. */
  private lastTrace = NONE;

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
    if (this.pending === this.spans.length) this.growSpans();
    const index = this.pending;
    let trace = this.lastTrace;
    if (trace === NONE || !this.traceIs(trace, word0, word1, word2, word3)) {
      trace = this.traceFor(word0, word1, word2, word3);
      this.lastTrace = trace;
    }
    this.spans[index] = span;
    this.nextOfSameTrace[index] = NONE;
    if (this.traceSpans[trace] === 0) this.traceHead[trace] = index;
    else this.nextOfSameTrace[this.traceTail[trace]!] = index;
    this.traceTail[trace] = index;
    this.traceSpans[trace]!++;
    if (this.pending++ === 0) this.firstPendingAt = performance.now();
  }

  private traceIs(trace: number, word0: number, word1: number, word2: number, word3: number): boolean {
    const words = this.traceWords;
    const at = trace * 4;
    return words[at + 3] === word3 && words[at + 2] === word2 && words[at + 1] === word1 && words[at] === word0;
  }

  /** The pending trace with this id, added (with no spans yet) if it has none. */
  private traceFor(word0: number, word1: number, word2: number, word3: number): number {
    const mask = this.slots.length - 1;
    let slot = hashTraceId(word0, word1, word2, word3) & mask;
    for (;;) {
      const stored = this.slots[slot]!;
      if (stored === 0) break;
      if (this.traceIs(stored - 1, word0, word1, word2, word3)) return stored - 1;
      slot = (slot + 1) & mask;
    }
    if (this.traces * 2 >= mask) {
      this.growTraces();
      return this.traceFor(word0, word1, word2, word3);
    }
    const trace = this.traces++;
    const at = trace * 4;
    this.traceWords[at] = word0;
    this.traceWords[at + 1] = word1;
    this.traceWords[at + 2] = word2;
    this.traceWords[at + 3] = word3;
    this.traceSpans[trace] = 0;
    this.slots[slot] = trace + 1;
    return trace;
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
    const max = this.options.sendBatchMaxSize === 0 ? emitted : this.options.sendBatchMaxSize;
    const { spans, nextOfSameTrace } = this;
    let unsent = emitted;
    let batch = batchOfLength(Math.min(unsent, max));
    let filled = 0;
    for (let trace = 0; trace < this.traces; trace++) {
      // A trace that does not fit the current batch starts a new one, so it stays whole.
      if (filled > 0 && filled + this.traceSpans[trace]! > max) {
        batch.length = filled;
        this.sink(batch);
        batch = batchOfLength(Math.min(unsent, max));
        filled = 0;
      }
      for (let i = this.traceHead[trace]!; i !== NONE; i = nextOfSameTrace[i]!) {
        if (filled === max) {
          this.sink(batch);
          batch = batchOfLength(Math.min(unsent, max));
          filled = 0;
        }
        batch[filled++] = spans[i]!;
        unsent--;
      }
    }
    batch.length = filled;
    this.sink(batch);
    this.reset();
    return emitted;
  }

  /** Forgets the flushed window: drops the span references, empties the hash table. */
  private reset(): void {
    this.spans.fill(undefined, 0, this.pending);
    this.slots.fill(0);
    this.pending = 0;
    this.traces = 0;
    this.lastTrace = NONE;
  }

  private growSpans(): void {
    const capacity = this.spans.length * 2;
    const spans = this.spans;
    for (let i = spans.length; i < capacity; i++) spans.push(undefined);
    this.nextOfSameTrace = grown(this.nextOfSameTrace, capacity);
  }

  /** Doubles the trace tables and rehashes every pending trace into the larger hash table. */
  private growTraces(): void {
    const capacity = this.traceHead.length * 2;
    this.traceWords = grown(this.traceWords, capacity * 4);
    this.traceHead = grown(this.traceHead, capacity);
    this.traceTail = grown(this.traceTail, capacity);
    this.traceSpans = grown(this.traceSpans, capacity);
    this.slots = new Int32Array(capacity * 2);
    const mask = this.slots.length - 1;
    const words = this.traceWords;
    for (let trace = 0; trace < this.traces; trace++) {
      const at = trace * 4;
      let slot = hashTraceId(words[at]!, words[at + 1]!, words[at + 2]!, words[at + 3]!) & mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
      this.slots[slot] = trace + 1;
    }
  }
}

/**
 * Mixes all four words, so ids that differ only in their first bytes (W3C ids put their
 * randomness at the end, but not every client makes random ids) still spread over the table.
 */
function hashTraceId(word0: number, word1: number, word2: number, word3: number): number {
  let h = Math.imul(word3 ^ Math.imul(word2, 0x9e3779b1), 0x85ebca6b);
  h = Math.imul(h ^ word1 ^ (h >>> 15), 0xc2b2ae35);
  h ^= word0;
  return h ^ (h >>> 16);
}

/**
 * An array with room for `length` spans, filled by index and truncated to what was filled:
 * a batch of thousands built by push() would be copied as it grows.
 */
function batchOfLength(length: number): Span[] {
  const batch: Span[] = [];
  batch.length = length;
  return batch;
}

function grown(table: Int32Array<ArrayBuffer>, capacity: number): Int32Array<ArrayBuffer> {
  const next = new Int32Array(capacity);
  next.set(table);
  return next;
}
