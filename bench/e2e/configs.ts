/**
 * The collector configurations bench:e2e runs, as otelcol-style YAML written to a temporary
 * file. Every endpoint is 127.0.0.1:0; the bound ports come from the "spanring is ready" log
 * line (logged at info, so logs stay at info: nothing else is logged per request).
 */

export type SpanringExporterKind = 'otlp_grpc_gzip' | 'otlp_grpc_none' | 'debug';

export interface SpanringConfig {
  readonly kind: 'spanring';
  /** Stable id, used in JSON. */
  readonly name: string;
  readonly label: string;
  readonly exporter: SpanringExporterKind;
  /**
   * spanring.workers, always written out (the default may become "auto"): 0 = receive and
   * decode on the main thread; N = N receiver worker threads feeding the main consumer thread
   * through SharedRings.
   */
  readonly workers: number;
  /** A persistent sending queue (file_storage) for the exporter, with or without fsync. */
  readonly storage?: { readonly fsync: boolean };
  /** What the output says about it. */
  readonly description: string;
}

export interface BaselineConfig {
  readonly kind: 'baseline';
  readonly name: string;
  readonly label: string;
  readonly description: string;
}

export type E2eConfig = SpanringConfig | BaselineConfig;

export const CONFIGS: readonly E2eConfig[] = [
  {
    kind: 'spanring',
    name: 'spanring-1t-grpc-gzip',
    label: 'spanring 1 thread, otlp_grpc gzip',
    exporter: 'otlp_grpc_gzip',
    workers: 0,
    description: 'OTLP/HTTP protobuf in, batch by trace (defaults), otlp_grpc out (compression: default gzip); workers: 0',
  },
  {
    kind: 'spanring',
    name: 'spanring-1t-grpc-none',
    label: 'spanring 1 thread, otlp_grpc none',
    exporter: 'otlp_grpc_none',
    workers: 0,
    description: 'as above with otlp_grpc compression: none; workers: 0',
  },
  {
    kind: 'spanring',
    name: 'spanring-w1-grpc-none',
    label: 'spanring 1 receiver worker, otlp_grpc none',
    exporter: 'otlp_grpc_none',
    workers: 1,
    description: 'as above with spanring.workers: 1 (one worker thread receives and decodes, the main thread consumes, batches, exports)',
  },
  {
    kind: 'spanring',
    name: 'spanring-w2-grpc-none',
    label: 'spanring 2 receiver workers, otlp_grpc none',
    exporter: 'otlp_grpc_none',
    workers: 2,
    description: 'as above with spanring.workers: 2',
  },
  {
    kind: 'spanring',
    name: 'spanring-1t-grpc-none-queue',
    label: 'spanring 1 thread, otlp_grpc none, file_storage',
    exporter: 'otlp_grpc_none',
    workers: 0,
    storage: { fsync: false },
    description: 'as spanring-1t-grpc-none with a persistent sending queue (file_storage, fsync: false): acknowledged after write(2)',
  },
  {
    kind: 'spanring',
    name: 'spanring-1t-grpc-none-queue-fsync',
    label: 'spanring 1 thread, otlp_grpc none, file_storage fsync',
    exporter: 'otlp_grpc_none',
    workers: 0,
    storage: { fsync: true },
    description: 'as above with fsync: true: acknowledged after fdatasync (group commit)',
  },
  {
    kind: 'spanring',
    name: 'spanring-1t-debug',
    label: 'spanring 1 thread, debug basic',
    exporter: 'debug',
    workers: 0,
    description: 'no-op-ish exporter: debug, verbosity basic (one summary line per batch on stdout; the bench sums them); workers: 0',
  },
  {
    kind: 'baseline',
    name: 'baseline-http-protobufjs-bsp',
    label: 'baseline: node:http + protobufjs + SDK BSP',
    description:
      'node:http POST /v1/traces, protobufjs reflection decode, ReadableSpan → BatchSpanProcessor (SDK defaults) → SDK OTLPTraceExporter gRPC (defaults)',
  },
];

function exporterYaml(kind: SpanringExporterKind, sinkPort: number): { id: string; lines: string[] } {
  switch (kind) {
    case 'otlp_grpc_gzip':
      return { id: 'otlp_grpc', lines: ['  otlp_grpc:', `    endpoint: "127.0.0.1:${sinkPort}"`, '    tls: { insecure: true }'] };
    case 'otlp_grpc_none':
      return {
        id: 'otlp_grpc',
        lines: ['  otlp_grpc:', `    endpoint: "127.0.0.1:${sinkPort}"`, '    tls: { insecure: true }', '    compression: none'],
      };
    case 'debug':
      return { id: 'debug', lines: ['  debug: { verbosity: basic }'] };
  }
}

/**
 * The YAML of one Spanring configuration. The gRPC receiver is left out: the load is OTLP/HTTP.
 * `storageDir`: where a configuration with `storage` keeps its queue (a fresh directory).
 */
export function spanringYaml(config: SpanringConfig, sinkPort: number, storageDir?: string): string {
  const exporter = exporterYaml(config.exporter, sinkPort);
  if (config.storage !== undefined && storageDir === undefined) throw new Error(`${config.name} needs a storage directory`);
  const storage =
    config.storage === undefined
      ? { extension: [] as string[], listed: '' }
      : { extension: [`  file_storage: { directory: ${JSON.stringify(storageDir)}, fsync: ${config.storage.fsync} }`], listed: ', file_storage' };
  if (config.storage !== undefined) exporter.lines.push('    sending_queue: { storage: file_storage }');
  return [
    'receivers:',
    '  otlp:',
    '    protocols:',
    '      http: { endpoint: "127.0.0.1:0" }',
    'processors:',
    '  batch:',
    'exporters:',
    ...exporter.lines,
    'extensions:',
    '  health_check: { endpoint: "127.0.0.1:0" }',
    ...storage.extension,
    'service:',
    `  extensions: [health_check${storage.listed}]`,
    '  telemetry:',
    '    logs: { level: info }',
    '    metrics:',
    '      readers:',
    '        - pull: { exporter: { prometheus: { host: "127.0.0.1", port: 0 } } }',
    '  pipelines:',
    `    traces: { receivers: [otlp], processors: [batch], exporters: [${exporter.id}] }`,
    'spanring:',
    `  workers: ${config.workers}`,
    '',
  ].join('\n');
}
