import { describe, expect, it } from 'vitest';
import { RingArgumentError } from './errors.ts';
import { SharedNotify } from './shared-notify.ts';

describe('SharedNotify', () => {
  it('notifies only when someone waits: with no waiter the sequence word is untouched', () => {
    const notify = SharedNotify.create();
    const words = new Int32Array(notify.buffer);
    notify.notifyWaiters();
    notify.notifyWaiters();
    expect(Atomics.load(words, 0)).toBe(0);
    expect(notify.waiterCount).toBe(0);
  });

  it('wakes a waiter when the condition becomes true, and unregisters it', async () => {
    const notify = SharedNotify.create();
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const waiting = notify.waitUntil(() => Atomics.load(flag, 0) === 1);
    expect(notify.waiterCount).toBe(1);
    setTimeout(() => {
      Atomics.store(flag, 0, 1);
      notify.notifyWaiters();
    }, 20);
    expect(await waiting).toBe(true);
    expect(notify.waiterCount).toBe(0);
  });

  it('resolves false on timeout, true at once if the condition already holds', async () => {
    const notify = SharedNotify.create();
    expect(await notify.waitUntil(() => false, 30)).toBe(false);
    expect(notify.waiterCount).toBe(0);
    expect(await notify.waitUntil(() => true, 0)).toBe(true);
    await expect(notify.waitUntil(() => false, -1)).rejects.toThrow(RingArgumentError);
  });

  it('does not busy-spin: a 300 ms wait uses a small fraction of a CPU', async () => {
    const notify = SharedNotify.create();
    const before = process.cpuUsage();
    const wall = performance.now();
    expect(await notify.waitUntil(() => false, 300)).toBe(false);
    const elapsedMs = performance.now() - wall;
    const used = process.cpuUsage(before);
    const cpuMs = (used.user + used.system) / 1000;
    // A spinning wait would burn about as much CPU as wall time; an Atomics.waitAsync wait, almost none.
    expect(cpuMs).toBeLessThan(elapsedMs / 2);
  });

  it('survives many randomized notify/wait interleavings without losing a wake-up', async () => {
    const notify = SharedNotify.create();
    const counter = new Int32Array(new SharedArrayBuffer(4));
    let seen = 0;
    for (let round = 1; round <= 200; round++) {
      const delay = round % 3;
      const bump = (): void => {
        Atomics.store(counter, 0, round);
        notify.notifyWaiters();
      };
      if (delay === 0) queueMicrotask(bump);
      else if (delay === 1) setImmediate(bump);
      else setTimeout(bump, 0);
      expect(await notify.waitUntil(() => Atomics.load(counter, 0) >= round, 5_000)).toBe(true);
      seen++;
    }
    expect(seen).toBe(200);
  });
});
