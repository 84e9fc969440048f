import pRetry from 'p-retry';
import type { Span } from '#spanring/otlp';
import { Notify } from '#spanring/ringmpsc';
import type { ExporterSettings } from '../config.ts';
import { ExportError } from '../errors.ts';
import type { ExporterMetrics } from '../metrics.ts';
import { BatchFifo } from './batch-fifo.ts';
import { backoffDelayMs, type RetryPolicy } from './retry-policy.ts';
import { isEncodingExporter, type SpanExporter } from './span-exporter.ts';

/**
 * One queued batch: the spans, or, for an exporter that encodes (isEncodingExporter), only the
 * encoded request, so the spans and the received request buffers they point into are freed
 * as soon as the batch is queued rather than after the export and its retries.
 */
interface QueuedBatch {
  readonly spans: readonly Span[] | undefined;
  readonly request: Uint8Array | undefined;
  readonly count: number;
  /** The durable-log records its spans came from ([seq, count, …]), when the queue is persistent. */
  readonly runs: Float64Array | undefined;
}

/**
 * A queue whose batches are also in the durable log (sending_queue.storage): it reports each
 * batch's final outcome so the exporter's cursor can pass it, and what is still unsent at a
 * shutdown stays in the log for the next start instead of being dropped (specs/durable-queue.md D8).
 */
export interface PersistentQueueHooks {
  settled(runs: Float64Array): void;
}

/** Where the queue reports what it finally gave up on; the collector logs it. */
export type GiveUpListener = (exporter: string, spans: number, reason: string, error: unknown) => void;

/**
 * One exporter's sending queue: up to queueSize batches wait, numConsumers tasks export them
 * concurrently (the limit on in-flight exports), each export retried per the retry policy.
 * A full queue never drops: hasRoom() turns false and the consumer task stops taking spans
 * from the rings, so the pressure reaches producers (Invariant P6).
 */
export class SendingQueue {
  readonly exporter: SpanExporter;
  /** Rung whenever a batch leaves the queue (room for more). */
  readonly roomFreed = new Notify();
  private readonly settings: ExporterSettings;
  private readonly metrics: ExporterMetrics;
  private readonly onGiveUp: GiveUpListener;
  private readonly fifo = new BatchFifo<QueuedBatch>();
  private readonly workAvailable = new Notify();
  private readonly idle = new Notify();
  private readonly abort = new AbortController();
  private readonly workers: Promise<void>[] = [];
  private inFlight = 0;
  /** Spans queued or being exported, for the maxQueuedSpans cap. */
  private heldSpans = 0;
  private readonly maxQueuedSpans: number;
  private closing = false;
  private exporterShutdown: Promise<void> | undefined;
  private readonly persistent: PersistentQueueHooks | undefined;

  constructor(
    exporter: SpanExporter,
    settings: ExporterSettings,
    metrics: ExporterMetrics,
    onGiveUp: GiveUpListener,
    maxQueuedSpans = Number.POSITIVE_INFINITY,
    persistent?: PersistentQueueHooks,
  ) {
    this.exporter = exporter;
    this.persistent = persistent;
    this.settings = settings;
    this.maxQueuedSpans = maxQueuedSpans;
    this.metrics = metrics;
    this.onGiveUp = onGiveUp;
    metrics.queueCapacity = settings.queue.queueSize;
    for (let i = 0; i < settings.queue.numConsumers; i++) this.workers.push(this.work());
  }

  get size(): number {
    return this.fifo.size;
  }

  /**
   * False while queueSize batches wait: the consumer must stop taking spans. Always true once
   * aborted: late batches are given up at once, so a drain past its deadline never blocks.
   */
  hasRoom(): boolean {
    if (this.abort.signal.aborted) return true;
    return this.fifo.size < this.settings.queue.queueSize && this.heldSpans < this.maxQueuedSpans;
  }

  /** True when nothing waits and nothing is being exported. */
  isIdle(): boolean {
    return this.fifo.size === 0 && this.inFlight === 0;
  }

  /**
   * Queues a batch. It is accepted even past queueSize: the consumer checks hasRoom() before
   * each turn, so the overshoot is bounded by one turn's batches.
   */
  enqueue(batch: Span[], runs?: Float64Array): void {
    if (batch.length === 0) return;
    if (this.abort.signal.aborted) {
      // Invariant P4/P11: after the deadline nothing is queued for workers that are gone;
      // the batch is counted as failed with the deadline's reason right away (or, for a
      // persistent queue, as kept in the log for the next start: D8).
      this.abandon(batch.length, (this.abort.signal.reason as Error).message, this.abort.signal.reason);
      return;
    }
    const queued = this.prepare(batch, runs);
    if (queued === undefined) return;
    this.fifo.push(queued);
    this.heldSpans += queued.count;
    this.metrics.queueSize = this.fifo.size;
    this.workAvailable.notifyOne();
  }

  /** Resolves once every queued batch has been exported or given up (no deadline). */
  async whenIdle(): Promise<void> {
    while (!this.isIdle()) {
      const waiter = this.idle.notified();
      if (this.isIdle()) {
        waiter.cancel();
        return;
      }
      await waiter;
    }
  }

  /** Lets the workers finish everything queued and in flight, then stop. */
  async drain(): Promise<void> {
    this.closing = true;
    this.workAvailable.notifyWaiters();
    await Promise.all(this.workers);
  }

  /**
   * Gives up now: in-flight exports and retry waits are aborted, and every queued batch is
   * counted as failed with `reason`. drain() then resolves promptly.
   */
  abortPending(reason: string): void {
    this.closing = true;
    if (!this.abort.signal.aborted) this.abort.abort(new Error(reason));
    for (let batch = this.fifo.shift(); batch !== undefined; batch = this.fifo.shift()) {
      this.heldSpans -= batch.count;
      this.abandon(batch.count, reason, this.abort.signal.reason);
    }
    this.metrics.queueSize = 0;
    this.workAvailable.notifyWaiters();
  }

  /** Releases the exporter's connections or files; once. */
  shutdownExporter(): Promise<void> {
    this.exporterShutdown ??= this.exporter.shutdown();
    return this.exporterShutdown;
  }

  private async work(): Promise<void> {
    for (;;) {
      const batch = this.fifo.shift();
      if (batch === undefined) {
        if (this.closing) return;
        const waiter = this.workAvailable.notified();
        if (this.fifo.size > 0 || this.closing) waiter.cancel();
        else await waiter;
        continue;
      }
      this.metrics.queueSize = this.fifo.size;
      this.roomFreed.notifyWaiters();
      this.inFlight++;
      this.metrics.inFlight = this.inFlight;
      await this.exportBatch(batch);
      this.releaseEncoded(batch);
      this.inFlight--;
      this.metrics.inFlight = this.inFlight;
      this.heldSpans -= batch.count;
      this.roomFreed.notifyWaiters();
      if (this.isIdle()) this.idle.notifyWaiters();
    }
  }

  /** The batch as it waits: encoded now when the exporter encodes; undefined if that failed. */
  private prepare(spans: Span[], runs: Float64Array | undefined): QueuedBatch | undefined {
    if (!isEncodingExporter(this.exporter)) return { spans, request: undefined, count: spans.length, runs };
    try {
      return { spans: undefined, request: this.exporter.encode(spans), count: spans.length, runs };
    } catch (error) {
      this.giveUp(spans.length, this.reasonFor(error), error);
      this.settle(runs);
      return undefined;
    }
  }

  /** Invariant P15: exportBatch() has settled, retries included, so nothing reads the request again. */
  private releaseEncoded(batch: QueuedBatch): void {
    if (batch.request === undefined) return;
    const exporter = this.exporter;
    if (isEncodingExporter(exporter)) exporter.releaseEncoded?.(batch.request);
  }

  private async exportBatch(batch: QueuedBatch): Promise<void> {
    const started = performance.now();
    try {
      const outcome = await this.exportWithRetry(batch, started);
      const rejected = Math.min(outcome?.rejectedSpans ?? 0, batch.count);
      this.metrics.sentSpans += batch.count - rejected;
      if (rejected > 0) {
        const reason = `rejected by the backend (partial success)${outcome?.message ? `: ${outcome.message}` : ''}`;
        this.giveUp(rejected, reason, undefined);
      }
      this.settle(batch.runs);
    } catch (error) {
      if (this.abort.signal.aborted) {
        this.abandon(batch.count, this.reasonFor(error), error);
      } else {
        this.giveUp(batch.count, this.reasonFor(error), error);
        this.settle(batch.runs);
      }
    } finally {
      this.metrics.exportLatencyMs.observe(performance.now() - started);
    }
  }

  private exportWithRetry(batch: QueuedBatch, started: number) {
    const policy = this.settings.retry;
    const signal = this.abort.signal;
    const exporter = this.exporter;
    const attempt =
      batch.request !== undefined && isEncodingExporter(exporter)
        ? () => exporter.exportEncoded(batch.request!, signal)
        : () => exporter.export(batch.spans!, signal);
    return pRetry(attempt, {
      retries: policy.enabled ? Number.POSITIVE_INFINITY : 0,
      // p-retry runs the attempts, the permanence check, the elapsed-time limit and abort; the
      // delay itself follows the Collector's formula (±randomizationFactor jitter, Retry-After),
      // which p-retry's own backoff cannot express, so its delay is 0 and we wait in shouldRetry.
      minTimeout: 0,
      factor: 1,
      maxRetryTime: policy.maxElapsedTimeMs === 0 ? Number.POSITIVE_INFINITY : policy.maxElapsedTimeMs,
      signal,
      shouldRetry: async ({ error, attemptNumber }) => {
        if (error instanceof ExportError && !error.retryable) return false;
        const retryAfterMs = error instanceof ExportError ? error.retryAfterMs : undefined;
        const delay = backoffDelayMs(policy, attemptNumber, retryAfterMs);
        if (exceedsElapsedLimit(policy, started, delay)) return false;
        this.metrics.retries++;
        await sleep(delay, signal);
        return true;
      },
    });
  }

  private reasonFor(error: unknown): string {
    if (this.abort.signal.aborted) return String((this.abort.signal.reason as Error)?.message ?? 'aborted');
    if (error instanceof ExportError) {
      return error.retryable ? `retries exhausted: ${error.message}` : `permanent error: ${error.message}`;
    }
    return `retries exhausted: ${error instanceof Error ? error.message : String(error)}`;
  }

  /** Invariant D8: a batch's final outcome (sent, or dropped and counted) moves the cursor past it. */
  private settle(runs: Float64Array | undefined): void {
    if (runs !== undefined) this.persistent?.settled(runs);
  }

  /** Shutdown gave up on the batch: dropped and counted, or, in a persistent queue, kept for the next start. */
  private abandon(count: number, reason: string, error: unknown): void {
    if (this.persistent === undefined) {
      this.giveUp(count, reason, error);
      return;
    }
    this.metrics.keptSpans += count;
  }

  private giveUp(count: number, reason: string, error: unknown): void {
    this.metrics.recordFailure(count, reason);
    this.onGiveUp(this.exporter.name, count, reason, error);
  }
}

/** The Collector stops retrying when the next wait would pass max_elapsed_time. */
function exceedsElapsedLimit(policy: RetryPolicy, started: number, nextDelayMs: number): boolean {
  return policy.maxElapsedTimeMs > 0 && performance.now() - started + nextDelayMs > policy.maxElapsedTimeMs;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
