import { encodeTraceRequest, scanTraceRequest, type Span } from '#spanring/otlp';
import { describe, expect, it } from 'vitest';
import { ExportError } from '../errors.ts';
import { SILENT_LOGGER } from '../logger.ts';
import { SpanCollector } from '../span-collector.ts';
import { makeSpan, RecordingExporter } from '../test-support.ts';
import type { DurableStore } from './durable-store.ts';

/** A DurableStore in memory, with the promises of specs/durable-queue.md D1–D3. */
class MemoryStore implements DurableStore {
  readonly records = new Map<number, Uint8Array>();
  readonly cursors = new Map<string, number>();
  highestSeq: number;
  full = false;
  failWrites = false;
  readonly stats = { liveBytes: 0, segments: 0, corruptRecords: 0 };
  /** Appends resolve only when released, to see what waits for them. */
  holdAppends = false;
  private held: (() => void)[] = [];

  constructor(records: [number, Uint8Array][] = [], cursors: [string, number][] = []) {
    for (const [seq, payload] of records) this.records.set(seq, payload);
    for (const [name, seq] of cursors) this.cursors.set(name, seq);
    this.highestSeq = Math.max(0, ...this.records.keys(), ...this.cursors.values());
  }

  cursor(consumer: string): number {
    return this.cursors.get(consumer) ?? 0;
  }
  hasRoom(): boolean {
    return !this.full;
  }
  async append(seq: number, payload: Uint8Array): Promise<void> {
    if (this.holdAppends) await new Promise<void>((resolve) => this.held.push(resolve));
    if (this.failWrites) throw new Error('ENOSPC: no space left on device');
    this.records.set(seq, payload.slice());
    this.highestSeq = Math.max(this.highestSeq, seq);
  }
  releaseAppends(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }
  advanceCursor(consumer: string, seq: number): void {
    if (seq > this.cursor(consumer)) this.cursors.set(consumer, seq);
  }
  async replay(onRecord: (seq: number, payload: Uint8Array) => void | Promise<void>): Promise<void> {
    const lowest = this.cursors.size === 0 ? 0 : Math.min(...this.cursors.values());
    for (const [seq, payload] of this.records) if (seq > lowest) await onRecord(seq, payload);
  }
  async flushCursors(): Promise<void> {}
  async close(): Promise<void> {}
}

function request(from: number, count: number): { protobuf: Uint8Array; spans: Span[] } {
  const plain = Array.from({ length: count }, (_, i) => makeSpan(0, from + i, from + i));
  const protobuf = encodeTraceRequest(plain);
  return { protobuf, spans: scanTraceRequest(protobuf) };
}

function collectorWith(store: MemoryStore, exporters: RecordingExporter[], durable: string[]): SpanCollector {
  return new SpanCollector({
    exporters: exporters.map((exporter) => ({ exporter, settings: { retry: { initialIntervalMs: 5, maxIntervalMs: 5 } } })),
    durability: { store, exporters: durable },
    batch: { timeoutMs: 5 },
    logger: SILENT_LOGGER,
  });
}

/** What a receiver does in durable mode: reserve, admit, finish. */
async function receive(collector: SpanCollector, protobuf: Uint8Array, spans: Span[]) {
  const durability = collector.durability!;
  const seq = durability.reserve(spans);
  const { accepted } = await collector.registerAsync().admit(spans);
  return { seq, outcome: await durability.finish(seq, spans, accepted, protobuf) };
}

function spanNames(exporter: RecordingExporter): string[] {
  return exporter.spans.map((span) => span.name).toSorted();
}

describe('Durability', () => {
  it('acknowledges only once the request is in the store (D1), and moves the cursor once it is exported (D5)', async () => {
    const store = new MemoryStore();
    const exporter = new RecordingExporter('otlp');
    const collector = collectorWith(store, [exporter], ['otlp']);
    store.holdAppends = true;
    const { protobuf, spans } = request(1, 3);
    let acknowledged = false;
    const done = receive(collector, protobuf, spans).then((result) => {
      acknowledged = true;
      return result;
    });
    await collector.flush();
    expect(exporter.spans).toHaveLength(3); // exported from memory meanwhile
    expect(acknowledged).toBe(false);
    expect(store.cursor('otlp')).toBe(0); // Invariant D5: the record is still being written
    store.releaseAppends();
    const { seq, outcome } = await done;
    expect(outcome).toBeUndefined();
    expect(store.records.has(seq)).toBe(true);
    expect(store.cursor('otlp')).toBe(seq);
    await collector.shutdown();
  });

  it('gives each exporter its own cursor: a failing exporter holds back only its own', async () => {
    const store = new MemoryStore();
    const healthy = new RecordingExporter('healthy');
    const down = new RecordingExporter('down', () => {
      throw new ExportError('backend down', { retryable: true });
    });
    const collector = collectorWith(store, [healthy, down], ['healthy', 'down']);
    const { protobuf, spans } = request(1, 2);
    const { seq } = await receive(collector, protobuf, spans);
    await expect.poll(() => store.cursor('healthy')).toBe(seq);
    expect(store.cursor('down')).toBe(0);
    const report = await collector.shutdown({ deadlineMs: 50 });
    // Invariant D8: unsent spans of a persistent queue are kept for the next start, not dropped.
    const downReport = report.exporters.find((e) => e.name === 'down')!;
    expect(downReport.keptSpans).toBe(2);
    expect(downReport.failedSpans).toBe(0);
    expect(store.cursor('down')).toBe(0);
  });

  it('moves the cursor past spans dropped for a permanent error (counted, never retried)', async () => {
    const store = new MemoryStore();
    const rejecting = new RecordingExporter('otlp', () => {
      throw new ExportError('INVALID_ARGUMENT', { retryable: false });
    });
    const collector = collectorWith(store, [rejecting], ['otlp']);
    const { protobuf, spans } = request(1, 2);
    const { seq } = await receive(collector, protobuf, spans);
    await collector.flush();
    expect(store.cursor('otlp')).toBe(seq);
    const report = await collector.shutdown();
    expect(report.exporters[0]!.failedSpans).toBe(2);
  });

  it('replays unsent records to exactly the exporters whose cursor had not passed them (D7)', async () => {
    const first = request(1, 2);
    const second = request(10, 3);
    const store = new MemoryStore(
      [
        [1, first.protobuf],
        [2, second.protobuf],
      ],
      [
        ['ahead', 2],
        ['behind', 1],
      ],
    );
    const ahead = new RecordingExporter('ahead');
    const behind = new RecordingExporter('behind');
    const memoryOnly = new RecordingExporter('memory');
    const collector = collectorWith(store, [ahead, behind, memoryOnly], ['ahead', 'behind']);
    const report = await collector.replayDurable();
    expect(report).toMatchObject({ records: 1, spans: 3 });
    await collector.flush();
    expect(spanNames(behind)).toEqual(['p0-10', 'p0-11', 'p0-12']);
    expect(ahead.spans).toHaveLength(0);
    expect(memoryOnly.spans).toHaveLength(0);
    expect(store.cursor('behind')).toBe(2);
    // New requests are numbered above everything in the store and go to every exporter.
    const next = request(20, 1);
    const { seq } = await receive(collector, next.protobuf, next.spans);
    expect(seq).toBe(3);
    await collector.flush();
    expect(memoryOnly.spans).toHaveLength(1);
    expect(ahead.spans).toHaveLength(1);
    await collector.shutdown();
  });

  it('answers a failed write with DurableWriteError, still exporting the spans from memory', async () => {
    const store = new MemoryStore();
    store.failWrites = true;
    const exporter = new RecordingExporter('otlp');
    const collector = collectorWith(store, [exporter], ['otlp']);
    const { protobuf, spans } = request(1, 2);
    const { outcome } = await receive(collector, protobuf, spans);
    expect(outcome?.code).toBe('DURABLE_WRITE_FAILED');
    expect(outcome?.message).toMatch(/ENOSPC/);
    await collector.flush();
    expect(exporter.spans).toHaveLength(2);
    expect(collector.durability!.counts.writeFailures).toBe(1);
    await collector.shutdown();
  });

  it('refuses while the store is full, naming it (429 / UNAVAILABLE upstream)', async () => {
    const store = new MemoryStore();
    const collector = collectorWith(store, [new RecordingExporter('otlp')], ['otlp']);
    expect(collector.durability!.refusalFor(100, 5)).toBeUndefined();
    store.full = true;
    expect(collector.durability!.refusalFor(100, 5)?.message).toMatch(/persistent sending queue is full: 5 span/);
    await collector.shutdown();
  });

  it('rejects a durable exporter that is not in the pipeline', () => {
    expect(() => collectorWith(new MemoryStore(), [new RecordingExporter('otlp')], ['other'])).toThrow(/"other" is not one of the pipeline's exporters/);
  });
});
