import { describe, expect, it } from 'vitest';
import { BackpressureTimeoutError, CollectorClosedError, ExportError, PipelineConfigError } from './errors.ts';
import { SILENT_LOGGER } from './logger.ts';
import type { Span } from '#spanring/otlp';
import type { ExportOutcome } from './exporter/span-exporter.ts';
import { SpanCollector, type SpanCollectorOptions } from './span-collector.ts';
import { delay, makeSpan, parseName, RecordingExporter } from './test-support.ts';

function collectorWith(exporter: RecordingExporter, options: Partial<SpanCollectorOptions> = {}): SpanCollector {
  return new SpanCollector({ logger: SILENT_LOGGER, exporters: [{ exporter }], ...options });
}

describe('SpanCollector', () => {
  it('16 producers × 25,000 spans: nothing lost, per-producer order kept, conservation holds', async () => {
    const exporter = new RecordingExporter();
    const collector = collectorWith(exporter, {
      collector: { ringBits: 10, maxProducers: 16, backpressureTimeoutMs: 60_000 },
      batch: { sendBatchSize: 2048, timeoutMs: 20 },
    });
    const producers = 16;
    const perProducer = 25_000;
    const chunk = 500;
    const tasks = Array.from({ length: producers }, async (_, p) => {
      const producer = collector.registerAsync();
      for (let start = 0; start < perProducer; start += chunk) {
        const spans = Array.from({ length: chunk }, (_unused, i) => makeSpan(p, start + i));
        await producer.submit(spans);
        // While running: everything accepted is either consumed or still in a ring.
        expect(collector.metrics.accepted).toBe(collector.metrics.consumed + collector.spansInRings);
      }
    });
    await Promise.all(tasks);
    const report = await collector.shutdown({ deadlineMs: 30_000 });

    const received = exporter.spans;
    expect(received).toHaveLength(producers * perProducer);
    const next = Array.from({ length: producers }, () => 0);
    let orderViolations = 0;
    for (const span of received) {
      const { producer, seq } = parseName(span);
      if (seq !== next[producer]) orderViolations++; // per-producer FIFO survives ring, batcher and queue
      next[producer]!++;
    }
    expect(orderViolations).toBe(0);
    expect(next).toEqual(Array.from({ length: producers }, () => perProducer));
    expect(report.acceptedSpans).toBe(producers * perProducer);
    expect(report.consumedSpans).toBe(report.acceptedSpans);
    expect(report.spansLeftInRings).toBe(0);
    expect(report.exporters).toEqual([{ name: 'recording', sentSpans: producers * perProducer, failedSpans: 0, keptSpans: 0, failuresByReason: {} }]);
    expect(report.delivered).toBe(true);
    expect(exporter.shutdowns).toBe(1);
  });

  it('ring of 256 with an exporter taking 100 ms per batch: producers wait, nothing is dropped', async () => {
    const exporter = new RecordingExporter('slow', () => delay(100));
    const collector = collectorWith(exporter, {
      collector: { ringBits: 8, backpressureTimeoutMs: 60_000 },
      batch: { sendBatchSize: 256, sendBatchMaxSize: 256, timeoutMs: 10 },
    });
    const producers = Array.from({ length: 4 }, () => collector.registerAsync());
    const total = 4 * 1_000;
    await Promise.all(
      producers.map(async (producer, p) => {
        for (let i = 0; i < 1_000; i += 100) {
          await producer.submit(Array.from({ length: 100 }, (_, k) => makeSpan(p, i + k)));
        }
      }),
    );
    const report = await collector.shutdown();
    expect(collector.metrics.backpressureWaits).toBeGreaterThan(0);
    expect(collector.metrics.refused).toBe(0);
    expect(exporter.spans).toHaveLength(total);
    expect(report.delivered).toBe(true);
  }, 120_000);

  it('shutdown with 1,000 spans in flight exports all of them before it resolves', async () => {
    const exporter = new RecordingExporter('exp', () => delay(20));
    const collector = collectorWith(exporter, { batch: { sendBatchSize: 100, timeoutMs: 10_000 } });
    const producer = collector.register();
    const spans = Array.from({ length: 1_000 }, (_, i) => makeSpan(0, i));
    expect(producer.trySubmit(spans)).toEqual({ accepted: 1_000, full: false });
    const report = await collector.shutdown();
    expect(exporter.spans).toHaveLength(1_000);
    expect(report.delivered).toBe(true);
    expect(collector.state).toBe('stopped');
  });

  it('rejects with BackpressureTimeoutError when the ring stays full, leaving no partial request behind', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const exporter = new RecordingExporter('blocked', () => gate);
    const collector = collectorWith(exporter, {
      collector: { ringBits: 4 },
      batch: { sendBatchSize: 1, timeoutMs: 0 },
      exporters: [{ exporter, settings: { queue: { queueSize: 1, numConsumers: 1 } } }],
    });
    const producer = collector.registerAsync();
    // Fill the pipeline: in-flight export, one queued batch, then the 16-slot ring.
    let accepted = 0;
    for (let i = 0; i < 200 && producer.producer.trySubmit(makeSpan(0, i)).accepted === 1; i++) {
      accepted++;
      await delay(1);
    }
    const before = collector.metrics.accepted;
    await expect(producer.submit([makeSpan(1, 0), makeSpan(1, 1)], { timeoutMs: 50 })).rejects.toBeInstanceOf(BackpressureTimeoutError);
    await expect(producer.submit([makeSpan(1, 0)], { timeoutMs: 10 })).rejects.toThrow(/saturated: 1 span\(s\) could not enter its ring within 10 ms/);
    expect(collector.metrics.accepted).toBe(before); // all-or-nothing: nothing of the refused requests entered
    expect(collector.metrics.refused).toBe(3);
    release();
    const report = await collector.shutdown();
    expect(exporter.spans).toHaveLength(accepted);
    expect(report.delivered).toBe(true);
  });

  it('admit() reports exactly how much of an oversize request got in before the wait ran out', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const exporter = new RecordingExporter('blocked', () => gate);
    const collector = collectorWith(exporter, {
      collector: { ringBits: 4 },
      batch: { sendBatchSize: 1, sendBatchMaxSize: 1, timeoutMs: 0 },
      exporters: [{ exporter, settings: { queue: { queueSize: 1, numConsumers: 1 } } }],
    });
    const producer = collector.registerAsync();
    const spans = Array.from({ length: 100 }, (_, i) => makeSpan(0, i)); // far more than the 16-slot ring
    const { accepted, refusal } = await producer.admit(spans, { timeoutMs: 100 });
    expect(refusal).toBeInstanceOf(BackpressureTimeoutError);
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(100);
    expect(collector.metrics.accepted).toBe(accepted);
    expect(collector.metrics.refused).toBe(100 - accepted);
    release();
    await collector.shutdown();
    expect(exporter.spans.map((s) => s.name)).toEqual(spans.slice(0, accepted).map((s) => s.name));
  });

  it('refuses submits once shutdown began with CollectorClosedError', async () => {
    const exporter = new RecordingExporter();
    const collector = collectorWith(exporter);
    const producer = collector.registerAsync();
    const sync = collector.register();
    const done = collector.shutdown();
    await expect(producer.submit([makeSpan(0, 0)])).rejects.toBeInstanceOf(CollectorClosedError);
    expect(() => sync.trySubmit(makeSpan(0, 1))).toThrow(/shutting down/);
    await done;
  });

  it('wakes a producer waiting for space with CollectorClosedError when shutdown begins', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const exporter = new RecordingExporter('blocked', () => gate);
    const collector = collectorWith(exporter, {
      collector: { ringBits: 2 },
      batch: { sendBatchSize: 1, timeoutMs: 0 },
      exporters: [{ exporter, settings: { queue: { queueSize: 1, numConsumers: 1 } } }],
    });
    const producer = collector.registerAsync();
    for (let i = 0; i < 20; i++) {
      producer.producer.trySubmit(makeSpan(0, i));
      await delay(1);
    }
    const waiting = producer.submit([makeSpan(1, 0), makeSpan(1, 1), makeSpan(1, 2), makeSpan(1, 3)], { timeoutMs: 60_000 });
    await delay(20);
    const done = collector.shutdown({ deadlineMs: 10_000 });
    await expect(waiting).rejects.toBeInstanceOf(CollectorClosedError);
    release();
    expect((await done).delivered).toBe(true);
  });

  it('at the shutdown deadline gives up on what is left and reports it: consumed = sent + failed', async () => {
    const exporter = new RecordingExporter('down', () => {
      throw new ExportError('backend answered HTTP 503', { retryable: true });
    });
    const collector = collectorWith(exporter, {
      batch: { sendBatchSize: 10, timeoutMs: 0 },
      exporters: [{ exporter, settings: { retry: { initialIntervalMs: 20, maxIntervalMs: 20 } } }],
    });
    collector.register().trySubmit(Array.from({ length: 95 }, (_, i) => makeSpan(0, i)));
    const report = await collector.shutdown({ deadlineMs: 300 });
    expect(report.deadlineExceeded).toBe(true);
    expect(report.delivered).toBe(false);
    const [down] = report.exporters;
    expect(down!.sentSpans).toBe(0);
    expect(down!.failedSpans).toBe(95);
    expect(report.consumedSpans).toBe(down!.sentSpans + down!.failedSpans);
    expect(Object.keys(down!.failuresByReason)).toEqual(['shutdown deadline of 300 ms passed before delivery']);
    expect(exporter.attempts).toBeGreaterThan(1);
  });

  it('finishes a drain past its deadline even with full queues and spans still in the rings, counting them failed', async () => {
    // The exporter only ever ends by abort; queue and ring are tiny, so at the deadline spans
    // sit in the ring and the batcher while the queue is full.
    const exporter = new RecordingExporter('stuck', (_spans, _attempt, signal) => delay(60_000, signal));
    const collector = collectorWith(exporter, {
      collector: { ringBits: 2 },
      batch: { sendBatchSize: 1, sendBatchMaxSize: 1, timeoutMs: 0 },
      exporters: [{ exporter, settings: { queue: { queueSize: 1, numConsumers: 1 } } }],
    });
    const producer = collector.register();
    let accepted = 0;
    for (let i = 0; i < 20; i++) {
      accepted += producer.trySubmit(makeSpan(0, i)).accepted;
      await delay(1);
    }
    const report = await collector.shutdown({ deadlineMs: 200 });
    expect(report.deadlineExceeded).toBe(true);
    expect(report.acceptedSpans).toBe(accepted);
    expect(report.exporters[0]!.failedSpans).toBe(accepted);
    expect(report.exporters[0]!.sentSpans).toBe(0);
    expect(report.spansLeftInRings).toBe(0);
  });

  it('gives every exporter every batch', async () => {
    const a = new RecordingExporter('a');
    const b = new RecordingExporter('b');
    const collector = new SpanCollector({ logger: SILENT_LOGGER, exporters: [{ exporter: a }, { exporter: b }] });
    collector.register().trySubmit(Array.from({ length: 50 }, (_, i) => makeSpan(0, i)));
    await collector.shutdown();
    expect(a.spans.map((s) => s.name)).toEqual(b.spans.map((s) => s.name));
    expect(a.spans).toHaveLength(50);
  });

  it('rejects bad options naming the option', () => {
    const exporter = new RecordingExporter();
    expect(() => new SpanCollector({ logger: SILENT_LOGGER, exporters: [] })).toThrow(PipelineConfigError);
    expect(() => collectorWith(exporter, { batch: { sendBatchSize: 100, sendBatchMaxSize: 10 } })).toThrow(
      /"batch.sendBatchMaxSize": must be 0 \(no limit\) or at least batch.sendBatchSize \(100\), got 10/,
    );
    expect(() => collectorWith(exporter, { collector: { ringBits: 40 } })).toThrow(/"collector.ringBits"/);
    expect(() =>
      new SpanCollector({ logger: SILENT_LOGGER, exporters: [{ exporter }, { exporter }] }),
    ).toThrow(/duplicate exporter name "recording"/);
  });

  it('does not block the event loop: a timer fires while a large backlog is being consumed', async () => {
    const exporter = new RecordingExporter();
    const collector = collectorWith(exporter, {
      collector: { ringBits: 16, maxPendingSpans: 65_536, maxSpansPerTurn: 100 },
      batch: { sendBatchSize: 100_000, timeoutMs: 60_000 },
    });
    collector.register().trySubmit(Array.from({ length: 50_000 }, (_, i) => makeSpan(0, i)));
    const consumedWhenTimerFired = await new Promise<number>((resolve) => setTimeout(() => resolve(collector.metrics.consumed), 0));
    expect(consumedWhenTimerFired).toBeLessThan(50_000);
    await collector.shutdown();
    expect(exporter.spans).toHaveLength(50_000);
  });

  it('caps the spans in all rings together at maxPendingSpans: producers wait on the shared budget, big requests enter piecewise', async () => {
    const exporter = new RecordingExporter();
    const collector = collectorWith(exporter, {
      collector: { ringBits: 10, maxPendingSpans: 100, backpressureTimeoutMs: 60_000 },
      batch: { sendBatchSize: 50, timeoutMs: 5 },
    });
    const [a, b] = [collector.register(), collector.register()];
    // Rings of 1024 each, but the budget lets only 100 in across both, without ever waiting.
    expect(a.trySubmit(Array.from({ length: 70 }, (_, i) => makeSpan(0, i)))).toEqual({ accepted: 70, full: false });
    expect(b.trySubmit(Array.from({ length: 70 }, (_, i) => makeSpan(1, i)))).toEqual({ accepted: 30, full: true });
    expect(collector.spansInRings).toBeLessThanOrEqual(100);
    // An async producer admits a 250-span request (larger than the budget) as space frees up.
    const waiting = collector.registerAsync().admit(Array.from({ length: 250 }, (_, i) => makeSpan(2, i)));
    await expect(waiting).resolves.toEqual({ accepted: 250, refusal: undefined });
    await collector.shutdown();
    expect(exporter.spans).toHaveLength(350);
  });

  it('releases every batch once, after each encoding exporter encoded it, and never while an exporter keeps spans', async () => {
    // An exporter that encodes at enqueue (isEncodingExporter) and records, at release time,
    // whether it had already encoded every released span.
    class EncodingRecorder extends RecordingExporter {
      readonly encoded = new Set<Span>();
      encode(spans: readonly Span[]): Uint8Array {
        for (const span of spans) this.encoded.add(span);
        return new Uint8Array(spans.length);
      }
      exportEncoded(request: Uint8Array, signal: AbortSignal): Promise<ExportOutcome | void> {
        return this.export(Array.from({ length: request.length }, (_, i) => makeSpan(9, i)), signal);
      }
    }
    const [first, second] = [new EncodingRecorder('first'), new EncodingRecorder('second')];
    const encoding = new SpanCollector({
      logger: SILENT_LOGGER,
      exporters: [{ exporter: first }, { exporter: second }],
      batch: { sendBatchSize: 100, timeoutMs: 5 },
    });
    expect(encoding.releasesSpans).toBe(true);
    const released: Span[] = [];
    let releasedBeforeEncoded = 0;
    encoding.onSpansReleased((spans) => {
      for (const span of spans) if (!first.encoded.has(span) || !second.encoded.has(span)) releasedBeforeEncoded++;
      released.push(...spans);
    });
    const sent = Array.from({ length: 1_000 }, (_, i) => makeSpan(0, i));
    await encoding.registerAsync().submit(sent);
    await encoding.shutdown();
    expect(releasedBeforeEncoded).toBe(0);
    expect(new Set(released).size).toBe(released.length);
    expect(new Set(released)).toEqual(new Set(sent));

    // One exporter that keeps spans until it exports (here a plain RecordingExporter): no release.
    const keeping = new SpanCollector({
      logger: SILENT_LOGGER,
      exporters: [{ exporter: new EncodingRecorder('encodes') }, { exporter: new RecordingExporter('keeps') }],
    });
    expect(keeping.releasesSpans).toBe(false);
    let calls = 0;
    keeping.onSpansReleased(() => calls++);
    await keeping.registerAsync().submit(sent);
    await keeping.shutdown();
    expect(calls).toBe(0);
  });
});
