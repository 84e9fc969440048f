import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RingClosedError } from './errors.ts';
import { Ring } from './ring.ts';

/** Operations run against the ring and against a plain array queue (the model). */
type Op =
  | { kind: 'push' }
  | { kind: 'reserve'; n: number; commit: number }
  | { kind: 'consumeUpTo'; max: number }
  | { kind: 'consumeBatch' }
  | { kind: 'close' };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.constant<Op>({ kind: 'push' }) },
  {
    weight: 3,
    arbitrary: fc
      .record({ n: fc.integer({ min: 1, max: 20 }), commit: fc.double({ min: 0, max: 1, noNaN: true }) })
      .map((r): Op => ({ kind: 'reserve', n: r.n, commit: r.commit })),
  },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 20 }).map((max): Op => ({ kind: 'consumeUpTo', max })) },
  { weight: 1, arbitrary: fc.constant<Op>({ kind: 'consumeBatch' }) },
  { weight: 1, arbitrary: fc.constant<Op>({ kind: 'close' }) },
);

describe('Ring against a model queue (fast-check)', () => {
  it('matches the model for random push/reserve/commit/consume/close sequences', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.array(opArbitrary, { maxLength: 200 }),
        (ringBits, initialSequence, ops) => {
          const ring = new Ring<number>({ ringBits, initialSequence });
          const capacity = 2 ** ringBits;
          const model: number[] = [];
          let modelHead = 0;
          let closed = false;
          let next = 0;
          for (const op of ops) {
            switch (op.kind) {
              case 'push': {
                if (closed) {
                  expect(() => ring.push(next)).toThrow(RingClosedError);
                  break;
                }
                const accepted = ring.push(next);
                expect(accepted).toBe(model.length - modelHead < capacity);
                if (accepted) model.push(next++);
                break;
              }
              case 'reserve': {
                if (closed) {
                  expect(() => ring.reserve(op.n)).toThrow(RingClosedError);
                  break;
                }
                const reservation = ring.reserve(op.n);
                const free = capacity - (model.length - modelHead);
                if (free === 0) {
                  expect(reservation).toBeNull();
                  break;
                }
                expect(reservation).not.toBeNull();
                const length = reservation!.length;
                expect(length).toBeGreaterThanOrEqual(1);
                expect(length).toBeLessThanOrEqual(Math.min(op.n, free));
                for (let i = 0; i < length; i++) reservation!.set(i, next + i);
                const k = Math.floor(op.commit * length);
                reservation!.commit(k);
                for (let i = 0; i < k; i++) model.push(next++);
                break;
              }
              case 'consumeUpTo':
              case 'consumeBatch': {
                const got: number[] = [];
                const max = op.kind === 'consumeUpTo' ? op.max : capacity;
                const count =
                  op.kind === 'consumeUpTo'
                    ? ring.consumeUpTo(op.max, (n) => got.push(n))
                    : ring.consumeBatch((n) => got.push(n));
                const expected = model.slice(modelHead, modelHead + Math.min(max, model.length - modelHead));
                modelHead += expected.length;
                expect(got).toEqual(expected);
                expect(count).toBe(expected.length);
                break;
              }
              case 'close':
                ring.close();
                closed = true;
                break;
            }
            expect(ring.size).toBe(model.length - modelHead);
            expect(ring.isEmpty).toBe(model.length === modelHead);
            expect(ring.isFull).toBe(model.length - modelHead === capacity);
          }
          // Nothing lost or duplicated: whatever is left comes out in order.
          const rest: number[] = [];
          ring.consumeBatch((n) => rest.push(n));
          expect(rest).toEqual(model.slice(modelHead));
        },
      ),
      { numRuns: 500 },
    );
  });
});
