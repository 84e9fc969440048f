import { RingArgumentError } from './errors.ts';

/** Words of one SharedNotify inside an Int32Array: [sequence, waiter count]. */
export const NOTIFY_WORDS = 2;
const SEQUENCE = 0;
const WAITERS = 1;

/**
 * Notify across threads, on two int32 words of shared memory: a sequence that notifiers bump
 * and a count of registered waiters. Waiting uses Atomics.waitAsync, so no thread spins or
 * blocks its event loop; notifying costs one Atomics.load when nobody waits.
 *
 * Invariant N3 (specs/ring-buffer-invariants.md), no lost wake-up: a waiter registers
 * (waiters += 1), reads the sequence, re-checks its condition, then waits only while the
 * sequence is unchanged. A notifier makes the condition true, then reads waiters; all these
 * Atomics operations are sequentially consistent, so either the notifier sees the waiter and
 * bumps the sequence (the wait returns or is woken), or the waiter's re-check sees the
 * condition.
 */
export class SharedNotify {
  private readonly words: Int32Array;
  private readonly sequenceIndex: number;
  private readonly waitersIndex: number;

  constructor(words: Int32Array, base: number) {
    if (!(words.buffer instanceof SharedArrayBuffer)) {
      throw new RingArgumentError('SharedNotify needs an Int32Array on a SharedArrayBuffer');
    }
    if (!Number.isInteger(base) || base < 0 || base + NOTIFY_WORDS > words.length) {
      throw new RingArgumentError(`SharedNotify base ${String(base)} is outside the ${words.length}-word array`);
    }
    this.words = words;
    this.sequenceIndex = base + SEQUENCE;
    this.waitersIndex = base + WAITERS;
  }

  /** A SharedNotify on its own 128-byte line of a new SharedArrayBuffer. */
  static create(): SharedNotify {
    return new SharedNotify(new Int32Array(new SharedArrayBuffer(128)), 0);
  }

  get buffer(): SharedArrayBuffer {
    return this.words.buffer as SharedArrayBuffer;
  }

  get waiterCount(): number {
    return Atomics.load(this.words, this.waitersIndex);
  }

  /** Wakes every thread waiting now. Call it after making the awaited condition true. */
  notifyWaiters(): void {
    if (Atomics.load(this.words, this.waitersIndex) === 0) return;
    Atomics.add(this.words, this.sequenceIndex, 1);
    Atomics.notify(this.words, this.sequenceIndex);
  }

  /**
   * Resolves true as soon as ready() holds, false if timeoutMs passes first. ready() must read
   * the shared state it depends on with Atomics (or through code that does).
   */
  async waitUntil(ready: () => boolean, timeoutMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    if (ready()) return true;
    if (!(timeoutMs >= 0)) throw new RingArgumentError(`timeoutMs must be >= 0, got ${String(timeoutMs)}`);
    const deadline = performance.now() + timeoutMs;
    const words = this.words;
    for (;;) {
      Atomics.add(words, this.waitersIndex, 1);
      try {
        const observed = Atomics.load(words, this.sequenceIndex);
        if (ready()) return true;
        const remaining = deadline - performance.now();
        if (remaining <= 0) return false;
        const result = Atomics.waitAsync(
          words,
          this.sequenceIndex,
          observed,
          Number.isFinite(remaining) ? remaining : undefined,
        );
        if (result.async) await keepingAlive(result.value, remaining);
      } finally {
        Atomics.sub(words, this.waitersIndex, 1);
      }
      if (ready()) return true;
      if (performance.now() >= deadline) return false;
    }
  }
}

/** Longest delay setTimeout accepts; longer waits re-check and wait again. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A pending Atomics.waitAsync does not keep Node's event loop alive: a thread whose only work
 * is waiting would exit mid-wait (a worker with "unsettled top-level await", code 13). A ref'd
 * timer for the length of the wait keeps the thread alive; it is one timer per wait, never
 * per record.
 */
async function keepingAlive<T>(waiting: Promise<T>, remainingMs: number): Promise<T> {
  const keepAlive = setTimeout(noop, Math.min(remainingMs, MAX_TIMER_MS));
  try {
    return await waiting;
  } finally {
    clearTimeout(keepAlive);
  }
}

function noop(): void {}
