import type { ExporterSettingsInput, PipelineOptionsInput, SpanExporter } from '#spanring/pipeline';

/**
 * The service's validated, normalized configuration: what the otelcol-style YAML (see
 * collector-config.ts) turns into, and what every part of the service reads. Durations are
 * milliseconds, sizes bytes, endpoints split into host and port.
 */
export interface RuntimeConfig {
  readonly receivers: {
    /** receivers.otlp.protocols.http; absent when the protocol is not configured. */
    readonly http?: HttpReceiverSettings;
    /** receivers.otlp.protocols.grpc; absent when the protocol is not configured. */
    readonly grpc?: GrpcReceiverSettings;
  };
  /** processors.batch and Spanring's own section, for SpanCollector. */
  readonly pipeline: PipelineOptionsInput;
  /** service.pipelines.traces.exporters, in order, each built from exporters.<id>. */
  readonly exporters: readonly ExporterSpec[];
  readonly telemetry: TelemetrySettings;
  /** extensions.health_check, when listed in service.extensions. */
  readonly health?: HealthSettings;
  /** How long a graceful shutdown may take (spanring.shutdown_timeout). */
  readonly shutdownTimeoutMs: number;
  /** Retry-After (seconds) sent with 429/503 and RetryInfo with UNAVAILABLE (spanring.retry_after). */
  readonly retryAfterSeconds: number;
  /** Receiver worker threads (spanring.workers, "auto" resolved); absent or 0: receive on the main thread. */
  readonly receiverWorkers?: number;
  /** The persistent sending queue (file_storage + sending_queue.storage), when an exporter has one. */
  readonly durableQueue?: DurableQueueSettings;
}

export interface DurableQueueSettings {
  /** The file_storage extension's id, for messages. */
  readonly extension: string;
  readonly directory: string;
  readonly createDirectory: boolean;
  readonly fsync: boolean;
  readonly maxSizeBytes: number;
  /** The exporters (component ids) whose sending queue is persistent. */
  readonly exporters: readonly string[];
  readonly acknowledgeAfter: 'durable' | 'memory';
  /** spanring.workers as configured, before durability set it to 0 (for the log line). */
  readonly requestedWorkers: number;
}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface HttpReceiverSettings extends Endpoint {
  /** Limit on the decompressed body (max_request_body_size, default 64 MiB). */
  readonly maxRequestBodyBytes: number;
}

export interface GrpcReceiverSettings extends Endpoint {
  /** Limit on one message (max_recv_msg_size_mib, default 64 MiB, not grpc's 4 MiB). */
  readonly maxRecvMsgSizeBytes: number;
}

export interface ExporterSpec {
  /** The component id as written, e.g. "otlp_grpc/backend" or "otlp". */
  readonly id: string;
  /** Builds the exporter (called once at startup). */
  readonly create: () => SpanExporter;
  /** retry_on_failure and sending_queue. */
  readonly settings: ExporterSettingsInput;
}

export interface TelemetrySettings {
  /** Prometheus pull endpoint (readers[].pull.exporter.prometheus, or the older metrics.address). */
  readonly prometheus?: Endpoint;
  /** OTLP push of the same metrics (readers[].periodic.exporter.otlp). */
  readonly otlpPush?: { readonly endpoint: string; readonly protocol: 'http/protobuf' | 'grpc'; readonly intervalMs: number };
  /** service.telemetry.logs.level: debug, info, warn, error. */
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export interface HealthSettings extends Endpoint {
  /** health_check path, default "/". */
  readonly path: string;
}

/** Nest injection tokens for the pieces of RuntimeConfig. */
export const RUNTIME_CONFIG = Symbol('spanring.RuntimeConfig');
export const HTTP_RECEIVER_SETTINGS = Symbol('spanring.HttpReceiverSettings');
export const GRPC_RECEIVER_SETTINGS = Symbol('spanring.GrpcReceiverSettings');
