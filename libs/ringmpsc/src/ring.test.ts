import { describe, expect, it } from 'vitest';
import { RingArgumentError, RingClosedError, RingConfigError, RingStateError } from './errors.ts';
import { Ring } from './ring.ts';

function drain<T>(ring: Ring<T>): T[] {
  const out: T[] = [];
  ring.consumeBatch((item) => out.push(item));
  return out;
}

/** White-box view of the slot array, to prove consumed slots hold no references. */
function slotsOf<T>(ring: Ring<T>): readonly (T | undefined)[] {
  return (ring as unknown as { slots: (T | undefined)[] }).slots;
}

describe('Ring basics', () => {
  it('has capacity 2^ringBits and reports size, isEmpty and isFull', () => {
    const ring = new Ring<number>({ ringBits: 3 });
    expect(ring.capacity).toBe(8);
    expect(ring.isEmpty).toBe(true);
    for (let i = 0; i < 8; i++) expect(ring.push(i)).toBe(true);
    expect(ring.size).toBe(8);
    expect(ring.isFull).toBe(true);
    expect(ring.push(99)).toBe(false);
    expect(drain(ring)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(ring.isEmpty).toBe(true);
  });

  it('consumeBatch moves everything with one head update and clears consumed slots', () => {
    const ring = new Ring<{ n: number }>({ ringBits: 4 });
    for (let i = 0; i < 10; i++) ring.push({ n: i });
    const before = ring.sequences.head;
    let headsSeenDuringBatch = new Set<number>();
    const seen: number[] = [];
    ring.consumeBatch((item) => {
      seen.push(item.n);
      headsSeenDuringBatch.add(ring.sequences.head);
    });
    // The head did not move while the batch ran: it is updated once, at the end.
    expect([...headsSeenDuringBatch]).toEqual([before]);
    expect(ring.sequences.head).toBe(before + 10);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(slotsOf(ring).every((slot) => slot === undefined)).toBe(true);
    headsSeenDuringBatch = new Set();
  });

  it('consumeUpTo takes at most max, oldest first', () => {
    const ring = new Ring<number>({ ringBits: 4 });
    ring.pushMany([1, 2, 3, 4, 5]);
    const got: number[] = [];
    expect(ring.consumeUpTo(2, (n) => got.push(n))).toBe(2);
    expect(got).toEqual([1, 2]);
    expect(ring.consumeUpTo(0, (n) => got.push(n))).toBe(0);
    expect(ring.size).toBe(3);
  });

  it('pushMany moves as many references as fit and reports the count', () => {
    const ring = new Ring<number>({ ringBits: 2 });
    expect(ring.pushMany([1, 2, 3, 4, 5, 6], 1)).toBe(4);
    expect(ring.pushMany([7])).toBe(0);
    expect(drain(ring)).toEqual([2, 3, 4, 5]);
  });

  it('a throwing handler consumes the items it was given and leaves the ring consistent', () => {
    const ring = new Ring<number>({ ringBits: 3 });
    ring.pushMany([1, 2, 3, 4]);
    expect(() =>
      ring.consumeBatch((n) => {
        if (n === 2) throw new Error('handler failed');
      }),
    ).toThrow('handler failed');
    expect(ring.size).toBe(2);
    expect(drain(ring)).toEqual([3, 4]);
  });
});

describe('Ring reservations', () => {
  it('reserve/commit publishes in order; uncommitted slots are released and cleared', () => {
    const ring = new Ring<string>({ ringBits: 3 });
    const reservation = ring.reserve(5)!;
    expect(reservation.length).toBe(5);
    for (let i = 0; i < 5; i++) reservation.set(i, `item${i}`);
    reservation.commit(3);
    expect(ring.size).toBe(3);
    expect(slotsOf(ring).filter((slot) => slot !== undefined)).toEqual(['item0', 'item1', 'item2']);
    expect(drain(ring)).toEqual(['item0', 'item1', 'item2']);
  });

  it('is shorter than asked at the wrap point, and callers loop to get the rest', () => {
    const ring = new Ring<number>({ ringBits: 3 });
    ring.pushMany([0, 1, 2, 3, 4, 5]);
    ring.consumeUpTo(5, () => {});
    // tail at slot 6: only 2 slots remain before the end of the array.
    const first = ring.reserve(5)!;
    expect(first.length).toBe(2);
    first.set(0, 10);
    first.set(1, 11);
    first.commit();
    const second = ring.reserve(3)!;
    expect(second.length).toBe(3);
    for (let i = 0; i < 3; i++) second.set(i, 12 + i);
    second.commit();
    expect(drain(ring)).toEqual([5, 10, 11, 12, 13, 14]);
  });

  it('returns null when full', () => {
    const ring = new Ring<number>({ ringBits: 1 });
    ring.pushMany([1, 2]);
    expect(ring.reserve(1)).toBeNull();
  });

  it('rejects reserve(0), negative, fractional and NaN with RingArgumentError, ring unchanged', () => {
    const ring = new Ring<number>({ ringBits: 2 });
    ring.push(7);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => ring.reserve(bad)).toThrow(RingArgumentError);
      expect(() => ring.reserve(bad)).toThrow(/reserve\(n\) needs an integer n >= 1/);
    }
    expect(ring.size).toBe(1);
    expect(ring.push(8)).toBe(true);
    expect(drain(ring)).toEqual([7, 8]);
  });

  it('rejects commit beyond the reservation and a second commit, ring unchanged', () => {
    const ring = new Ring<number>({ ringBits: 2 });
    const reservation = ring.reserve(2)!;
    expect(() => reservation.commit(3)).toThrow(RingArgumentError);
    expect(() => reservation.commit(3)).toThrow(/from 0 to the reservation's length 2, got 3/);
    expect(() => reservation.set(2, 1)).toThrow(RingArgumentError);
    reservation.set(0, 1);
    reservation.commit(1);
    expect(() => reservation.commit(1)).toThrow(RingStateError);
    expect(ring.size).toBe(1);
    expect(drain(ring)).toEqual([1]);
  });

  it('refuses push or a second reserve while a reservation is open', () => {
    const ring = new Ring<number>({ ringBits: 2 });
    const reservation = ring.reserve(1)!;
    expect(() => ring.push(1)).toThrow(RingStateError);
    expect(() => ring.reserve(1)).toThrow(/while a reservation is open/);
    reservation.cancel();
    expect(ring.push(1)).toBe(true);
  });
});

describe('Ring sequence counters at their limit', () => {
  // The counters are 32-bit and wrap modulo 2^32 (specs: R2). Start just below the wrap.
  for (const start of [2 ** 31 - 3, 2 ** 32 - 5, -3]) {
    it(`keeps FIFO, size and fullness across the wrap (start ${start})`, () => {
      const ring = new Ring<number>({ ringBits: 3, initialSequence: start });
      const out: number[] = [];
      let next = 0;
      for (let round = 0; round < 20; round++) {
        while (ring.push(next)) next++;
        expect(ring.size).toBe(8);
        expect(ring.isFull).toBe(true);
        ring.consumeUpTo(5, (n) => out.push(n));
        expect(ring.size).toBe(3);
      }
      ring.consumeBatch((n) => out.push(n));
      expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
      expect(ring.isEmpty).toBe(true);
    });
  }

  it('gives short reservations at the slot wrap while the counters wrap too', () => {
    const ring = new Ring<number>({ ringBits: 2, initialSequence: 2 ** 32 - 2 });
    ring.pushMany([0, 1, 2]);
    ring.consumeUpTo(3, () => {});
    // Sequences went -2 → 1 (wrapped past 2^32); tail sits at slot 1, three slots before the end.
    expect(ring.sequences).toEqual({ head: 1, tail: 1 });
    const reservation = ring.reserve(4)!;
    expect(reservation.length).toBe(3);
  });
});

describe('Ring close', () => {
  it('rejects push, pushMany and reserve after close with RingClosedError; consumer still drains', () => {
    const ring = new Ring<number>({ ringBits: 2 });
    ring.pushMany([1, 2]);
    ring.close();
    expect(() => ring.push(3)).toThrow(RingClosedError);
    expect(() => ring.pushMany([3])).toThrow(RingClosedError);
    expect(() => ring.reserve(1)).toThrow(/is closed/);
    expect(ring.isDrained).toBe(false);
    expect(drain(ring)).toEqual([1, 2]);
    expect(ring.isDrained).toBe(true);
  });

  it('abandons an open reservation on close: its commit throws and nothing appears', () => {
    const ring = new Ring<number>({ ringBits: 2 });
    const reservation = ring.reserve(2)!;
    reservation.set(0, 1);
    ring.close();
    expect(() => reservation.commit()).toThrow(RingClosedError);
    expect(ring.size).toBe(0);
    expect(slotsOf(ring).every((slot) => slot === undefined)).toBe(true);
  });
});

describe('Ring config validation', () => {
  it.each([
    [{ ringBits: 0 }, 'ringBits', /from 1 to 20, got 0/],
    [{ ringBits: 21 }, 'ringBits', /from 1 to 20, got 21/],
    [{ ringBits: 2.5 }, 'ringBits', /got 2.5/],
    [{ ringBits: '8' as unknown as number }, 'ringBits', /got "8"/],
    [{ maxProducers: 0 }, 'maxProducers', /from 1 to 128/],
    [{ maxProducers: 129 }, 'maxProducers', /from 1 to 128, got 129/],
    [{ maxConsumePerRing: 0 }, 'maxConsumePerRing', /got 0/],
    [{ enableMetrics: 1 as unknown as boolean }, 'enableMetrics', /must be a boolean, got 1/],
  ])('rejects %o naming the field', (config, field, message) => {
    let error: unknown;
    try {
      expect(new Ring<number>(config)).toBeUndefined();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RingConfigError);
    expect((error as RingConfigError).field).toBe(field);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(`"${field}"`);
  });

  it('counts pushes, consumed and full events only when metrics are enabled', () => {
    const plain = new Ring<number>({ ringBits: 1 });
    expect(plain.metrics).toBeNull();
    const counted = new Ring<number>({ ringBits: 1, enableMetrics: true });
    counted.pushMany([1, 2]);
    counted.push(3);
    counted.consumeBatch(() => {});
    expect(counted.metrics!.snapshot()).toEqual({ pushes: 2, consumed: 2, fullEvents: 1, waits: 0 });
  });
});
