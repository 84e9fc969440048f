import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { RuntimeConfig } from '../config/runtime-config.ts';
import { REALISTIC_OTELCOL_CONFIG, tempDir } from '../config/test-support.ts';
import type { TempDir } from '../config/test-support.ts';
import { EXIT_INVALID_CONFIG, EXIT_USAGE, loadRuntimeConfig, parseCli } from './cli.ts';
import type { CliResult } from './cli.ts';

let dir: TempDir;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => dir.remove());

const VERSION = '1.2.3';
const cli = (...argv: string[]): CliResult => parseCli(argv, { HONEYCOMB_API_KEY: 'hc-key' }, VERSION);

function expectKind<K extends CliResult['kind']>(result: CliResult, kind: K): Extract<CliResult, { kind: K }> {
  expect(result.kind, 'text' in result ? result.text : '').toBe(kind);
  return result as Extract<CliResult, { kind: K }>;
}

/** RuntimeConfig without its functions, for comparing two loads. */
function comparable(config: RuntimeConfig): unknown {
  return JSON.parse(JSON.stringify(config));
}

describe('parseCli', () => {
  it('runs the embedded default with no arguments', () => {
    const result = expectKind(cli(), 'run');
    expect(result.config.receivers.grpc).toMatchObject({ host: '0.0.0.0', port: 4317 });
    expect(result.effective).toHaveProperty('exporters.debug.verbosity', 'basic');
  });

  it('accepts --config x, --config=x, -c x and file:x, merged in order', () => {
    const a = dir.write('a.yaml', REALISTIC_OTELCOL_CONFIG);
    const b = dir.write('b.yaml', 'processors: { batch: { timeout: 1s } }\n');
    const c = dir.write('c.yaml', 'processors: { batch: { send_batch_size: 10, send_batch_max_size: 0 } }\n');
    const d = dir.write('d.yaml', 'spanring: { ring_bits: 8 }\n');
    const result = expectKind(cli('--config', a, `--config=${b}`, '-c', c, '--config', `file:${d}`), 'run');
    expect(result.config.pipeline.batch).toEqual({ sendBatchSize: 10, sendBatchMaxSize: 0, timeoutMs: 1_000 });
    expect(result.config.pipeline.collector).toEqual({ ringBits: 8 });
  });

  it('applies --set after the files', () => {
    const a = dir.write('a.yaml', REALISTIC_OTELCOL_CONFIG);
    const result = expectKind(
      cli('--config', a, '--set', 'exporters.debug.verbosity=basic', '--set=service.pipelines.traces.exporters=[debug]', '--set', 'processors.batch.timeout=2s'),
      'run',
    );
    expect(result.config.exporters.map((spec) => spec.id)).toEqual(['debug']);
    expect(result.config.pipeline.batch?.timeoutMs).toBe(2_000);
  });

  it('prints the effective config, which loads back to the same RuntimeConfig', () => {
    const a = dir.write('a.yaml', REALISTIC_OTELCOL_CONFIG);
    const b = dir.write('b.yaml', 'exporters: { debug: { verbosity: normal } }\nspanring: { retry_after: 2500ms }\n');
    const args = ['--config', a, '--config', b, '--set', 'service.pipelines.traces.exporters=[otlp, debug]', '--set', 'exporters.otlp.headers.literal=$$HOME'];
    const printed = expectKind(cli(...args, '--print-config'), 'print-config');
    // Secrets passed through the environment stay references; $$ stays escaped.
    expect(printed.text).toContain('x-honeycomb-team: ${env:HONEYCOMB_API_KEY}');
    expect(parse(printed.text)).toHaveProperty(['exporters', 'otlp', 'headers', 'literal'], '$$HOME');
    const roundTrip = dir.write('printed.yaml', printed.text);
    const original = expectKind(cli(...args), 'run');
    const reloaded = expectKind(cli('--config', roundTrip), 'run');
    expect(comparable(reloaded.config)).toEqual(comparable(original.config));
    expect(reloaded.effective).toEqual(original.effective);
    expect(original.config.retryAfterSeconds).toBe(3);
  });

  it('prints the embedded default config, which round-trips too', () => {
    const printed = expectKind(cli('--print-config'), 'print-config');
    expect(parse(printed.text)).toHaveProperty('receivers.otlp.protocols.grpc.endpoint', '0.0.0.0:4317');
    const file = dir.write('default.yaml', printed.text);
    expect(comparable(expectKind(cli('-c', file), 'run').config)).toEqual(comparable(loadRuntimeConfig({ configFiles: [], sets: [], env: {} })));
  });

  it('validate: ok, or every problem listed', () => {
    const good = dir.write('good.yaml', REALISTIC_OTELCOL_CONFIG);
    const ok = expectKind(cli('validate', '--config', good), 'validate');
    expect(ok).toEqual({ kind: 'validate', ok: true, text: `${good}: the configuration is valid\n` });
    expect(expectKind(cli('validate'), 'validate').ok).toBe(true);

    const bad = dir.write(
      'bad.yaml',
      `${REALISTIC_OTELCOL_CONFIG}
spanring:
  max_producers: 0
  backpressure_wait: soon
`.replace('timeout: 5s', 'timeout: 5x'),
    );
    const result = expectKind(cli('validate', '--config', bad, '--set', 'receivers.jaeger.protocols.grpc='), 'validate');
    expect(result.ok).toBe(false);
    expect(result.text.split('\n')).toEqual([
      `${bad}: invalid configuration (4 problems):`,
      '  receivers.jaeger: unsupported receiver type "jaeger" (supported: otlp)',
      '  processors.batch.timeout: invalid duration "5x" (use e.g. 200ms, 5s, 1m30s; a bare integer is nanoseconds)',
      '  spanring.max_producers: must be >= 1, got 0',
      '  spanring.backpressure_wait: invalid duration "soon" (use e.g. 200ms, 5s, 1m30s; a bare integer is nanoseconds)',
      '',
    ]);
  });

  it('validate builds the exporters, so an unreadable tls file is reported', () => {
    const file = dir.write(
      'tls.yaml',
      `receivers: { otlp: { protocols: { grpc: } } }
exporters: { otlp: { endpoint: "b:4317", tls: { ca_file: ${dir.path}/nope.pem } } }
service: { pipelines: { traces: { receivers: [otlp], exporters: [otlp] } } }
`,
    );
    const result = expectKind(cli('validate', '-c', file), 'validate');
    expect(result.ok).toBe(false);
    expect(result.text).toContain('exporters.otlp.tls.ca_file: cannot read');
  });

  it('returns an invalid configuration as an error with exit code 1', () => {
    const result = expectKind(cli('--config', `${dir.path}/missing.yaml`), 'error');
    expect(result.exitCode).toBe(EXIT_INVALID_CONFIG);
    expect(result.text).toBe(`spanring: ${dir.path}/missing.yaml: invalid configuration (1 problem):\n  ${dir.path}/missing.yaml: cannot read the config file: no such file\n`);
    expect(expectKind(cli('--print-config', '--set', 'spanring.ring_bits=99'), 'error').exitCode).toBe(EXIT_INVALID_CONFIG);
  });

  it('returns bad arguments as an error with exit code 2', () => {
    for (const argv of [['--nope'], ['run'], ['validate', 'extra'], ['--config'], ['--set', 'novalue'], ['--config='], ['validate', '--print-config'], ['--help=yes']]) {
      const result = expectKind(parseCli(argv, {}, VERSION), 'error');
      expect(result.exitCode, argv.join(' ')).toBe(EXIT_USAGE);
      expect(result.text).toMatch(/^spanring: .*\n(.*\n)*Run "spanring --help" for usage\.\n$/);
    }
  });

  it('--help lists every flag, validate and the supported components', () => {
    for (const argv of [['--help'], ['-h'], ['help'], ['validate', '--help']]) {
      const { text } = expectKind(parseCli(argv, {}, VERSION), 'help');
      for (const word of ['--config', '--set', '--print-config', '--help', '--version', 'validate', 'otlp_grpc', 'otlp_http', 'otlphttp', 'file', 'debug', 'batch', 'health_check', 'spanring:', 'ring_bits', 'retry_after']) {
        expect(text).toContain(word);
      }
    }
  });

  it('--version prints the version', () => {
    expect(parseCli(['--version'], {}, VERSION)).toEqual({ kind: 'version', text: 'spanring version 1.2.3\n' });
    expect(parseCli(['-v'], {}, VERSION).kind).toBe('version');
  });
});
