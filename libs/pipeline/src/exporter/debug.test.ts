import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { decodeTraceRequestJson } from '#spanring/otlp';
import type { Span } from '#spanring/otlp';
import { ExportError, PipelineConfigError } from '../errors.ts';
import { DebugExporter, formatDuration } from './debug.ts';
import type { DebugVerbosity, TextOutput } from './debug.ts';
import { fullyPopulatedSpans, simpleSpans } from './test-spans.ts';

function capture(): TextOutput & { text: () => string } {
  const chunks: string[] = [];
  return {
    write(chunk, callback) {
      chunks.push(chunk);
      callback();
      return true;
    },
    text: () => chunks.join(''),
  };
}

async function printed(verbosity: DebugVerbosity, spans: Span[]): Promise<string> {
  const output = capture();
  await new DebugExporter({ verbosity, output }).export(spans, new AbortController().signal);
  return output.text();
}

const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '');

describe('debug exporter', () => {
  it('prints one summary line per batch at basic verbosity, the default', async () => {
    const output = capture();
    const exporter = new DebugExporter({ name: 'debug/spans', output });
    expect(exporter.verbosity).toBe('basic');
    await exporter.export(fullyPopulatedSpans(), new AbortController().signal);
    await exporter.export(simpleSpans(4, 2), new AbortController().signal);
    expect(lines(output.text())).toEqual(['debug/spans: 3 spans, 2 traces, 2 resources', 'debug/spans: 4 spans, 2 traces, 1 resource']);
  });

  it('prints a line per span at normal verbosity: ids, name, kind, duration, status', async () => {
    const [full, child, bare] = fullyPopulatedSpans() as [Span, Span, Span];
    const text = await printed('normal', [full, child, bare]);
    expect(lines(text)).toEqual([
      'debug: 3 spans, 2 traces, 2 resources',
      `trace_id=${Buffer.from(full.traceId).toString('hex')} span_id=${Buffer.from(full.spanId).toString('hex')} name="GET /api/ünïcødé" kind=Server duration=1ms status=Error`,
      `trace_id=${Buffer.from(child.traceId).toString('hex')} span_id=${Buffer.from(child.spanId).toString('hex')} name="db.query" kind=Client duration=1ms status=Ok`,
      `trace_id=${Buffer.from(bare.traceId).toString('hex')} span_id=${Buffer.from(bare.spanId).toString('hex')} name="" kind=42 duration=0ns status=-7`,
    ]);
  });

  it('prints every field at detailed verbosity, as OTLP/JSON that parses back to the batch', async () => {
    const spans = fullyPopulatedSpans();
    const [summary, ...rest] = (await printed('detailed', spans)).split('\n');
    expect(summary).toBe('debug: 3 spans, 2 traces, 2 resources');
    const json = rest.join('\n');
    expect(json.split('\n').length).toBeGreaterThan(100);
    expect(decodeTraceRequestJson(json)).toEqual(spans);
  });

  it('writes to a Node stream, such as process.stdout', async () => {
    let written = '';
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        written += chunk.toString();
        callback();
      },
    });
    await new DebugExporter({ output: stream }).export(simpleSpans(1), new AbortController().signal);
    expect(written).toBe('debug: 1 span, 1 trace, 1 resource\n');
  });

  it('rejects permanently when the output fails', async () => {
    const output: TextOutput = {
      write(_chunk, callback) {
        callback(new Error('EPIPE'));
        return false;
      },
    };
    const error = await new DebugExporter({ output }).export(simpleSpans(1), new AbortController().signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExportError);
    expect((error as ExportError).retryable).toBe(false);
  });

  it('prints nothing for an aborted export', async () => {
    const output = capture();
    const error = await new DebugExporter({ output }).export(simpleSpans(1), AbortSignal.abort()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExportError);
    expect(output.text()).toBe('');
  });

  it('rejects an unknown verbosity', () => {
    expect(() => new DebugExporter({ verbosity: 'verbose' as DebugVerbosity })).toThrow(PipelineConfigError);
  });

  it.each([
    [0n, '0ns'],
    [999n, '999ns'],
    [1_500n, '1.5µs'],
    [1_234_567n, '1.234ms'],
    [2_000_000_000n, '2s'],
    [-5_000n, '-5µs'],
    [2n ** 64n - 1n, '18446744073.709s'],
  ])('formats %i ns as %s', (nanos, text) => {
    expect(formatDuration(nanos)).toBe(text);
  });
});
