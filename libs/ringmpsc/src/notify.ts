import { RingArgumentError } from './errors.ts';

export interface NotifiedOptions {
  /** Resolve with false after this many milliseconds if no notification came. */
  readonly timeoutMs?: number;
  /** Resolve with false when this signal aborts. */
  readonly signal?: AbortSignal;
}

const WAITING = 0;
const NOTIFIED_ONE = 1;
const NOTIFIED_ALL = 2;
const ENDED = 3;

/**
 * One registered wait. It is a thenable (so `await notify.notified()` works) and a node of
 * the Notify's intrusive waiter list, so registering costs one object and one promise.
 *
 * Use it as: register, re-check the condition, then await — a notification that lands
 * between the check and the await is kept by the registration, so it is never lost.
 */
export class Notified implements PromiseLike<boolean> {
  private readonly promise: Promise<boolean>;
  private resolvePromise!: (notified: boolean) => void;
  private state = WAITING;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private signal: AbortSignal | null = null;
  private readonly owner: Notify;
  /** @internal waiter list links */
  prev: Notified | null = null;
  /** @internal */
  next: Notified | null = null;

  /** tookPermit: the waiter consumed the stored permit and is notified at once. */
  constructor(owner: Notify, tookPermit: boolean) {
    this.owner = owner;
    this.promise = new Promise<boolean>((resolve) => {
      this.resolvePromise = resolve;
    });
    if (tookPermit) {
      this.state = NOTIFIED_ONE;
      this.resolvePromise(true);
    }
  }

  /** @internal Notify applies options once the waiter is linked. */
  applyOptions(options: NotifiedOptions): void {
    if (options.timeoutMs !== undefined) this.startTimer(options.timeoutMs);
    if (options.signal !== undefined && this.state === WAITING) this.watchSignal(options.signal);
  }

  // oxlint-disable-next-line unicorn/no-thenable -- being awaitable is the point of Notified
  then<R1 = boolean, R2 = never>(
    onFulfilled?: ((value: boolean) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.promise.then(onFulfilled, onRejected);
  }

  /** True once a notification reached this waiter. */
  get isNotified(): boolean {
    return this.state === NOTIFIED_ONE || this.state === NOTIFIED_ALL;
  }

  /**
   * Stops waiting (the promise resolves false if it had not resolved). If this waiter had
   * been picked by notifyOne(), that notification passes on to the next waiter or is stored
   * as the permit, so cancelling never swallows a wake-up meant for someone.
   */
  cancel(): void {
    if (this.state === WAITING) {
      this.owner.unlink(this);
      this.finish(ENDED, false);
    } else if (this.state === NOTIFIED_ONE) {
      this.state = ENDED;
      this.owner.notifyOne();
    }
  }

  /** @internal called by Notify */
  wake(state: typeof NOTIFIED_ONE | typeof NOTIFIED_ALL): void {
    this.finish(state, true);
  }

  private finish(state: number, notified: boolean): void {
    this.state = state;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.signal !== null) this.signal.removeEventListener('abort', this);
    this.signal = null;
    this.resolvePromise(notified);
  }

  /** @internal EventListener for the abort signal (the object itself: no closure). */
  handleEvent(): void {
    this.expire();
  }

  private expire(): void {
    if (this.state !== WAITING) return;
    this.owner.unlink(this);
    this.finish(ENDED, false);
  }

  private startTimer(timeoutMs: number): void {
    if (!(timeoutMs >= 0) || !Number.isFinite(timeoutMs)) {
      this.owner.unlink(this);
      this.finish(ENDED, false);
      throw new RingArgumentError(`timeoutMs must be a finite number >= 0, got ${String(timeoutMs)}`);
    }
    this.timer = setTimeout(() => this.expire(), timeoutMs);
  }

  private watchSignal(signal: AbortSignal): void {
    if (signal.aborted) {
      this.expire();
      return;
    }
    this.signal = signal;
    signal.addEventListener('abort', this);
  }
}

/**
 * tokio::sync::Notify semantics for promises: notified() registers a waiter; notifyOne()
 * wakes the oldest waiter or, if there is none, stores a single permit that the next
 * notified() takes at once; notifyWaiters() wakes every waiter registered now and stores
 * nothing. Waiters form an intrusive doubly linked list: no Array.shift, O(1) cancel.
 */
export class Notify {
  private first: Notified | null = null;
  private last: Notified | null = null;
  private count = 0;
  private permit = false;

  /** Registers a waiter now (synchronously); await it after re-checking your condition. */
  notified(options?: NotifiedOptions): Notified {
    if (this.permit) {
      this.permit = false;
      return new Notified(this, true);
    }
    const waiter = new Notified(this, false);
    this.append(waiter);
    // Options are applied after linking, so an immediate timeout or abort can unlink it.
    if (options !== undefined) waiter.applyOptions(options);
    return waiter;
  }

  /** Wakes the oldest waiter, or stores one permit if nobody waits. */
  notifyOne(): void {
    const waiter = this.first;
    if (waiter === null) {
      this.permit = true;
      return;
    }
    this.unlink(waiter);
    waiter.wake(NOTIFIED_ONE);
  }

  /** Wakes every waiter registered before this call; stores no permit. */
  notifyWaiters(): void {
    let waiter = this.first;
    this.first = null;
    this.last = null;
    this.count = 0;
    while (waiter !== null) {
      const next = waiter.next;
      waiter.prev = null;
      waiter.next = null;
      waiter.wake(NOTIFIED_ALL);
      waiter = next;
    }
  }

  get waiterCount(): number {
    return this.count;
  }

  get hasPermit(): boolean {
    return this.permit;
  }

  private append(waiter: Notified): void {
    waiter.prev = this.last;
    if (this.last === null) this.first = waiter;
    else this.last.next = waiter;
    this.last = waiter;
    this.count++;
  }

  /** @internal */
  unlink(waiter: Notified): void {
    if (waiter.prev === null) this.first = waiter.next;
    else waiter.prev.next = waiter.next;
    if (waiter.next === null) this.last = waiter.prev;
    else waiter.next.prev = waiter.prev;
    waiter.prev = null;
    waiter.next = null;
    this.count--;
  }
}
