export { TraceBatcher, type BatchSink } from './batcher/trace-batcher.ts';
export {
  resolveExporterSettings,
  resolvePipelineOptions,
  type BatchOptions,
  type CollectorTuning,
  type ExporterSettings,
  type ExporterSettingsInput,
  type PipelineOptions,
  type PipelineOptionsInput,
  type QueueOptions,
} from './config.ts';
export {
  BackpressureTimeoutError,
  CollectorClosedError,
  DurableQueueFullError,
  DurableWriteError,
  ExportError,
  PipelineConfigError,
  PipelineError,
} from './errors.ts';
export {
  backoffDelayMs,
  classifyGrpcFailure,
  classifyHttpFailure,
  DEFAULT_RETRY_POLICY,
  GrpcCode,
  parseRetryAfter,
  type RetryPolicy,
} from './exporter/retry-policy.ts';
export { isEncodingExporter, type EncodingSpanExporter, type ExportOutcome, type SpanExporter } from './exporter/span-exporter.ts';
export { DebugExporter, type DebugExporterOptions, type DebugVerbosity, type TextOutput } from './exporter/debug.ts';
export { canonicalExporterType, EXPORTER_TYPES, type ExporterType } from './exporter/exporter-types.ts';
export { FileExporter, type FileExporterOptions, type FileRotationOptions } from './exporter/file.ts';
export { OtlpGrpcExporter, type OtlpGrpcExporterOptions } from './exporter/otlp-grpc.ts';
export { OtlpHttpExporter, type OtlpHttpExporterOptions } from './exporter/otlp-http.ts';
export type { TlsOptions } from './exporter/tls.ts';
export { Durability, type DurableOutcome, type ReplayReport } from './durable/durability.ts';
export type { AcknowledgeAfter, DurabilityOptions, DurableStore } from './durable/durable-store.ts';
export { SILENT_LOGGER, type PipelineLogger } from './logger.ts';
export { ExporterMetrics, Histogram, PipelineMetrics } from './metrics.ts';
export {
  AsyncSpanProducer,
  SpanProducer,
  type AdmitResult,
  type SubmitOptions,
  type TrySubmitResult,
} from './producer/span-producer.ts';
export {
  SpanCollector,
  type CollectorState,
  type ExporterRegistration,
  type ExporterReport,
  type ShutdownReport,
  type SpanCollectorOptions,
  type SpansReleasedListener,
} from './span-collector.ts';
