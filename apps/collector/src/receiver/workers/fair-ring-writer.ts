/**
 * Writes requests' records into a worker's SharedRing, serving the requests that wait for
 * ring space in per-client round-robin order (specs/receiver-workers.md W6): inside a worker
 * all clients share one ring, so without this a flooding client's queued requests would take
 * every freed byte and a light client would time out behind them.
 *
 * A request whose records fit now, with nobody waiting, is written at once. Otherwise it
 * joins its client's queue; one pump serves the queues a record at a time, round-robin over
 * clients, and awaits ring space through the ring's shared-memory notify (never spins). A
 * request still waiting at its deadline is refused (BackpressureTimeoutError → 429 /
 * UNAVAILABLE); a request of several records cut short keeps what got in (partial success).
 *
 * What may wait is bounded in bytes (W13, waiting-limits.ts), so neither a flooding tenant nor
 * thousands of connections make a worker hold their bodies for seconds.
 */
import { RingClosedError, type SharedRingProducer } from '#spanring/ringmpsc';
import { BackpressureTimeoutError, CollectorClosedError } from '#spanring/pipeline/errors';
import { ReceiverOverloadedError, type AdmitOutcome } from '../span-sink.ts';
import { mustRefuseWaiting, type WaitingLimits } from '../waiting-limits.ts';
import { recordLength, type RingRecord } from './records.ts';

interface PendingWrite {
  readonly clientKey: string;
  readonly records: readonly RingRecord[];
  /** Index of the next record to write. */
  next: number;
  acceptedSpans: number;
  readonly deadline: number;
  settled: boolean;
  settle(outcome: AdmitOutcome): void;
  /** A bug (not backpressure, not shutdown): the handler answers 500 / INTERNAL. */
  fail(error: unknown): void;
  /** The deadline passed (or the client left): refuse what has not been written. */
  expire(): void;
}

export class FairRingWriter {
  private readonly producer: SharedRingProducer;
  private readonly timeoutMs: number;
  private readonly limits: WaitingLimits;
  /** Bytes of the records not yet written of the requests waiting now. */
  private waitingBytes = 0;
  /** Client key → its waiting requests, oldest first; only clients with something waiting. */
  private readonly queues = new Map<string, PendingWrite[]>();
  /** Round-robin order over the keys of `queues`. */
  private readonly turns: string[] = [];
  private cursor = 0;
  private pumping = false;
  private closedByConsumer = false;
  private idleWaiters: (() => void)[] = [];

  constructor(producer: SharedRingProducer, timeoutMs: number, limits: WaitingLimits) {
    this.producer = producer;
    this.timeoutMs = timeoutMs;
    this.limits = limits;
  }

  /** Bytes waiting for ring space now. */
  get bytesWaiting(): number {
    return this.waitingBytes;
  }

  /** Requests waiting for ring space now. */
  get waiting(): number {
    let count = 0;
    for (const queue of this.queues.values()) count += queue.length;
    return count;
  }

  /** Writes the records (all, or for several records possibly a prefix) and publishes them. */
  write(clientKey: string, records: readonly RingRecord[], signal: AbortSignal): Promise<AdmitOutcome> {
    const totalSpans = spanCount(records, 0);
    if (this.closedByConsumer) return Promise.resolve({ accepted: 0, refusal: new CollectorClosedError() });
    let written = 0;
    let acceptedSpans = 0;
    // Fast path: nobody is waiting, so writing now is fair.
    if (this.turns.length === 0) {
      try {
        while (written < records.length && this.tryWrite(records[written]!)) acceptedSpans += records[written++]!.spanCount;
      } catch (error) {
        return Promise.resolve(this.closedOutcome(error, acceptedSpans));
      }
      if (written > 0) this.producer.publish();
      if (written === records.length) return Promise.resolve({ accepted: totalSpans, refusal: undefined });
    }
    const bytes = recordBytes(records, written);
    if (this.mustRefuse(clientKey, bytes)) {
      return Promise.resolve({ accepted: acceptedSpans, refusal: new ReceiverOverloadedError(totalSpans - acceptedSpans) });
    }
    return new Promise<AdmitOutcome>((resolve, reject) => {
      const finish = (): boolean => {
        if (pending.settled) return false;
        pending.settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.waitingBytes -= recordBytes(pending.records, pending.next);
        this.remove(pending);
        // Invariant W3: what a request wrote is published before it is answered.
        if (pending.acceptedSpans > 0) this.producer.publish();
        return true;
      };
      const pending: PendingWrite = {
        clientKey,
        records,
        next: written,
        acceptedSpans,
        deadline: performance.now() + this.timeoutMs,
        settled: false,
        settle: (outcome) => {
          if (finish()) resolve(outcome);
        },
        fail: (error) => {
          if (finish()) reject(error);
        },
        expire: () =>
          pending.settle({
            accepted: pending.acceptedSpans,
            refusal: new BackpressureTimeoutError(this.timeoutMs, totalSpans - pending.acceptedSpans),
          }),
      };
      const refuse = (): void => pending.expire();
      const timer = setTimeout(refuse, this.timeoutMs);
      const onAbort = (): void => refuse();
      signal.addEventListener('abort', onAbort, { once: true });
      this.enqueue(pending);
      this.waitingBytes += bytes;
      if (signal.aborted) refuse();
      if (!this.pumping) void this.pump();
    });
  }

  /** Resolves once no request waits for ring space. */
  whenIdle(): Promise<void> {
    if (this.turns.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Serves the queues, one record per turn, until none is left. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.turns.length > 0) {
        if (this.cursor >= this.turns.length) this.cursor = 0;
        const pending = this.queues.get(this.turns[this.cursor]!)![0]!;
        const record = pending.records[pending.next]!;
        let wrote: boolean;
        try {
          wrote = this.tryWrite(record);
        } catch (error) {
          this.refuseAll(error);
          return;
        }
        if (wrote) {
          this.waitingBytes -= recordLength(record);
          pending.acceptedSpans += record.spanCount;
          pending.next++;
          if (pending.next === pending.records.length) pending.settle({ accepted: pending.acceptedSpans, refusal: undefined });
          // The next client takes the next turn; a client whose queue emptied already left
          // `turns`, so the cursor points at its successor.
          if (this.queues.has(pending.clientKey)) this.cursor++;
          continue;
        }
        // Ring full: wait (shared-memory notify, no spin) until this record fits, or until the
        // request's deadline, when its own timer refuses it and the next one is served.
        const remaining = pending.deadline - performance.now();
        // Past the deadline, refuse it here: its timer may not have run yet, and waiting 0 ms
        // in a loop would never let it run.
        if (remaining <= 0) pending.expire();
        else await this.producer.waitForSpace(recordLength(record), remaining);
      }
    } finally {
      this.pumping = false;
      this.notifyIdle();
    }
  }

  /**
   * Invariant W13: whether a request of `bytes` still to write must be refused instead of
   * waiting. Only asked when it cannot be written at once; asked before, it says the same,
   * since bytes wait only while requests queue, and then nobody is written at once.
   */
  mustRefuse(clientKey: string, bytes: number): boolean {
    return mustRefuseWaiting(this.limits, this.waitingBytes, bytes, this.queues.has(clientKey));
  }

  /** Claim, copy, commit: one record straight into ring memory; false when it does not fit now. */
  private tryWrite(record: RingRecord): boolean {
    // Safety: claim() hands out bytes the consumer cannot read until publish() stores the tail
    // after commit() wrote the header (ring-buffer S2); nothing else writes this ring (W2).
    const claim = this.producer.claim(recordLength(record));
    if (claim === null) return false;
    claim.bytes.set(record.bytes, claim.offset);
    claim.bytes.set(record.index, claim.offset + record.bytes.byteLength);
    this.producer.commit();
    return true;
  }

  private enqueue(pending: PendingWrite): void {
    let queue = this.queues.get(pending.clientKey);
    if (queue === undefined) {
      queue = [];
      this.queues.set(pending.clientKey, queue);
      this.turns.push(pending.clientKey);
    }
    queue.push(pending);
  }

  private remove(pending: PendingWrite): void {
    const queue = this.queues.get(pending.clientKey);
    if (queue === undefined) return;
    const at = queue.indexOf(pending);
    if (at < 0) return;
    queue.splice(at, 1);
    if (queue.length > 0) return;
    this.queues.delete(pending.clientKey);
    const turn = this.turns.indexOf(pending.clientKey);
    this.turns.splice(turn, 1);
    if (turn < this.cursor) this.cursor--;
    if (this.turns.length === 0) this.notifyIdle();
  }

  /**
   * A claim threw: the main thread closed the channel (it is shutting down), so every waiting
   * request is refused; anything else is a bug and fails them.
   */
  private refuseAll(error: unknown): void {
    // Settling removes the request from its queue (and an emptied queue from `turns`).
    while (this.turns.length > 0) {
      const pending = this.queues.get(this.turns[0]!)![0]!;
      if (error instanceof RingClosedError) pending.settle(this.closedOutcome(error, pending.acceptedSpans));
      else pending.fail(error);
    }
  }

  private closedOutcome(error: unknown, accepted: number): AdmitOutcome {
    if (!(error instanceof RingClosedError)) throw error;
    this.closedByConsumer = true;
    return { accepted, refusal: new CollectorClosedError() };
  }

  private notifyIdle(): void {
    if (this.turns.length > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

function recordBytes(records: readonly RingRecord[], from: number): number {
  let bytes = 0;
  for (let i = from; i < records.length; i++) bytes += recordLength(records[i]!);
  return bytes;
}

function spanCount(records: readonly RingRecord[], from: number): number {
  let count = 0;
  for (let i = from; i < records.length; i++) count += records[i]!.spanCount;
  return count;
}
