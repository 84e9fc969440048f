import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateCollectorConfig } from './collector-config.ts';
import { ConfigError } from './config-error.ts';

/** The problems validating `yaml` reports (fails the test when it is valid). */
function problemsOf(yaml: string): readonly string[] {
  try {
    validateCollectorConfig(parse(yaml));
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the config to be invalid');
}

const MINIMAL = `
receivers:
  otlp:
    protocols:
      grpc:
exporters:
  debug:
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
`;

/** MINIMAL without its exporters section, for tests that write their own. */
const WITHOUT_EXPORTERS = MINIMAL.replace('exporters:\n  debug:\n', '');

describe('validateCollectorConfig', () => {
  it('accepts a minimal config, null meaning "present with defaults"', () => {
    const config = validateCollectorConfig(parse(MINIMAL));
    expect(config.receivers.get('otlp')).toEqual({ protocols: { grpc: {} } });
    expect(config.exporters.get('debug')).toEqual({ type: 'debug', settings: {} });
    expect(config.service.pipeline).toEqual({ id: 'traces', receiver: 'otlp', processor: undefined, exporters: ['debug'] });
  });

  it('names unknown keys with their path and what is supported there', () => {
    expect(
      problemsOf(`${MINIMAL}
processors:
  batch:
    send_batch_sise: 10
spanring:
  ring_bitz: 3
`),
    ).toEqual([
      'processors.batch.send_batch_sise: unknown key (supported here: send_batch_size, send_batch_max_size, timeout)',
      'spanring.ring_bitz: unknown key (supported here: ring_bits, max_producers, max_consume_per_ring, max_spans_per_turn, backpressure_wait, idle_wake, shutdown_timeout, retry_after, max_queued_spans, max_pending_spans, workers)',
    ]);
    expect(problemsOf(`${MINIMAL}\nconnectors: {}\nfoo: 1\n`)).toEqual([
      'connectors: Spanring does not support connectors (it runs one traces pipeline)',
      'foo: unknown top-level key (supported: receivers, processors, exporters, extensions, service, spanring)',
    ]);
  });

  it('rejects components Spanring does not implement, naming the key', () => {
    const problems = problemsOf(`
receivers:
  otlp: { protocols: { http: } }
  jaeger: { protocols: { grpc: } }
processors:
  memory_limiter: { limit_mib: 100 }
exporters:
  debug:
  kafka/out: { brokers: [a] }
extensions:
  pprof:
  health_check:
service:
  extensions: [health_check]
  pipelines:
    traces: { receivers: [otlp], exporters: [debug] }
    metrics: { receivers: [otlp], exporters: [debug] }
`);
    expect(problems).toEqual([
      'receivers.jaeger: unsupported receiver type "jaeger" (supported: otlp)',
      'processors.memory_limiter: unsupported processor type "memory_limiter" (supported: batch)',
      'exporters.kafka/out: unsupported exporter type "kafka" (supported: otlp_grpc, otlp_http, file, debug (and the older aliases otlp, otlphttp))',
      'extensions.pprof: unsupported extension type "pprof" (supported: health_check, file_storage)',
      'service.pipelines.metrics: unsupported pipeline type "metrics" (Spanring handles traces only)',
    ]);
  });

  it('reports bad durations, sizes and values with the exact key', () => {
    const problems = problemsOf(`
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "localhost", max_recv_msg_size_mib: -1 }
      http: { max_request_body_size: 1.5 }
processors:
  batch: { send_batch_size: 8192, send_batch_max_size: 10, timeout: 2 seconds }
exporters:
  otlp_grpc/backend: { endpoint: "backend:4317", timeout: 5x, compression: zstd, retry_on_failure: { multiplier: 0.5 } }
  otlp_http: { encoding: xml }
  debug: { verbosity: loud }
service:
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [otlp_grpc/backend, debug] }
spanring:
  ring_bits: 21
  backpressure_wait: "-1s"
`);
    expect(problems).toEqual([
      'receivers.otlp.protocols.grpc.endpoint: invalid endpoint "localhost": expected host:port, e.g. 0.0.0.0:4317, localhost:4318 or [::1]:4317',
      'receivers.otlp.protocols.grpc.max_recv_msg_size_mib: must be >= 0, got -1',
      'receivers.otlp.protocols.http.max_request_body_size: expected an integer, got 1.5',
      'processors.batch.timeout: invalid duration "2 seconds" (use e.g. 200ms, 5s, 1m30s; a bare integer is nanoseconds)',
      'exporters.otlp_grpc/backend.compression: unsupported compression "zstd" (Spanring supports "gzip" and "none")',
      'exporters.otlp_grpc/backend.timeout: invalid duration "5x" (use e.g. 200ms, 5s, 1m30s; a bare integer is nanoseconds)',
      'exporters.otlp_grpc/backend.retry_on_failure.multiplier: must be >= 1, got 0.5',
      'exporters.otlp_http.encoding: must be one of "proto", "json", got "xml"',
      'exporters.debug.verbosity: must be one of "basic", "normal", "detailed", got "loud"',
      'spanring.ring_bits: must be <= 20, got 21',
      'spanring.backpressure_wait: invalid duration "-1s": must not be negative',
    ]);
  });

  it('checks send_batch_max_size against send_batch_size', () => {
    expect(problemsOf(`${MINIMAL}\nprocessors:\n  batch: { send_batch_max_size: 10 }\n`)).toEqual([
      'processors.batch.send_batch_max_size: must be 0 or >= send_batch_size (8192), got 10',
    ]);
  });

  it('requires what an exporter cannot work without', () => {
    expect(
      problemsOf(`${WITHOUT_EXPORTERS}
exporters:
  debug:
  otlp:
  otlphttp: { headers: { "bad header": x } }
  file:
  otlp_grpc/tls: { endpoint: "b:4317", tls: { cert_file: /c.pem } }
`),
    ).toEqual([
      'exporters.otlp.endpoint: required: the backend address, e.g. "backend:4317" or "https://backend:4317"',
      'exporters.otlphttp.endpoint: required: set endpoint (the base URL, "/v1/traces" is appended) or traces_endpoint (the full URL)',
      expect.stringMatching(/^exporters\.otlphttp\.headers\.bad header: not a valid HTTP header: /),
      'exporters.file.path: required: the file to write spans to (its directory must exist)',
      'exporters.otlp_grpc/tls.tls.key_file: cert_file and key_file go together (mutual TLS): set both or neither',
    ]);
  });

  it('checks the pipeline: defined components, one receiver, one batch, no duplicates', () => {
    const problems = problemsOf(`
receivers:
  otlp: { protocols: { grpc: } }
  otlp/2: { protocols: { http: } }
processors:
  batch:
  batch/2:
exporters:
  debug:
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp, otlp/2]
      processors: [batch, batch/2]
      exporters: [debug, debug, otlp/backend]
`);
    expect(problems).toEqual([
      'service.extensions[0]: extension "health_check" is not defined under extensions (nothing is defined under extensions)',
      'service.pipelines.traces.receivers: Spanring runs one otlp receiver; list exactly one (got 2: otlp, otlp/2)',
      'service.pipelines.traces.processors: at most one batch processor (got batch, batch/2)',
      'service.pipelines.traces.exporters[1]: exporter "debug" is listed more than once',
      'service.pipelines.traces.exporters[2]: exporter "otlp/backend" is not defined under exporters (defined: debug)',
    ]);
  });

  it('supports exactly one traces pipeline', () => {
    expect(
      problemsOf(`
receivers: { otlp: { protocols: { grpc: } } }
exporters: { debug: }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [debug] }
    traces/2: { receivers: [otlp], exporters: [debug] }
`),
    ).toEqual(['service.pipelines: Spanring runs exactly one traces pipeline; found 2: traces, traces/2']);
    expect(problemsOf('receivers: { otlp: { protocols: { grpc: } } }\n')).toEqual([
      'service: required: define service.pipelines.traces with its receivers and exporters',
    ]);
    expect(problemsOf('service: { pipelines: { traces/main: { receivers: [], exporters: [] } } }')).toEqual([
      'service.pipelines.traces/main.receivers: list the otlp receiver, e.g. [otlp]',
      'service.pipelines.traces/main.exporters: list at least one exporter, e.g. [debug]',
    ]);
  });

  it('requires a protocol on the otlp receiver', () => {
    expect(problemsOf(MINIMAL.replace('      grpc:\n', '      {}\n'))).toEqual([
      'receivers.otlp.protocols: enable at least one protocol: grpc and/or http',
    ]);
  });

  it('validates telemetry readers', () => {
    const problems = problemsOf(`${MINIMAL}
  telemetry:
    logs: { level: verbose }
    metrics:
      level: everything
      address: 0.0.0.0:8888
      readers:
        - pull: { exporter: { prometheus: { host: 0.0.0.0, port: 8888 } } }
        - pull: { exporter: { prometheus: { port: 9999 } } }
        - periodic: { interval: 0, exporter: { otlp: { protocol: http/json, endpoint: "http://m:4318" } } }
        - {}
`);
    expect(problems).toEqual([
      'service.telemetry.logs.level: unknown log level "verbose" (use debug, info, warn or error)',
      'service.telemetry.metrics.level: unknown metrics level "everything" (use none, basic, normal or detailed)',
      'service.telemetry.metrics.readers[2].periodic.interval: invalid interval 0: milliseconds (e.g. 60000) or a duration (e.g. 60s), greater than 0',
      'service.telemetry.metrics.readers[2].periodic.exporter.otlp.protocol: unsupported protocol "http/json" (use http/protobuf or grpc)',
      'service.telemetry.metrics.readers[3]: a reader is either pull (prometheus) or periodic (otlp push): set exactly one',
    ]);
  });

  it('rejects address together with readers, and a second pull reader', () => {
    expect(
      problemsOf(`${MINIMAL}
  telemetry:
    metrics:
      address: 0.0.0.0:8888
      readers:
        - pull: { exporter: { prometheus: { port: 8888 } } }
        - pull: { exporter: { prometheus: { port: 9999 } } }
`),
    ).toEqual([
      'service.telemetry.metrics.address: set either address (older form) or readers, not both',
      'service.telemetry.metrics.readers[1]: only one pull reader is supported (the first is readers[0])',
    ]);
  });

  it('accepts numbers and booleans written as text (what ${env:…} expands to)', () => {
    const config = validateCollectorConfig(
      parse(`${WITHOUT_EXPORTERS}
processors:
  batch: { send_batch_size: "100" }
exporters:
  debug:
  otlp: { endpoint: "b:4317", tls: { insecure: "true" }, headers: { x-tenant: 42 } }
`),
    );
    expect(config.processors.get('batch')).toEqual({ send_batch_size: 100 });
    expect(config.exporters.get('otlp')).toEqual({ type: 'otlp_grpc', settings: { endpoint: 'b:4317', tls: { insecure: true }, headers: { 'x-tenant': '42' } } });
  });

  it('rejects malformed component ids and sections of the wrong shape', () => {
    expect(problemsOf(`${MINIMAL}\nprocessors: [batch]\nextensions:\n  "health_check/": {}\n`)).toEqual([
      'processors: expected a map of component id → settings, got a list',
      'extensions.health_check/: invalid component id (write "type" or "type/name", e.g. "otlp" or "otlp/backend")',
    ]);
    expect(() => validateCollectorConfig(['a'])).toThrow(/top level/);
  });
});
