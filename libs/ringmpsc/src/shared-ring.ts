import { requireIntegerInRange } from './config.ts';
import { RecordTooLargeError, RingArgumentError, RingClosedError, RingStateError } from './errors.ts';
import {
  CHANNEL_CLOSED,
  CONTROL_BYTES,
  DATA_NOTIFY,
  DOORBELL_BYTES,
  HEAD,
  HEADER_BYTES,
  MAGIC_WORD,
  PRODUCER_CLOSED,
  RECORD_ALIGN,
  RING_BITS_WORD,
  RING_MAGIC,
  SHARED_RING_BITS_DEFAULT,
  SHARED_RING_BITS_MAX,
  SHARED_RING_BITS_MIN,
  SKIP_MARKER,
  SPACE_NOTIFY,
  TAIL,
  recordBytes,
  type SharedRingHandle,
} from './shared-layout.ts';
import { SharedNotify } from './shared-notify.ts';

export interface SharedRingOptions {
  /** Data capacity is 2^ringBits bytes; 8..30, default 20 (1 MiB). */
  readonly ringBits?: number;
  /** Only for tests near the counters' wrap point: first value of head and tail (mod 2^32, multiple of 8). */
  readonly initialSequence?: number;
}

/** Creates the shared memory of one SPSC binary ring; hand `handle` to the two threads. */
export function createSharedRing(options: SharedRingOptions = {}, doorbell?: SharedArrayBuffer): SharedRingHandle {
  const ringBits = requireIntegerInRange(
    'ringBits',
    options.ringBits ?? SHARED_RING_BITS_DEFAULT,
    SHARED_RING_BITS_MIN,
    SHARED_RING_BITS_MAX,
  );
  const initial = options.initialSequence ?? 0;
  if (!Number.isSafeInteger(initial) || initial % RECORD_ALIGN !== 0) {
    throw new RingArgumentError(`initialSequence must be a safe integer multiple of 8, got ${String(initial)}`);
  }
  const ring = new SharedArrayBuffer(CONTROL_BYTES + (1 << ringBits));
  const control = new Int32Array(ring, 0, CONTROL_BYTES / 4);
  control[HEAD] = initial | 0;
  control[TAIL] = initial | 0;
  control[RING_BITS_WORD] = ringBits;
  // Invariant L3: the magic word is written last, after the geometry it vouches for.
  Atomics.store(control, MAGIC_WORD, RING_MAGIC);
  return { ring, doorbell: doorbell ?? new SharedArrayBuffer(DOORBELL_BYTES) };
}

/** Views both sides share; validates that the handle really is a ring. */
class SharedRingViews {
  readonly control: Int32Array;
  readonly doorbell: Int32Array;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly headers: Int32Array;
  readonly capacity: number;
  readonly mask: number;
  readonly space: SharedNotify;
  readonly dataReady: SharedNotify;

  constructor(handle: SharedRingHandle) {
    if (!handle || !(handle.ring instanceof SharedArrayBuffer) || !(handle.doorbell instanceof SharedArrayBuffer)) {
      throw new RingArgumentError('a SharedRingHandle needs { ring, doorbell } SharedArrayBuffers');
    }
    if (handle.ring.byteLength < CONTROL_BYTES || handle.doorbell.byteLength < DOORBELL_BYTES) {
      throw new RingArgumentError('the handle\'s buffers are too small to be a shared ring');
    }
    this.control = new Int32Array(handle.ring, 0, CONTROL_BYTES / 4);
    if (Atomics.load(this.control, MAGIC_WORD) !== RING_MAGIC) {
      throw new RingArgumentError('the handle\'s ring buffer was not made by createSharedRing()');
    }
    const ringBits = this.control[RING_BITS_WORD]!;
    // `1 << bits` keeps capacity and mask small integers; 2 ** bits would make them doubles.
    this.capacity = 1 << ringBits;
    if (handle.ring.byteLength !== CONTROL_BYTES + this.capacity) {
      throw new RingArgumentError('the handle\'s ring buffer size does not match its recorded capacity');
    }
    this.mask = this.capacity - 1;
    this.doorbell = new Int32Array(handle.doorbell);
    this.bytes = new Uint8Array(handle.ring, CONTROL_BYTES, this.capacity);
    this.view = new DataView(handle.ring, CONTROL_BYTES, this.capacity);
    this.headers = new Int32Array(handle.ring, CONTROL_BYTES, this.capacity / 4);
    this.space = new SharedNotify(this.control, SPACE_NOTIFY);
    this.dataReady = new SharedNotify(this.doorbell, DATA_NOTIFY);
  }
}

/**
 * The record a producer is filling: write `length` bytes into `bytes` (or `view`) starting at
 * `offset`, then call commit(). One object per producer, reused by every claim.
 */
export interface SharedClaim {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly offset: number;
  readonly length: number;
}

const READY = 0;
const CLAIM_OPEN = 1;
const CLOSED = 2;
const CHANNEL_CLOSED_SEEN = 3;

class MutableClaim implements SharedClaim {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  offset = 0;
  length = 0;

  constructor(bytes: Uint8Array, view: DataView) {
    this.bytes = bytes;
    this.view = view;
  }
}

/**
 * The producer side of a SharedRing, used by exactly one thread.
 *
 * claim(length) → fill → commit() writes records straight into ring memory. Commits are
 * published in batches: publish() makes everything committed visible with one Atomics.store;
 * it also happens by itself when a quarter of the ring is unpublished and whenever a claim
 * fails for lack of space (so a waiting producer never holds back records the consumer
 * needs to see to free space).
 */
export class SharedRingProducer {
  readonly capacity: number;
  /** Largest payload one record may have: the ring size less the record header. */
  readonly maxRecordBytes: number;
  private readonly views: SharedRingViews;
  // Hot-path copies of the views' fields: one property load each instead of two.
  private readonly headers: Int32Array;
  private readonly mask: number;
  private readonly claimState: MutableClaim;
  private readonly publishThreshold: number;
  private tail: number;
  private publishedTail: number;
  private cachedHead: number;
  /** READY, CLAIM_OPEN, CLOSED or CHANNEL_CLOSED_SEEN: one comparison guards the fast path. */
  private state = READY;
  fullEvents = 0;
  waits = 0;

  constructor(handle: SharedRingHandle) {
    this.views = new SharedRingViews(handle);
    this.capacity = this.views.capacity;
    this.mask = this.views.mask;
    this.headers = this.views.headers;
    this.maxRecordBytes = this.capacity - HEADER_BYTES;
    this.claimState = new MutableClaim(this.views.bytes, this.views.view);
    this.publishThreshold = this.capacity >>> 2;
    this.tail = Atomics.load(this.views.control, TAIL);
    this.publishedTail = this.tail;
    this.cachedHead = Atomics.load(this.views.control, HEAD);
    if (Atomics.load(this.views.control, PRODUCER_CLOSED) !== 0) {
      throw new RingStateError('this shared ring\'s producer side was already closed; create a new ring');
    }
  }

  get isClosed(): boolean {
    return this.state === CLOSED || this.state === CHANNEL_CLOSED_SEEN;
  }

  /**
   * Claims room for one record of `length` bytes. Returns null when the ring lacks space now
   * (wait with waitForSpace()). Throws RecordTooLargeError when it can never fit, and
   * RingClosedError after close() or once the producer noticed that the consumer closed the
   * channel. That flag is read only on slow paths (a publish, a full ring, a wait) because an
   * Atomics.load per record costs more than the rest of claim(): a closed channel is noticed
   * within a quarter ring (Invariant D4).
   */
  claim(length: number): SharedClaim | null {
    if (this.state !== READY) this.rejectClaim();
    if (!(length >= 0 && length <= this.maxRecordBytes && (length | 0) === length)) this.rejectLength(length);
    const need = HEADER_BYTES + ((length + 7) & ~7);
    const tail = this.tail;
    const index = tail & this.mask;
    // Invariant S3: the cached head is trusted until it says "full" (it only under-estimates).
    if (this.capacity - index < need || this.capacity - ((tail - this.cachedHead) | 0) < need) {
      return this.claimSlow(length, need);
    }
    return this.open(index, length);
  }

  /**
   * Completes the open claim. `length` may shrink the record (claim the most you might need,
   * write, then commit what you wrote); it may not grow it.
   */
  commit(length: number = this.claimState.length): void {
    if (this.state !== CLAIM_OPEN) throw new RingStateError('commit() without an open claim');
    const claimed = this.claimState.length;
    if (!(length >= 0 && length <= claimed && (length | 0) === length)) {
      throw new RingArgumentError(`commit(length) needs an integer from 0 to the claimed ${claimed}, got ${String(length)}`);
    }
    // Invariant S2: the header is written before the tail that publishes it (publish() uses
    // Atomics.store, which orders every earlier write before it for the consumer's Atomics.load).
    this.headers[(this.claimState.offset - HEADER_BYTES) >>> 2] = length;
    this.tail = (this.tail + HEADER_BYTES + ((length + 7) & ~7)) | 0;
    this.state = READY;
    if (((this.tail - this.publishedTail) | 0) >= this.publishThreshold) this.publish();
  }

  private open(index: number, length: number): SharedClaim {
    this.state = CLAIM_OPEN;
    this.claimState.offset = index + HEADER_BYTES;
    this.claimState.length = length;
    return this.claimState;
  }

  /** The record does not fit before the end, or the cached head says "full". */
  private claimSlow(length: number, need: number): SharedClaim | null {
    let index = this.tail & this.mask;
    const toEnd = this.capacity - index;
    if (toEnd < need) {
      // Invariant S4: a record never straddles the end. The rest of the region is skipped:
      // the header slot at `index` (always present: positions and sizes are multiples of 8)
      // gets the skip marker and the record starts again at offset 0.
      if (!this.hasSpace(toEnd)) return this.noSpace();
      this.headers[index >>> 2] = SKIP_MARKER;
      this.tail = (this.tail + toEnd) | 0;
      index = 0;
    }
    if (!this.hasSpace(need)) return this.noSpace();
    return this.open(index, length);
  }

  /** Copies one record in; false when there is no space now. */
  write(source: Uint8Array): boolean {
    const claim = this.claim(source.length);
    if (claim === null) return false;
    claim.bytes.set(source, claim.offset);
    this.commit();
    return true;
  }

  /** Makes every committed record visible to the consumer: one Atomics.store, one wake-up check. */
  publish(): void {
    if (this.tail !== this.publishedTail) {
      Atomics.store(this.views.control, TAIL, this.tail);
      this.publishedTail = this.tail;
      this.views.dataReady.notifyWaiters();
    }
    this.noticeChannelClose();
  }

  /** Resolves true once a record of `length` bytes fits (or the ring closed), false on timeout. */
  async waitForSpace(length: number, timeoutMs?: number): Promise<boolean> {
    if (!(length >= 0 && length <= this.maxRecordBytes)) this.rejectLength(length);
    this.publish();
    if (this.state === CHANNEL_CLOSED_SEEN) return true;
    this.waits++;
    // Space at the end may be short, so wait for a whole record plus a possible skip.
    const need = recordBytes(length);
    const ready = await this.views.space.waitUntil(() => this.isClosedByConsumer() || this.freeBytes() >= need, timeoutMs);
    this.noticeChannelClose();
    return ready;
  }

  /** Bytes free now, as far as this producer can tell. */
  freeBytes(): number {
    this.cachedHead = Atomics.load(this.views.control, HEAD);
    return this.capacity - ((this.tail - this.cachedHead) | 0);
  }

  /** Publishes what is committed and tells the consumer no more records will come. */
  close(): void {
    if (this.state === CLOSED) return;
    this.state = READY; // an uncommitted claim is abandoned
    this.publish();
    this.state = CLOSED;
    Atomics.store(this.views.control, PRODUCER_CLOSED, 1);
    this.views.dataReady.notifyWaiters();
  }

  private isClosedByConsumer(): boolean {
    return Atomics.load(this.views.doorbell, CHANNEL_CLOSED) !== 0;
  }

  private noticeChannelClose(): void {
    if (this.state === READY && this.isClosedByConsumer()) this.state = CHANNEL_CLOSED_SEEN;
  }

  private hasSpace(bytes: number): boolean {
    // Invariant S3: the producer trusts its cached head until it says "full"; head only grows,
    // so a stale value can only under-estimate free space, never over-estimate it.
    if (this.capacity - ((this.tail - this.cachedHead) | 0) >= bytes) return true;
    this.cachedHead = Atomics.load(this.views.control, HEAD);
    return this.capacity - ((this.tail - this.cachedHead) | 0) >= bytes;
  }

  private noSpace(): null {
    // Invariant S7: publish before reporting "full", so the consumer can free what we wait for.
    this.fullEvents++;
    this.publish();
    return null;
  }

  private rejectClaim(): never {
    if (this.state === CLAIM_OPEN) throw new RingStateError('claim() while a claim is open: commit() it first');
    if (this.state === CHANNEL_CLOSED_SEEN) this.close();
    throw new RingClosedError('the shared ring (claim())');
  }

  private rejectLength(length: number): never {
    if (Number.isInteger(length) && length > this.maxRecordBytes) {
      throw new RecordTooLargeError(length, this.maxRecordBytes);
    }
    throw new RingArgumentError(`a record length must be an integer >= 0, got ${String(length)}`);
  }
}

/**
 * Called with each record. `bytes` is the ring's whole data region; the record is
 * bytes[offset, offset + length). It is valid only during the call: copy what you keep.
 */
export type RecordHandler = (bytes: Uint8Array, offset: number, length: number, producerIndex: number) => void;

/** The consumer side of a SharedRing, used by exactly one thread. */
export class SharedRingConsumer {
  readonly capacity: number;
  /** Passed to handlers so a channel's consumer can tell producers apart. */
  readonly producerIndex: number;
  private readonly views: SharedRingViews;
  private head: number;
  private cachedTail: number;
  consumedRecords = 0;

  constructor(handle: SharedRingHandle, producerIndex = 0) {
    this.views = new SharedRingViews(handle);
    this.capacity = this.views.capacity;
    this.producerIndex = producerIndex;
    this.head = Atomics.load(this.views.control, HEAD);
    this.cachedTail = this.head;
  }

  /**
   * Hands at most max records to the handler, oldest first, then frees their space with one
   * Atomics.store of head. A record handed to a handler that throws still counts as consumed.
   */
  consumeUpTo(max: number, handler: RecordHandler): number {
    const { control, headers, bytes, mask } = this.views;
    const capacity = this.capacity;
    let head = this.head;
    let tail = this.cachedTail;
    let count = 0;
    try {
      while (count < max) {
        if (head === tail) {
          // Invariant S3: refresh the cached tail only when it says "empty".
          tail = this.cachedTail = Atomics.load(control, TAIL);
          if (head === tail) break;
        }
        const index = head & mask;
        // Safety: every byte in [head, tail) was written before the Atomics.store of the tail
        // we loaded (Invariant S2), and the producer cannot reuse it until we store head.
        const length = headers[index >>> 2]!;
        if (length === SKIP_MARKER) {
          head = (head + (capacity - index)) | 0;
          continue;
        }
        head = (head + HEADER_BYTES + ((length + 7) & ~7)) | 0;
        count++;
        handler(bytes, index + HEADER_BYTES, length, this.producerIndex);
      }
    } finally {
      if (head !== this.head) {
        this.head = head;
        Atomics.store(control, HEAD, head);
        this.consumedRecords += count;
        this.views.space.notifyWaiters();
      }
    }
    return count;
  }

  consumeBatch(handler: RecordHandler): number {
    return this.consumeUpTo(Number.MAX_SAFE_INTEGER, handler);
  }

  /** Bytes published and not yet consumed (including padding and skips). */
  get usedBytes(): number {
    return (Atomics.load(this.views.control, TAIL) - this.head) | 0;
  }

  get isEmpty(): boolean {
    return Atomics.load(this.views.control, TAIL) === this.head;
  }

  get isProducerClosed(): boolean {
    return Atomics.load(this.views.control, PRODUCER_CLOSED) !== 0;
  }

  /** The producer closed and every record it published has been consumed. */
  get isDrained(): boolean {
    // Invariant S6: read the closed flag before the tail; the producer publishes its last tail
    // before it sets the flag, so a set flag guarantees the tail read after it is final.
    return this.isProducerClosed && this.isEmpty;
  }

  /** Wakes a producer waiting for space, so it notices a channel close. */
  wakeProducer(): void {
    this.views.space.notifyWaiters();
  }

  /** Resolves true once a record is available (or the producer closed), false on timeout. */
  waitForData(timeoutMs?: number): Promise<boolean> {
    return this.views.dataReady.waitUntil(() => !this.isEmpty || this.isProducerClosed, timeoutMs);
  }
}
