/**
 * The otelcol configuration subset Spanring runs, as zod schemas, and the validation that
 * turns a parsed (merged, env-expanded) document into a typed CollectorConfig.
 *
 * Keys are the OTel Collector's, so a user's existing otelcol config for these components runs
 * unchanged. Everything else is an error that names the key: unknown keys, components Spanring
 * does not implement, pipelines other than one traces pipeline. Validation collects EVERY
 * problem before failing (ConfigError.problems), so one `spanring validate` shows them all.
 *
 * Spanring's own knobs live under the top-level `spanring:` key, which otelcol does not have.
 */
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { z } from 'zod';
import { canonicalExporterType } from '#spanring/pipeline';
import type { ExporterType } from '#spanring/pipeline';
import { ConfigError, formatPath } from './config-error.ts';
import { invalidDurationMessage, parseDurationMs } from './durations.ts';
import { parseEndpoint } from './endpoints.ts';

// ---------------------------------------------------------------------------------------------
// Building blocks

/**
 * A map with a fixed set of keys; any other key is an error listing the supported ones.
 * `required` replaces the bare "required" message when the map itself is missing.
 */
function strict<T extends z.core.$ZodLooseShape>(shape: T, required?: string) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown key (supported here: ${known})`;
      if (issue.code === 'invalid_type' && issue.input === undefined && required !== undefined) return `required: ${required}`;
      return undefined;
    },
  });
}

const NUMERIC_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Numbers also accept their decimal text, because `${env:NAME}` expands to a string
 * (`port: ${env:PORT}`); otelcol gets the same effect from typed decoding of expanded values.
 */
function numeric<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (typeof value === 'string' && NUMERIC_TEXT.test(value.trim()) ? Number(value) : value), schema);
}

/** true/false, also as text (from `${env:…}`). */
const bool = z.preprocess((value) => {
  if (typeof value !== 'string') return value;
  const text = value.trim().toLowerCase();
  return text === 'true' ? true : text === 'false' ? false : value;
}, z.boolean());

const int = (min: number, max?: number) => numeric(max === undefined ? z.number().int().min(min) : z.number().int().min(min).max(max));

/** A Go duration (see durations.ts), in milliseconds. */
function duration(options: { positive?: boolean } = {}) {
  return z.unknown().transform((value, ctx) => {
    const ms = parseDurationMs(value);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: invalidDurationMessage(value), input: value });
      return z.NEVER;
    }
    if (options.positive === true && ms <= 0) {
      ctx.addIssue({ code: 'custom', message: `must be greater than 0, got ${JSON.stringify(value)}`, input: value });
      return z.NEVER;
    }
    return ms;
  });
}

/** A listen address "host:port" (see endpoints.ts), split. */
const listenEndpoint = z.string().transform((value, ctx) => {
  const endpoint = parseEndpoint(value);
  if (typeof endpoint === 'string') {
    ctx.addIssue({ code: 'custom', message: endpoint, input: value });
    return z.NEVER;
  }
  return endpoint;
});

const nonEmpty = (required?: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined && required !== undefined ? `required: ${required}` : undefined) })
    .min(1, { error: required === undefined ? 'must not be empty' : `must not be empty: ${required}` });

const componentIdList = z.array(z.string().min(1));

// ---------------------------------------------------------------------------------------------
// receivers.otlp

const grpcServerSchema = strict({
  /** Listen address; otelcol's default when omitted is localhost:4317. */
  endpoint: listenEndpoint.optional(),
  /** Largest message accepted, MiB; 0 or absent = 64 MiB. */
  max_recv_msg_size_mib: int(0).optional(),
});

const httpServerSchema = strict({
  /** Listen address; otelcol's default when omitted is localhost:4318. */
  endpoint: listenEndpoint.optional(),
  /** Largest body accepted after decompression, bytes; 0 or absent = 64 MiB. */
  max_request_body_size: int(0).optional(),
});

export const otlpReceiverSchema = strict({
  protocols: strict(
    { grpc: grpcServerSchema.optional(), http: httpServerSchema.optional() },
    'list the protocols to serve, e.g. protocols: { grpc: {}, http: {} }',
  ),
}).superRefine((receiver, ctx) => {
  if (receiver.protocols.grpc === undefined && receiver.protocols.http === undefined) {
    ctx.addIssue({ code: 'custom', path: ['protocols'], message: 'enable at least one protocol: grpc and/or http' });
  }
});

// ---------------------------------------------------------------------------------------------
// processors.batch

/** The Collector's batch processor defaults. */
export const BATCH_DEFAULTS = { sendBatchSize: 8192, sendBatchMaxSize: 0, timeoutMs: 200 } as const;

export const batchProcessorSchema = strict({
  send_batch_size: numeric(z.number().int().min(1, { error: 'must be at least 1 (Spanring always flushes by size as well as by timeout)' })).optional(),
  /** 0 = no limit. */
  send_batch_max_size: int(0).optional(),
  timeout: duration().optional(),
}).superRefine((batch, ctx) => {
  const size = batch.send_batch_size ?? BATCH_DEFAULTS.sendBatchSize;
  const max = batch.send_batch_max_size ?? BATCH_DEFAULTS.sendBatchMaxSize;
  if (max !== 0 && max < size) {
    ctx.addIssue({ code: 'custom', path: ['send_batch_max_size'], message: `must be 0 or >= send_batch_size (${size}), got ${max}` });
  }
});

// ---------------------------------------------------------------------------------------------
// exporters

const tlsClientSchema = strict({
  /** Plaintext (gRPC); for otlp_http the URL scheme decides. */
  insecure: bool.optional(),
  insecure_skip_verify: bool.optional(),
  ca_file: nonEmpty().optional(),
  cert_file: nonEmpty().optional(),
  key_file: nonEmpty().optional(),
}).superRefine((tls, ctx) => {
  if ((tls.cert_file === undefined) !== (tls.key_file === undefined)) {
    const missing = tls.cert_file === undefined ? 'cert_file' : 'key_file';
    ctx.addIssue({ code: 'custom', path: [missing], message: 'cert_file and key_file go together (mutual TLS): set both or neither' });
  }
});

export const retryOnFailureSchema = strict({
  enabled: bool.optional(),
  initial_interval: duration().optional(),
  randomization_factor: numeric(z.number().min(0).max(1)).optional(),
  multiplier: numeric(z.number().min(1)).optional(),
  max_interval: duration().optional(),
  /** 0 = retry without a time limit (as otelcol). */
  max_elapsed_time: duration().optional(),
});

/**
 * otelcol's sending_queue. Spanring never drops, so a full queue pushes back on the pipeline;
 * `block_on_overflow` is accepted for compatibility and always behaves as true.
 */
export const sendingQueueSchema = strict({
  enabled: bool.optional(),
  num_consumers: int(1).optional(),
  queue_size: int(1).optional(),
  block_on_overflow: bool.optional(),
  sizer: z
    .literal('requests', { error: (issue) => `Spanring's queue counts requests (batches); sizer ${JSON.stringify(issue.input)} is not supported` })
    .optional(),
  /** otelcol: the id of a storage extension (file_storage) that makes the queue persistent. */
  storage: z.string().min(1).optional(),
  /** Spanring's own: answer receivers once a request is on disk (durable, the default with storage) or in memory. */
  acknowledge_after: z
    .enum(['durable', 'memory'], { error: (issue) => `expected "durable" or "memory", got ${JSON.stringify(issue.input)}` })
    .optional(),
});

/** gzip (otelcol's default) or none; otelcol's "" also means none. */
const compression = z.unknown().transform((value, ctx): 'gzip' | 'none' => {
  if (value === 'gzip') return 'gzip';
  if (value === 'none' || value === '') return 'none';
  ctx.addIssue({ code: 'custom', input: value, message: `unsupported compression ${JSON.stringify(value)} (Spanring supports "gzip" and "none")` });
  return z.NEVER;
});

/** Header values may be written as YAML numbers or booleans (`x-tenant: 42`); they are sent as text. */
const headers = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));

/** Keys every exporter takes: Spanring runs a sending queue with retry for each one. */
const queuedExporterKeys = {
  retry_on_failure: retryOnFailureSchema.optional(),
  sending_queue: sendingQueueSchema.optional(),
};

export const otlpGrpcExporterSchema = strict({
  endpoint: nonEmpty('the backend address, e.g. "backend:4317" or "https://backend:4317"'),
  headers: headers.optional(),
  compression: compression.optional(),
  /** Deadline of each export call; default 5s. */
  timeout: duration({ positive: true }).optional(),
  tls: tlsClientSchema.optional(),
  ...queuedExporterKeys,
});

const httpUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a URL; write it with its scheme, e.g. "https://backend:4318"` });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} must use http:// or https://` });
  }
});

export const otlpHttpExporterSchema = strict({
  /** Base URL; "/v1/traces" is appended, as the Collector does. */
  endpoint: httpUrl.optional(),
  /** Full URL, used as written; wins over endpoint. */
  traces_endpoint: httpUrl.optional(),
  encoding: z.enum(['proto', 'json']).optional(),
  headers: headers.optional(),
  compression: compression.optional(),
  /** Whole-request timeout; default 30s. */
  timeout: duration({ positive: true }).optional(),
  tls: tlsClientSchema.optional(),
  ...queuedExporterKeys,
}).superRefine((exporter, ctx) => {
  if (exporter.endpoint === undefined && exporter.traces_endpoint === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['endpoint'],
      message: 'required: set endpoint (the base URL, "/v1/traces" is appended) or traces_endpoint (the full URL)',
    });
  }
  // Checked here rather than when the exporter is built, so `spanring validate` reports them.
  for (const [name, value] of Object.entries(exporter.headers ?? {})) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['headers', name], message: `not a valid HTTP header: ${error instanceof Error ? error.message : String(error)}` });
    }
  }
});

export const fileExporterSchema = strict({
  path: nonEmpty('the file to write spans to (its directory must exist)'),
  rotation: strict({
    max_megabytes: numeric(z.number().positive()).optional(),
    /** 0 keeps every backup. */
    max_backups: int(0).optional(),
  }).optional(),
  append: bool.optional(),
  /** Spanring writes OTLP JSON lines only. */
  format: z.literal('json', { error: (issue) => `Spanring's file exporter writes JSON lines only; format ${JSON.stringify(issue.input)} is not supported` }).optional(),
  ...queuedExporterKeys,
});

export const debugExporterSchema = strict({
  verbosity: z.enum(['basic', 'normal', 'detailed']).optional(),
  /** Accepted for compatibility; Spanring's debug exporter does not sample its output. */
  sampling_initial: int(1).optional(),
  /** Accepted for compatibility; Spanring's debug exporter does not sample its output. */
  sampling_thereafter: int(1).optional(),
  /** Accepted for compatibility; output always goes to stdout. */
  use_internal_logger: bool.optional(),
  ...queuedExporterKeys,
});

const EXPORTER_SCHEMAS = {
  otlp_grpc: otlpGrpcExporterSchema,
  otlp_http: otlpHttpExporterSchema,
  file: fileExporterSchema,
  debug: debugExporterSchema,
} as const satisfies Record<ExporterType, z.ZodType>;

export type OtlpGrpcExporterConfig = z.output<typeof otlpGrpcExporterSchema>;
export type OtlpHttpExporterConfig = z.output<typeof otlpHttpExporterSchema>;
export type FileExporterConfig = z.output<typeof fileExporterSchema>;
export type DebugExporterConfig = z.output<typeof debugExporterSchema>;
export type RetryOnFailureConfig = z.output<typeof retryOnFailureSchema>;
export type SendingQueueConfig = z.output<typeof sendingQueueSchema>;

export type ExporterConfig =
  | { readonly type: 'otlp_grpc'; readonly settings: OtlpGrpcExporterConfig }
  | { readonly type: 'otlp_http'; readonly settings: OtlpHttpExporterConfig }
  | { readonly type: 'file'; readonly settings: FileExporterConfig }
  | { readonly type: 'debug'; readonly settings: DebugExporterConfig };

// ---------------------------------------------------------------------------------------------
// extensions.health_check

export const healthCheckSchema = strict({
  /** Listen address; otelcol's default when omitted is localhost:13133. */
  endpoint: listenEndpoint.optional(),
  path: z.string().startsWith('/').optional(),
});

// ---------------------------------------------------------------------------------------------
// extensions.file_storage (otelcol contrib's keys; compaction is accepted and has nothing to do:
// Spanring's log deletes whole segments once every exporter passed them)

const compactionSchema = strict({
  on_start: bool.optional(),
  on_rebound: bool.optional(),
  directory: z.string().optional(),
  max_transaction_size: int(0).optional(),
  rebound_needed_threshold_mib: int(0).optional(),
  rebound_trigger_threshold_mib: int(0).optional(),
  check_interval: duration().optional(),
  cleanup_on_start: bool.optional(),
});

export const fileStorageSchema = strict(
  {
    directory: nonEmpty('the directory the persistent queue is kept in (it must exist, or set create_directory: true)'),
    create_directory: bool.optional(),
    directory_permissions: z.string().regex(/^0?[0-7]{3,4}$/, 'expected an octal mode such as "0750"').optional(),
    /** otelcol's timeout for storage operations; accepted (appends here are bounded by the disk). */
    timeout: duration().optional(),
    /** fdatasync each group of appends before acknowledging; otelcol's default false. */
    fsync: bool.optional(),
    compaction: compactionSchema.optional(),
    /** Spanring's own: the queue's size cap on disk; past it receivers answer 429 / UNAVAILABLE. Default 1024. */
    max_size_mib: int(1).optional(),
    recreate: bool.optional(),
  },
  'set directory',
);

export type FileStorageConfig = z.output<typeof fileStorageSchema>;

export type ExtensionConfig =
  | { readonly type: 'health_check'; readonly settings: z.output<typeof healthCheckSchema> }
  | { readonly type: 'file_storage'; readonly settings: FileStorageConfig };

// ---------------------------------------------------------------------------------------------
// service.telemetry

const LOG_LEVELS = { debug: 'debug', info: 'info', warn: 'warn', error: 'error', dpanic: 'error', panic: 'error', fatal: 'error' } as const;

/** zap's levels, case-insensitive as otelcol reads them; dpanic/panic/fatal log as error. */
const logLevel = z.string().transform((value, ctx) => {
  const level = LOG_LEVELS[value.trim().toLowerCase() as keyof typeof LOG_LEVELS] as (typeof LOG_LEVELS)[keyof typeof LOG_LEVELS] | undefined;
  if (level === undefined) {
    ctx.addIssue({ code: 'custom', input: value, message: `unknown log level ${JSON.stringify(value)} (use debug, info, warn or error)` });
    return z.NEVER;
  }
  return level;
});

const METRICS_LEVELS = ['none', 'basic', 'normal', 'detailed'] as const;
const metricsLevel = z.string().transform((value, ctx) => {
  const level = METRICS_LEVELS.find((candidate) => candidate === value.trim().toLowerCase());
  if (level === undefined) {
    ctx.addIssue({ code: 'custom', input: value, message: `unknown metrics level ${JSON.stringify(value)} (use none, basic, normal or detailed)` });
    return z.NEVER;
  }
  return level;
});

const pullReaderSchema = strict({
  exporter: strict(
    {
      prometheus: strict({
        /** Default "localhost", as otelcol. */
        host: z.string().optional(),
        /** Default 8888, the Collector's internal-telemetry port. */
        port: int(0, 65_535).optional(),
      }),
    },
    'exporter: { prometheus: { host, port } }',
  ),
});

/** interval: milliseconds as a number (OTel declarative config), or a duration string. */
const intervalMs = z.unknown().transform((value, ctx) => {
  const ms = typeof value === 'number' ? value : parseDurationMs(value);
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) {
    ctx.addIssue({ code: 'custom', input: value, message: `invalid interval ${JSON.stringify(value)}: milliseconds (e.g. 60000) or a duration (e.g. 60s), greater than 0` });
    return z.NEVER;
  }
  return ms;
});

const periodicReaderSchema = strict({
  /** Default 60000 ms (OTel declarative config's default). */
  interval: intervalMs.optional(),
  exporter: strict(
    {
      otlp: strict({
        protocol: z
          .enum(['http/protobuf', 'grpc'], { error: (issue) => `unsupported protocol ${JSON.stringify(issue.input)} (use http/protobuf or grpc)` })
          .optional(),
        endpoint: nonEmpty('where to push metrics, e.g. "http://backend:4318/v1/metrics"'),
      }),
    },
    'exporter: { otlp: { protocol, endpoint } }',
  ),
});

const metricReaderSchema = strict({
  pull: pullReaderSchema.optional(),
  periodic: periodicReaderSchema.optional(),
}).superRefine((reader, ctx) => {
  if ((reader.pull === undefined) === (reader.periodic === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'a reader is either pull (prometheus) or periodic (otlp push): set exactly one' });
  }
});

export const telemetrySchema = strict({
  logs: strict({ level: logLevel.optional() }).optional(),
  metrics: strict({
    /** none disables self-metrics (no prometheus endpoint, no push). */
    level: metricsLevel.optional(),
    /** The older form of a prometheus pull endpoint, "host:port". */
    address: listenEndpoint.optional(),
    readers: z.array(metricReaderSchema).optional(),
  })
    .superRefine((metrics, ctx) => {
      if (metrics.address !== undefined && metrics.readers !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['address'], message: 'set either address (older form) or readers, not both' });
      }
      for (const kind of ['pull', 'periodic'] as const) {
        const indexes = (metrics.readers ?? []).flatMap((reader, index) => (reader[kind] === undefined ? [] : [index]));
        for (const index of indexes.slice(1)) {
          ctx.addIssue({ code: 'custom', path: ['readers', index], message: `only one ${kind} reader is supported (the first is readers[${indexes[0]}])` });
        }
      }
    })
    .optional(),
});

export type TelemetryConfig = z.output<typeof telemetrySchema>;

/** A pipeline's list of component ids; `hint` completes the message when the list is missing. */
const pipelineList = (hint: string) =>
  z.array(z.string().min(1), { error: (issue) => (issue.input === undefined ? `required: ${hint}` : undefined) });

const pipelineSchema = strict({
  receivers: pipelineList('list the otlp receiver, e.g. [otlp]'),
  processors: componentIdList.optional(),
  exporters: pipelineList('list at least one exporter, e.g. [debug]'),
});

// ---------------------------------------------------------------------------------------------
// spanring

/** Spanring's own knobs (no otelcol equivalent), mapped to the pipeline's collector tuning. */
export const spanringSchema = strict({
  /** Each producer ring holds 2^ring_bits spans (1..20; default 11). */
  ring_bits: int(1, 20).optional(),
  /** Concurrent producer rings (1..128; default 64). */
  max_producers: int(1, 128).optional(),
  /** Spans taken from one ring per round-robin turn (default 2048). */
  max_consume_per_ring: int(1).optional(),
  /** Spans per consumer turn before yielding to the event loop (default 10000). */
  max_spans_per_turn: int(1).optional(),
  /** How long a receiver waits for ring space before answering 429/UNAVAILABLE (default 5s). */
  backpressure_wait: duration().optional(),
  /** The consumer re-checks the rings at least this often (default 50ms; rounded up to whole ms). */
  idle_wake: duration({ positive: true }).optional(),
  /** How long a graceful shutdown may take (default 30s). */
  shutdown_timeout: duration({ positive: true }).optional(),
  /** Retry-After sent with 429/503 and RetryInfo with UNAVAILABLE (default 1s; rounded up to seconds). */
  retry_after: duration().optional(),
  /** Spans one exporter may hold, queued or being exported, before intake pauses (default 16384; raise it for a distant backend). */
  max_queued_spans: int(1).optional(),
  /** Spans waiting in all producer rings together before producers wait (default 16384). */
  max_pending_spans: int(1).optional(),
  /**
   * Receiver worker threads (0..64, or "auto"): OTLP receiving and decoding run in this many
   * worker threads, each feeding the consumer thread through its own SharedRing; 0 receives
   * on the main thread. Default "auto": cores − 1, at most 8.
   */
  workers: z.union([int(0, 64), z.literal('auto')]).optional(),
});

export type SpanringConfig = z.output<typeof spanringSchema>;

// ---------------------------------------------------------------------------------------------
// The whole document

export interface Component<T> {
  /** As written: "type" or "type/name". */
  readonly id: string;
  readonly config: T;
}

export interface TracesPipelineConfig {
  /** "traces" or "traces/<name>". */
  readonly id: string;
  readonly receiver: string;
  /** The batch processor listed, if any. */
  readonly processor: string | undefined;
  readonly exporters: readonly string[];
}

export interface CollectorConfig {
  readonly receivers: ReadonlyMap<string, z.output<typeof otlpReceiverSchema>>;
  readonly processors: ReadonlyMap<string, z.output<typeof batchProcessorSchema>>;
  readonly exporters: ReadonlyMap<string, ExporterConfig>;
  readonly extensions: ReadonlyMap<string, ExtensionConfig>;
  readonly service: {
    readonly extensions: readonly string[];
    readonly pipeline: TracesPipelineConfig;
    readonly telemetry: TelemetryConfig;
  };
  readonly spanring: SpanringConfig;
}

const SECTIONS = ['receivers', 'processors', 'exporters', 'extensions', 'service', 'spanring'] as const;
const SERVICE_KEYS = ['extensions', 'pipelines', 'telemetry'] as const;
const EXPORTER_TYPE_LIST = 'otlp_grpc, otlp_http, file, debug (and the older aliases otlp, otlphttp)';

/**
 * Validates a parsed configuration document (after merging and env expansion). Throws
 * ConfigError listing every problem found.
 */
export function validateCollectorConfig(document: unknown): CollectorConfig {
  if (!isMap(document)) {
    throw new ConfigError([`(top level): expected a map of sections (receivers, processors, exporters, extensions, service), got ${describe(document)}`]);
  }
  const doc = normalizeNulls(document, []) as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(doc)) {
    if ((SECTIONS as readonly string[]).includes(key)) continue;
    problems.push(
      key === 'connectors'
        ? 'connectors: Spanring does not support connectors (it runs one traces pipeline)'
        : `${key}: unknown top-level key (supported: ${SECTIONS.join(', ')})`,
    );
  }

  const receivers = parseComponents(doc.receivers, 'receivers', problems, (type) =>
    type === 'otlp' ? otlpReceiverSchema : `unsupported receiver type "${type}" (supported: otlp)`,
  );
  const processors = parseComponents(doc.processors, 'processors', problems, (type) =>
    type === 'batch' ? batchProcessorSchema : `unsupported processor type "${type}" (supported: batch)`,
  );
  const exporters = parseExporters(doc.exporters, problems);
  const extensions = parseExtensions(doc.extensions, problems);
  const spanring = parseWith(spanringSchema, doc.spanring ?? {}, ['spanring'], problems);
  const service = parseService(doc.service, { receivers: doc.receivers, processors: doc.processors, exporters: doc.exporters, extensions: doc.extensions }, problems);

  if (service !== undefined) checkStorageReferences(exporters, extensions, doc.extensions, service, problems);
  if (problems.length > 0 || spanring === undefined || service === undefined) throw new ConfigError(problems);
  return { receivers, processors, exporters, extensions, service, spanring };
}

function parseExtensions(section: unknown, problems: string[]): Map<string, ExtensionConfig> {
  const out = new Map<string, ExtensionConfig>();
  for (const [id, value] of componentEntries(section, 'extensions', problems)) {
    const type = componentType(id, 'extensions', problems);
    if (type === undefined) continue;
    if (type !== 'health_check' && type !== 'file_storage') {
      problems.push(`extensions.${id}: unsupported extension type "${type}" (supported: health_check, file_storage)`);
      continue;
    }
    const settings = parseWith(type === 'health_check' ? healthCheckSchema : fileStorageSchema, value, ['extensions', id], problems);
    if (settings !== undefined) out.set(id, { type, settings } as ExtensionConfig);
  }
  return out;
}

/**
 * sending_queue.storage names a file_storage extension that service.extensions runs, as
 * otelcol requires; the exporters of the pipeline that have one share it (one log, a cursor each).
 */
function checkStorageReferences(
  exporters: ReadonlyMap<string, ExporterConfig>,
  extensions: ReadonlyMap<string, ExtensionConfig>,
  written: unknown,
  service: CollectorConfig['service'],
  problems: string[],
): void {
  // An extension written but invalid has its own problems listed already.
  const writtenIds = isMap(written) ? Object.keys(written) : [];
  const used = new Set<string>();
  for (const id of service.pipeline.exporters) {
    const storage = exporters.get(id)?.settings.sending_queue?.storage;
    if (storage === undefined) continue;
    const key = `exporters.${id}.sending_queue.storage`;
    const extension = extensions.get(storage);
    if (extension === undefined && writtenIds.includes(storage)) continue;
    if (extension === undefined) problems.push(`${key}: extension "${storage}" is not defined under extensions`);
    else if (extension.type !== 'file_storage') problems.push(`${key}: extension "${storage}" is a ${extension.type}, not a storage extension (use file_storage)`);
    else if (!service.extensions.includes(storage)) problems.push(`${key}: extension "${storage}" is not listed in service.extensions`);
    else used.add(storage);
  }
  if (used.size > 1) {
    problems.push(`exporters: every persistent sending queue must use the same storage extension in this version (used: ${[...used].join(', ')})`);
  }
}

/** The section's map of components, each parsed with the schema its type selects. */
function parseComponents<T>(
  section: unknown,
  name: string,
  problems: string[],
  schemaFor: (type: string) => z.ZodType<T> | string,
): Map<string, T> {
  const out = new Map<string, T>();
  for (const [id, value] of componentEntries(section, name, problems)) {
    const type = componentType(id, name, problems);
    if (type === undefined) continue;
    const schema = schemaFor(type);
    if (typeof schema === 'string') {
      problems.push(`${name}.${id}: ${schema}`);
      continue;
    }
    const config = parseWith(schema, value, [name, id], problems);
    if (config !== undefined) out.set(id, config);
  }
  return out;
}

function parseExporters(section: unknown, problems: string[]): Map<string, ExporterConfig> {
  const out = new Map<string, ExporterConfig>();
  for (const [id, value] of componentEntries(section, 'exporters', problems)) {
    const written = componentType(id, 'exporters', problems);
    if (written === undefined) continue;
    let type: ExporterType;
    try {
      type = canonicalExporterType(id);
    } catch {
      problems.push(`exporters.${id}: unsupported exporter type "${written}" (supported: ${EXPORTER_TYPE_LIST})`);
      continue;
    }
    const settings = parseWith(EXPORTER_SCHEMAS[type], value, ['exporters', id], problems);
    if (settings !== undefined) out.set(id, { type, settings } as ExporterConfig);
  }
  return out;
}

function componentEntries(section: unknown, name: string, problems: string[]): [string, unknown][] {
  if (section === undefined) return [];
  if (!isMap(section)) {
    problems.push(`${name}: expected a map of component id → settings, got ${describe(section)}`);
    return [];
  }
  return Object.entries(section);
}

/** otelcol's component id: `type` or `type/name`. */
const COMPONENT_ID = /^([A-Za-z][0-9A-Za-z_]{0,62})(?:\/(.+))?$/;

function componentType(id: string, section: string, problems: string[]): string | undefined {
  const match = COMPONENT_ID.exec(id);
  if (match === null || (match[2] !== undefined && /\s/.test(match[2]))) {
    problems.push(`${section}.${id}: invalid component id (write "type" or "type/name", e.g. "otlp" or "otlp/backend")`);
    return undefined;
  }
  return match[1];
}

interface DefinedSections {
  readonly receivers: unknown;
  readonly processors: unknown;
  readonly exporters: unknown;
  readonly extensions: unknown;
}

function parseService(raw: unknown, defined: DefinedSections, problems: string[]): CollectorConfig['service'] | undefined {
  if (raw === undefined) {
    problems.push('service: required: define service.pipelines.traces with its receivers and exporters');
    return undefined;
  }
  if (!isMap(raw)) {
    problems.push(`service: expected a map (extensions, pipelines, telemetry), got ${describe(raw)}`);
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (!(SERVICE_KEYS as readonly string[]).includes(key)) problems.push(`service.${key}: unknown key (supported here: ${SERVICE_KEYS.join(', ')})`);
  }
  const extensions = parseWith(componentIdList, raw.extensions ?? [], ['service', 'extensions'], problems);
  if (extensions !== undefined) checkReferences(extensions, 'extension', defined.extensions, 'extensions', ['service', 'extensions'], problems);
  const healthChecks = (extensions ?? []).filter((id) => id.split('/')[0] === 'health_check');
  if (healthChecks.length > 1) {
    problems.push(`service.extensions: only one health_check extension can run (listed: ${healthChecks.join(', ')})`);
  }
  const telemetry = parseWith(telemetrySchema, raw.telemetry ?? {}, ['service', 'telemetry'], problems);
  const pipeline = parsePipelines(raw.pipelines, defined, problems);
  if (extensions === undefined || telemetry === undefined || pipeline === undefined) return undefined;
  return { extensions, telemetry, pipeline };
}

function parsePipelines(raw: unknown, defined: DefinedSections, problems: string[]): TracesPipelineConfig | undefined {
  if (raw === undefined) {
    problems.push('service.pipelines: required: define service.pipelines.traces with its receivers and exporters');
    return undefined;
  }
  if (!isMap(raw)) {
    problems.push(`service.pipelines: expected a map of pipeline id → pipeline, got ${describe(raw)}`);
    return undefined;
  }
  const traces: string[] = [];
  for (const id of Object.keys(raw)) {
    const type = id.split('/')[0];
    if (type === 'traces' && COMPONENT_ID.test(id)) traces.push(id);
    else if (type === 'metrics' || type === 'logs' || type === 'profiles') {
      problems.push(`service.pipelines.${id}: unsupported pipeline type "${type}" (Spanring handles traces only)`);
    } else problems.push(`service.pipelines.${id}: unknown pipeline id (write "traces" or "traces/<name>")`);
  }
  if (traces.length === 0) {
    problems.push('service.pipelines: define a traces pipeline (service.pipelines.traces)');
    return undefined;
  }
  if (traces.length > 1) {
    problems.push(`service.pipelines: Spanring runs exactly one traces pipeline; found ${traces.length}: ${traces.join(', ')}`);
    return undefined;
  }
  const id = traces[0]!;
  const path = ['service', 'pipelines', id];
  const pipeline = parseWith(pipelineSchema, raw[id], path, problems);
  if (pipeline === undefined) return undefined;
  const before = problems.length;

  if (pipeline.receivers.length === 0) problems.push(`${formatPath([...path, 'receivers'])}: list the otlp receiver, e.g. [otlp]`);
  checkReferences(pipeline.receivers, 'receiver', defined.receivers, 'receivers', [...path, 'receivers'], problems);
  const receivers = [...new Set(pipeline.receivers)];
  if (receivers.length > 1) {
    problems.push(`${formatPath([...path, 'receivers'])}: Spanring runs one otlp receiver; list exactly one (got ${receivers.length}: ${receivers.join(', ')})`);
  }

  const processors = pipeline.processors ?? [];
  checkReferences(processors, 'processor', defined.processors, 'processors', [...path, 'processors'], problems);
  if (new Set(processors).size > 1) {
    problems.push(`${formatPath([...path, 'processors'])}: at most one batch processor (got ${processors.join(', ')})`);
  }

  if (pipeline.exporters.length === 0) problems.push(`${formatPath([...path, 'exporters'])}: list at least one exporter, e.g. [debug]`);
  checkReferences(pipeline.exporters, 'exporter', defined.exporters, 'exporters', [...path, 'exporters'], problems);

  if (problems.length > before) return undefined;
  return { id, receiver: receivers[0]!, processor: processors[0], exporters: pipeline.exporters };
}

/** Every id listed must be defined in its section, once. */
function checkReferences(ids: readonly string[], noun: string, section: unknown, sectionName: string, path: readonly PropertyKey[], problems: string[]): void {
  const definedIds = isMap(section) ? Object.keys(section) : [];
  const seen = new Set<string>();
  ids.forEach((id, index) => {
    if (seen.has(id)) problems.push(`${formatPath([...path, index])}: ${noun} "${id}" is listed more than once`);
    seen.add(id);
    if (!definedIds.includes(id)) {
      const known = definedIds.length === 0 ? `nothing is defined under ${sectionName}` : `defined: ${definedIds.join(', ')}`;
      problems.push(`${formatPath([...path, index])}: ${noun} "${id}" is not defined under ${sectionName} (${known})`);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Issues → "path: message"

function parseWith<S extends z.ZodType>(schema: S, value: unknown, path: readonly PropertyKey[], problems: string[]): z.output<S> | undefined {
  const result = schema.safeParse(value, { reportInput: true, error: defaultMessage });
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    const at = [...path, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push(`${formatPath([...at, key])}: ${issue.message}`);
    } else {
      problems.push(`${formatPath(at)}: ${issue.message}`);
    }
  }
  return undefined;
}

/** Messages for issues whose schema sets none: short, with the value that was wrong. */
function defaultMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'required' : `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describe(issue.input)}`;
    case 'too_small':
      if (issue.origin === 'string') return 'must not be empty';
      if (issue.origin === 'array') return `must list at least ${issue.minimum}`;
      return `must be ${issue.inclusive === false ? '>' : '>='} ${issue.minimum}, got ${describe(issue.input)}`;
    case 'too_big':
      return `must be ${issue.inclusive === false ? '<' : '<='} ${issue.maximum}, got ${describe(issue.input)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}, got ${describe(issue.input)}`;
    case 'invalid_format':
      return issue.format === 'starts_with' && 'prefix' in issue ? `must start with "${String(issue.prefix)}", got ${describe(issue.input)}` : undefined;
    case 'unrecognized_keys':
      return 'unknown key';
    default:
      return undefined;
  }
}

const EXPECTED: Readonly<Record<string, string>> = {
  object: 'a map',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  record: 'a map',
};

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

export function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// null handling

/**
 * Where a null value means "present, with defaults": `receivers: { otlp: { protocols: { grpc: } } }`
 * enables gRPC, `exporters: { debug: }` defines a debug exporter. Elsewhere a null value is an
 * unset key (Go's zero value), e.g. `tls:` or `headers:` with nothing after them.
 */
const PRESENCE_PATHS: readonly (readonly string[])[] = [
  ['receivers', '*'],
  ['receivers', '*', 'protocols', '*'],
  ['processors', '*'],
  ['exporters', '*'],
  ['extensions', '*'],
  ['connectors', '*'],
  ['service', 'pipelines', '*'],
  ['service', 'telemetry', 'metrics', 'readers', '*', 'pull', 'exporter', '*'],
  ['service', 'telemetry', 'metrics', 'readers', '*', 'periodic', 'exporter', '*'],
];

function normalizeNulls(value: unknown, path: readonly (string | number)[]): unknown {
  if (Array.isArray(value)) return value.map((item, index) => normalizeNulls(item, [...path, index]));
  if (!isMap(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const at = [...path, key];
    let normalized: unknown;
    if (item !== null) normalized = normalizeNulls(item, at);
    else if (PRESENCE_PATHS.some((pattern) => matches(pattern, at))) normalized = {};
    else continue;
    Object.defineProperty(out, key, { value: normalized, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function matches(pattern: readonly string[], path: readonly (string | number)[]): boolean {
  return pattern.length === path.length && pattern.every((segment, index) => segment === '*' || segment === path[index]);
}
