/**
 * Buffers for OTLP request bytes, reused once their owner says nobody reads them any more.
 *
 * Why: at a few hundred MB/s of requests, every request body (in a receiver worker), every
 * record copied out of a worker's ring and every encoded export (on the main thread) is
 * garbage soon after it is made.
 * But a buffer that waited (for ring space, or in the batcher) has been promoted to V8's old
 * space, and its memory comes back only at the next full GC, which V8 schedules every ~64 MB
 * of external memory: tens of MB of dead buffers per thread. Reuse keeps that memory to what
 * is in use. Hand-written because it is the receive hot path and the rules are specific
 * (power-of-two classes, a byte cap, only buffers it lent taken back, nothing held strongly
 * that its owner forgot); no pooling library keys on ArrayBuffers this way.
 */

/** Smallest storage handed out: small requests share one class instead of one class each. */
export const MIN_CLASS_BITS = 16;

export class BufferPool {
  /** Bytes of free storage kept at most; beyond, given-back storage is left to the GC. */
  readonly maxFreeBytes: number;
  /** Free storage by size class (log2 of its byte length); used as stacks. */
  private readonly free = new Map<number, ArrayBuffer[]>();
  /**
   * Storage out on loan: give() takes back only these. Weak, so storage whose owner never gives
   * it back (a request that failed half-way) is simply collected.
   */
  private readonly lent = new WeakSet<ArrayBuffer>();
  private freeBytesNow = 0;
  /** take() calls served from free storage. */
  reusedTakes = 0;

  constructor(maxFreeBytes: number) {
    this.maxFreeBytes = maxFreeBytes;
  }

  /** Bytes of free storage kept now. */
  get freeBytes(): number {
    return this.freeBytesNow;
  }

  /** A Buffer of exactly `length` bytes (not zeroed) at the start of pooled storage. */
  readonly take = (length: number): Buffer => {
    const sizeClass = classOf(length);
    let storage = this.free.get(sizeClass)?.pop();
    if (storage === undefined) {
      // allocUnsafeSlow: storage of its own (not Buffer's shared slab), not zero-filled; the
      // owner writes every byte it reads.
      storage = Buffer.allocUnsafeSlow(2 ** sizeClass).buffer as ArrayBuffer;
    } else {
      this.freeBytesNow -= storage.byteLength;
      this.reusedTakes++;
    }
    this.lent.add(storage);
    return Buffer.from(storage, 0, length);
  };

  /**
   * Takes storage back (the `.buffer` of what take() returned; anything else is ignored).
   * Invariant (specs/receiver-workers.md W11, W12): nothing reads the storage any more, through
   * the Buffer take() gave or through anything pointing into it; the next take() may overwrite it.
   */
  give(storage: ArrayBufferLike): void {
    const owned = storage as ArrayBuffer;
    if (!this.lent.delete(owned)) return;
    if (this.freeBytesNow + owned.byteLength > this.maxFreeBytes) return;
    const sizeClass = Math.log2(owned.byteLength);
    let stack = this.free.get(sizeClass);
    if (stack === undefined) {
      stack = [];
      this.free.set(sizeClass, stack);
    }
    stack.push(owned);
    this.freeBytesNow += owned.byteLength;
  }
}

function classOf(length: number): number {
  return Math.max(MIN_CLASS_BITS, Math.ceil(Math.log2(Math.max(length, 1))));
}
