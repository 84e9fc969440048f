/**
 * Which durable-log records a batch's spans came from, as runs: [seq, count, seq, count, …].
 * The batcher groups by trace, so spans of one request mostly stay together and a batch of
 * thousands of spans has a few dozen runs; a run per batch, not per span, is what the
 * sending queues keep and hand back when the batch is settled.
 */
import { WireSpan, type Span } from '#spanring/otlp';

/** The log record a span was received in; 0 when none (in-process spans, no durable log). */
export function originOf(span: Span): number {
  return span instanceof WireSpan ? span.origin : 0;
}

/** Runs of equal origins in `spans`, origin 0 left out; undefined when no span has one. */
export function originRuns(spans: readonly Span[]): Float64Array | undefined {
  let runs = 0;
  let previous = 0;
  for (let i = 0; i < spans.length; i++) {
    const origin = originOf(spans[i]!);
    if (origin !== 0 && origin !== previous) runs++;
    previous = origin;
  }
  if (runs === 0) return undefined;
  const out = new Float64Array(runs * 2);
  let at = -2;
  previous = 0;
  for (let i = 0; i < spans.length; i++) {
    const origin = originOf(spans[i]!);
    if (origin === 0) {
      previous = 0;
      continue;
    }
    if (origin !== previous) {
      at += 2;
      out[at] = origin;
    }
    out[at + 1]!++;
    previous = origin;
  }
  return out;
}

/** The smallest origin in `runs` (runs are not sorted). */
export function lowestOrigin(runs: Float64Array): number {
  let lowest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs.length; i += 2) if (runs[i]! < lowest) lowest = runs[i]!;
  return lowest;
}
