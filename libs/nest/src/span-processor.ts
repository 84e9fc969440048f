import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Span } from '#spanring/otlp';
import { CollectorClosedError } from '#spanring/pipeline';
import { ReadableSpanConverter, type SdkReadableSpan } from './readable-span.ts';
import { SpanCollectorService } from './span-collector.service.ts';

/**
 * An OpenTelemetry SDK SpanProcessor that feeds the host's own spans into the collector's
 * rings in-process, with no network hop. Add it to the host's TracerProvider:
 * `new TracerProvider({ spanProcessors: [app.get(SpanringSpanProcessor)] })`.
 *
 * onEnd() cannot wait, so a span that finds its ring full goes to a bounded overflow that is
 * submitted with backpressure in the background. Past `maxOverflow` spans the processor refuses
 * more — counted in the collector's `refused` metric and logged, never silently lost.
 * It is structural (no SDK import), so it fits sdk-trace 3.x and sdk-trace-base 2.x hosts.
 */
@Injectable()
export class SpanringSpanProcessor implements OnModuleDestroy {
  private readonly service: SpanCollectorService;
  private readonly converter = new ReadableSpanConverter();
  private overflow: Span[] = [];
  private draining: Promise<void> | undefined;
  readonly maxOverflow: number;
  refusedSpans = 0;

  constructor(@Inject(SpanCollectorService) service: SpanCollectorService) {
    this.service = service;
    this.maxOverflow = 2 ** service.collector.options.collector.ringBits;
  }

  onStart(): void {}

  onEnd(span: SdkReadableSpan): void {
    if (!this.service.accepting) {
      this.refuse(1);
      return;
    }
    const converted = this.converter.convert(span);
    const producer = this.service.inProcessProducer().producer;
    if (this.overflow.length === 0 && producer.trySubmit(converted).accepted === 1) return;
    if (this.overflow.length >= this.maxOverflow) {
      this.refuse(1);
      return;
    }
    this.overflow.push(converted);
    this.draining ??= this.drainOverflow();
  }

  /** Resolves once every span handed to onEnd() so far has been exported (or given up). */
  async forceFlush(): Promise<void> {
    await this.draining;
    await this.service.collector.flush();
  }

  async shutdown(): Promise<void> {
    await this.forceFlush();
  }

  async onModuleDestroy(): Promise<void> {
    await this.draining;
  }

  /**
   * Submits the overflow in the background, waiting for ring space as long as it takes (the
   * overflow is bounded by maxOverflow; shutdown wakes the wait). Only a closing collector makes
   * the processor refuse what is left, and it counts exactly those spans.
   */
  private async drainOverflow(): Promise<void> {
    try {
      while (this.overflow.length > 0) {
        const batch = this.overflow;
        this.overflow = [];
        const { accepted, refusal } = await this.service
          .inProcessProducer()
          .admit(batch, { timeoutMs: Number.POSITIVE_INFINITY });
        if (refusal === undefined) continue;
        if (refusal instanceof CollectorClosedError) {
          this.refuse(this.overflow.length);
          this.overflow = [];
          return;
        }
        this.overflow = batch.slice(accepted).concat(this.overflow);
      }
    } finally {
      this.draining = undefined;
    }
  }

  private refuse(count: number): void {
    this.refusedSpans += count;
    this.service.collector.metrics.refused += count;
  }
}
