import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from './config-error.ts';
import { applySet, loadEffectiveConfig, loadRuntimeConfig, mergeConfigs, parseSetArgument } from './load-config.ts';
import { REALISTIC_OTELCOL_CONFIG, tempDir } from './test-support.ts';
import type { TempDir } from './test-support.ts';

let dir: TempDir;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => dir.remove());

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const BASE = `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
exporters:
  debug:
    verbosity: basic
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
`;

describe('loadRuntimeConfig', () => {
  it('uses the embedded default when no --config is given', () => {
    const config = loadRuntimeConfig({ configFiles: [], sets: [], env: {} });
    expect(config.receivers).toEqual({
      grpc: { host: '0.0.0.0', port: 4317, maxRecvMsgSizeBytes: 64 * 1024 * 1024 },
      http: { host: '0.0.0.0', port: 4318, maxRequestBodyBytes: 64 * 1024 * 1024 },
    });
    expect(config.pipeline).toEqual({ batch: { sendBatchSize: 8192, sendBatchMaxSize: 0, timeoutMs: 200 }, collector: {} });
    expect(config.exporters.map((exporter) => exporter.id)).toEqual(['debug']);
    expect(config.health).toEqual({ host: '0.0.0.0', port: 13133, path: '/' });
    expect(config.telemetry).toEqual({ logLevel: 'info', prometheus: { host: '0.0.0.0', port: 8888 } });
    expect(config.shutdownTimeoutMs).toBe(30_000);
    expect(config.retryAfterSeconds).toBe(1);
  });

  it('runs a realistic otelcol config unchanged', () => {
    const file = dir.write('otelcol.yaml', REALISTIC_OTELCOL_CONFIG);
    const config = loadRuntimeConfig({ configFiles: [file], sets: [], env: { HONEYCOMB_API_KEY: 'hc-key' } });
    expect(config.receivers).toEqual({
      grpc: { host: '0.0.0.0', port: 4317, maxRecvMsgSizeBytes: 16 * 1024 * 1024 },
      http: { host: '0.0.0.0', port: 4318, maxRequestBodyBytes: 10_485_760 },
    });
    expect(config.pipeline.batch).toEqual({ sendBatchSize: 1024, sendBatchMaxSize: 2048, timeoutMs: 5_000 });
    expect(config.exporters.map((exporter) => [exporter.id, exporter.settings])).toEqual([
      [
        'otlp',
        {
          retry: { enabled: true, initialIntervalMs: 1_000, randomizationFactor: 0.3, multiplier: 2, maxIntervalMs: 30_000, maxElapsedTimeMs: 300_000 },
          queue: { queueSize: 5_000, numConsumers: 4 },
        },
      ],
      ['otlphttp/honeycomb', { retry: { enabled: false }, queue: { queueSize: 1, numConsumers: 1 } }],
    ]);
    expect(config.health).toEqual({ host: '0.0.0.0', port: 13133, path: '/' });
    expect(config.telemetry).toEqual({
      logLevel: 'info',
      prometheus: { host: '0.0.0.0', port: 8888 },
      otlpPush: { endpoint: 'http://metrics-collector:4317', protocol: 'grpc', intervalMs: 30_000 },
    });
  });

  it('deep-merges several files in order: maps merge, later wins, lists are replaced', () => {
    const base = dir.write('base.yaml', BASE);
    const overlay = dir.write(
      'overlay.yaml',
      `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0
exporters:
  debug:
    verbosity: detailed
  file:
    path: ${dir.path}/spans.jsonl
service:
  pipelines:
    traces:
      exporters: [file]
spanring:
  ring_bits: 10
`,
    );
    const config = loadRuntimeConfig({ configFiles: [base, overlay], sets: [], env: {} });
    expect(config.receivers.grpc).toMatchObject({ host: '127.0.0.1', port: 0 });
    expect(config.receivers.http).toMatchObject({ host: '127.0.0.1', port: 0 });
    expect(config.exporters.map((exporter) => exporter.id)).toEqual(['file']);
    expect(config.pipeline.collector).toEqual({ ringBits: 10 });
    const effective = loadEffectiveConfig({ configFiles: [base, overlay], sets: [] });
    expect(effective.exporters).toEqual({ debug: { verbosity: 'detailed' }, file: { path: `${dir.path}/spans.jsonl` } });
  });

  it('never merges the embedded default into given files', () => {
    const file = dir.write('only.yaml', BASE);
    const config = loadRuntimeConfig({ configFiles: [file], sets: [], env: {} });
    expect(config.receivers.http).toBeUndefined();
    expect(config.health).toBeUndefined();
    // No telemetry section: otelcol's default prometheus endpoint.
    expect(config.telemetry.prometheus).toEqual({ host: 'localhost', port: 8888 });
  });

  it('applies --set in order: scalars, lists and new map paths', () => {
    const file = dir.write('base.yaml', BASE);
    const config = loadRuntimeConfig({
      configFiles: [file],
      sets: [
        'processors.batch.timeout=2s',
        'exporters.debug.verbosity=normal',
        'exporters.debug.verbosity=detailed',
        'exporters.debug/2=',
        'service.pipelines.traces.exporters=[debug, debug/2]',
        'service.pipelines.traces.processors=[batch]',
        'spanring.retry_after=1500ms',
        'spanring.max_producers=8',
      ],
      env: {},
    });
    expect(config.pipeline.batch).toEqual({ sendBatchSize: 8192, sendBatchMaxSize: 0, timeoutMs: 2_000 });
    expect(config.exporters.map((exporter) => exporter.id)).toEqual(['debug', 'debug/2']);
    expect(config.retryAfterSeconds).toBe(2);
    expect(config.pipeline.collector).toEqual({ maxProducers: 8 });
    const effective = loadEffectiveConfig({ configFiles: [file], sets: ['exporters.debug.verbosity=detailed'] });
    expect(effective.exporters).toEqual({ debug: { verbosity: 'detailed' } });
  });

  it('expands ${env:NAME}, ${NAME} and $$ after merging', () => {
    const file = dir.write(
      'env.yaml',
      `${BASE}
exporters:
  otlp_http:
    endpoint: \${env:BACKEND}
    headers:
      authorization: Bearer \${TOKEN}
      x-literal: $$\{env:TOKEN}
      x-unset: "\${env:UNSET_VARIABLE}"
    timeout: \${env:TIMEOUT:-7s}
processors:
  batch:
    send_batch_size: \${env:BATCH}
`.replace('exporters:\n  debug:\n    verbosity: basic\n', ''),
    );
    const config = loadRuntimeConfig({
      configFiles: [file],
      sets: ['service.pipelines.traces.exporters=[otlp_http]', 'service.pipelines.traces.processors=[batch]'],
      env: { BACKEND: 'https://otlp.example.com', TOKEN: 'abc', BATCH: '512' },
    });
    expect(config.pipeline.batch?.sendBatchSize).toBe(512);
    const exporter = config.exporters[0]!.create();
    expect(exporter).toMatchObject({ name: 'otlp_http', timeoutMs: 7_000 });
    expect((exporter as unknown as { url: URL }).url.href).toBe('https://otlp.example.com/v1/traces');
    const headers = (exporter as unknown as { headers: Record<string, string> }).headers;
    expect(headers).toMatchObject({ authorization: 'Bearer abc', 'x-literal': '${env:TOKEN}', 'x-unset': '' });
    void exporter.shutdown();
  });

  it('reports every problem of every source at once', () => {
    const good = dir.write('good.yaml', BASE);
    const broken = dir.write('broken.yaml', 'receivers:\n  otlp: [\n');
    const problems = problemsOf(() =>
      loadRuntimeConfig({ configFiles: [good, broken, `${dir.path}/missing.yaml`, 'env:CONFIG'], sets: ['a.b'], env: {} }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/broken\.yaml: invalid YAML: /),
      `${dir.path}/missing.yaml: cannot read the config file: no such file`,
      '--config env:CONFIG: the "env:" config provider is not supported; give a file path (and use --set or ${env:NAME} inside the file for overrides)',
      '--set a.b: expected key.path=value, e.g. --set processors.batch.timeout=2s',
    ]);

    const invalid = dir.write(
      'invalid.yaml',
      `${BASE}
processors:
  batch: { timeout: 5x }
spanring:
  idle_wake: 0s
  bogus: 1
`,
    );
    expect(problemsOf(() => loadRuntimeConfig({ configFiles: [invalid], sets: ['exporters.debug.headers.a=${file:x}'], env: {} }))).toEqual([
      'exporters.debug.headers.a: unsupported config provider "file" in "${file:x}" (Spanring expands only ${env:NAME} and ${NAME})',
      'processors.batch.timeout: invalid duration "5x" (use e.g. 200ms, 5s, 1m30s; a bare integer is nanoseconds)',
      'exporters.debug.headers: unknown key (supported here: verbosity, sampling_initial, sampling_thereafter, use_internal_logger, retry_on_failure, sending_queue)',
      'spanring.idle_wake: must be greater than 0, got "0s"',
      'spanring.bogus: unknown key (supported here: ring_bits, max_producers, max_consume_per_ring, max_spans_per_turn, backpressure_wait, idle_wake, shutdown_timeout, retry_after, max_queued_spans, max_pending_spans, workers)',
    ]);
  });

  it('rejects multi-document files, duplicate keys and a non-map top level', () => {
    const multi = dir.write('multi.yaml', `${BASE}\n---\n${BASE}`);
    const duplicate = dir.write('dup.yaml', 'service: {}\nservice: {}\n');
    const list = dir.write('list.yaml', '- a\n');
    const problems = problemsOf(() => loadEffectiveConfig({ configFiles: [multi, duplicate, list], sets: [] }));
    expect(problems).toEqual([
      `${multi}: holds 2 YAML documents (separated by ---); a config file is one document`,
      expect.stringMatching(/dup\.yaml: invalid YAML: Map keys must be unique/),
      `${list}: the top level must be a map of sections (receivers, exporters, service, …)`,
    ]);
  });

  it('treats an empty file as an empty map and supports YAML merge keys', () => {
    const empty = dir.write('empty.yaml', '# nothing yet\n');
    const anchors = dir.write(
      'anchors.yaml',
      `
exporters:
  debug:
    retry_on_failure: &retry { enabled: true, max_elapsed_time: 1m }
  debug/2:
    retry_on_failure:
      <<: *retry
      initial_interval: 2s
`,
    );
    const effective = loadEffectiveConfig({ configFiles: [empty, anchors], sets: [] });
    expect((effective.exporters as Record<string, unknown>)['debug/2']).toEqual({ retry_on_failure: { enabled: true, max_elapsed_time: '1m', initial_interval: '2s' } });
    const badAlias = dir.write('bad-alias.yaml', 'exporters:\n  debug:\n    <<: *nowhere\n');
    expect(problemsOf(() => loadEffectiveConfig({ configFiles: [badAlias], sets: [] }))).toEqual([expect.stringMatching(/^.*bad-alias\.yaml: invalid YAML: /)]);
  });
});

describe('mergeConfigs', () => {
  it('keeps an earlier map when a later file writes the component as null', () => {
    expect(mergeConfigs({ exporters: { otlp: { endpoint: 'a:1' } } }, { exporters: { otlp: null, debug: null } })).toEqual({
      exporters: { otlp: { endpoint: 'a:1' }, debug: null },
    });
    expect(mergeConfigs({ a: [1, 2], b: 'x' }, { a: [3], b: null })).toEqual({ a: [3], b: null });
  });

  it('keeps a "__proto__" key as data', () => {
    const merged = mergeConfigs({}, JSON.parse('{"__proto__": {"polluted": true}}'));
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

/** The value `--set k=<text>` sets. */
function setValue(text: string): unknown {
  return parseSetArgument(`k=${text}`, [])?.value;
}

describe('--set', () => {
  it('reads values as YAML scalars or flow collections, anything else as text', () => {
    expect(setValue('2s')).toBe('2s');
    expect(setValue('42')).toBe(42);
    expect(setValue('true')).toBe(true);
    expect(setValue('[debug, otlp]')).toEqual(['debug', 'otlp']);
    expect(setValue('{a: 1}')).toEqual({ a: 1 });
    expect(setValue('Bearer: abc')).toBe('Bearer: abc');
    expect(setValue('a=b')).toBe('a=b');
    expect(setValue('')).toBeNull();
  });

  it('cannot descend into a scalar or a list', () => {
    const problems: string[] = [];
    const set = parseSetArgument('service.pipelines.traces.receivers.x=1', problems)!;
    const document = { service: { pipelines: { traces: { receivers: ['otlp'] } } } };
    expect(applySet(document, set, problems)).toBe(document);
    expect(problems).toEqual(['--set service.pipelines.traces.receivers.x=1: service.pipelines.traces.receivers is a list, not a map, so it has no key "x"']);
  });

  it('rejects malformed arguments', () => {
    const problems: string[] = [];
    for (const text of ['novalue', '=x', 'a..b=1', 'a.=1', 'k=[unclosed']) parseSetArgument(text, problems);
    expect(problems).toHaveLength(5);
    expect(problems[4]).toMatch(/^--set k=\[unclosed: the value is not a valid YAML list or map: /);
  });
});
