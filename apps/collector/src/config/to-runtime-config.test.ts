import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DebugExporter, FileExporter, OtlpGrpcExporter, OtlpHttpExporter } from '#spanring/pipeline';
import type { SpanExporter } from '#spanring/pipeline';
import { validateCollectorConfig } from './collector-config.ts';
import { ConfigError } from './config-error.ts';
import type { RuntimeConfig } from './runtime-config.ts';
import { REALISTIC_OTELCOL_CONFIG, tempDir } from './test-support.ts';
import type { TempDir } from './test-support.ts';
import { probeExporters, receiverWorkers, toRuntimeConfig } from './to-runtime-config.ts';
import { expandEnv } from './env-expansion.ts';

let dir: TempDir;
const built: SpanExporter[] = [];
beforeEach(() => {
  dir = tempDir();
});
afterEach(async () => {
  await Promise.all(built.splice(0).map((exporter) => exporter.shutdown()));
  dir.remove();
});

function runtime(yaml: string, env: NodeJS.ProcessEnv = {}): RuntimeConfig {
  return toRuntimeConfig(validateCollectorConfig(expandEnv(parse(yaml), env).value));
}

function create(config: RuntimeConfig, id: string): SpanExporter {
  const exporter = config.exporters.find((spec) => spec.id === id)!.create();
  built.push(exporter);
  return exporter;
}

const PIPELINE = (exporters: string, extra = '') => `
receivers:
  otlp: { protocols: { http: { endpoint: "[::1]:0" } } }
exporters:
${exporters}
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [${exporters
      .split('\n')
      .filter((line) => /^ {2}\S/.test(line))
      .map((line) => line.trim().replace(/:.*$/, ''))
      .join(', ')}] }
${extra}`;

describe('exporters', () => {
  it('builds the right classes with options mapped from the otelcol keys', () => {
    const config = runtime(REALISTIC_OTELCOL_CONFIG, { HONEYCOMB_API_KEY: 'hc-key' });
    const grpc = create(config, 'otlp');
    expect(grpc).toBeInstanceOf(OtlpGrpcExporter);
    expect(grpc).toMatchObject({ name: 'otlp', address: 'tempo.observability.svc:4317', compression: 'gzip', timeoutMs: 10_000 });
    const http = create(config, 'otlphttp/honeycomb');
    expect(http).toBeInstanceOf(OtlpHttpExporter);
    expect(http).toMatchObject({ name: 'otlphttp/honeycomb', encoding: 'proto', compression: 'gzip', timeoutMs: 30_000 });
    expect((http as OtlpHttpExporter).url.href).toBe('https://api.honeycomb.io/v1/traces');
    expect((http as unknown as { headers: Record<string, string> }).headers['x-honeycomb-team']).toBe('hc-key');
  });

  it('builds file and debug exporters, and otlp_http with traces_endpoint and json', () => {
    const config = runtime(
      PIPELINE(`  file/audit: { path: ${dir.path}/spans.jsonl, append: true, rotation: { max_megabytes: 10, max_backups: 3 } }
  debug: { verbosity: normal }
  otlp_http: { endpoint: "http://ignored:4318", traces_endpoint: "http://collector:4318/custom/traces", encoding: json, compression: none, timeout: 1500ms }
  otlp_grpc: { endpoint: "https://backend:4317", compression: none }`),
    );
    const file = create(config, 'file/audit');
    expect(file).toBeInstanceOf(FileExporter);
    expect(file).toMatchObject({ name: 'file/audit', path: `${dir.path}/spans.jsonl` });
    const debug = create(config, 'debug');
    expect(debug).toBeInstanceOf(DebugExporter);
    expect(debug).toMatchObject({ name: 'debug', verbosity: 'normal' });
    const http = create(config, 'otlp_http') as OtlpHttpExporter;
    expect(http.url.href).toBe('http://collector:4318/custom/traces');
    expect(http).toMatchObject({ encoding: 'json', compression: 'none', timeoutMs: 1_500 });
    expect(create(config, 'otlp_grpc')).toMatchObject({ name: 'otlp_grpc', address: 'backend:4317', compression: 'none', timeoutMs: 5_000 });
  });

  it('keeps the pipeline order of exporters and maps their settings', () => {
    const config = runtime(
      PIPELINE(`  debug/b:
  debug/a:
    retry_on_failure: { max_elapsed_time: 0s }
    sending_queue: { queue_size: 10, block_on_overflow: false }`),
    );
    expect(config.exporters.map((spec) => [spec.id, spec.settings])).toEqual([
      ['debug/b', {}],
      ['debug/a', { retry: { maxElapsedTimeMs: 0 }, queue: { queueSize: 10 } }],
    ]);
  });

  it('names the otelcol key when building fails (an unreadable tls file)', () => {
    const config = runtime(PIPELINE(`  otlp: { endpoint: "backend:4317", tls: { ca_file: ${dir.path}/missing-ca.pem } }`));
    const spec = config.exporters[0]!;
    let error: unknown;
    try {
      spec.create();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringMatching(new RegExp(`^exporters\\.otlp\\.tls\\.ca_file: cannot read "${dir.path}/missing-ca\\.pem"`))]);
    expect(probeExporters(config)).toEqual((error as ConfigError).problems);
  });
});

describe('pipeline, receivers, telemetry, health', () => {
  it('uses the Collector batch defaults without a batch processor, and maps spanring:', () => {
    const config = runtime(
      PIPELINE(
        '  debug:',
        `spanring:
  ring_bits: 12
  max_producers: 16
  max_consume_per_ring: 512
  max_spans_per_turn: 4096
  backpressure_wait: 250ms
  idle_wake: 500us
  shutdown_timeout: 1m
  retry_after: 0s
  max_queued_spans: 20000
  max_pending_spans: 4096
  workers: 3
`,
      ),
    );
    expect(config.pipeline).toEqual({
      batch: { sendBatchSize: 8192, sendBatchMaxSize: 0, timeoutMs: 200 },
      collector: {
        ringBits: 12,
        maxProducers: 16,
        maxConsumePerRing: 512,
        maxSpansPerTurn: 4096,
        backpressureTimeoutMs: 250,
        idleWakeMs: 1,
        maxQueuedSpans: 20_000,
        maxPendingSpans: 4096,
      },
    });
    expect(config.shutdownTimeoutMs).toBe(60_000);
    expect(config.retryAfterSeconds).toBe(0);
    expect(config.receiverWorkers).toBe(3);
    expect(config.receivers).toEqual({ http: { host: '::1', port: 0, maxRequestBodyBytes: 64 * 1024 * 1024 } });
  });

  it('resolves spanring.workers (default auto): auto leaves a core to the consumer, at most 8, none on one core', () => {
    expect(receiverWorkers('auto', 1)).toBe(0);
    expect(receiverWorkers('auto', 2)).toBe(1);
    expect(receiverWorkers('auto', 4)).toBe(3);
    expect(receiverWorkers('auto', 64)).toBe(8);
    expect(receiverWorkers(2, 1)).toBe(2);
    expect(receiverWorkers(undefined, 4)).toBe(3);
    expect(receiverWorkers(0, 4)).toBe(0);
    expect(() => runtime(PIPELINE('  debug:', 'spanring:\n  workers: 65\n'))).toThrow(/spanring\.workers/);
  });

  it('uses otelcol defaults for omitted endpoints', () => {
    const config = runtime(`
receivers: { otlp: { protocols: { grpc: , http: } } }
exporters: { debug: }
extensions: { health_check: , health_check/unused: { endpoint: "0.0.0.0:1" } }
service:
  extensions: [health_check]
  pipelines: { traces: { receivers: [otlp], exporters: [debug] } }
`);
    expect(config.receivers.grpc).toMatchObject({ host: 'localhost', port: 4317 });
    expect(config.receivers.http).toMatchObject({ host: 'localhost', port: 4318 });
    expect(config.health).toEqual({ host: 'localhost', port: 13133, path: '/' });
    expect(config.telemetry).toEqual({ logLevel: 'info', prometheus: { host: 'localhost', port: 8888 } });
  });

  it('runs health_check only when listed in service.extensions', () => {
    const config = runtime(PIPELINE('  debug:', 'extensions: { health_check: { endpoint: "0.0.0.0:0", path: /healthz } }'));
    expect(config.health).toBeUndefined();
    const listed = runtime(PIPELINE('  debug:', 'extensions: { health_check: { endpoint: "0.0.0.0:0", path: /healthz } }').replace('service:\n', 'service:\n  extensions: [health_check]\n'));
    expect(listed.health).toEqual({ host: '0.0.0.0', port: 0, path: '/healthz' });
  });

  it.each([
    ['metrics: { level: none }', { logLevel: 'info' }],
    ['metrics: { address: ":9090" }', { logLevel: 'info', prometheus: { host: '0.0.0.0', port: 9090 } }],
    ['metrics: { readers: [] }', { logLevel: 'info' }],
    ['metrics: { readers: [ { pull: { exporter: { prometheus: { port: 0 } } } } ] }', { logLevel: 'info', prometheus: { host: 'localhost', port: 0 } }],
    [
      'metrics: { readers: [ { periodic: { interval: 10s, exporter: { otlp: { endpoint: "http://m:4318/v1/metrics" } } } } ] }\n    logs: { level: DEBUG }',
      { logLevel: 'debug', otlpPush: { endpoint: 'http://m:4318/v1/metrics', protocol: 'http/protobuf', intervalMs: 10_000 } },
    ],
    ['logs: { level: fatal }', { logLevel: 'error', prometheus: { host: 'localhost', port: 8888 } }],
  ])('telemetry %s', (telemetry, expected) => {
    const config = runtime(`${PIPELINE('  debug:')}  telemetry:\n    ${telemetry}\n`.replace(/\n\n {2}telemetry/, '\n  telemetry'));
    expect(config.telemetry).toEqual(expected);
  });
});
