import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { context, SpanStatusCode, trace, type Link } from '@opentelemetry/api';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import type { Span } from '#spanring/otlp';
import { CollectorClosedError, SILENT_LOGGER, type SpanExporter } from '#spanring/pipeline';
import { describe, expect, it } from 'vitest';
import { CollectorModule } from './collector.module.ts';
import { SpanCollectorService } from './span-collector.service.ts';
import { SpanringSpanProcessor } from './span-processor.ts';

class MemoryExporter implements SpanExporter {
  readonly name = 'memory';
  readonly spans: Span[] = [];
  shutdowns = 0;
  async export(spans: readonly Span[]): Promise<void> {
    this.spans.push(...spans);
  }
  async shutdown(): Promise<void> {
    this.shutdowns++;
  }
}

async function moduleWith(exporter: MemoryExporter, extra: object = {}) {
  const moduleRef = await Test.createTestingModule({
    imports: [CollectorModule.forRoot({ exporters: [{ exporter }], logger: SILENT_LOGGER, ...extra })],
  }).compile();
  return moduleRef;
}

describe('CollectorModule', () => {
  it('forRoot provides a SpanCollectorService whose spans reach the exporter, and drains on close', async () => {
    const exporter = new MemoryExporter();
    const moduleRef = await moduleWith(exporter, { pipeline: { batch: { timeoutMs: 60_000 } } });
    const service = moduleRef.get(SpanCollectorService);
    const tracerProvider = new TracerProvider({ spanProcessors: [moduleRef.get(SpanringSpanProcessor)] });
    const tracer = tracerProvider.getTracer('host-app', '1.2.3');
    for (let i = 0; i < 10; i++) tracer.startSpan(`op-${i}`).end();
    // The batch timeout is a minute away: only a drain on close can deliver them now.
    await moduleRef.close();
    expect(exporter.spans.map((s) => s.name)).toEqual(Array.from({ length: 10 }, (_, i) => `op-${i}`));
    expect(exporter.shutdowns).toBe(1);
    expect(service.accepting).toBe(false);
  });

  it('forRootAsync builds its options from an injected provider', async () => {
    const exporter = new MemoryExporter();
    @Module({ providers: [{ provide: 'EXPORTER', useValue: exporter }], exports: ['EXPORTER'] })
    class ExporterModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [
        CollectorModule.forRootAsync({
          imports: [ExporterModule],
          inject: ['EXPORTER'],
          useFactory: (injected: SpanExporter) => ({ exporters: [{ exporter: injected }], logger: SILENT_LOGGER }),
        }),
      ],
    }).compile();
    await moduleRef.get(SpanCollectorService).submit([]);
    const processor = moduleRef.get(SpanringSpanProcessor);
    const tracer = new TracerProvider({ spanProcessors: [processor] }).getTracer('async');
    tracer.startSpan('via-async').end();
    await processor.forceFlush();
    expect(exporter.spans.map((s) => s.name)).toEqual(['via-async']);
    await moduleRef.close();
  });

  it('the SpanProcessor carries every field the SDK span has', async () => {
    const exporter = new MemoryExporter();
    const moduleRef = await moduleWith(exporter);
    const processor = moduleRef.get(SpanringSpanProcessor);
    const tracer = new TracerProvider({ spanProcessors: [processor] }).getTracer('fields', '9.9.9');
    const link: Link = {
      context: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 },
      attributes: { 'link.kind': 'follows' },
    };
    const parent = tracer.startSpan('parent');
    const ctx = trace.setSpan(context.active(), parent);
    const child = tracer.startSpan('child', { kind: 2, attributes: { int: 7, dbl: 1.5, str: 's', ok: true, list: ['a', 'b'] }, links: [link] }, ctx);
    child.addEvent('cache-miss', { key: 'k' });
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
    child.end();
    parent.end();
    await processor.forceFlush();
    const got = exporter.spans.find((s) => s.name === 'child')!;
    const parentSpan = exporter.spans.find((s) => s.name === 'parent')!;
    expect(Buffer.from(got.traceId).toString('hex')).toBe(parent.spanContext().traceId);
    expect(Buffer.from(got.parentSpanId!).toString('hex')).toBe(parent.spanContext().spanId);
    expect(got.kind).toBe(3); // API CLIENT (2) is OTLP SPAN_KIND_CLIENT (3)
    expect(got.attributes).toEqual([
      { key: 'int', value: 7n },
      { key: 'dbl', value: 1.5 },
      { key: 'str', value: 's' },
      { key: 'ok', value: true },
      { key: 'list', value: ['a', 'b'] },
    ]);
    expect(got.statusCode).toBe(2);
    expect(got.extra?.statusMessage).toBe('boom');
    expect(got.extra?.events.map((e) => [e.name, e.attributes])).toEqual([['cache-miss', [{ key: 'key', value: 'k' }]]]);
    expect(got.extra?.links[0]).toMatchObject({ attributes: [{ key: 'link.kind', value: 'follows' }], flags: 0x101 });
    expect(got.scope).toMatchObject({ name: 'fields', version: '9.9.9' });
    expect(got.scope).toBe(parentSpan.scope); // one scope object shared per tracer
    expect(got.resource).toBe(parentSpan.resource);
    expect(got.endTimeUnixNano).toBeGreaterThanOrEqual(got.startTimeUnixNano);
    expect(got.flags & 0xff).toBe(parent.spanContext().traceFlags);
    await moduleRef.close();
  });
});

describe('SpanringSpanProcessor overflow', () => {
  it('keeps spans that found the ring full and delivers them once the pipeline frees up, however long that takes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const delivered: string[] = [];
    const exporter: SpanExporter = {
      name: 'gated',
      async export(spans) {
        await gate;
        delivered.push(...spans.map((s) => s.name));
      },
      async shutdown() {},
    };
    const moduleRef = await Test.createTestingModule({
      imports: [
        CollectorModule.forRoot({
          exporters: [{ exporter, settings: { queue: { queueSize: 1, numConsumers: 1 } } }],
          logger: SILENT_LOGGER,
          pipeline: { collector: { ringBits: 3, backpressureTimeoutMs: 20 }, batch: { sendBatchSize: 4, sendBatchMaxSize: 4, timeoutMs: 0 } },
        }),
      ],
    }).compile();
    const processor = moduleRef.get(SpanringSpanProcessor);
    const tracer = new TracerProvider({ spanProcessors: [processor] }).getTracer('overflow');
    // Ended in one synchronous burst, before the consumer runs: 8 fit in the ring and up to 8
    // (one ring's worth) in the processor's overflow, so 16 spans are held and none is refused.
    const names = Array.from({ length: 16 }, (_, i) => `s${i}`);
    for (const name of names) tracer.startSpan(name).end();
    // Far longer than the 20 ms backpressure wait: the processor keeps waiting, it does not give up.
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    await processor.forceFlush();
    expect(delivered).toEqual(names);
    expect(moduleRef.get(SpanCollectorService).collector.metrics.refused).toBe(0);
    expect(processor.refusedSpans).toBe(0);
    await moduleRef.close();
  });

  it('refuses, and counts, what does not fit in its bounded overflow', async () => {
    const exporter = new MemoryExporter();
    const moduleRef = await moduleWith(exporter, { pipeline: { collector: { ringBits: 2 } } });
    const processor = moduleRef.get(SpanringSpanProcessor);
    const tracer = new TracerProvider({ spanProcessors: [processor] }).getTracer('burst');
    // One synchronous burst: the ring (4) and the overflow (about one ring more) hold the rest.
    for (let i = 0; i < 20; i++) tracer.startSpan(`b${i}`).end();
    const refused = processor.refusedSpans;
    expect(refused).toBeGreaterThan(0);
    expect(moduleRef.get(SpanCollectorService).collector.metrics.refused).toBe(refused);
    await processor.forceFlush();
    // Every span was either delivered or refused and counted: none disappeared.
    expect(exporter.spans.length + refused).toBe(20);
    await moduleRef.close();
  });
});

describe('CollectorModule scope', () => {
  it('is global: a sibling module injects SpanCollectorService without importing it', async () => {
    const exporter = new MemoryExporter();
    @Module({ providers: [{ provide: 'USES_SERVICE', inject: [SpanCollectorService], useFactory: (s: SpanCollectorService) => s }] })
    class SiblingModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [CollectorModule.forRoot({ exporters: [{ exporter }], logger: SILENT_LOGGER }), SiblingModule],
    }).compile();
    expect(moduleRef.get('USES_SERVICE')).toBe(moduleRef.get(SpanCollectorService));
    await moduleRef.close();
  });
});

describe('SpanCollectorService producers', () => {
  it('gives each client key its own producer, shares one key between its holders, and frees it on release', async () => {
    const moduleRef = await moduleWith(new MemoryExporter());
    const service = moduleRef.get(SpanCollectorService);
    const a1 = service.acquire('conn-a');
    const a2 = service.acquire('conn-a');
    const b = service.acquire('conn-b');
    expect(a1.producer).toBe(a2.producer);
    expect(a1.producer).not.toBe(b.producer);
    expect(service.clientCount).toBe(2);
    a1.release();
    a1.release(); // idempotent
    expect(a2.producer.producer.pending).toBe(0);
    expect(service.clientCount).toBe(2);
    a2.release();
    expect(service.clientCount).toBe(1);
    await expect(a2.producer.submit([])).resolves.toBeUndefined();
    b.release();
    await moduleRef.close();
  });

  it('refuses new client producers with CollectorClosedError once shutdown began', async () => {
    const moduleRef = await moduleWith(new MemoryExporter());
    const service = moduleRef.get(SpanCollectorService);
    const drained = service.shutdown();
    expect(() => service.acquire('late')).toThrow(CollectorClosedError);
    await drained;
    await moduleRef.close();
  });

  it('shares the least-held producer once every ring is taken', async () => {
    const moduleRef = await moduleWith(new MemoryExporter(), { pipeline: { collector: { maxProducers: 3 } } });
    const service = moduleRef.get(SpanCollectorService);
    const leases = ['a', 'b', 'c', 'd'].map((key) => service.acquire(key));
    const producers = new Set(leases.map((lease) => lease.producer));
    expect(producers.size).toBe(2); // 3 rings minus one kept for in-process submits
    for (const lease of leases) lease.release();
    await moduleRef.close();
  });
});
