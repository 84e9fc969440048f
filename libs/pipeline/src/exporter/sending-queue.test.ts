import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resolveExporterSettings, type ExporterSettingsInput } from '../config.ts';
import { ExportError } from '../errors.ts';
import { ExporterMetrics } from '../metrics.ts';
import { makeSpan, RecordingExporter } from '../test-support.ts';
import { classifyHttpFailure } from './retry-policy.ts';
import { SendingQueue } from './sending-queue.ts';
import type { EncodingSpanExporter } from './span-exporter.ts';

const NO_JITTER: ExporterSettingsInput = {
  retry: { initialIntervalMs: 1_000, randomizationFactor: 0, multiplier: 2, maxIntervalMs: 30_000 },
};

function queueFor(exporter: RecordingExporter | EncodingSpanExporter, settings: ExporterSettingsInput = NO_JITTER) {
  const metrics = new ExporterMetrics();
  const givenUp: { spans: number; reason: string }[] = [];
  const queue = new SendingQueue(exporter, resolveExporterSettings(settings), metrics, (_name, spans, reason) =>
    givenUp.push({ spans, reason }),
  );
  return { queue, metrics, givenUp };
}

const batchOf = (n: number) => Array.from({ length: n }, (_, i) => makeSpan(0, i));

describe('SendingQueue retry', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries a 503 and succeeds on the next 200', async () => {
    const exporter = new RecordingExporter('http', (_spans, attempt) => {
      if (attempt === 1) throw classifyHttpFailure(503);
    });
    const { queue, metrics, givenUp } = queueFor(exporter);
    queue.enqueue(batchOf(3));
    await vi.advanceTimersByTimeAsync(999);
    expect(exporter.attempts).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(exporter.attempts).toBe(2);
    await queue.whenIdle();
    expect(metrics.sentSpans).toBe(3);
    expect(metrics.failedSpans).toBe(0);
    expect(metrics.retries).toBe(1);
    expect(givenUp).toEqual([]);
  });

  it('does not retry a 400: the batch is counted failed with the reason', async () => {
    const exporter = new RecordingExporter('http', () => {
      throw classifyHttpFailure(400, null, 'bad trace id');
    });
    const { queue, metrics, givenUp } = queueFor(exporter);
    queue.enqueue(batchOf(4));
    await queue.whenIdle();
    expect(exporter.attempts).toBe(1);
    expect(metrics.failedSpans).toBe(4);
    expect(givenUp).toEqual([{ spans: 4, reason: 'permanent error: backend answered HTTP 400: bad trace id' }]);
  });

  it('honours Retry-After: 2 s even when the backoff would be shorter', async () => {
    const exporter = new RecordingExporter('http', (_spans, attempt) => {
      if (attempt === 1) throw classifyHttpFailure(429, '2');
    });
    const { queue, metrics } = queueFor(exporter);
    queue.enqueue(batchOf(1));
    await vi.advanceTimersByTimeAsync(1_999);
    expect(exporter.attempts).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(exporter.attempts).toBe(2);
    await queue.whenIdle();
    expect(metrics.sentSpans).toBe(1);
  });

  it('backs off exponentially up to maxInterval and gives up after maxElapsedTime', async () => {
    const exporter = new RecordingExporter('down', () => {
      throw new ExportError('connection refused', { retryable: true });
    });
    const { queue, givenUp } = queueFor(exporter, {
      retry: { initialIntervalMs: 100, randomizationFactor: 0, multiplier: 2, maxIntervalMs: 400, maxElapsedTimeMs: 2_000 },
    });
    queue.enqueue(batchOf(2));
    await vi.advanceTimersByTimeAsync(5_000);
    await queue.whenIdle();
    const gaps = exporter.attemptTimes.slice(1).map((t, i) => Math.round(t - exporter.attemptTimes[i]!));
    expect(gaps.slice(0, 4)).toEqual([100, 200, 400, 400]);
    expect(exporter.attemptTimes.at(-1)! - exporter.attemptTimes[0]!).toBeLessThanOrEqual(2_000);
    expect(givenUp).toEqual([{ spans: 2, reason: 'retries exhausted: connection refused' }]);
  });

  it('does not retry at all when retry is disabled', async () => {
    const exporter = new RecordingExporter('once', () => {
      throw classifyHttpFailure(503);
    });
    const { queue, metrics } = queueFor(exporter, { retry: { enabled: false } });
    queue.enqueue(batchOf(1));
    await queue.whenIdle();
    expect(exporter.attempts).toBe(1);
    expect(metrics.failedSpans).toBe(1);
  });

  it('counts spans rejected by a partial success as failed and the rest as sent', async () => {
    const exporter = new RecordingExporter('partial', () => ({ rejectedSpans: 2, message: 'too old' }));
    const { queue, metrics, givenUp } = queueFor(exporter);
    queue.enqueue(batchOf(5));
    await queue.whenIdle();
    expect(metrics.sentSpans).toBe(3);
    expect(metrics.failedSpans).toBe(2);
    expect(givenUp[0]!.reason).toBe('rejected by the backend (partial success): too old');
  });

  it('runs at most numConsumers exports at once and reports room by queueSize', async () => {
    let running = 0;
    let peak = 0;
    const exporter = new RecordingExporter('bounded', async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 10));
      running--;
    });
    const { queue } = queueFor(exporter, { queue: { queueSize: 3, numConsumers: 2 } });
    for (let i = 0; i < 6; i++) queue.enqueue(batchOf(1));
    await Promise.resolve();
    expect(queue.hasRoom()).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    await queue.whenIdle();
    expect(peak).toBe(2);
    expect(queue.hasRoom()).toBe(true);
    expect(exporter.batches).toHaveLength(6);
  });

  it('has no room once maxQueuedSpans spans are held (queued or in flight), even with batch slots left', async () => {
    const exporter = new RecordingExporter('slow', () => new Promise((resolve) => setTimeout(resolve, 10)));
    const queue = new SendingQueue(
      exporter,
      resolveExporterSettings({ queue: { queueSize: 1000, numConsumers: 1 } }),
      new ExporterMetrics(),
      () => {},
      100,
    );
    queue.enqueue(batchOf(60)); // taken by the single worker at once: in flight, still held
    await new Promise((resolve) => setImmediate(resolve));
    expect(queue.hasRoom()).toBe(true); // 60 held
    queue.enqueue(batchOf(60));
    expect(queue.hasRoom()).toBe(false); // 60 in flight + 60 queued > 100, though 999 batch slots are free
    await vi.advanceTimersByTimeAsync(10); // the first export finished: 60 held
    expect(queue.hasRoom()).toBe(true);
    await vi.advanceTimersByTimeAsync(50);
    await queue.whenIdle();
    expect(queue.hasRoom()).toBe(true);
    expect(exporter.spans).toHaveLength(120);
  });

  it('abortPending stops retry waits and gives up queued batches with the reason', async () => {
    const exporter = new RecordingExporter('down', () => {
      throw classifyHttpFailure(503);
    });
    const { queue, metrics, givenUp } = queueFor(exporter, { ...NO_JITTER, queue: { queueSize: 10, numConsumers: 1 } });
    queue.enqueue(batchOf(2));
    queue.enqueue(batchOf(3));
    await vi.advanceTimersByTimeAsync(10);
    queue.abortPending('shutdown deadline');
    await queue.drain();
    expect(metrics.failedSpans).toBe(5);
    expect(givenUp.map((g) => g.reason)).toEqual(['shutdown deadline', 'shutdown deadline']);
    await queue.shutdownExporter();
    await queue.shutdownExporter();
    expect(exporter.shutdowns).toBe(1);
  });

  it('encodes a batch once when it is queued and retries with the same bytes, for an encoding exporter', async () => {
    const sent: Uint8Array[] = [];
    let encodes = 0;
    const exporter: EncodingSpanExporter = {
      name: 'encoding',
      encode: (spans) => {
        encodes++;
        return Uint8Array.of(spans.length);
      },
      exportEncoded: async (request) => {
        sent.push(request);
        if (sent.length === 1) throw classifyHttpFailure(503);
      },
      export: () => Promise.reject(new Error('export() must not be called when the batch was encoded')),
      shutdown: async () => {},
    };
    const { queue, metrics, givenUp } = queueFor(exporter);
    queue.enqueue(batchOf(3));
    expect(encodes).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    await queue.whenIdle();
    expect(sent).toEqual([Uint8Array.of(3), Uint8Array.of(3)]);
    expect(sent[0]).toBe(sent[1]);
    expect(encodes).toBe(1);
    expect({ sent: metrics.sentSpans, givenUp }).toEqual({ sent: 3, givenUp: [] });
  });

  it('releases an encoded request once, after its final outcome: not between retries, also when given up', async () => {
    const events: string[] = [];
    const exporter: EncodingSpanExporter = {
      name: 'encoding',
      encode: (spans) => Uint8Array.of(spans.length),
      exportEncoded: async (request, _signal) => {
        events.push(`attempt ${request[0]}`);
        // The 3-span batch fails once then succeeds; the 5-span batch fails for good.
        if (request[0] === 5) throw classifyHttpFailure(400);
        if (events.filter((e) => e === 'attempt 3').length === 1) throw classifyHttpFailure(503);
      },
      releaseEncoded: (request) => events.push(`release ${request[0]}`),
      export: () => Promise.reject(new Error('export() must not be called when the batch was encoded')),
      shutdown: async () => {},
    };
    const { queue, givenUp } = queueFor(exporter, { ...NO_JITTER, queue: { numConsumers: 1 } });
    queue.enqueue(batchOf(3));
    queue.enqueue(batchOf(5));
    await vi.advanceTimersByTimeAsync(1_000);
    await queue.whenIdle();
    expect(events).toEqual(['attempt 3', 'attempt 3', 'release 3', 'attempt 5', 'release 5']);
    expect(givenUp.map((g) => g.spans)).toEqual([5]);
  });

  it('gives a batch up at once, as a permanent error, when the exporter cannot encode it', async () => {
    const exporter: EncodingSpanExporter = {
      name: 'encoding',
      encode: () => {
        throw new ExportError('span 0: trace id must be 16 bytes', { retryable: false });
      },
      exportEncoded: () => Promise.reject(new Error('nothing to export')),
      export: () => Promise.reject(new Error('nothing to export')),
      shutdown: async () => {},
    };
    const { queue, givenUp } = queueFor(exporter);
    queue.enqueue(batchOf(2));
    expect(givenUp).toEqual([{ spans: 2, reason: 'permanent error: span 0: trace id must be 16 bytes' }]);
    expect(queue.isIdle()).toBe(true);
    expect(queue.hasRoom()).toBe(true);
  });
});

describe('retry policy', () => {
  it('jitters within ±randomizationFactor of the interval', async () => {
    const { backoffDelayMs, DEFAULT_RETRY_POLICY } = await import('./retry-policy.ts');
    expect(backoffDelayMs(DEFAULT_RETRY_POLICY, 1, 0, () => 0)).toBe(2_500);
    expect(backoffDelayMs(DEFAULT_RETRY_POLICY, 1, 0, () => 1)).toBe(7_500);
    expect(backoffDelayMs(DEFAULT_RETRY_POLICY, 2, 0, () => 0.5)).toBe(7_500);
    expect(backoffDelayMs(DEFAULT_RETRY_POLICY, 20, 0, () => 0.5)).toBe(30_000);
    expect(backoffDelayMs(DEFAULT_RETRY_POLICY, 1, 60_000, () => 0.5)).toBe(60_000);
  });
});
