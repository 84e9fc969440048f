import { encodeTraceRequest, scanTraceRequest, type Span } from '#spanring/otlp';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeSpan, traceNumberOf } from '../test-support.ts';
import { TraceBatcher } from './trace-batcher.ts';

function collect(options: { sendBatchSize?: number; sendBatchMaxSize?: number; timeoutMs?: number }) {
  const batches: Span[][] = [];
  const batcher = new TraceBatcher(
    { sendBatchSize: options.sendBatchSize ?? 8192, sendBatchMaxSize: options.sendBatchMaxSize ?? 0, timeoutMs: options.timeoutMs ?? 200 },
    (batch) => batches.push(batch),
  );
  return { batcher, batches };
}

const tracesOf = (batch: Span[]): number[] => batch.map(traceNumberOf);

describe('TraceBatcher', () => {
  it('keeps spans of one trace together, traces in first-arrival order, spans in arrival order', () => {
    const { batcher, batches } = collect({});
    const arrivals = [1, 2, 1, 3, 2, 1];
    arrivals.forEach((trace, seq) => batcher.add(makeSpan(0, seq, trace)));
    batcher.flush();
    expect(batches).toHaveLength(1);
    expect(tracesOf(batches[0]!)).toEqual([1, 1, 1, 2, 2, 3]);
    expect(batches[0]!.map((s) => s.name)).toEqual(['p0-0', 'p0-2', 'p0-5', 'p0-1', 'p0-4', 'p0-3']);
  });

  it('flushes when sendBatchSize spans are pending, not before', () => {
    const { batcher, batches } = collect({ sendBatchSize: 5 });
    for (let i = 0; i < 4; i++) batcher.add(makeSpan(0, i, i));
    expect(batcher.flushIfFull()).toBe(0);
    batcher.add(makeSpan(0, 4, 4));
    expect(batcher.flushIfFull()).toBe(5);
    expect(batches.flat()).toHaveLength(5);
    expect(batcher.pendingSpans).toBe(0);
  });

  it('flushes after timeoutMs from the first pending span', () => {
    const { batcher, batches } = collect({ timeoutMs: 200 });
    batcher.add(makeSpan(0, 0));
    const start = performance.now();
    expect(batcher.flushIfDue(start + 199)).toBe(0);
    expect(batcher.msUntilDue(start)).toBeGreaterThan(0);
    expect(batcher.flushIfDue(start + 201)).toBe(1);
    expect(batches).toHaveLength(1);
    expect(batcher.msUntilDue()).toBe(Number.POSITIVE_INFINITY);
  });

  it('never emits more than sendBatchMaxSize, and starts a new batch rather than split a trace that fits', () => {
    const { batcher, batches } = collect({ sendBatchMaxSize: 4 });
    // trace 1: 3 spans, trace 2: 2 spans (does not fit after trace 1), trace 3: 1 span
    [1, 1, 1, 2, 2, 3].forEach((trace, seq) => batcher.add(makeSpan(0, seq, trace)));
    batcher.flush();
    expect(batches.map(tracesOf)).toEqual([[1, 1, 1], [2, 2, 3]]);
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(4);
  });

  it('splits a trace larger than the maximum in order', () => {
    const { batcher, batches } = collect({ sendBatchMaxSize: 3 });
    batcher.add(makeSpan(0, 100, 9));
    for (let seq = 0; seq < 7; seq++) batcher.add(makeSpan(0, seq, 5));
    batcher.flush();
    expect(batches.map((b) => b.length)).toEqual([1, 3, 3, 1]);
    const trace5 = batches.flat().filter((s) => traceNumberOf(s) === 5).map((s) => s.name);
    expect(trace5).toEqual(['p0-0', 'p0-1', 'p0-2', 'p0-3', 'p0-4', 'p0-5', 'p0-6']);
  });

  it('tells apart traces whose ids share the hashed bytes', () => {
    const { batcher, batches } = collect({});
    const a = makeSpan(0, 0, 7);
    const b = { ...makeSpan(0, 1, 7), traceId: Uint8Array.from(a.traceId, (byte, i) => (i === 0 ? 0xcd : byte)) };
    batcher.add(a);
    batcher.add(b);
    batcher.add(makeSpan(0, 2, 7));
    batcher.flush();
    expect(batches[0]!.map((s) => s.name)).toEqual(['p0-0', 'p0-2', 'p0-1']);
  });

  it('groups spans received as protobuf (WireSpans) with decoded spans of the same trace', () => {
    const { batcher, batches } = collect({});
    const decoded = [makeSpan(0, 0, 1), makeSpan(0, 1, 2), makeSpan(0, 2, 1)];
    const received = scanTraceRequest(encodeTraceRequest([makeSpan(1, 0, 2), makeSpan(1, 1, 1), makeSpan(1, 2, 3)]));
    [decoded[0]!, received[0]!, decoded[1]!, received[1]!, decoded[2]!, received[2]!].forEach((span) => batcher.add(span));
    batcher.flush();
    expect(tracesOf(batches[0]!)).toEqual([1, 1, 1, 2, 2, 3]);
    expect(batches[0]!.map((s) => s.name)).toEqual(['p0-0', 'p1-1', 'p0-2', 'p1-0', 'p0-1', 'p1-2']);
  });

  it('matches a plain reference batcher over many windows with repeating and colliding ids (property)', () => {
    // Ids from a small pool, some differing only in their first byte, so traces repeat and collide.
    const idPool = fc.array(fc.uint8Array({ minLength: 16, maxLength: 16 }), { minLength: 1, maxLength: 40 }).map((ids) => [
      ...ids,
      ...ids.map((id) => Uint8Array.from(id, (byte, i) => (i === 0 ? byte ^ 0x80 : byte))),
    ]);
    const windows = fc.array(fc.array(fc.nat(), { minLength: 1, maxLength: 3000, size: 'max' }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(idPool, windows, fc.constantFrom(0, 1, 3, 7, 64, 5000), (ids, arrivals, sendBatchMaxSize) => {
        const { batcher, batches } = collect({ sendBatchMaxSize });
        const expected: Span[][] = [];
        let seq = 0;
        for (const window of arrivals) {
          const spans = window.map((pick) => ({ ...makeSpan(0, seq++), traceId: ids[pick % ids.length]! }));
          for (const span of spans) batcher.add(span);
          expect(batcher.flush()).toBe(spans.length);
          expected.push(...referenceBatches(spans, sendBatchMaxSize));
        }
        expect(batches.map((b) => b.map((s) => s.name))).toEqual(expected.map((b) => b.map((s) => s.name)));
        expect(batches.every((b) => Object.keys(b).length === b.length)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('grows its tables for windows of thousands of spans and traces, then serves smaller windows alike', () => {
    const { batcher, batches } = collect({ sendBatchMaxSize: 1000 });
    const expected: Span[][] = [];
    let seq = 0;
    // 6000 spans over 3000 traces, then 50 over 20: growth, then reuse of the grown tables.
    for (const [spanCount, traceCount] of [[6000, 3000], [50, 20]] as const) {
      const spans = Array.from({ length: spanCount }, (_, i) => {
        const span = makeSpan(0, seq++, (i * 7919) % traceCount);
        // Every other trace differs from its neighbour only in the first byte of its id.
        const traceId = Uint8Array.from(span.traceId);
        if (i % 2 === 1) traceId[0] = 0xff;
        return { ...span, traceId };
      });
      for (const span of spans) batcher.add(span);
      expect(batcher.pendingSpans).toBe(spanCount);
      expect(batcher.flush()).toBe(spanCount);
      expected.push(...referenceBatches(spans, 1000));
    }
    expect(batches.map((b) => b.map((s) => s.name))).toEqual(expected.map((b) => b.map((s) => s.name)));
  });
});

/** P5 written the obvious way: group by hex id in first-arrival order, then pack. */
function referenceBatches(spans: readonly Span[], sendBatchMaxSize: number): Span[][] {
  const byTrace = new Map<string, Span[]>();
  for (const span of spans) {
    const key = Buffer.from(span.traceId).toString('hex');
    byTrace.set(key, [...(byTrace.get(key) ?? []), span]);
  }
  const max = sendBatchMaxSize === 0 ? Number.POSITIVE_INFINITY : sendBatchMaxSize;
  const batches: Span[][] = [];
  let batch: Span[] = [];
  for (const trace of byTrace.values()) {
    if (batch.length > 0 && batch.length + trace.length > max) {
      batches.push(batch);
      batch = [];
    }
    for (const span of trace) {
      if (batch.length === max) {
        batches.push(batch);
        batch = [];
      }
      batch.push(span);
    }
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
