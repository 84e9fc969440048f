import { describe, expect, it } from 'vitest';
import { SILENT_LOGGER } from './logger.ts';
import { SpanCollector } from './span-collector.ts';
import { delay, makeSpan, RecordingExporter, traceNumberOf } from './test-support.ts';

describe('SpanCollector invariants', () => {
  it('moves ownership by reference: exporters receive the very span objects submitted, never copies', async () => {
    const exporter = new RecordingExporter();
    const collector = new SpanCollector({ logger: SILENT_LOGGER, exporters: [{ exporter }] });
    const spans = Array.from({ length: 300 }, (_, i) => makeSpan(0, i));
    await collector.registerAsync().submit(spans);
    await collector.shutdown();
    const received = new Set(exporter.spans);
    expect(received.size).toBe(300);
    expect(spans.every((span) => received.has(span))).toBe(true);
  });

  it('keeps the spans of one trace together and in arrival order across separate submits', async () => {
    const exporter = new RecordingExporter();
    const collector = new SpanCollector({
      logger: SILENT_LOGGER,
      exporters: [{ exporter }],
      batch: { sendBatchSize: 1_000, timeoutMs: 60_000 },
    });
    const producer = collector.registerAsync();
    // Three requests interleave spans of traces 1..3.
    let seq = 0;
    for (let request = 0; request < 3; request++) {
      await producer.submit([1, 2, 3, 1, 2].map((trace) => makeSpan(0, seq++, trace)));
    }
    await collector.shutdown();
    expect(exporter.batches).toHaveLength(1);
    const batch = exporter.batches[0]!;
    expect(batch.map(traceNumberOf)).toEqual([1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3]);
    const trace1 = batch.filter((s) => traceNumberOf(s) === 1).map((s) => s.name);
    expect(trace1).toEqual(['p0-0', 'p0-3', 'p0-5', 'p0-8', 'p0-10', 'p0-13']);
  });

  it('a producer waiting for space does not spin: the wait costs little CPU', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const exporter = new RecordingExporter('blocked', () => gate);
    const collector = new SpanCollector({
      logger: SILENT_LOGGER,
      collector: { ringBits: 2, idleWakeMs: 50 },
      batch: { sendBatchSize: 1, timeoutMs: 0 },
      exporters: [{ exporter, settings: { queue: { queueSize: 1, numConsumers: 1 } } }],
    });
    const producer = collector.registerAsync();
    for (let i = 0; i < 20; i++) {
      producer.producer.trySubmit(makeSpan(0, i));
      await delay(1);
    }
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    await expect(producer.submit([makeSpan(1, 0), makeSpan(1, 1), makeSpan(1, 2), makeSpan(1, 3)], { timeoutMs: 400 })).rejects.toThrow(
      /saturated/,
    );
    const wallMs = performance.now() - wallBefore;
    const cpu = process.cpuUsage(cpuBefore);
    // A spinning wait would burn about as much CPU as wall time.
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(wallMs / 2);
    release();
    await collector.shutdown();
  });

  it('conservation at every point of a run: accepted = consumed + in rings; after drain, consumed = sent + failed', async () => {
    const exporter = new RecordingExporter('flaky', (_spans, attempt) => {
      if (attempt % 7 === 0) throw new Error('flaky backend');
    });
    const collector = new SpanCollector({
      logger: SILENT_LOGGER,
      exporters: [{ exporter, settings: { retry: { enabled: false } } }],
      batch: { sendBatchSize: 64, sendBatchMaxSize: 64, timeoutMs: 5 },
    });
    const producers = Array.from({ length: 4 }, () => collector.registerAsync());
    let violations = 0;
    await Promise.all(
      producers.map(async (producer, p) => {
        for (let i = 0; i < 2_000; i += 50) {
          await producer.submit(Array.from({ length: 50 }, (_, k) => makeSpan(p, i + k)));
          if (collector.metrics.accepted !== collector.metrics.consumed + collector.spansInRings) violations++;
        }
      }),
    );
    const report = await collector.shutdown();
    expect(violations).toBe(0);
    const [flaky] = report.exporters;
    expect(flaky!.failedSpans).toBeGreaterThan(0);
    expect(flaky!.sentSpans + flaky!.failedSpans).toBe(report.consumedSpans);
    expect(report.consumedSpans).toBe(8_000);
    expect(Object.keys(flaky!.failuresByReason)).toEqual(['retries exhausted: flaky backend']);
  });
});

describe('SpanCollector.flush', () => {
  it('resolves after everything accepted so far is exported, without waiting for the batch timeout', async () => {
    const exporter = new RecordingExporter('slowish', () => delay(5));
    const collector = new SpanCollector({
      logger: SILENT_LOGGER,
      exporters: [{ exporter }],
      batch: { sendBatchSize: 100_000, timeoutMs: 60_000 },
    });
    collector.register().trySubmit(Array.from({ length: 500 }, (_, i) => makeSpan(0, i)));
    await collector.flush();
    expect(exporter.spans).toHaveLength(500);
    expect(collector.state).toBe('running');
    await collector.shutdown();
  });
});
