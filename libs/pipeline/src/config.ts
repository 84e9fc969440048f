import { z } from 'zod';
import { PipelineConfigError } from './errors.ts';
import { DEFAULT_RETRY_POLICY } from './exporter/retry-policy.ts';

const positiveInt = z.number().int().positive();
const nonNegative = z.number().nonnegative();

/** The OTel Collector's processors.batch, plus its limit on concurrent exports. */
const batchSchema = z.strictObject({
  /** Flush once this many spans are pending (otelcol send_batch_size). */
  sendBatchSize: positiveInt.default(8192),
  /** Never emit a larger batch; 0 = no limit (otelcol send_batch_max_size). */
  sendBatchMaxSize: z.number().int().nonnegative().default(0),
  /** Flush at the latest this long after the first pending span (otelcol timeout). */
  timeoutMs: nonNegative.default(200),
});

/** Spanring's own knobs for the rings and the consumer task. */
const collectorSchema = z.strictObject({
  /**
   * Each producer ring holds 2^ringBits spans. 2^11 = four 512-span requests per client,
   * enough to absorb one client's bursts; what all rings hold together is capped by
   * maxPendingSpans, so memory does not grow with the number of clients.
   */
  ringBits: z.number().int().min(1).max(20).default(11),
  maxProducers: z.number().int().min(1).max(128).default(64),
  /**
   * Spans waiting in all producer rings together. Rings stay per producer (no contention), but
   * their sum is capped, so memory is bounded by this, not by clients × ring size: 16384
   * received spans are ~8 MB of request bytes, 65 ms at 250k spans/s (bench:e2e).
   */
  maxPendingSpans: positiveInt.default(16_384),
  /** Spans taken from one ring per round-robin turn. */
  maxConsumePerRing: positiveInt.default(2048),
  /** Spans the consumer takes per turn before yielding to the event loop. */
  maxSpansPerTurn: positiveInt.default(10_000),
  /** The consumer re-checks at least this often even without a notification. */
  idleWakeMs: positiveInt.default(50),
  /** How long a producer waits for ring space before BackpressureTimeoutError. */
  backpressureTimeoutMs: nonNegative.default(5_000),
  /**
   * Spans one exporter holds, queued or being exported, before the consumer stops taking more.
   * The Collector's queue_size counts batches, and 1000 batches of up to 8192 spans is
   * gigabytes; this caps the exporter in spans so the pressure reaches the rings and clients.
   * 16384 = two default batches; a distant backend needs more exports in flight to keep up
   * (throughput ≈ this ÷ round-trip time), so raise it there.
   */
  maxQueuedSpans: positiveInt.default(16_384),
});

const retrySchema = z.strictObject({
  enabled: z.boolean().default(DEFAULT_RETRY_POLICY.enabled),
  initialIntervalMs: nonNegative.default(DEFAULT_RETRY_POLICY.initialIntervalMs),
  randomizationFactor: z.number().min(0).max(1).default(DEFAULT_RETRY_POLICY.randomizationFactor),
  multiplier: z.number().min(1).default(DEFAULT_RETRY_POLICY.multiplier),
  maxIntervalMs: nonNegative.default(DEFAULT_RETRY_POLICY.maxIntervalMs),
  maxElapsedTimeMs: nonNegative.default(DEFAULT_RETRY_POLICY.maxElapsedTimeMs),
});

/** The OTel Collector's sending_queue; when it is full we push back instead of dropping. */
const queueSchema = z.strictObject({
  /** Batches waiting per exporter (otelcol queue_size). */
  queueSize: positiveInt.default(1000),
  /** Concurrent exports per exporter (otelcol num_consumers). */
  numConsumers: positiveInt.default(10),
});

export const pipelineOptionsSchema = z.strictObject({
  batch: batchSchema.default(batchSchema.parse({})),
  collector: collectorSchema.default(collectorSchema.parse({})),
});

export const exporterSettingsSchema = z.strictObject({
  retry: retrySchema.default(retrySchema.parse({})),
  queue: queueSchema.default(queueSchema.parse({})),
});

export type BatchOptions = z.output<typeof batchSchema>;
export type CollectorTuning = z.output<typeof collectorSchema>;
export type QueueOptions = z.output<typeof queueSchema>;
export type PipelineOptions = z.output<typeof pipelineOptionsSchema>;
export type PipelineOptionsInput = z.input<typeof pipelineOptionsSchema>;
export type ExporterSettings = z.output<typeof exporterSettingsSchema>;
export type ExporterSettingsInput = z.input<typeof exporterSettingsSchema>;

/** Validates and fills defaults; throws PipelineConfigError naming the first bad option. */
export function resolvePipelineOptions(input: PipelineOptionsInput = {}): PipelineOptions {
  const options = parseOrThrow(pipelineOptionsSchema, input, '');
  const { sendBatchSize, sendBatchMaxSize } = options.batch;
  if (sendBatchMaxSize !== 0 && sendBatchMaxSize < sendBatchSize) {
    throw new PipelineConfigError(
      'batch.sendBatchMaxSize',
      `must be 0 (no limit) or at least batch.sendBatchSize (${sendBatchSize}), got ${sendBatchMaxSize}`,
    );
  }
  return options;
}

export function resolveExporterSettings(input: ExporterSettingsInput = {}, path = 'exporter'): ExporterSettings {
  return parseOrThrow(exporterSettingsSchema, input, path);
}

function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, prefix: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(options)';
  throw new PipelineConfigError(path, issue.message);
}
