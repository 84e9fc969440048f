/**
 * Validated otelcol-style config → RuntimeConfig: milliseconds, bytes, split endpoints, and an
 * ExporterSpec per exporter of the traces pipeline.
 */
import { availableParallelism } from 'node:os';
import {
  DebugExporter,
  FileExporter,
  OtlpGrpcExporter,
  OtlpHttpExporter,
  PipelineConfigError,
  resolveExporterSettings,
  resolvePipelineOptions,
} from '#spanring/pipeline';
import type {
  DebugExporterOptions,
  ExporterSettingsInput,
  FileExporterOptions,
  OtlpGrpcExporterOptions,
  OtlpHttpExporterOptions,
  PipelineOptionsInput,
  SpanExporter,
  TlsOptions,
} from '#spanring/pipeline';
import type { CollectorConfig, ExporterConfig, RetryOnFailureConfig, SendingQueueConfig, TelemetryConfig } from './collector-config.ts';
import { BATCH_DEFAULTS } from './collector-config.ts';
import { ConfigError } from './config-error.ts';
import {
  DEFAULT_GRPC_ENDPOINT,
  DEFAULT_HEALTH_ENDPOINT,
  DEFAULT_HTTP_ENDPOINT,
  DEFAULT_METRICS_HOST,
  DEFAULT_METRICS_PORT,
  parseEndpoint,
} from './endpoints.ts';
import type { DurableQueueSettings, Endpoint, ExporterSpec, HealthSettings, RuntimeConfig, TelemetrySettings } from './runtime-config.ts';
import { grpcMessageLimitBytes, httpBodyLimitBytes } from './sizes.ts';

const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;
const DEFAULT_RETRY_AFTER_MS = 1_000;
/** OTel declarative config's default export interval for a periodic reader. */
const DEFAULT_PUSH_INTERVAL_MS = 60_000;

export function toRuntimeConfig(config: CollectorConfig): RuntimeConfig {
  const { pipeline: traces } = config.service;
  const receiver = config.receivers.get(traces.receiver);
  if (receiver === undefined) throw new ConfigError([`service.pipelines.${traces.id}.receivers: receiver "${traces.receiver}" is not defined`]);
  const { grpc, http } = receiver.protocols;
  const spanring = config.spanring;

  const pipeline = pipelineOptions(config);
  const exporters = traces.exporters.map((id) => {
    const exporter = config.exporters.get(id);
    if (exporter === undefined) throw new ConfigError([`service.pipelines.${traces.id}.exporters: exporter "${id}" is not defined`]);
    return exporterSpec(id, exporter);
  });

  return {
    receivers: {
      ...(grpc === undefined
        ? {}
        : { grpc: { ...(grpc.endpoint ?? defaultEndpoint(DEFAULT_GRPC_ENDPOINT)), maxRecvMsgSizeBytes: grpcMessageLimitBytes(grpc.max_recv_msg_size_mib) } }),
      ...(http === undefined
        ? {}
        : { http: { ...(http.endpoint ?? defaultEndpoint(DEFAULT_HTTP_ENDPOINT)), maxRequestBodyBytes: httpBodyLimitBytes(http.max_request_body_size) } }),
    },
    pipeline,
    exporters,
    telemetry: telemetrySettings(config.service.telemetry),
    ...optional('health', healthSettings(config)),
    shutdownTimeoutMs: spanring.shutdown_timeout ?? DEFAULT_SHUTDOWN_TIMEOUT_MS,
    // Retry-After is whole seconds; rounding up never invites a client back too early.
    retryAfterSeconds: Math.ceil((spanring.retry_after ?? DEFAULT_RETRY_AFTER_MS) / 1_000),
    ...durableAndWorkers(config),
  };
}

/**
 * Receivers acknowledge a durable request only after its append, which the main thread makes,
 * so with a persistent queue they receive on the main thread (specs/durable-queue.md D9).
 */
function durableAndWorkers(config: CollectorConfig): { receiverWorkers: number; durableQueue?: DurableQueueSettings } {
  const workers = receiverWorkers(config.spanring.workers);
  const durableQueue = durableQueueSettings(config, workers);
  return durableQueue === undefined ? { receiverWorkers: workers } : { receiverWorkers: 0, durableQueue };
}

/**
 * spanring.workers, default "auto": leaves one core to the consumer thread (batching and
 * export) and gives the rest to receiving, up to 8; a single core receives on the main thread.
 */
export function receiverWorkers(setting: number | 'auto' | undefined, cores = availableParallelism()): number {
  if (setting !== undefined && setting !== 'auto') return setting;
  return Math.min(8, Math.max(0, cores - 1));
}

/**
 * processors.batch and `spanring:` → the pipeline's options. Without a batch processor in the
 * pipeline the Collector's batch defaults (8192 / 0 / 200ms) still apply: Spanring always
 * batches (its exporters take batches), so "no batch processor" cannot mean "no batching".
 */
function pipelineOptions(config: CollectorConfig): PipelineOptionsInput {
  const processorId = config.service.pipeline.processor;
  const batch = processorId === undefined ? undefined : config.processors.get(processorId);
  const s = config.spanring;
  const options: PipelineOptionsInput = {
    batch: {
      sendBatchSize: batch?.send_batch_size ?? BATCH_DEFAULTS.sendBatchSize,
      sendBatchMaxSize: batch?.send_batch_max_size ?? BATCH_DEFAULTS.sendBatchMaxSize,
      timeoutMs: batch?.timeout ?? BATCH_DEFAULTS.timeoutMs,
    },
    collector: compact({
      ringBits: s.ring_bits,
      maxProducers: s.max_producers,
      maxConsumePerRing: s.max_consume_per_ring,
      maxSpansPerTurn: s.max_spans_per_turn,
      backpressureTimeoutMs: s.backpressure_wait,
      // The pipeline wants whole milliseconds here; round up so a sub-ms value stays > 0.
      idleWakeMs: s.idle_wake === undefined ? undefined : Math.ceil(s.idle_wake),
      maxQueuedSpans: s.max_queued_spans,
      maxPendingSpans: s.max_pending_spans,
    }),
  };
  // The schemas mirror the pipeline's rules; this catches any drift between the two.
  try {
    resolvePipelineOptions(options);
  } catch (error) {
    if (error instanceof PipelineConfigError) throw new ConfigError([`spanring / processors.batch: ${error.message}`]);
    throw error;
  }
  return options;
}

function exporterSpec(id: string, exporter: ExporterConfig): ExporterSpec {
  const settings = exporterSettings(exporter.settings);
  try {
    resolveExporterSettings(settings, `exporters.${id}`);
  } catch (error) {
    if (error instanceof PipelineConfigError) throw new ConfigError([`exporters.${id}: ${error.message}`]);
    throw error;
  }
  const build = exporterFactory(id, exporter);
  return {
    id,
    settings,
    create: () => {
      try {
        return build();
      } catch (error) {
        // A file named in tls.* that cannot be read, a header gRPC refuses, …: name the key.
        if (error instanceof PipelineConfigError) throw new ConfigError([`exporters.${id}.${otelcolKey(error.path)}: ${reasonOf(error)}`]);
        throw error;
      }
    },
  };
}

function exporterFactory(id: string, exporter: ExporterConfig): () => SpanExporter {
  switch (exporter.type) {
    case 'otlp_grpc': {
      const c = exporter.settings;
      const options: OtlpGrpcExporterOptions = compact({
        name: id,
        endpoint: c.endpoint,
        headers: c.headers,
        compression: c.compression,
        timeoutMs: c.timeout,
        tls: tlsOptions(c.tls),
      });
      return () => new OtlpGrpcExporter(options);
    }
    case 'otlp_http': {
      const c = exporter.settings;
      const options: OtlpHttpExporterOptions = compact({
        name: id,
        endpoint: c.endpoint,
        tracesEndpoint: c.traces_endpoint,
        encoding: c.encoding,
        headers: c.headers,
        compression: c.compression,
        timeoutMs: c.timeout,
        tls: tlsOptions(c.tls),
      });
      return () => new OtlpHttpExporter(options);
    }
    case 'file': {
      const c = exporter.settings;
      const options: FileExporterOptions = compact({
        name: id,
        path: c.path,
        append: c.append,
        rotation: c.rotation === undefined ? undefined : compact({ maxMegabytes: c.rotation.max_megabytes, maxBackups: c.rotation.max_backups }),
      });
      return () => new FileExporter(options);
    }
    case 'debug': {
      const options: DebugExporterOptions = compact({ name: id, verbosity: exporter.settings.verbosity });
      return () => new DebugExporter(options);
    }
  }
}

function tlsOptions(tls: ExporterTls | undefined): TlsOptions | undefined {
  if (tls === undefined) return undefined;
  return compact({
    insecure: tls.insecure,
    insecureSkipVerify: tls.insecure_skip_verify,
    caFile: tls.ca_file,
    certFile: tls.cert_file,
    keyFile: tls.key_file,
  });
}

type ExporterTls = NonNullable<Extract<ExporterConfig, { type: 'otlp_grpc' }>['settings']['tls']>;

/**
 * retry_on_failure and sending_queue → the pipeline's exporter settings.
 *
 * `sending_queue.enabled: false` in otelcol means no queue: each batch is exported by the
 * caller, one at a time, and a failure that cannot be retried drops it. Spanring never drops,
 * so a queue still exists; it becomes a queue of 1 with 1 consumer, the closest equivalent
 * (one batch in flight, the pipeline pushes back while it is), and num_consumers/queue_size are
 * ignored as otelcol ignores them when disabled.
 */
export function exporterSettings(settings: { retry_on_failure?: RetryOnFailureConfig; sending_queue?: SendingQueueConfig }): ExporterSettingsInput {
  const retry = settings.retry_on_failure;
  const queue = settings.sending_queue;
  const out: { retry?: ExporterSettingsInput['retry']; queue?: ExporterSettingsInput['queue'] } = {};
  if (retry !== undefined) {
    out.retry = compact({
      enabled: retry.enabled,
      initialIntervalMs: retry.initial_interval,
      randomizationFactor: retry.randomization_factor,
      multiplier: retry.multiplier,
      maxIntervalMs: retry.max_interval,
      maxElapsedTimeMs: retry.max_elapsed_time,
    });
  }
  if (queue !== undefined) {
    out.queue = queue.enabled === false ? { queueSize: 1, numConsumers: 1 } : compact({ queueSize: queue.queue_size, numConsumers: queue.num_consumers });
  }
  return out;
}

function telemetrySettings(telemetry: TelemetryConfig): TelemetrySettings {
  const logLevel = telemetry.logs?.level ?? 'info';
  const metrics = telemetry.metrics;
  if (metrics?.level === 'none') return { logLevel };
  if (metrics?.address !== undefined) return { logLevel, prometheus: metrics.address };
  // No readers written: otelcol's default, a prometheus endpoint on localhost:8888.
  if (metrics?.readers === undefined) return { logLevel, prometheus: { host: DEFAULT_METRICS_HOST, port: DEFAULT_METRICS_PORT } };
  const pull = metrics.readers.find((reader) => reader.pull !== undefined)?.pull;
  const periodic = metrics.readers.find((reader) => reader.periodic !== undefined)?.periodic;
  const prometheus = pull?.exporter.prometheus;
  return {
    logLevel,
    ...optional('prometheus', prometheus === undefined ? undefined : { host: prometheus.host ?? DEFAULT_METRICS_HOST, port: prometheus.port ?? DEFAULT_METRICS_PORT }),
    ...optional(
      'otlpPush',
      periodic === undefined
        ? undefined
        : {
            endpoint: periodic.exporter.otlp.endpoint,
            protocol: periodic.exporter.otlp.protocol ?? 'http/protobuf',
            intervalMs: periodic.interval ?? DEFAULT_PUSH_INTERVAL_MS,
          },
    ),
  };
}

/** The health_check extension listed in service.extensions (extensions defined but not listed stay off, as in otelcol). */
function healthSettings(config: CollectorConfig): HealthSettings | undefined {
  const id = config.service.extensions.find((candidate) => config.extensions.get(candidate)?.type === 'health_check');
  const extension = id === undefined ? undefined : config.extensions.get(id);
  if (extension?.type !== 'health_check') return undefined;
  const health = extension.settings;
  return { ...(health.endpoint ?? defaultEndpoint(DEFAULT_HEALTH_ENDPOINT)), path: health.path ?? '/' };
}

const DEFAULT_MAX_QUEUE_MIB = 1024;

/**
 * The pipeline's exporters with sending_queue.storage → one durable queue (validation made
 * sure they name one listed file_storage extension). acknowledge_after is the strictest any of
 * them asks for: one exporter that wants durable acknowledgement gets it.
 */
function durableQueueSettings(config: CollectorConfig, requestedWorkers: number): DurableQueueSettings | undefined {
  const durable = config.service.pipeline.exporters.filter((id) => config.exporters.get(id)?.settings.sending_queue?.storage !== undefined);
  if (durable.length === 0) return undefined;
  const queues = durable.map((id) => config.exporters.get(id)!.settings.sending_queue!);
  const extension = queues[0]!.storage!;
  const storage = config.extensions.get(extension);
  if (storage?.type !== 'file_storage') throw new ConfigError([`exporters.${durable[0]}.sending_queue.storage: "${extension}" is not a file_storage extension`]);
  const settings = storage.settings;
  return {
    extension,
    directory: settings.directory,
    createDirectory: settings.create_directory ?? false,
    fsync: settings.fsync ?? false,
    maxSizeBytes: (settings.max_size_mib ?? DEFAULT_MAX_QUEUE_MIB) * 1024 * 1024,
    exporters: durable,
    acknowledgeAfter: queues.some((queue) => (queue.acknowledge_after ?? 'durable') === 'durable') ? 'durable' : 'memory',
    requestedWorkers,
  };
}

/**
 * Builds each exporter of `config` once and shuts it down again, so `spanring validate` also
 * reports what only construction finds (an unreadable tls.ca_file, a header gRPC refuses).
 * Construction connects nothing; shutdown only releases what construction allocated.
 */
export function probeExporters(config: RuntimeConfig): string[] {
  const problems: string[] = [];
  for (const spec of config.exporters) {
    try {
      const exporter = spec.create();
      exporter.shutdown().catch(() => undefined);
    } catch (error) {
      if (error instanceof ConfigError) problems.push(...error.problems);
      else problems.push(`exporters.${spec.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems;
}

function defaultEndpoint(text: string): Endpoint {
  const endpoint = parseEndpoint(text);
  if (typeof endpoint === 'string') throw new Error(endpoint);
  return endpoint;
}

/** The pipeline's option path ("tls.caFile", "timeoutMs") as the otelcol key ("tls.ca_file", "timeout"). */
function otelcolKey(path: string): string {
  // A header's name is the user's own text, so it stays as written.
  if (path.startsWith('headers.')) return path;
  return path
    .split('.')
    .map((segment) => segment.replace(/Ms$/, '').replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`))
    .join('.');
}

/** PipelineConfigError's message without its 'invalid pipeline option "x": ' prefix. */
function reasonOf(error: PipelineConfigError): string {
  const prefix = `invalid pipeline option "${error.path}": `;
  return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}

/** `{ key: value }` when value is defined, else `{}`: keeps absent settings absent. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** The object without its undefined values, so defaults downstream apply and output stays readable. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}
