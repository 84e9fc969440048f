/**
 * The live progress line: one line on a terminal, rewritten in place every ~500 ms. It is only
 * ever drawn on a TTY (the CLI decides), so piped or --json output stays clean.
 */
import type { LoadStats } from './stats.ts';

export const PROGRESS_INTERVAL_MS = 500;

/** The part of a stream the progress line needs: process.stderr, or a test double. */
export interface ProgressStream {
  write(text: string): unknown;
}

export interface Progress {
  /** Clears the line; the summary then starts on a clean line. */
  stop(): void;
}

export function startProgress(stream: ProgressStream, stats: LoadStats, startedAt: number, now: () => number = performance.now.bind(performance)): Progress {
  let lastAt = startedAt;
  let lastAcked = 0;
  const draw = (): void => {
    const at = now();
    // spans/s over the last interval: a live rate shows a stall at once, an average hides it.
    const seconds = Math.max((at - lastAt) / 1000, 0.001);
    const rate = (stats.spansAcknowledged - lastAcked) / seconds;
    lastAt = at;
    lastAcked = stats.spansAcknowledged;
    stream.write(`\r${progressLine((at - startedAt) / 1000, rate, stats)}\x1b[K`);
  };
  const timer = setInterval(draw, PROGRESS_INTERVAL_MS);
  // The interval must not keep a finished run alive.
  timer.unref();
  return {
    stop(): void {
      clearInterval(timer);
      stream.write('\r\x1b[K');
    },
  };
}

export function progressLine(elapsedSeconds: number, spansPerSecond: number, stats: LoadStats): string {
  const p99 = stats.latency.percentileMs(99);
  return [
    `${elapsedSeconds.toFixed(1)}s`,
    `${format(spansPerSecond)} spans/s`,
    `acked ${format(stats.spansAcknowledged)}`,
    `refused ${format(stats.spansRefused)}`,
    `errors ${format(stats.requestsErrors)}`,
    `p99 ${p99 === null ? '-' : `${p99.toFixed(1)} ms`}`,
  ].join('  ');
}

function format(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
