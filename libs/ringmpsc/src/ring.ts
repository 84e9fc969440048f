import { resolveConfig, type RingConfig } from './config.ts';
import { RingArgumentError, RingClosedError, RingStateError } from './errors.ts';
import { RingMetrics } from './metrics.ts';

export interface RingOptions extends Partial<RingConfig> {
  /**
   * First value of both sequence counters. Only useful to test behaviour near the counter's
   * wrap point (2^32); any integer is taken modulo 2^32.
   */
  readonly initialSequence?: number;
}

export type ItemHandler<T> = (item: T) => void;

/**
 * A single-producer/single-consumer ring of object slots inside one thread.
 *
 * Capacity is 2^ringBits. Producers either push one item or reserve a contiguous run of slots
 * and commit part or all of it; the consumer takes items in batches with one head update per
 * batch. Consumed slots are cleared so the ring keeps no consumed object alive.
 */
export class Ring<T> {
  readonly capacity: number;
  readonly metrics: RingMetrics | null;
  private readonly mask: number;
  private readonly slots: (T | undefined)[];
  // Invariant R3: only the producer side writes tail, only the consumer side writes head.
  private head: number;
  private tail: number;
  private closed = false;
  private readonly reservation: Reservation<T>;

  constructor(options: RingOptions = {}) {
    const { initialSequence, ...config } = options;
    const { ringBits, enableMetrics } = resolveConfig(config);
    if (initialSequence !== undefined && !Number.isSafeInteger(initialSequence)) {
      throw new RingArgumentError(`initialSequence must be a safe integer, got ${String(initialSequence)}`);
    }
    // `1 << bits` keeps capacity and mask small integers; 2 ** bits would make them doubles.
    this.capacity = 1 << ringBits;
    this.mask = this.capacity - 1;
    // Invariant R1: capacity is a power of two, so `sequence & mask` is the slot index.
    this.slots = packedSlots<T>(this.capacity);
    // Invariant R2: head and tail are 32-bit counters that only grow, modulo 2^32. int32
    // arithmetic (`| 0`) wraps like a u32 in two's complement, and the wrapped difference
    // tail - head is the true occupancy while it stays below 2^31 (capacity <= 2^20), so the
    // counters never hit a limit: after 2^32 items they wrap and every comparison still holds.
    this.head = (initialSequence ?? 0) | 0;
    this.tail = this.head;
    this.metrics = enableMetrics ? new RingMetrics() : null;
    this.reservation = new Reservation<T>(this);
  }

  get size(): number {
    return (this.tail - this.head) | 0;
  }

  get isEmpty(): boolean {
    return this.tail === this.head;
  }

  get isFull(): boolean {
    return ((this.tail - this.head) | 0) >= this.capacity;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Closed and nothing left for the consumer. */
  get isDrained(): boolean {
    return this.closed && this.tail === this.head;
  }

  /** The current head and tail sequences (for diagnostics and tests). */
  get sequences(): { head: number; tail: number } {
    return { head: this.head, tail: this.tail };
  }

  /** Adds one item; false when the ring is full. Throws RingClosedError after close(). */
  push(item: T): boolean {
    this.assertWritable('push()');
    const tail = this.tail;
    if (((tail - this.head) | 0) >= this.capacity) {
      if (this.metrics !== null) this.metrics.fullEvents++;
      return false;
    }
    this.slots[tail & this.mask] = item;
    this.tail = (tail + 1) | 0;
    if (this.metrics !== null) this.metrics.pushes++;
    return true;
  }

  /**
   * Adds items[from..] (at most `max` of them) until the ring is full; returns how many were
   * added. The caller keeps ownership of the array: only references move, nothing is copied.
   */
  pushMany(items: ArrayLike<T>, from = 0, max = items.length - from): number {
    this.assertWritable('pushMany()');
    const free = this.capacity - ((this.tail - this.head) | 0);
    const count = Math.min(free, items.length - from, max);
    if (count <= 0) {
      if (free === 0 && this.metrics !== null) this.metrics.fullEvents++;
      return 0;
    }
    const slots = this.slots;
    const mask = this.mask;
    let tail = this.tail;
    for (let i = 0; i < count; i++) {
      slots[tail & mask] = items[from + i];
      tail = (tail + 1) | 0;
    }
    this.tail = tail;
    if (this.metrics !== null) this.metrics.pushes += count;
    return count;
  }

  /**
   * Reserves up to n contiguous slots. The reservation may be shorter than n: it stops at the
   * end of the slot array (callers loop) and at the free space. Null when the ring is full.
   * The returned object is reused by the next reserve(); commit or cancel it first.
   */
  reserve(n: number): Reservation<T> | null {
    this.assertWritable('reserve()');
    if (!Number.isInteger(n) || n < 1) {
      throw new RingArgumentError(`reserve(n) needs an integer n >= 1, got ${String(n)}`);
    }
    const free = this.capacity - ((this.tail - this.head) | 0);
    if (free === 0) {
      if (this.metrics !== null) this.metrics.fullEvents++;
      return null;
    }
    const start = this.tail & this.mask;
    // Invariant R4: a reservation never wraps; it ends at the slot array's end at the latest.
    const length = Math.min(n, free, this.capacity - start);
    this.reservation.open(start, length);
    return this.reservation;
  }

  /** Moves every available item to the handler with one head update. Returns the count. */
  consumeBatch(handler: ItemHandler<T>): number {
    return this.consumeUpTo(this.capacity, handler);
  }

  /**
   * Moves at most max items to the handler, oldest first, with one head update. An item handed
   * to the handler counts as consumed even if the handler throws; the error is rethrown after
   * the head is updated, so the ring stays consistent.
   */
  consumeUpTo(max: number, handler: ItemHandler<T>): number {
    const available = (this.tail - this.head) | 0;
    const count = available < max ? available : max;
    if (!(count > 0)) return 0;
    const slots = this.slots;
    const mask = this.mask;
    let head = this.head;
    let moved = 0;
    try {
      while (moved < count) {
        const index = head & mask;
        const item = slots[index] as T;
        slots[index] = undefined;
        head = (head + 1) | 0;
        moved++;
        handler(item);
      }
    } finally {
      this.head = head;
      if (this.metrics !== null) this.metrics.consumed += moved;
    }
    return moved;
  }

  /** No more items may be added; items already in the ring stay for the consumer. */
  close(): void {
    this.closed = true;
    this.reservation.abandon();
  }

  private assertWritable(operation: string): void {
    if (this.closed) throw new RingClosedError(`the ring (${operation})`);
    if (this.reservation.isOpen) {
      throw new RingStateError(`${operation} while a reservation is open: commit() or cancel() it first`);
    }
  }

  /** @internal Reservation's access to the slots; not part of the public API. */
  writeSlot(index: number, item: T): void {
    this.slots[index] = item;
  }

  /** @internal */
  clearSlots(from: number, to: number): void {
    this.slots.fill(undefined, from, to);
  }

  /** @internal Publishes k reserved slots. */
  advanceTail(k: number): void {
    this.tail = (this.tail + k) | 0;
    if (this.metrics !== null) this.metrics.pushes += k;
  }
}

/**
 * A run of contiguous free slots handed to the producer. Fill slots 0..length-1 with set(),
 * then commit(k) publishes the first k of them in order; the rest are released.
 */
export class Reservation<T> {
  private readonly ring: Ring<T>;
  private start = 0;
  private reservedLength = 0;
  private active = false;

  constructor(ring: Ring<T>) {
    this.ring = ring;
  }

  get length(): number {
    return this.active ? this.reservedLength : 0;
  }

  get isOpen(): boolean {
    return this.active;
  }

  set(i: number, item: T): void {
    if (this.ring.isClosed) throw new RingClosedError('the ring (Reservation.set())');
    if (!this.active) throw new RingStateError('set() on a reservation that was already committed or cancelled');
    if (!Number.isInteger(i) || i < 0 || i >= this.reservedLength) {
      throw new RingArgumentError(`set(i) needs an integer i from 0 to ${this.reservedLength - 1}, got ${String(i)}`);
    }
    this.ring.writeSlot(this.start + i, item);
  }

  /** Publishes the first k slots (default: all). */
  commit(k: number = this.reservedLength): void {
    if (this.ring.isClosed) throw new RingClosedError('the ring (Reservation.commit())');
    if (!this.active) throw new RingStateError('commit() on a reservation that was already committed or cancelled');
    if (!Number.isInteger(k) || k < 0 || k > this.reservedLength) {
      throw new RingArgumentError(
        `commit(k) needs an integer k from 0 to the reservation's length ${this.reservedLength}, got ${String(k)}`,
      );
    }
    // Invariant R5: slots set but not committed are cleared, so they hold no references.
    this.ring.clearSlots(this.start + k, this.start + this.reservedLength);
    this.active = false;
    this.ring.advanceTail(k);
  }

  /** Releases the reservation without publishing anything. */
  cancel(): void {
    if (this.active && !this.ring.isClosed) this.commit(0);
  }

  /** @internal */
  open(start: number, length: number): void {
    this.start = start;
    this.reservedLength = length;
    this.active = true;
  }

  /** @internal The ring was closed under an open reservation: its slots are released. */
  abandon(): void {
    if (!this.active) return;
    this.ring.clearSlots(this.start, this.start + this.reservedLength);
    this.active = false;
  }
}

/** Built by push so V8 keeps the array PACKED (new Array(n) would make it HOLEY forever). */
function packedSlots<T>(capacity: number): (T | undefined)[] {
  const slots: (T | undefined)[] = [];
  for (let i = 0; i < capacity; i++) slots.push(undefined);
  return slots;
}
