/**
 * bench:peers scenarios and the configuration each collector gets for them: the same
 * receivers, batching (8192 spans / 200 ms), one OTLP/gRPC exporter to the in-bench sink, and
 * the same queue, written in each collector's own keys (Spanring takes otelcol's, so the two
 * differ only where a default differs; every such place says why).
 */

export interface Scenario {
  readonly name: string;
  readonly label: string;
  /** What the load generator sends. */
  readonly protocol: 'http/protobuf' | 'grpc';
  /** Requests gzip'd by the generator, exports gzip'd by the collector. */
  readonly gzip: boolean;
  /** A persistent sending queue (file_storage, fsync off: otelcol's default) on both sides. */
  readonly persistentQueue: boolean;
  /** The headline: spans per CPU-s with OTLP/HTTP protobuf in, OTLP/gRPC out. */
  readonly headline?: boolean;
}

export const SCENARIOS: readonly Scenario[] = [
  { name: 'http-protobuf', label: 'OTLP/HTTP protobuf in, OTLP/gRPC out', protocol: 'http/protobuf', gzip: false, persistentQueue: false, headline: true },
  { name: 'grpc', label: 'OTLP/gRPC in, OTLP/gRPC out', protocol: 'grpc', gzip: false, persistentQueue: false },
  { name: 'gzip', label: 'OTLP/HTTP protobuf in, gzip both ways', protocol: 'http/protobuf', gzip: true, persistentQueue: false },
  { name: 'persistent-queue', label: 'OTLP/HTTP protobuf in, persistent queue (file_storage)', protocol: 'http/protobuf', gzip: false, persistentQueue: true },
];

export interface Ports {
  readonly http: number;
  readonly grpc: number;
  readonly sink: number;
}

const BATCH = '  batch: { send_batch_size: 8192, timeout: 200ms }';

/**
 * otelcol: block_on_overflow so a full queue pushes back as Spanring's does, instead of
 * refusing (the comparison is of work, not of what each drops); its own telemetry off.
 */
export function otelcolYaml(scenario: Scenario, ports: Ports, storageDir: string): string {
  return [
    'receivers:',
    '  otlp:',
    '    protocols:',
    `      grpc: { endpoint: "127.0.0.1:${ports.grpc}" }`,
    `      http: { endpoint: "127.0.0.1:${ports.http}" }`,
    'processors:',
    BATCH,
    'exporters:',
    '  otlp_grpc:',
    `    endpoint: "127.0.0.1:${ports.sink}"`,
    '    tls: { insecure: true }',
    `    compression: ${scenario.gzip ? 'gzip' : 'none'}`,
    `    sending_queue: { enabled: true, block_on_overflow: true${scenario.persistentQueue ? ', storage: file_storage' : ''} }`,
    ...(scenario.persistentQueue ? ['extensions:', `  file_storage: { directory: ${JSON.stringify(storageDir)} }`] : []),
    'service:',
    ...(scenario.persistentQueue ? ['  extensions: [file_storage]'] : []),
    '  telemetry: { metrics: { level: none }, logs: { level: info } }',
    '  pipelines:',
    '    traces: { receivers: [otlp], processors: [batch], exporters: [otlp_grpc] }',
    '',
  ].join('\n');
}

/** Spanring: the same, on ports 0 (its ready line says which it bound); spanring.workers left at auto. */
export function spanringPeerYaml(scenario: Scenario, sinkPort: number, storageDir: string): string {
  return [
    'receivers:',
    '  otlp:',
    '    protocols:',
    '      grpc: { endpoint: "127.0.0.1:0" }',
    '      http: { endpoint: "127.0.0.1:0" }',
    'processors:',
    BATCH,
    'exporters:',
    '  otlp_grpc:',
    `    endpoint: "127.0.0.1:${sinkPort}"`,
    '    tls: { insecure: true }',
    `    compression: ${scenario.gzip ? 'gzip' : 'none'}`,
    ...(scenario.persistentQueue ? ['    sending_queue: { storage: file_storage }'] : []),
    ...(scenario.persistentQueue ? ['extensions:', `  file_storage: { directory: ${JSON.stringify(storageDir)} }`] : []),
    'service:',
    ...(scenario.persistentQueue ? ['  extensions: [file_storage]'] : []),
    '  telemetry:',
    '    logs: { level: info }',
    '    metrics: { readers: [{ pull: { exporter: { prometheus: { host: "127.0.0.1", port: 0 } } } }] }',
    '  pipelines:',
    '    traces: { receivers: [otlp], processors: [batch], exporters: [otlp_grpc] }',
    '',
  ].join('\n');
}
