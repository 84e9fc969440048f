import type { Span } from '#spanring/otlp';
import type { Notify, Producer } from '#spanring/ringmpsc';
import { BackpressureTimeoutError, CollectorClosedError } from '../errors.ts';
import type { PipelineMetrics } from '../metrics.ts';

/** What trySubmit did: how many spans entered the ring, and whether it was full. */
export interface TrySubmitResult {
  readonly accepted: number;
  readonly full: boolean;
}

const ACCEPTED_ONE: TrySubmitResult = Object.freeze({ accepted: 1, full: false });
const REFUSED_ONE: TrySubmitResult = Object.freeze({ accepted: 0, full: true });

/**
 * The cap on spans waiting in all rings together (maxPendingSpans). Producers take from it
 * as they push and the consumer gives back what it took, all on one thread: a plain counter.
 */
export class RingBudget {
  readonly limit: number;
  used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get free(): number {
    return this.limit - this.used;
  }
}

/** The signals a producer shares with the consumer task. */
export interface ProducerSignals {
  /** Shared by every producer of the collector. */
  readonly budget: RingBudget;
  /** Rung after every submit, so an idle consumer wakes up. */
  readonly dataReady: Notify;
  /** Rung by the consumer after it freed ring space. */
  readonly spaceFreed: Notify;
  readonly metrics: PipelineMetrics;
  /** True once shutdown began. */
  isClosing(): boolean;
}

/**
 * A producer's own ring into the collector. Only references move: the spans are never
 * copied, and after a successful submit the pipeline owns them (do not mutate them).
 */
export class SpanProducer {
  readonly id: number;
  private readonly producer: Producer<Span>;
  private readonly signals: ProducerSignals;

  constructor(producer: Producer<Span>, signals: ProducerSignals) {
    this.producer = producer;
    this.signals = signals;
    this.id = producer.id;
  }

  /** Adds what fits now; never waits, never throws for a full ring. */
  trySubmit(input: Span | readonly Span[]): TrySubmitResult {
    if (this.signals.isClosing()) throw new CollectorClosedError();
    if (!Array.isArray(input)) return this.trySubmitOne(input as Span);
    const spans = input as readonly Span[];
    const accepted = this.push(spans, 0);
    return { accepted, full: accepted < spans.length };
  }

  /** Spans waiting in this producer's ring. */
  get pending(): number {
    return this.producer.size;
  }

  /** The most spans this producer can ever hold at once: its ring, or the shared budget if smaller. */
  get capacity(): number {
    return Math.min(this.producer.capacity, this.signals.budget.limit);
  }

  /** Leaves the collector; spans already submitted are still exported. */
  close(): void {
    if (this.producer.isRegistered) this.producer.deregister();
  }

  /** @internal pushes spans[from..], returns how many entered. */
  push(spans: readonly Span[], from: number): number {
    if (this.producer.isClosed) throw new CollectorClosedError();
    const budget = this.signals.budget;
    if (budget.free <= 0) return 0;
    const accepted = this.producer.pushMany(spans, from, budget.free);
    if (accepted > 0) {
      budget.used += accepted;
      this.signals.metrics.accepted += accepted;
      this.signals.dataReady.notifyOne();
    }
    return accepted;
  }

  /** @internal */
  freeSlots(): number {
    return Math.min(this.producer.capacity - this.producer.size, this.signals.budget.free);
  }

  /** @internal */
  get signalsForAsync(): ProducerSignals {
    return this.signals;
  }

  private trySubmitOne(span: Span): TrySubmitResult {
    if (this.producer.isClosed) throw new CollectorClosedError();
    const budget = this.signals.budget;
    if (budget.free <= 0 || !this.producer.push(span)) return REFUSED_ONE;
    budget.used++;
    this.signals.metrics.accepted++;
    this.signals.dataReady.notifyOne();
    return ACCEPTED_ONE;
  }
}

/** What admit() did: `accepted` spans are in the pipeline; `refusal` says why the rest is not. */
export interface AdmitResult {
  readonly accepted: number;
  readonly refusal: BackpressureTimeoutError | CollectorClosedError | undefined;
}

export interface SubmitOptions {
  /** Longest wait for ring space (Infinity: until space or shutdown); default: the collector's backpressureTimeoutMs. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Submits with backpressure: when the ring is full it awaits the consumer's notification
 * (never spins) and retries; after the timeout it rejects with BackpressureTimeoutError.
 *
 * Admission is all-or-nothing for requests that fit in the ring: a refused request left no
 * span behind, so a client that retries it creates no duplicates. A request larger than the
 * whole ring is admitted piece by piece; admit() then reports how many spans got in if the
 * wait runs out midway.
 */
export class AsyncSpanProducer {
  readonly producer: SpanProducer;
  private readonly defaultTimeoutMs: number;

  constructor(producer: SpanProducer, defaultTimeoutMs: number) {
    this.producer = producer;
    this.defaultTimeoutMs = defaultTimeoutMs;
  }

  /** Submits all spans or rejects with BackpressureTimeoutError / CollectorClosedError. */
  async submit(spans: readonly Span[], options: SubmitOptions = {}): Promise<void> {
    const { refusal } = await this.admit(spans, options);
    if (refusal !== undefined) throw refusal;
  }

  /**
   * Like submit(), but resolves with exactly how many spans entered the ring and why the rest
   * did not, so a receiver can answer a partial success for an oversize request cut short
   * instead of inviting a retry that would duplicate the accepted part.
   */
  async admit(spans: readonly Span[], options: SubmitOptions = {}): Promise<AdmitResult> {
    const signals = this.producer.signalsForAsync;
    if (signals.isClosing()) {
      signals.metrics.refused += spans.length;
      return { accepted: 0, refusal: new CollectorClosedError() };
    }
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    const deadline = performance.now() + timeoutMs;
    const whole = spans.length <= this.producer.capacity;
    let from = 0;
    try {
      while (from < spans.length) {
        if (!whole || this.producer.freeSlots() >= spans.length - from) {
          from += this.producer.push(spans, from);
          if (from >= spans.length) break;
        }
        const remaining = spans.length - from;
        await this.waitForSpace(remaining, whole ? remaining : 1, deadline, timeoutMs, options.signal);
      }
      return { accepted: from, refusal: undefined };
    } catch (error) {
      if (error instanceof BackpressureTimeoutError || error instanceof CollectorClosedError) {
        return { accepted: from, refusal: error };
      }
      throw error;
    }
  }

  /** Waits until `needed` slots are free; never returns early without them (no spin). */
  private async waitForSpace(
    remaining: number,
    needed: number,
    deadline: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const signals = this.producer.signalsForAsync;
    const left = deadline - performance.now();
    if (left <= 0 || signal?.aborted) {
      signals.metrics.refused += remaining;
      throw new BackpressureTimeoutError(timeoutMs, remaining);
    }
    signals.metrics.backpressureWaits++;
    // Invariant P2: register first, then re-check, so a notification in between is kept.
    // An infinite timeout waits for space or shutdown only (no timer: setTimeout cannot hold it).
    const waiter = signals.spaceFreed.notified(Number.isFinite(left) ? { timeoutMs: left, signal } : { signal });
    if (signals.isClosing()) {
      waiter.cancel();
      signals.metrics.refused += remaining;
      throw new CollectorClosedError();
    }
    if (this.producer.freeSlots() >= needed) {
      waiter.cancel();
      return;
    }
    await waiter;
  }
}
