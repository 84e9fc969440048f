import { MAX_PRODUCERS_LIMIT, requireIntegerInRange } from './config.ts';
import { RingArgumentError, RingClosedError, TooManyProducersError } from './errors.ts';
import { CHANNEL_CLOSED, DATA_NOTIFY, DOORBELL_BYTES, type SharedRingHandle } from './shared-layout.ts';
import { SharedNotify } from './shared-notify.ts';
import { createSharedRing, SharedRingConsumer, type RecordHandler } from './shared-ring.ts';

export interface SharedChannelOptions {
  /** Each ring's data capacity is 2^ringBits bytes; 8..30, default 20. */
  readonly ringBits?: number;
  /** Most rings (producer threads) at once; 1..128, default 32. */
  readonly maxProducers?: number;
  /** Records taken from one ring per round-robin turn; default 4096. */
  readonly maxConsumePerRing?: number;
}

/** Everything another thread needs to rebuild the consumer side (postMessage-able). */
export interface SharedChannelHandle {
  readonly doorbell: SharedArrayBuffer;
  readonly rings: readonly SharedRingHandle[];
  readonly ringBits: number;
  readonly maxProducers: number;
  readonly maxConsumePerRing: number;
}

/**
 * The consumer side of N SharedRings — the cross-thread form of Channel. register() creates a
 * ring and returns its handle for a producer thread (`new SharedRingProducer(handle)` there);
 * the consumer polls the rings round-robin with a per-ring cap, and waits on one doorbell that
 * every ring's producer rings when it publishes.
 */
export class SharedChannel {
  private readonly doorbell: SharedArrayBuffer;
  private readonly doorbellWords: Int32Array;
  private readonly dataReady: SharedNotify;
  private readonly handles: SharedRingHandle[] = [];
  private readonly consumers: SharedRingConsumer[] = [];
  private readonly ringBits: number | undefined;
  private readonly maxProducers: number;
  private readonly maxConsumePerRing: number;
  private cursor = 0;

  constructor(options: SharedChannelOptions = {}, attachTo?: SharedChannelHandle) {
    this.ringBits = options.ringBits;
    this.maxProducers = requireIntegerInRange('maxProducers', options.maxProducers ?? 32, 1, MAX_PRODUCERS_LIMIT);
    this.maxConsumePerRing = requireIntegerInRange('maxConsumePerRing', options.maxConsumePerRing ?? 4096, 1, 2 ** 30);
    this.doorbell = attachTo?.doorbell ?? new SharedArrayBuffer(DOORBELL_BYTES);
    this.doorbellWords = new Int32Array(this.doorbell);
    this.dataReady = new SharedNotify(this.doorbellWords, DATA_NOTIFY);
    for (const ring of attachTo?.rings ?? []) this.adopt(ring);
  }

  /** Rebuilds the consumer side in another thread from a handle sent with postMessage. */
  static attach(handle: SharedChannelHandle): SharedChannel {
    if (!handle || !(handle.doorbell instanceof SharedArrayBuffer) || !Array.isArray(handle.rings)) {
      throw new RingArgumentError('SharedChannel.attach() needs a handle from SharedChannel.handle');
    }
    return new SharedChannel(
      { ringBits: handle.ringBits, maxProducers: handle.maxProducers, maxConsumePerRing: handle.maxConsumePerRing },
      handle,
    );
  }

  /**
   * A snapshot for another thread. Only one thread may consume at a time: hand the channel
   * over, do not share it.
   */
  get handle(): SharedChannelHandle {
    return {
      doorbell: this.doorbell,
      rings: [...this.handles],
      ringBits: this.ringBits ?? 20,
      maxProducers: this.maxProducers,
      maxConsumePerRing: this.maxConsumePerRing,
    };
  }

  /** Creates a ring for one more producer thread and returns the handle to send it. */
  register(): SharedRingHandle {
    if (this.isClosed) throw new RingClosedError('the shared channel (register())');
    if (this.handles.length >= this.maxProducers) throw new TooManyProducersError(this.maxProducers);
    const handle = createSharedRing({ ringBits: this.ringBits }, this.doorbell);
    this.adopt(handle);
    return handle;
  }

  get ringCount(): number {
    return this.consumers.length;
  }

  /** Published, unconsumed bytes of each ring, by producer index (for occupancy metrics). */
  occupancy(): number[] {
    return this.consumers.map((consumer) => consumer.usedBytes);
  }

  get isClosed(): boolean {
    return Atomics.load(this.doorbellWords, CHANNEL_CLOSED) !== 0;
  }

  consumeAll(handler: RecordHandler): number {
    return this.consumeAllUpTo(Number.MAX_SAFE_INTEGER, handler);
  }

  /** At most limit records, round-robin over the rings with at most maxConsumePerRing each per turn. */
  consumeAllUpTo(limit: number, handler: RecordHandler): number {
    const consumers = this.consumers;
    const perRing = this.maxConsumePerRing;
    let total = 0;
    let progressed = true;
    while (progressed && total < limit && consumers.length > 0) {
      progressed = false;
      for (let visited = 0; visited < consumers.length && total < limit; visited++) {
        if (this.cursor >= consumers.length) this.cursor = 0;
        const consumer = consumers[this.cursor]!;
        this.cursor++;
        const got = consumer.consumeUpTo(limit - total < perRing ? limit - total : perRing, handler);
        if (got > 0) {
          total += got;
          progressed = true;
        }
      }
    }
    return total;
  }

  /** Resolves true once any ring has data or every producer closed; false on timeout. */
  waitForData(timeoutMs?: number): Promise<boolean> {
    return this.dataReady.waitUntil(() => this.hasData() || this.allProducersClosed(), timeoutMs);
  }

  /**
   * Tells every producer thread to stop: their next claim throws RingClosedError and closes
   * their side. Records already published stay to be drained.
   */
  close(): void {
    Atomics.store(this.doorbellWords, CHANNEL_CLOSED, 1);
    for (const consumer of this.consumers) consumer.wakeProducer();
  }

  drainAll(handler: RecordHandler): number {
    return this.consumeAll(handler);
  }

  private hasData(): boolean {
    for (const consumer of this.consumers) if (!consumer.isEmpty) return true;
    return false;
  }

  /** Closed, every producer closed its side, and nothing is left in any ring. */
  isFullyDrained(): boolean {
    if (!this.isClosed) return false;
    for (const consumer of this.consumers) if (!consumer.isDrained) return false;
    return true;
  }

  /** No ring holds a published, unconsumed record. */
  isEmpty(): boolean {
    return !this.hasData();
  }

  /**
   * Every registered producer closed its side. Check this before isEmpty(): a producer
   * publishes its last records before it sets its closed flag.
   */
  allProducersClosed(): boolean {
    if (this.consumers.length === 0) return false;
    for (const consumer of this.consumers) if (!consumer.isProducerClosed) return false;
    return true;
  }

  /** The producer of ring `index` (registration order) closed its side. */
  isProducerClosed(index: number): boolean {
    const consumer = this.consumers[index];
    if (consumer === undefined) throw new RingArgumentError(`no ring ${String(index)}: the channel has ${this.consumers.length}`);
    return consumer.isProducerClosed;
  }

  private adopt(handle: SharedRingHandle): void {
    if (handle.doorbell !== this.doorbell) {
      throw new RingArgumentError('a ring can join only the channel whose doorbell it was created with');
    }
    this.handles.push(handle);
    this.consumers.push(new SharedRingConsumer(handle, this.consumers.length));
  }
}
