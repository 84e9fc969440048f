import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { RingArgumentError } from './errors.ts';
import { Notify } from './notify.ts';
import { Ring } from './ring.ts';

/** Settles pending promise reactions. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Notify', () => {
  it('notifyOne without waiters stores exactly one permit for the next notified()', async () => {
    const notify = new Notify();
    notify.notifyOne();
    notify.notifyOne();
    expect(notify.hasPermit).toBe(true);
    expect(await notify.notified()).toBe(true);
    expect(notify.hasPermit).toBe(false);
    let second = false;
    void notify.notified().then(() => (second = true));
    await flush();
    expect(second).toBe(false);
    expect(notify.waiterCount).toBe(1);
  });

  it('notifyOne wakes the oldest waiter only', async () => {
    const notify = new Notify();
    const woken: number[] = [];
    for (let i = 0; i < 3; i++) void notify.notified().then(() => woken.push(i));
    notify.notifyOne();
    await flush();
    expect(woken).toEqual([0]);
    expect(notify.waiterCount).toBe(2);
  });

  it('notifyWaiters wakes every current waiter, stores no permit, and misses later ones', async () => {
    const notify = new Notify();
    const woken: string[] = [];
    void notify.notified().then(() => woken.push('a'));
    void notify.notified().then(() => woken.push('b'));
    notify.notifyWaiters();
    void notify.notified().then(() => woken.push('late'));
    await flush();
    expect(woken).toEqual(['a', 'b']);
    expect(notify.hasPermit).toBe(false);
    expect(notify.waiterCount).toBe(1);
  });

  it('a cancelled waiter that had been picked by notifyOne passes the wake-up on', async () => {
    const notify = new Notify();
    const first = notify.notified();
    let secondWoken = false;
    void notify.notified().then(() => (secondWoken = true));
    notify.notifyOne();
    expect(first.isNotified).toBe(true);
    first.cancel(); // it will not act on the notification
    await flush();
    expect(secondWoken).toBe(true);
  });

  it('a cancelled permit-taker puts the permit back', () => {
    const notify = new Notify();
    notify.notifyOne();
    const waiter = notify.notified();
    expect(notify.hasPermit).toBe(false);
    waiter.cancel();
    expect(notify.hasPermit).toBe(true);
  });

  it('register, re-check, cancel leaves no waiter behind', async () => {
    const notify = new Notify();
    const waiter = notify.notified();
    waiter.cancel();
    expect(notify.waiterCount).toBe(0);
    expect(await waiter).toBe(false);
  });

  it('resolves false on timeout and unregisters', async () => {
    vi.useFakeTimers();
    try {
      const notify = new Notify();
      const waiter = notify.notified({ timeoutMs: 50 });
      expect(notify.waiterCount).toBe(1);
      await vi.advanceTimersByTimeAsync(50);
      expect(await waiter).toBe(false);
      expect(notify.waiterCount).toBe(0);
      notify.notifyOne();
      expect(notify.hasPermit).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('resolves false when its AbortSignal aborts', async () => {
    const notify = new Notify();
    const controller = new AbortController();
    const waiter = notify.notified({ signal: controller.signal });
    controller.abort();
    expect(await waiter).toBe(false);
    expect(notify.waiterCount).toBe(0);
    expect(await notify.notified({ signal: AbortSignal.abort() })).toBe(false);
  });

  it('rejects a negative or NaN timeout with RingArgumentError and leaves no waiter', () => {
    const notify = new Notify();
    expect(() => notify.notified({ timeoutMs: -1 })).toThrow(RingArgumentError);
    expect(() => notify.notified({ timeoutMs: Number.NaN })).toThrow(/timeoutMs must be a finite number/);
    expect(notify.waiterCount).toBe(0);
  });
});

/** Pushes with backpressure the way the pipeline does: register, re-check, then await. */
async function pushWithBackpressure(ring: Ring<number>, space: Notify, data: Notify, item: number): Promise<void> {
  while (!ring.push(item)) {
    const waiter = space.notified();
    if (ring.push(item)) {
      waiter.cancel();
      break;
    }
    await waiter;
  }
  data.notifyOne();
}

describe('Notify: no lost wake-up under random interleavings', () => {
  it('producers blocked on a full ring are always woken by consumption', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 12 }),
        async (scheduler, producers, ringBits, perProducer) => {
          // One ring per producer would hide contention; here all share one small ring on purpose,
          // so waits happen constantly and every wake-up path is exercised.
          const ring = new Ring<number>({ ringBits });
          const space = new Notify();
          const data = new Notify();
          const received: number[] = [];
          const total = producers * perProducer;
          const finished = Array.from({ length: producers }, () => false);

          const producerTasks = Array.from({ length: producers }, async (_, p) => {
            for (let i = 0; i < perProducer; i++) {
              await scheduler.schedule(Promise.resolve(`p${p} push ${i}`));
              await pushWithBackpressure(ring, space, data, p * 1000 + i);
            }
            finished[p] = true;
          });

          const consumerTask = (async () => {
            while (received.length < total) {
              await scheduler.schedule(Promise.resolve('consume'));
              const waiter = data.notified();
              const took = ring.consumeUpTo(2, (n) => received.push(n));
              if (took > 0) {
                waiter.cancel();
                space.notifyWaiters();
              } else {
                await waiter;
              }
            }
          })();

          // A lost wake-up leaves a task pending with nothing scheduled: fail fast, not by hanging.
          let deadlockTimer: ReturnType<typeof setTimeout> | undefined;
          const deadlock = new Promise<never>((_, reject) => {
            deadlockTimer = setTimeout(() => reject(new Error(`lost wake-up: stuck with ${received.length}/${total} received`)), 2_000);
          });
          try {
            await Promise.race([scheduler.waitFor(Promise.all([...producerTasks, consumerTask])), deadlock]);
          } finally {
            clearTimeout(deadlockTimer);
          }
          expect(finished.every(Boolean)).toBe(true);
          expect(received.length).toBe(total);
          for (let p = 0; p < producers; p++) {
            const mine = received.filter((n) => Math.floor(n / 1000) === p);
            expect(mine).toEqual(Array.from({ length: perProducer }, (_, i) => p * 1000 + i));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
