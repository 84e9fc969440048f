/**
 * Where the intake copies worker ring records (W7) on the main thread: pooled storage, reused
 * once the pipeline has released every span that points into a copy (W12, built on the
 * collector's onSpansReleased, span-collector P14). Without it, each record copy is garbage
 * only V8's next full GC reclaims, which at ~100 MB/s of records is tens of MB of dead copies.
 */
import { BufferPool, WireSpan, type Span } from '#spanring/otlp';

/** Free copy storage kept for reuse: about one full batch (8192 spans) of 512-span records. */
const FREE_RECORD_BYTES = 8 * 1024 * 1024;

export class RecordArena {
  private readonly pool: BufferPool;
  /**
   * Spans not yet released, per copy's storage. Weak: a copy whose spans are never all
   * released (the collector refused some at shutdown) is collected like any other buffer.
   */
  private readonly unreleased = new WeakMap<ArrayBufferLike, number>();

  constructor(maxFreeBytes = FREE_RECORD_BYTES) {
    this.pool = new BufferPool(maxFreeBytes);
  }

  /** Bytes of free storage kept now. */
  get freeBytes(): number {
    return this.pool.freeBytes;
  }

  /** Copies made into storage a released record had used. */
  get reusedCopies(): number {
    return this.pool.reusedTakes;
  }

  /** A private copy of source[offset, offset + length). */
  copy(source: Uint8Array, offset: number, length: number): Uint8Array {
    const copy = this.pool.take(length);
    copy.set(source.subarray(offset, offset + length));
    return copy;
  }

  /**
   * `spanCount` spans now point into `copy`: its storage is reused once release() has seen
   * them all. Call before the spans enter the collector.
   */
  hold(copy: Uint8Array, spanCount: number): void {
    if (spanCount === 0) this.pool.give(copy.buffer);
    else this.unreleased.set(copy.buffer, spanCount);
  }

  /** The collector's onSpansReleased listener: counts released spans off their copies. */
  readonly release = (spans: readonly Span[]): void => {
    // Spans of one record mostly sit together in a batch: count runs, one map update per run.
    let storage: ArrayBufferLike | undefined;
    let run = 0;
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i];
      if (!(span instanceof WireSpan)) continue;
      const buffer = span.wire.buffer;
      if (buffer !== storage) {
        if (run > 0) this.releaseRun(storage!, run);
        storage = buffer;
        run = 0;
      }
      run++;
    }
    if (run > 0) this.releaseRun(storage!, run);
  };

  private releaseRun(storage: ArrayBufferLike, count: number): void {
    const left = this.unreleased.get(storage);
    // Spans over storage the arena did not lend (another receiver's request) are not its business.
    if (left === undefined) return;
    if (left > count) {
      this.unreleased.set(storage, left - count);
      return;
    }
    // Invariant W12: every span pointing into this copy was released (P14): nobody reads it again.
    this.unreleased.delete(storage);
    this.pool.give(storage);
  }
}
