import { describe, expect, it } from 'vitest';
import { BufferPool } from './buffer-pool.ts';

describe('BufferPool', () => {
  it('hands out buffers of the asked length over power-of-two storage and reuses storage given back', () => {
    const pool = new BufferPool(1 << 20);
    const first = pool.take(200_000);
    expect(first.length).toBe(200_000);
    expect(first.buffer.byteLength).toBe(262_144);
    pool.give(first.buffer);
    expect(pool.freeBytes).toBe(262_144);
    const second = pool.take(150_000);
    expect(second.buffer).toBe(first.buffer);
    expect(pool.reusedTakes).toBe(1);
    expect(pool.freeBytes).toBe(0);
    // Another size class gets storage of its own.
    expect(pool.take(10).buffer).not.toBe(first.buffer);
  });

  it('takes back only storage it lent, once, and keeps no more free bytes than its cap', () => {
    const pool = new BufferPool(300_000);
    pool.give(new ArrayBuffer(262_144));
    pool.give(Buffer.alloc(100).buffer);
    expect(pool.freeBytes).toBe(0);
    const [a, b] = [pool.take(200_000), pool.take(200_000)];
    pool.give(a.buffer);
    pool.give(a.buffer);
    expect(pool.freeBytes).toBe(262_144);
    pool.give(b.buffer); // over the cap: left to the GC
    expect(pool.freeBytes).toBe(262_144);
    expect(pool.take(200_000).buffer).toBe(a.buffer);
    expect(pool.take(200_000).buffer).not.toBe(b.buffer);
  });
});
