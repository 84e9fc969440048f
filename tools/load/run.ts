/**
 * One load run: build the request pool, let `concurrency` workers send until the time or span
 * bound is reached (or the caller aborts), wait for what is in flight, and summarize.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveLoadOptions } from './options.ts';
import type { LoadOptions, LoadOptionsInput } from './options.ts';
import { startProgress } from './progress.ts';
import type { ProgressStream } from './progress.ts';
import { buildRequestPool } from './request-builder.ts';
import type { PreparedRequest, RequestPool } from './request-builder.ts';
import { createSender } from './senders.ts';
import { LoadStats } from './stats.ts';
import type { LoadSummary, RequestOutcome } from './stats.ts';

export interface RunHooks {
  /**
   * Aborting stops the run: no new requests, those in flight are cancelled (counted as errors
   * "aborted"), and runLoad still resolves with the summary of what happened until then.
   */
  readonly signal?: AbortSignal;
  /** Where to draw the live progress line (a TTY); none when undefined. */
  readonly progress?: ProgressStream;
}

/**
 * A worker whose request got no answer at all (connection refused, reset, timeout) waits this
 * long before the next: a target that is down must not turn the generator into a busy loop.
 */
const PAUSE_AFTER_TRANSPORT_ERROR_MS = 100;
/** With --rate, a late schedule catches up at most this much; missed slots beyond are skipped. */
const MAX_RATE_CATCH_UP_MS = 100;

/** The programmatic API: validates `input` (throws LoadOptionsError), runs, resolves with the summary. */
export function runLoad(input: LoadOptionsInput, hooks: RunHooks = {}): Promise<LoadSummary> {
  return runResolvedLoad(resolveLoadOptions(input), hooks);
}

export async function runResolvedLoad(options: LoadOptions, hooks: RunHooks = {}): Promise<LoadSummary> {
  const pool = buildRequestPool(options);
  const sender = createSender(options);
  const stats = new LoadStats();
  // `stop` ends issuing; `cancel` (the caller's signal) also cancels what is in flight.
  const stop = new AbortController();
  const cancel = hooks.signal ?? new AbortController().signal;
  const onAbort = (): void => stop.abort();
  cancel.addEventListener('abort', onAbort, { once: true });
  if (cancel.aborted) stop.abort();

  const startedAt = performance.now();
  const timeUp = setTimeout(() => stop.abort(), options.durationMs);
  const dispatcher = new Dispatcher(pool, options.rate, startedAt, startedAt + options.durationMs, stop.signal);
  const progress = hooks.progress === undefined ? undefined : startProgress(hooks.progress, stats, startedAt);

  const worker = async (lane: number): Promise<void> => {
    // Bounded: the dispatcher hands out nothing once the time is up, the span budget is spent, or the run is stopped.
    for (let request = await dispatcher.next(); request !== undefined; request = await dispatcher.next()) {
      stats.sent(request.spans);
      const sentAt = process.hrtime.bigint();
      const outcome = await sender.send(request, lane, cancel);
      const answered = isAnswered(outcome);
      stats.ended(request.spans, outcome, answered ? process.hrtime.bigint() - sentAt : undefined);
      if (!answered) await pause(PAUSE_AFTER_TRANSPORT_ERROR_MS, stop.signal);
    }
  };

  try {
    await Promise.all(Array.from({ length: options.concurrency }, (_, lane) => worker(lane)));
  } finally {
    clearTimeout(timeUp);
    cancel.removeEventListener('abort', onAbort);
    progress?.stop();
    await sender.close();
  }
  return stats.summary(options.target, options.protocol, (performance.now() - startedAt) / 1000);
}

function isAnswered(outcome: RequestOutcome): boolean {
  return outcome.kind !== 'error' || outcome.answered;
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // stopped: the loop sees it on its next turn
  }
}

/** Hands out the next request while the bounds allow it, at the --rate if there is one. */
class Dispatcher {
  private readonly pool: RequestPool;
  private readonly rate: number | undefined;
  private readonly startedAt: number;
  private readonly endAt: number;
  private readonly stopped: AbortSignal;
  private fullLeft: number;
  private tailLeft: number;
  private taken = 0;
  private slot = 0;

  constructor(pool: RequestPool, rate: number | undefined, startedAt: number, endAt: number, stopped: AbortSignal) {
    this.pool = pool;
    this.rate = rate;
    this.startedAt = startedAt;
    this.endAt = endAt;
    this.stopped = stopped;
    this.fullLeft = pool.requests.length === 0 ? 0 : pool.fullRequestBudget;
    this.tailLeft = pool.tail === undefined ? 0 : 1;
  }

  async next(): Promise<PreparedRequest | undefined> {
    if (this.stopped.aborted || performance.now() >= this.endAt) return undefined;
    if (this.rate !== undefined) {
      const due = this.nextSlot(this.rate);
      if (due >= this.endAt) return undefined;
      const wait = due - performance.now();
      if (wait > 0) await pause(wait, this.stopped);
      if (this.stopped.aborted) return undefined;
    }
    return this.take();
  }

  /** When the next request is due: slots 1/rate apart from the start, catching up only a little. */
  private nextSlot(rate: number): number {
    const interval = 1000 / rate;
    const now = performance.now();
    let due = this.startedAt + this.slot * interval;
    if (now - due > MAX_RATE_CATCH_UP_MS) {
      this.slot = Math.ceil((now - MAX_RATE_CATCH_UP_MS - this.startedAt) / interval);
      due = this.startedAt + this.slot * interval;
    }
    this.slot++;
    return due;
  }

  private take(): PreparedRequest | undefined {
    const { requests, tail } = this.pool;
    if (this.fullLeft > 0) {
      this.fullLeft--;
      const request = requests[this.taken % requests.length]!;
      this.taken++;
      return request;
    }
    if (this.tailLeft > 0 && tail !== undefined) {
      this.tailLeft--;
      return tail;
    }
    return undefined;
  }
}
