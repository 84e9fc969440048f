import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordTracker } from './record-tracker.ts';

function tracker(consumers: number, start: number[] = Array(consumers).fill(0)) {
  const moves: [number, number][] = [];
  const t = new RecordTracker(consumers, start, (c, seq) => moves.push([c, seq]));
  return { t, moves };
}

describe('RecordTracker', () => {
  it('moves a cursor only past records that are closed and fully settled, in seq order (D5)', () => {
    const { t, moves } = tracker(1);
    t.openRecord(1, 2);
    t.openRecord(2, 1);
    t.settle(0, Float64Array.of(2, 1));
    t.close(2);
    expect(t.cursor(0)).toBe(0); // record 1 holds it back
    t.settle(0, Float64Array.of(1, 2));
    expect(t.cursor(0)).toBe(0); // settled but its admission has not finished
    t.close(1);
    expect(t.cursor(0)).toBe(2);
    expect(moves).toEqual([[0, 2]]);
    expect(t.tracked).toBe(0);
  });

  it('keeps one cursor per consumer: a slow exporter holds only its own (D5)', () => {
    const { t } = tracker(2);
    t.openRecord(1, 3);
    t.close(1);
    t.settle(0, Float64Array.of(1, 3));
    expect([t.cursor(0), t.cursor(1)]).toEqual([1, 0]);
    expect(t.tracked).toBe(1);
    t.settle(1, Float64Array.of(1, 3));
    expect([t.cursor(0), t.cursor(1)]).toEqual([1, 1]);
    expect(t.tracked).toBe(0);
  });

  it('passes the refused part of a request without a settle (forget)', () => {
    const { t } = tracker(1);
    t.openRecord(5, 4);
    t.forget(5, 4);
    t.close(5);
    expect(t.cursor(0)).toBe(5);
  });

  it('refuses seqs that go back outside replay, and takes any order during replay (D6)', () => {
    const { t } = tracker(1);
    t.openRecord(3, 1);
    expect(() => t.openRecord(2, 1)).toThrow(/seqs must increase/);
    const replaying = tracker(1).t;
    replaying.beginReplay();
    replaying.openRecord(7, 1);
    replaying.openRecord(5, 1);
    replaying.close(7);
    replaying.settle(0, Float64Array.of(7, 1));
    expect(replaying.cursor(0)).toBe(0); // frozen while replaying
    replaying.endReplay();
    expect(replaying.cursor(0)).toBe(4); // record 5 is still pending
    replaying.close(5);
    replaying.settle(0, Float64Array.of(5, 1));
    expect(replaying.cursor(0)).toBe(7);
  });

  it('starts a replayed record as done for a consumer whose cursor already covers it', () => {
    const { t } = tracker(2, [10, 4]);
    t.beginReplay();
    t.openRecord(6, 2);
    t.close(6);
    t.endReplay();
    // Seq 5 is not in the log (never logged, or already deleted), so consumer 1 may pass it.
    expect([t.cursor(0), t.cursor(1)]).toEqual([10, 5]);
    t.settle(1, Float64Array.of(6, 2));
    expect([t.cursor(0), t.cursor(1)]).toEqual([10, 10]);
  });

  it('property: each cursor equals the naive model (highest seq below which every record is done), and never moves back', () => {
    type Op =
      | { kind: 'open'; spans: number }
      | { kind: 'settle'; consumer: number; pick: number; count: number }
      | { kind: 'forget'; pick: number; count: number }
      | { kind: 'close'; pick: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('open' as const), spans: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ kind: fc.constant('settle' as const), consumer: fc.integer({ min: 0, max: 2 }), pick: fc.nat(), count: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ kind: fc.constant('forget' as const), pick: fc.nat(), count: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ kind: fc.constant('close' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), fc.integer({ min: 1, max: 3 }), (ops, gap) => {
        const consumers = 3;
        const { t } = tracker(consumers);
        const model: { seq: number; open: boolean; pending: number[] }[] = [];
        let seq = 0;
        const previous = [0, 0, 0];
        for (const o of ops) {
          if (o.kind === 'open') {
            seq += gap; // seqs of requests never logged leave gaps
            t.openRecord(seq, o.spans);
            model.push({ seq, open: true, pending: Array(consumers).fill(o.spans) });
            continue;
          }
          if (model.length === 0) continue;
          const record = model[o.pick % model.length]!;
          if (o.kind === 'close') {
            t.close(record.seq);
            record.open = false;
          } else if (o.kind === 'forget') {
            t.forget(record.seq, o.count);
            record.pending = record.pending.map((p) => Math.max(0, p - o.count));
          } else {
            t.settle(o.consumer, Float64Array.of(record.seq, o.count));
            record.pending[o.consumer] = Math.max(0, record.pending[o.consumer]! - o.count);
          }
          for (let c = 0; c < consumers; c++) {
            const blocking = model.find((r) => r.open || r.pending[c]! > 0);
            const expected = blocking === undefined ? seq : blocking.seq - 1;
            expect(t.cursor(c)).toBe(Math.max(expected, previous[c]!));
            expect(t.cursor(c)).toBeGreaterThanOrEqual(previous[c]!);
            previous[c] = t.cursor(c);
          }
        }
      }),
      { numRuns: 300, seed: 14 },
    );
  });
});
