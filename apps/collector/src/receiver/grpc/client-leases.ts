import type { ProducerLease } from '#spanring/nest';
import type { AsyncSpanProducer } from '#spanring/pipeline';

/** One call's hold on its client's producer; `release()` when the call has answered. */
export interface ClientCall {
  readonly producer: AsyncSpanProducer;
  release(): void;
}

/** A client and its producer, for diagnostics and tests. */
export interface ClientInfo {
  readonly key: string;
  readonly producerId: number;
  readonly inFlight: number;
}

interface Entry {
  readonly lease: ProducerLease;
  inFlight: number;
  idleTimer: NodeJS.Timeout | undefined;
}

/**
 * Producer leases per client key, held while the client is active.
 *
 * grpc-js tells a handler nothing when a connection closes, so a lease is not tied to the
 * connection's lifetime but to its activity: it is taken by the client's first call and
 * released once the client has had no call in flight for `idleMs`. A client that comes back
 * later simply takes a new lease. A lease is never released under a call in flight, so a
 * submit never finds its producer closed by us.
 */
export class ClientLeases {
  private readonly acquire: (key: string) => ProducerLease;
  private readonly idleMs: number;
  private readonly entries = new Map<string, Entry>();
  private closing = false;

  constructor(acquire: (key: string) => ProducerLease, idleMs: number) {
    this.acquire = acquire;
    this.idleMs = idleMs;
  }

  /** The client's producer for one call (taking a lease on its first call). */
  begin(key: string): ClientCall {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { lease: this.acquire(key), inFlight: 0, idleTimer: undefined };
      this.entries.set(key, entry);
    }
    if (entry.idleTimer !== undefined) {
      clearTimeout(entry.idleTimer);
      entry.idleTimer = undefined;
    }
    entry.inFlight++;
    const held = entry;
    let finished = false;
    return {
      producer: held.lease.producer,
      release: () => {
        if (finished) return;
        finished = true;
        if (--held.inFlight === 0) this.idle(key, held);
      },
    };
  }

  /** Clients holding a lease now. */
  get size(): number {
    return this.entries.size;
  }

  clients(): ClientInfo[] {
    return [...this.entries].map(([key, entry]) => ({ key, producerId: entry.lease.producer.producer.id, inFlight: entry.inFlight }));
  }

  /**
   * Shutdown: releases idle clients now, and busy ones as soon as their last call answers
   * (no idle wait), so nothing outlives the receiver.
   */
  releaseAll(): void {
    this.closing = true;
    for (const [key, entry] of this.entries) if (entry.inFlight === 0) this.release(key, entry);
  }

  private idle(key: string, entry: Entry): void {
    if (this.closing) {
      this.release(key, entry);
      return;
    }
    entry.idleTimer = setTimeout(() => this.release(key, entry), this.idleMs);
    // An idle lease must not keep the process alive.
    entry.idleTimer.unref();
  }

  private release(key: string, entry: Entry): void {
    if (entry.idleTimer !== undefined) clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
    if (this.entries.get(key) === entry) this.entries.delete(key);
    entry.lease.release();
  }
}
