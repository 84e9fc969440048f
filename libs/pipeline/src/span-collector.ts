import { pino } from 'pino';
import type { Span } from '#spanring/otlp';
import { Channel, Notify } from '#spanring/ringmpsc';
import { TraceBatcher } from './batcher/trace-batcher.ts';
import {
  resolveExporterSettings,
  resolvePipelineOptions,
  type ExporterSettingsInput,
  type PipelineOptions,
  type PipelineOptionsInput,
} from './config.ts';
import { ConsumerLoop } from './consumer/consumer-loop.ts';
import { Durability, type ReplayReport } from './durable/durability.ts';
import type { DurabilityOptions } from './durable/durable-store.ts';
import { originRuns } from './durable/origin-runs.ts';
import { PipelineConfigError } from './errors.ts';
import { SendingQueue } from './exporter/sending-queue.ts';
import { isEncodingExporter, type SpanExporter } from './exporter/span-exporter.ts';
import type { PipelineLogger } from './logger.ts';
import { PipelineMetrics } from './metrics.ts';
import { AsyncSpanProducer, RingBudget, SpanProducer } from './producer/span-producer.ts';

export interface ExporterRegistration {
  readonly exporter: SpanExporter;
  /** Retry policy and sending queue; Collector defaults when omitted. */
  readonly settings?: ExporterSettingsInput;
}

export interface SpanCollectorOptions extends PipelineOptionsInput {
  /** Every exporter receives every batch. At least one. */
  readonly exporters: readonly ExporterRegistration[];
  /** A pino-compatible logger; default: pino at info level. */
  readonly logger?: PipelineLogger;
  /** The persistent sending queue of the exporters with sending_queue.storage (specs/durable-queue.md). */
  readonly durability?: DurabilityOptions;
}

export type CollectorState = 'running' | 'draining' | 'stopped';

/** Hears of each batch once nothing in the pipeline will read its spans again (Invariant P14). */
export type SpansReleasedListener = (spans: readonly Span[]) => void;

export interface ExporterReport {
  readonly name: string;
  readonly sentSpans: number;
  readonly failedSpans: number;
  /** Spans unsent at shutdown that stay in the persistent queue for the next start (0 without one). */
  readonly keptSpans: number;
  readonly failuresByReason: Readonly<Record<string, number>>;
}

/** What shutdown() achieved: every accepted span is either sent or listed as failed here. */
export interface ShutdownReport {
  readonly acceptedSpans: number;
  readonly consumedSpans: number;
  /** Spans left in the rings: always 0 (the rings are drained before the exporters stop). */
  readonly spansLeftInRings: number;
  readonly deadlineExceeded: boolean;
  readonly durationMs: number;
  readonly exporters: readonly ExporterReport[];
  /** True when every exporter got every accepted span. */
  readonly delivered: boolean;
}

/**
 * The span pipeline: producers (each with its own ring) → one consumer task → trace-grouping
 * batcher → one sending queue per exporter (retry, bounded concurrency). Full queues push back
 * to the rings, full rings push back to producers; nothing accepted is dropped silently.
 */
export class SpanCollector {
  readonly metrics = new PipelineMetrics();
  readonly options: PipelineOptions;
  /**
   * True when every exporter encodes a batch as it is queued (isEncodingExporter): then no
   * span is read after its batch is queued, and onSpansReleased listeners hear of every batch.
   * False with any exporter that keeps spans until it exports (file, debug): they never do.
   */
  readonly releasesSpans: boolean;
  private readonly channel: Channel<Span>;
  private readonly dataReady = new Notify();
  private readonly spaceFreed = new Notify();
  private readonly budget: RingBudget;
  private readonly queues: SendingQueue[];
  private readonly consumer: ConsumerLoop;
  private readonly logger: PipelineLogger;
  private readonly releaseListeners: SpansReleasedListener[] = [];
  /** The persistent sending queue, when some exporter has storage; receivers use it to acknowledge. */
  readonly durability: Durability | undefined;
  private currentState: CollectorState = 'running';
  private shutdownReport: Promise<ShutdownReport> | undefined;
  /** Per queue: its index among the durable consumers, -1 for an in-memory queue. */
  private readonly durableIndex: number[] = [];

  constructor(options: SpanCollectorOptions) {
    const { exporters, logger, durability, ...pipelineInput } = options;
    this.options = resolvePipelineOptions(pipelineInput);
    this.logger = logger ?? pino({ name: 'spanring' });
    this.durability = durability === undefined ? undefined : new Durability(durability, this.logger);
    this.queues = this.createQueues(exporters);
    this.checkDurableExporters();
    this.releasesSpans = this.queues.every((queue) => isEncodingExporter(queue.exporter));
    const tuning = this.options.collector;
    this.channel = new Channel<Span>({
      ringBits: tuning.ringBits,
      maxProducers: tuning.maxProducers,
      maxConsumePerRing: tuning.maxConsumePerRing,
    });
    this.budget = new RingBudget(tuning.maxPendingSpans);
    const batcher = new TraceBatcher(this.options.batch, (batch) => this.emit(batch));
    this.consumer = new ConsumerLoop({
      channel: this.channel,
      budget: this.budget,
      batcher,
      queues: this.queues,
      dataReady: this.dataReady,
      spaceFreed: this.spaceFreed,
      metrics: this.metrics,
      tuning,
    });
    void this.consumer.start().catch((error: unknown) => {
      this.logger.error({ err: error }, 'span consumer task failed');
    });
  }

  get state(): CollectorState {
    return this.currentState;
  }

  /** A producer with its own ring; trySubmit never waits. */
  register(): SpanProducer {
    return new SpanProducer(this.channel.register(), {
      budget: this.budget,
      dataReady: this.dataReady,
      spaceFreed: this.spaceFreed,
      metrics: this.metrics,
      isClosing: () => this.currentState !== 'running',
    });
  }

  /** A producer whose submit() waits for ring space up to collector.backpressureTimeoutMs. */
  registerAsync(): AsyncSpanProducer {
    return new AsyncSpanProducer(this.register(), this.options.collector.backpressureTimeoutMs);
  }

  /**
   * Calls `listener` with each batch once nothing in the pipeline reads its spans again, so
   * whoever owns the bytes they point into may reuse them (Invariant P14). Called only when
   * releasesSpans; a batch given up or failed to encode is released too.
   */
  onSpansReleased(listener: SpansReleasedListener): void {
    this.releaseListeners.push(listener);
  }

  /** Spans in the rings now (accepted, not yet consumed). */
  get spansInRings(): number {
    return this.channel.size;
  }

  /** Per-exporter queue depth, in batches. */
  queueSizes(): ReadonlyMap<string, number> {
    return new Map(this.queues.map((queue) => [queue.exporter.name, queue.size]));
  }

  get producerCount(): number {
    return this.channel.producerCount;
  }

  /** Spans waiting in each live producer's ring, for self-telemetry. */
  ringOccupancy(): { producerId: number; size: number; capacity: number }[] {
    return this.channel.occupancy();
  }

  /**
   * Resolves once every span accepted before the call has been exported or given up (the
   * SDK's forceFlush): rings drained, batcher flushed, sending queues idle.
   */
  async flush(): Promise<void> {
    await this.consumer.flushNow();
    await Promise.all(this.queues.map((queue) => queue.whenIdle()));
  }

  /**
   * Stops accepting (producers get CollectorClosedError), drains every ring, flushes the
   * batcher, waits for queued and in-flight exports and their retries up to deadlineMs, then
   * gives up on what is left and reports exactly what could not be delivered.
   */
  shutdown(options: { deadlineMs?: number } = {}): Promise<ShutdownReport> {
    this.shutdownReport ??= this.drain(options.deadlineMs ?? 30_000);
    return this.shutdownReport;
  }

  /**
   * Feeds the persistent queue's unsent records into the pipeline (through a producer of its
   * own), so they are exported ahead of anything received after; call before the receivers
   * open. Resolves once every record is in the pipeline, not once it is exported.
   */
  async replayDurable(): Promise<ReplayReport> {
    if (this.durability === undefined) return { records: 0, spans: 0, undecodable: 0 };
    const producer = this.registerAsync();
    try {
      return await this.durability.replay(producer);
    } finally {
      producer.producer.close();
    }
  }

  private async drain(deadlineMs: number): Promise<ShutdownReport> {
    const started = performance.now();
    this.currentState = 'draining';
    this.channel.close();
    this.spaceFreed.notifyWaiters();
    let deadlineExceeded = false;
    const deadline = setTimeout(() => {
      deadlineExceeded = true;
      const reason = `shutdown deadline of ${deadlineMs} ms passed before delivery`;
      for (const queue of this.queues) queue.abortPending(reason);
    }, deadlineMs);
    try {
      await this.consumer.stop();
      await Promise.all(this.queues.map((queue) => queue.drain()));
    } finally {
      clearTimeout(deadline);
    }
    await Promise.all(this.queues.map((queue) => this.shutdownExporter(queue)));
    await this.closeDurability();
    this.currentState = 'stopped';
    const report = this.report(deadlineExceeded, performance.now() - started);
    this.logger.info({ report }, report.delivered ? 'collector drained: everything delivered' : 'collector drained with failures');
    return report;
  }

  private async closeDurability(): Promise<void> {
    try {
      await this.durability?.close();
    } catch (error) {
      this.logger.error({ err: error }, 'closing the persistent sending queue failed: cursors may lag, so a restart may export some spans twice');
    }
  }

  private async shutdownExporter(queue: SendingQueue): Promise<void> {
    try {
      await queue.shutdownExporter();
    } catch (error) {
      this.logger.warn({ err: error, exporter: queue.exporter.name }, 'exporter shutdown failed');
    }
  }

  private report(deadlineExceeded: boolean, durationMs: number): ShutdownReport {
    const exporters = this.queues.map((queue): ExporterReport => {
      const metrics = this.metrics.exporter(queue.exporter.name);
      return {
        name: queue.exporter.name,
        sentSpans: metrics.sentSpans,
        failedSpans: metrics.failedSpans,
        keptSpans: metrics.keptSpans,
        failuresByReason: Object.fromEntries(metrics.failuresByReason),
      };
    });
    return {
      acceptedSpans: this.metrics.accepted,
      consumedSpans: this.metrics.consumed,
      spansLeftInRings: this.channel.size,
      deadlineExceeded,
      durationMs,
      exporters,
      delivered: exporters.every((e) => e.failedSpans === 0 && e.sentSpans === this.metrics.consumed),
    };
  }

  private emit(batch: Span[]): void {
    this.metrics.batches++;
    this.metrics.batchedSpans += batch.length;
    this.metrics.batchSizes.observe(batch.length);
    const durability = this.durability;
    if (durability === undefined) {
      for (const queue of this.queues) queue.enqueue(batch);
    } else {
      const runs = originRuns(batch);
      for (let i = 0; i < this.queues.length; i++) {
        const routed = durability.route(this.durableIndex[i]!, batch, runs);
        this.queues[i]!.enqueue(routed.spans, routed.runs);
      }
    }
    // Invariant P14: every queue encoded the batch inside enqueue() (or gave it up there), and
    // the batcher dropped it when it flushed: nothing reads these spans from here on.
    if (this.releasesSpans) for (const listener of this.releaseListeners) listener(batch);
  }

  private createQueues(exporters: readonly ExporterRegistration[]): SendingQueue[] {
    if (!Array.isArray(exporters) || exporters.length === 0) {
      throw new PipelineConfigError('exporters', 'at least one exporter is required');
    }
    const names = new Set<string>();
    return exporters.map(({ exporter, settings }, index) => {
      if (names.has(exporter.name)) {
        throw new PipelineConfigError(`exporters[${index}]`, `duplicate exporter name "${exporter.name}"`);
      }
      names.add(exporter.name);
      const resolved = resolveExporterSettings(settings, `exporters[${index}]`);
      const consumer = this.durability?.consumerIndex(exporter.name) ?? -1;
      this.durableIndex.push(consumer);
      const durability = this.durability;
      return new SendingQueue(
        exporter,
        resolved,
        this.metrics.exporter(exporter.name),
        (name, spans, reason, error) => this.logger.error({ exporter: name, spans, reason, err: error }, 'spans given up'),
        this.options.collector.maxQueuedSpans,
        durability === undefined || consumer < 0 ? undefined : { settled: (runs) => durability.settled(consumer, runs) },
      );
    });
  }

  /** Every exporter named as durable must be one of the pipeline's. */
  private checkDurableExporters(): void {
    for (const name of this.durability?.exporters ?? []) {
      if (!this.queues.some((queue) => queue.exporter.name === name)) {
        throw new PipelineConfigError('durability.exporters', `"${name}" is not one of the pipeline's exporters`);
      }
    }
  }
}
