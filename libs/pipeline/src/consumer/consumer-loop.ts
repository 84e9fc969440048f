import type { Span } from '#spanring/otlp';
import type { Channel, Notify } from '#spanring/ringmpsc';
import type { TraceBatcher } from '../batcher/trace-batcher.ts';
import type { CollectorTuning } from '../config.ts';
import type { PipelineMetrics } from '../metrics.ts';
import type { RingBudget } from '../producer/span-producer.ts';
import type { SendingQueue } from '../exporter/sending-queue.ts';

export interface ConsumerParts {
  readonly channel: Channel<Span>;
  readonly budget: RingBudget;
  readonly batcher: TraceBatcher;
  readonly queues: readonly SendingQueue[];
  readonly dataReady: Notify;
  readonly spaceFreed: Notify;
  readonly metrics: PipelineMetrics;
  readonly tuning: CollectorTuning;
}

/**
 * The single consumer: takes at most maxSpansPerTurn spans per turn from the rings
 * (round-robin, per-ring cap), hands them to the batcher, rings spaceFreed, and yields to the
 * event loop between turns. It wakes on dataReady or every idleWakeMs, and stops taking
 * spans while any exporter's queue is full, so the pressure stays in the rings (Invariant P6).
 */
export class ConsumerLoop {
  private readonly parts: ConsumerParts;
  private readonly addToBatcher: (span: Span) => void;
  private stopping = false;
  private running: Promise<void> | undefined;

  constructor(parts: ConsumerParts) {
    this.parts = parts;
    // Bound once: the per-span handler must not be a closure created per turn or per span.
    const batcher = parts.batcher;
    this.addToBatcher = (span: Span) => batcher.add(span);
  }

  start(): Promise<void> {
    this.running ??= this.run();
    return this.running;
  }

  /**
   * Resolves once every span in the rings now has been handed to the sending queues: waits for
   * the rings to empty (the consumer rings spaceFreed after each turn), then flushes the batcher.
   */
  async flushNow(): Promise<void> {
    const { channel, spaceFreed, batcher, tuning } = this.parts;
    while (channel.size > 0) {
      const waiter = spaceFreed.notified({ timeoutMs: tuning.idleWakeMs });
      if (channel.size === 0) waiter.cancel();
      else await waiter;
    }
    batcher.flush();
  }

  /** Finish: drain the (closed) channel, flush the batcher, then end. */
  stop(): Promise<void> {
    this.stopping = true;
    this.parts.dataReady.notifyOne();
    for (const queue of this.parts.queues) queue.roomFreed.notifyWaiters();
    return this.start();
  }

  private async run(): Promise<void> {
    const { channel, budget, batcher, spaceFreed, metrics, tuning } = this.parts;
    for (;;) {
      const blocked = this.fullQueue();
      if (blocked !== undefined) {
        await this.waitForRoom(blocked);
        continue;
      }
      const took = channel.consumeAllUpTo(tuning.maxSpansPerTurn, this.addToBatcher);
      if (took > 0) {
        budget.used -= took;
        metrics.consumed += took;
        spaceFreed.notifyWaiters();
        batcher.flushIfFull();
        batcher.flushIfDue();
        await yieldToEventLoop();
        continue;
      }
      batcher.flushIfDue();
      if (this.stopping && channel.isFullyDrained()) {
        batcher.flush();
        return;
      }
      await this.waitForData();
    }
  }

  private fullQueue(): SendingQueue | undefined {
    for (const queue of this.parts.queues) if (!queue.hasRoom()) return queue;
    return undefined;
  }

  private async waitForRoom(queue: SendingQueue): Promise<void> {
    const waiter = queue.roomFreed.notified({ timeoutMs: this.parts.tuning.idleWakeMs });
    if (queue.hasRoom()) waiter.cancel();
    else await waiter;
  }

  private async waitForData(): Promise<void> {
    const { channel, batcher, dataReady, tuning } = this.parts;
    const timeoutMs = Math.min(tuning.idleWakeMs, batcher.msUntilDue());
    // Invariant P2: register, re-check, then await: a submit in between is not missed.
    const waiter = dataReady.notified({ timeoutMs });
    if (channel.size > 0 || (this.stopping && channel.isFullyDrained())) waiter.cancel();
    else await waiter;
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
