import { describe, expect, it } from 'vitest';
import { Channel } from './channel.ts';
import { RingClosedError, RingStateError, TooManyProducersError } from './errors.ts';

interface Item {
  producer: number;
  seq: number;
}

describe('Channel', () => {
  it('keeps per-producer FIFO for 8 producers × 50,000 items, nothing lost or duplicated', () => {
    const producersCount = 8;
    const perProducer = 50_000;
    const channel = new Channel<Item>({ ringBits: 10, maxProducers: 8, maxConsumePerRing: 300 });
    const producers = Array.from({ length: producersCount }, () => channel.register());
    const nextSeq = Array.from({ length: producersCount }, () => 0);
    const expectedNext = Array.from({ length: producersCount }, () => 0);
    let sum = 0;
    let count = 0;
    const check = (item: Item): void => {
      // Per-producer FIFO: each producer's items arrive in exactly the order pushed.
      expect(item.seq).toBe(expectedNext[item.producer]);
      expectedNext[item.producer]!++;
      sum += item.seq;
      count++;
    };
    // Interleave: producers push uneven bursts, the consumer takes bounded turns.
    let round = 0;
    while (nextSeq.some((n) => n < perProducer)) {
      for (let p = 0; p < producersCount; p++) {
        const burst = 1 + ((round * 7 + p * 13) % 500);
        for (let k = 0; k < burst && nextSeq[p]! < perProducer; k++) {
          if (!producers[p]!.push({ producer: p, seq: nextSeq[p]! })) break;
          nextSeq[p]!++;
        }
      }
      channel.consumeAllUpTo(1_000 + (round % 3) * 700, check);
      round++;
    }
    channel.consumeAll(check);
    expect(count).toBe(producersCount * perProducer);
    expect(sum).toBe(producersCount * ((perProducer * (perProducer - 1)) / 2));
    expect(expectedNext).toEqual(Array.from({ length: producersCount }, () => perProducer));
  });

  it('is fair: a full ring cannot starve the others (per-ring cap per turn)', () => {
    const channel = new Channel<Item>({ ringBits: 10, maxConsumePerRing: 16 });
    const flood = channel.register();
    const quiet = channel.register();
    while (flood.push({ producer: 0, seq: 0 })) {
      /* fill the flooding ring completely */
    }
    quiet.push({ producer: 1, seq: 0 });
    const order: number[] = [];
    channel.consumeAllUpTo(40, (item) => order.push(item.producer));
    // The quiet producer's item is served within the first round, after at most 16 flood items.
    expect(order.indexOf(1)).toBeGreaterThanOrEqual(0);
    expect(order.indexOf(1)).toBeLessThanOrEqual(16);
    expect(order.length).toBe(40);
  });

  it('round-robin resumes where the last call stopped', () => {
    const channel = new Channel<number>({ ringBits: 4, maxConsumePerRing: 1 });
    const a = channel.register();
    const b = channel.register();
    const c = channel.register();
    a.pushMany([10, 11]);
    b.pushMany([20, 21]);
    c.pushMany([30, 31]);
    const got: number[] = [];
    channel.consumeAllUpTo(2, (n) => got.push(n));
    channel.consumeAllUpTo(2, (n) => got.push(n));
    channel.consumeAllUpTo(2, (n) => got.push(n));
    expect(got).toEqual([10, 20, 30, 11, 21, 31]);
  });

  it('throws TooManyProducersError past maxProducers, and frees the slot on deregister', () => {
    const channel = new Channel<number>({ ringBits: 2, maxProducers: 2 });
    const first = channel.register();
    channel.register();
    expect(() => channel.register()).toThrow(TooManyProducersError);
    expect(() => channel.register()).toThrow(/maximum of 2 producers/);
    first.deregister();
    expect(() => channel.register()).not.toThrow();
  });

  it('leaves a deregistered producer\'s items for the consumer', () => {
    const channel = new Channel<number>({ ringBits: 3 });
    const producer = channel.register();
    producer.pushMany([1, 2, 3]);
    producer.deregister();
    expect(() => producer.push(4)).toThrow(RingClosedError);
    expect(() => producer.deregister()).toThrow(RingStateError);
    const got: number[] = [];
    channel.consumeAll((n) => got.push(n));
    expect(got).toEqual([1, 2, 3]);
    expect(channel.size).toBe(0);
  });

  it('close() stops producers, drainAll() takes what is left, isFullyDrained() says so', () => {
    const channel = new Channel<number>({ ringBits: 3 });
    const a = channel.register();
    const b = channel.register();
    a.pushMany([1, 2]);
    b.pushMany([3]);
    channel.close();
    expect(() => a.push(9)).toThrow(RingClosedError);
    expect(() => channel.register()).toThrow(RingClosedError);
    expect(channel.isFullyDrained()).toBe(false);
    const got: number[] = [];
    expect(channel.drainAll((n) => got.push(n))).toBe(3);
    expect(got.toSorted()).toEqual([1, 2, 3]);
    expect(channel.isFullyDrained()).toBe(true);
  });

  it('reports each registered producer\'s ring occupancy', () => {
    const channel = new Channel<number>({ ringBits: 3 });
    const a = channel.register();
    const b = channel.register();
    a.pushMany([1, 2, 3]);
    b.push(4);
    expect(channel.occupancy()).toEqual([
      { producerId: a.id, size: 3, capacity: 8 },
      { producerId: b.id, size: 1, capacity: 8 },
    ]);
  });

  it('aggregates metrics over live and retired rings when enabled', () => {
    const channel = new Channel<number>({ ringBits: 1, enableMetrics: true });
    const a = channel.register();
    a.pushMany([1, 2]);
    a.push(3);
    a.deregister();
    channel.recordWait();
    channel.consumeAll(() => {});
    const b = channel.register();
    b.push(4);
    expect(channel.metrics()).toEqual({ pushes: 3, consumed: 2, fullEvents: 1, waits: 1 });
    expect(new Channel<number>().metrics()).toBeNull();
  });
});

describe('Config presets', () => {
  it('LOW_LATENCY_CONFIG and HIGH_THROUGHPUT_CONFIG are valid and shape the rings', async () => {
    const { LOW_LATENCY_CONFIG, HIGH_THROUGHPUT_CONFIG, resolveConfig } = await import('./config.ts');
    expect(resolveConfig(LOW_LATENCY_CONFIG)).toEqual(LOW_LATENCY_CONFIG);
    expect(resolveConfig(HIGH_THROUGHPUT_CONFIG)).toEqual(HIGH_THROUGHPUT_CONFIG);
    const low = new Channel<number>(LOW_LATENCY_CONFIG).register();
    const high = new Channel<number>(HIGH_THROUGHPUT_CONFIG).register();
    expect(low.capacity).toBe(2 ** LOW_LATENCY_CONFIG.ringBits);
    expect(high.capacity).toBe(2 ** HIGH_THROUGHPUT_CONFIG.ringBits);
    expect(low.capacity).toBeLessThan(high.capacity);
  });
});
