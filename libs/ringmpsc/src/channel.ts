import { resolveConfig, type RingConfig } from './config.ts';
import { RingClosedError, RingStateError, TooManyProducersError } from './errors.ts';
import { RingMetrics, type RingMetricsSnapshot } from './metrics.ts';
import { Ring, type ItemHandler, type Reservation } from './ring.ts';

/**
 * Ring-decomposition MPSC: every producer owns one SPSC ring, so producers never contend;
 * the single consumer polls the rings round-robin with a per-ring cap each turn.
 */
export class Channel<T> {
  readonly config: RingConfig;
  private readonly rings: Ring<T>[] = [];
  private readonly producers: Producer<T>[] = [];
  private nextProducerId = 0;
  private cursor = 0;
  private closed = false;
  /** Counters of rings already pruned, plus waits; null unless enableMetrics. */
  private readonly retiredMetrics: RingMetrics | null;

  constructor(config: Partial<RingConfig> = {}) {
    this.config = resolveConfig(config);
    this.retiredMetrics = this.config.enableMetrics ? new RingMetrics() : null;
  }

  /** A new producer with its own ring. Throws TooManyProducersError past maxProducers. */
  register(): Producer<T> {
    if (this.closed) throw new RingClosedError('the channel (register())');
    if (this.producers.length >= this.config.maxProducers) {
      throw new TooManyProducersError(this.config.maxProducers);
    }
    const ring = new Ring<T>({ ringBits: this.config.ringBits, enableMetrics: this.config.enableMetrics });
    const producer = new Producer<T>(this, ring, this.nextProducerId++);
    this.rings.push(ring);
    this.producers.push(producer);
    return producer;
  }

  get producerCount(): number {
    return this.producers.length;
  }

  /** Items waiting in all rings, including rings of producers that deregistered. */
  get size(): number {
    let total = 0;
    for (const ring of this.rings) total += ring.size;
    return total;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Items waiting in each registered producer's ring (for occupancy metrics). */
  occupancy(): { producerId: number; size: number; capacity: number }[] {
    return this.producers.map((producer) => ({ producerId: producer.id, size: producer.size, capacity: producer.capacity }));
  }

  /** Every item available now, round-robin with the per-ring cap each turn. */
  consumeAll(handler: ItemHandler<T>): number {
    return this.consumeAllUpTo(Number.MAX_SAFE_INTEGER, handler);
  }

  /**
   * At most limit items, round-robin: each turn takes at most maxConsumePerRing from each ring,
   * so a full ring cannot starve the others. The next call starts at the ring after the last
   * one served, so fairness holds across calls too.
   */
  consumeAllUpTo(limit: number, handler: ItemHandler<T>): number {
    const rings = this.rings;
    const perRing = this.config.maxConsumePerRing;
    let total = 0;
    let progressed = true;
    while (progressed && total < limit && rings.length > 0) {
      progressed = false;
      for (let visited = 0; visited < rings.length && total < limit; visited++) {
        if (this.cursor >= rings.length) this.cursor = 0;
        const ring = rings[this.cursor]!;
        this.cursor++;
        const want = limit - total < perRing ? limit - total : perRing;
        const got = ring.consumeUpTo(want, handler);
        if (got > 0) {
          total += got;
          progressed = true;
        }
      }
    }
    this.pruneDrainedRings();
    return total;
  }

  /** Stops every producer (their next push throws RingClosedError); items stay to be drained. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ring of this.rings) ring.close();
  }

  /** Consumes everything left. Meant for after close(), but safe at any time. */
  drainAll(handler: ItemHandler<T>): number {
    return this.consumeAll(handler);
  }

  /** Closed and every ring empty: nothing was left behind. */
  isFullyDrained(): boolean {
    if (!this.closed) return false;
    for (const ring of this.rings) if (!ring.isEmpty) return false;
    return true;
  }

  /** Sum of all rings' counters; null unless enableMetrics. */
  metrics(): RingMetricsSnapshot | null {
    if (this.retiredMetrics === null) return null;
    const total = new RingMetrics();
    this.retiredMetrics.addTo(total);
    for (const ring of this.rings) ring.metrics!.addTo(total);
    return total.snapshot();
  }

  /** Counts one producer wait for space (the async layer above calls this). */
  recordWait(): void {
    if (this.retiredMetrics !== null) this.retiredMetrics.waits++;
  }

  /** @internal Producer.deregister(): its ring stays until the consumer empties it. */
  retire(producer: Producer<T>): void {
    const index = this.producers.indexOf(producer);
    if (index >= 0) this.producers.splice(index, 1);
    this.pruneDrainedRings();
  }

  private pruneDrainedRings(): void {
    const rings = this.rings;
    for (let i = rings.length - 1; i >= 0; i--) {
      const ring = rings[i]!;
      if (!ring.isDrained || this.closed) continue;
      if (ring.metrics !== null) ring.metrics.addTo(this.retiredMetrics!);
      rings.splice(i, 1);
      if (this.cursor > i) this.cursor--;
    }
  }
}

/** One producer's handle: its own ring, written only by this producer. */
export class Producer<T> {
  readonly id: number;
  private readonly channel: Channel<T>;
  private readonly ring: Ring<T>;
  private registered = true;

  constructor(channel: Channel<T>, ring: Ring<T>, id: number) {
    this.channel = channel;
    this.ring = ring;
    this.id = id;
  }

  push(item: T): boolean {
    return this.ring.push(item);
  }

  pushMany(items: ArrayLike<T>, from = 0, max = items.length - from): number {
    return this.ring.pushMany(items, from, max);
  }

  reserve(n: number): Reservation<T> | null {
    return this.ring.reserve(n);
  }

  get size(): number {
    return this.ring.size;
  }

  get capacity(): number {
    return this.ring.capacity;
  }

  get isFull(): boolean {
    return this.ring.isFull;
  }

  get isClosed(): boolean {
    return this.ring.isClosed;
  }

  get isRegistered(): boolean {
    return this.registered;
  }

  /**
   * Leaves the channel. Items already pushed stay for the consumer; further pushes throw
   * RingClosedError. Calling it twice is an error, as it likely hides a bug.
   */
  deregister(): void {
    if (!this.registered) throw new RingStateError(`producer ${this.id} is already deregistered`);
    this.registered = false;
    this.ring.close();
    this.channel.retire(this);
  }
}
