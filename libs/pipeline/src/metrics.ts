/**
 * The pipeline's own counters: plain numbers on the hot path, read by whoever exports
 * self-telemetry. Conservation (specs/span-collector-invariants.md, P4):
 *   accepted = consumed + inRings, and after a drain, for every exporter,
 *   consumed = sent + failed.
 */
export class PipelineMetrics {
  /** Spans that entered a ring. */
  accepted = 0;
  /** Spans refused with BackpressureTimeoutError or CollectorClosedError. */
  refused = 0;
  /** Producer waits for ring space. */
  backpressureWaits = 0;
  /** Spans the consumer moved out of the rings into the batcher. */
  consumed = 0;
  /** Batches the batcher emitted, and the spans in them. */
  batches = 0;
  batchedSpans = 0;
  readonly exporters = new Map<string, ExporterMetrics>();
  readonly batchSizes = new Histogram([1, 10, 100, 512, 1024, 2048, 4096, 8192, 16384, 65536]);

  exporter(name: string): ExporterMetrics {
    let metrics = this.exporters.get(name);
    if (metrics === undefined) {
      metrics = new ExporterMetrics();
      this.exporters.set(name, metrics);
    }
    return metrics;
  }
}

export class ExporterMetrics {
  sentSpans = 0;
  failedSpans = 0;
  /** Spans left unsent in a persistent queue at shutdown: kept in the log for the next start, not dropped. */
  keptSpans = 0;
  /** Attempts that failed and were retried. */
  retries = 0;
  queueSize = 0;
  queueCapacity = 0;
  inFlight = 0;
  /** Spans given up on, by reason (permanent error, retries exhausted, shutdown deadline). */
  readonly failuresByReason = new Map<string, number>();
  readonly exportLatencyMs = new Histogram([1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000]);

  recordFailure(spans: number, reason: string): void {
    this.failedSpans += spans;
    this.failuresByReason.set(reason, (this.failuresByReason.get(reason) ?? 0) + spans);
  }
}

/** A fixed-bucket histogram (upper bounds inclusive), the shape Prometheus wants. */
export class Histogram {
  readonly bounds: readonly number[];
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}
