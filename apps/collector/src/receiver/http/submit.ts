import type { Span } from '#spanring/otlp';
import { BackpressureTimeoutError, CollectorClosedError, type AsyncSpanProducer } from '#spanring/pipeline';

/** How a submit ended: `accepted` spans are in the pipeline; `refusal` says why the rest is not. */
export interface SubmitResult {
  readonly accepted: number;
  readonly refusal: BackpressureTimeoutError | CollectorClosedError | undefined;
}

/**
 * Submits one request's spans and counts exactly how many entered the pipeline.
 *
 * A request that fits in the ring is admitted all-or-nothing (Invariant P3), so a refused one
 * left nothing behind and the client may retry it as is. A larger request cannot be: it goes
 * in chunks of half a ring, each all-or-nothing, under one deadline for the whole request, so
 * when the wait runs out (or shutdown begins) midway we know how many spans got in and can
 * answer a partial success instead of inviting a retry that would duplicate them.
 */
export async function submitSpans(
  producer: AsyncSpanProducer,
  spans: readonly Span[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<SubmitResult> {
  const capacity = producer.producer.capacity;
  const chunk = spans.length <= capacity ? spans.length : Math.max(1, capacity >> 1);
  const deadline = performance.now() + timeoutMs;
  let accepted = 0;
  try {
    while (accepted < spans.length) {
      const part = chunk === spans.length ? spans : spans.slice(accepted, accepted + chunk);
      await producer.submit(part, { timeoutMs: Math.max(0, deadline - performance.now()), signal });
      accepted += part.length;
    }
    return { accepted, refusal: undefined };
  } catch (error) {
    if (error instanceof BackpressureTimeoutError || error instanceof CollectorClosedError) return { accepted, refusal: error };
    throw error;
  }
}
