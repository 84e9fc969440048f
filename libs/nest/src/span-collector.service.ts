import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Span } from '#spanring/otlp';
import { CollectorClosedError, SpanCollector, type AsyncSpanProducer, type ShutdownReport, type SubmitOptions } from '#spanring/pipeline';
import { MODULE_OPTIONS_TOKEN, type CollectorModuleOptions } from './collector.module-definition.ts';

/** A producer handed to one client; release it when the client goes away. */
export interface ProducerLease {
  readonly producer: AsyncSpanProducer;
  release(): void;
}

/** One producer and how many leases (over all client keys) hold it. */
interface LeaseEntry {
  readonly producer: AsyncSpanProducer;
  holders: number;
  /** The in-process producer is never closed by a release. */
  readonly permanent: boolean;
}

/** Producers kept back for in-process submitters (the SpanProcessor, submit()). */
const RESERVED_PRODUCERS = 1;

/**
 * The collector as a Nest provider. Each client (a connection, or a tenant key — the caller
 * chooses) gets its own producer ring, so one flooding client fills only its own ring and
 * cannot starve the others. Past maxProducers, new clients share the least-held producer.
 */
@Injectable()
export class SpanCollectorService implements BeforeApplicationShutdown {
  readonly collector: SpanCollector;
  readonly retryAfterSeconds: number;
  private readonly options: CollectorModuleOptions;
  private readonly entries = new Set<LeaseEntry>();
  private readonly byKey = new Map<string, { entry: LeaseEntry; leases: number }>();
  private inProcess: AsyncSpanProducer | undefined;
  private shutdownReport: Promise<ShutdownReport> | undefined;

  constructor(@Inject(MODULE_OPTIONS_TOKEN) options: CollectorModuleOptions) {
    this.options = options;
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1;
    this.collector = new SpanCollector({
      ...options.pipeline,
      exporters: options.exporters,
      logger: options.logger,
      ...(options.durability === undefined ? {} : { durability: options.durability }),
    });
  }

  /** True until shutdown begins. */
  get accepting(): boolean {
    return this.collector.state === 'running';
  }

  /** Submits from inside the process (one shared producer). */
  submit(spans: readonly Span[], options?: SubmitOptions): Promise<void> {
    this.inProcess ??= this.collector.registerAsync();
    return this.inProcess.submit(spans, options);
  }

  /** The in-process producer (created on first use). */
  inProcessProducer(): AsyncSpanProducer {
    this.inProcess ??= this.collector.registerAsync();
    return this.inProcess;
  }

  /**
   * A producer for one client; the same key shares one producer until every holder released.
   * Throws CollectorClosedError once shutdown began (answer the client 503 / UNAVAILABLE).
   */
  acquire(clientKey: string): ProducerLease {
    if (!this.accepting) throw new CollectorClosedError();
    let keyed = this.byKey.get(clientKey);
    if (keyed === undefined) {
      keyed = { entry: this.pickEntry(), leases: 0 };
      this.byKey.set(clientKey, keyed);
    }
    keyed.leases++;
    keyed.entry.holders++;
    const { entry } = keyed;
    let released = false;
    return {
      producer: entry.producer,
      release: () => {
        if (released) return;
        released = true;
        this.release(clientKey, entry);
      },
    };
  }

  /** Client keys holding a producer now (for tests and diagnostics). */
  get clientCount(): number {
    return this.byKey.size;
  }

  /** Drains the pipeline (idempotent); Nest calls it on app.close() or a shutdown signal. */
  shutdown(): Promise<ShutdownReport> {
    this.shutdownReport ??= this.collector.shutdown({ deadlineMs: this.options.shutdownDeadlineMs ?? 30_000 });
    return this.shutdownReport;
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.shutdown();
  }

  private pickEntry(): LeaseEntry {
    const max = this.collector.options.collector.maxProducers - RESERVED_PRODUCERS;
    if (this.collector.producerCount < max) {
      const entry = { producer: this.collector.registerAsync(), holders: 0, permanent: false };
      this.entries.add(entry);
      return entry;
    }
    // Every ring is taken: share the producer with the fewest holders.
    let least: LeaseEntry | undefined;
    for (const entry of this.entries) if (least === undefined || entry.holders < least.holders) least = entry;
    if (least !== undefined) return least;
    const shared = { producer: this.inProcessProducer(), holders: 0, permanent: true };
    this.entries.add(shared);
    return shared;
  }

  private release(clientKey: string, entry: LeaseEntry): void {
    const keyed = this.byKey.get(clientKey);
    if (keyed !== undefined && keyed.entry === entry && --keyed.leases === 0) this.byKey.delete(clientKey);
    if (--entry.holders > 0) return;
    this.entries.delete(entry);
    // Spans already submitted stay in the ring for the consumer (ring-buffer D2).
    if (!entry.permanent && this.accepting) entry.producer.producer.close();
  }
}
