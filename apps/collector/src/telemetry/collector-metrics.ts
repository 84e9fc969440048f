import type { SpanCollectorService } from '#spanring/nest';
import type { Histogram } from '#spanring/pipeline';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { ReceiverStats } from './receiver-stats.ts';

type Labels = Record<string, string | number>;
interface Sample {
  readonly value: number;
  readonly labels?: Labels;
  readonly metricName?: string;
}

/**
 * A metric whose values are read from the pipeline's own counters at scrape time. The
 * pipeline counts with plain numbers on its hot path (and pre-aggregates histograms), which
 * prom-client's Counter/Histogram cannot take over without double counting; prom-client's
 * Registry accepts any metric with get(), so it still does the registry and the text format.
 */
class SnapshotMetric {
  readonly name: string;
  private readonly help: string;
  private readonly type: 'counter' | 'gauge' | 'histogram';
  private readonly read: () => Sample[];

  constructor(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', read: () => Sample[]) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.read = read;
  }

  get() {
    return { name: this.name, help: this.help, type: this.type, values: this.read(), aggregator: 'sum' as const };
  }

  reset(): void {}
}

/** Prometheus samples of a fixed-bucket histogram: cumulative buckets, sum and count. */
function histogramSamples(name: string, histogram: Histogram, labels: Labels = {}, scale = 1): Sample[] {
  const samples: Sample[] = [];
  let cumulative = 0;
  histogram.bounds.forEach((bound, i) => {
    cumulative += histogram.counts[i]!;
    samples.push({ metricName: `${name}_bucket`, labels: { ...labels, le: bound * scale }, value: cumulative });
  });
  cumulative += histogram.counts[histogram.bounds.length]!;
  samples.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cumulative });
  samples.push({ metricName: `${name}_sum`, labels, value: histogram.sum * scale });
  samples.push({ metricName: `${name}_count`, labels, value: histogram.count });
  return samples;
}

/**
 * The service's Prometheus registry (one per app, so several apps can live in one process):
 * the OTel Collector's own metric names with `_total` on counters, as it exposes them, plus
 * Spanring's (ring occupancy, backpressure waits, batch sizes, export latency).
 */
export function createCollectorRegistry(service: SpanCollectorService, receivers: ReceiverStats): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = service.collector.metrics;
  const exporters = () => [...metrics.exporters.entries()];
  const add = (name: string, help: string, type: 'counter' | 'gauge' | 'histogram', read: () => Sample[]) =>
    registry.registerMetric(new SnapshotMetric(name, help, type, read) as never);
  const perTransport = (key: 'accepted' | 'refused') => () =>
    [...receivers.snapshot()].map(([transport, counts]) => ({ labels: { receiver: 'otlp', transport }, value: counts[key] }));

  add('otelcol_receiver_accepted_spans_total', 'Spans successfully pushed into the pipeline.', 'counter', perTransport('accepted'));
  add('otelcol_receiver_refused_spans_total', 'Spans that could not be pushed into the pipeline.', 'counter', perTransport('refused'));
  add('otelcol_exporter_sent_spans_total', 'Spans successfully sent to destination.', 'counter', () =>
    exporters().map(([exporter, m]) => ({ labels: { exporter }, value: m.sentSpans })),
  );
  add('otelcol_exporter_send_failed_spans_total', 'Spans in failed attempts to send to destination.', 'counter', () =>
    exporters().map(([exporter, m]) => ({ labels: { exporter }, value: m.failedSpans })),
  );
  add('otelcol_exporter_queue_size', 'Current size of the retry queue (in batches).', 'gauge', () =>
    exporters().map(([exporter, m]) => ({ labels: { exporter }, value: m.queueSize })),
  );
  add('otelcol_exporter_queue_capacity', 'Fixed capacity of the retry queue (in batches).', 'gauge', () =>
    exporters().map(([exporter, m]) => ({ labels: { exporter }, value: m.queueCapacity })),
  );
  add('spanring_ring_spans', 'Spans waiting in each producer ring.', 'gauge', () =>
    service.collector.ringOccupancy().map((ring) => ({ labels: { producer: ring.producerId }, value: ring.size })),
  );
  add('spanring_ring_capacity', 'Capacity of each producer ring, in spans.', 'gauge', () =>
    service.collector.ringOccupancy().map((ring) => ({ labels: { producer: ring.producerId }, value: ring.capacity })),
  );
  add('spanring_worker_ring_bytes', 'Bytes waiting in each receiver worker\'s shared ring (spanring.workers > 0).', 'gauge', () =>
    receivers.workerRingOccupancy().map((ring) => ({ labels: { worker: ring.worker }, value: ring.usedBytes })),
  );
  add('spanring_worker_ring_capacity_bytes', 'Size of each receiver worker\'s shared ring, in bytes.', 'gauge', () =>
    receivers.workerRingOccupancy().map((ring) => ({ labels: { worker: ring.worker }, value: ring.capacityBytes })),
  );
  add('spanring_accepted_spans_total', 'Spans that entered a ring (all producers, in-process included).', 'counter', () => [
    { value: metrics.accepted },
  ]);
  add('spanring_consumed_spans_total', 'Spans the consumer moved from the rings to the batcher.', 'counter', () => [
    { value: metrics.consumed },
  ]);
  add('spanring_backpressure_waits_total', 'Times a producer waited for ring space.', 'counter', () => [
    { value: metrics.backpressureWaits },
  ]);
  add('spanring_exporter_retries_total', 'Export attempts that failed and were retried.', 'counter', () =>
    exporters().map(([exporter, m]) => ({ labels: { exporter }, value: m.retries })),
  );
  add('spanring_batch_size_spans', 'Spans per batch emitted by the batcher.', 'histogram', () =>
    histogramSamples('spanring_batch_size_spans', metrics.batchSizes),
  );
  add('spanring_export_latency_seconds', 'Time to export one batch, retries included.', 'histogram', () =>
    exporters().flatMap(([exporter, m]) =>
      histogramSamples('spanring_export_latency_seconds', m.exportLatencyMs, { exporter }, 1 / 1000),
    ),
  );
  addQueueMetrics(service, add);
  return registry;
}

type AddMetric = (name: string, help: string, type: 'counter' | 'gauge' | 'histogram', read: () => Sample[]) => void;

/** The persistent sending queue's figures, when an exporter has one (specs/durable-queue.md). */
function addQueueMetrics(service: SpanCollectorService, add: AddMetric): void {
  const durability = service.collector.durability;
  if (durability === undefined) return;
  add('spanring_queue_corrupt_records_total', 'Persistent queue records skipped as corrupt or torn (their spans are lost).', 'counter', () => [
    { value: durability.storeStats.corruptRecords + durability.counts.undecodable },
  ]);
  add('spanring_queue_bytes', 'Bytes of the persistent queue on disk.', 'gauge', () => [{ value: durability.storeStats.liveBytes }]);
  add('spanring_queue_segments', 'Segment files of the persistent queue.', 'gauge', () => [{ value: durability.storeStats.segments }]);
  add('spanring_queue_records_tracked', 'Requests in the persistent queue some exporter has not finished.', 'gauge', () => [
    { value: durability.trackedRecords },
  ]);
  add('spanring_queue_replayed_spans_total', 'Spans replayed from the persistent queue at start.', 'counter', () => [
    { value: durability.counts.replayedSpans },
  ]);
  add('spanring_queue_write_failures_total', 'Requests whose write to the persistent queue failed (answered 503 / UNAVAILABLE).', 'counter', () => [
    { value: durability.counts.writeFailures },
  ]);
  add('spanring_queue_full_refused_spans_total', 'Spans refused because the persistent queue held its size cap.', 'counter', () => [
    { value: durability.counts.refusedFull },
  ]);
}
