/**
 * The `debug` exporter: writes what it receives to stdout (or an injected stream), at the
 * Collector's three verbosity levels.
 */
import { encodeTraceRequestJson, groupSpans, SpanKind, StatusCode, traceIdHex } from '#spanring/otlp';
import type { Span } from '#spanring/otlp';
import { ExportError, PipelineConfigError } from '../errors.ts';
import { abortedError, describeError, encodeOrFail } from './export-errors.ts';
import type { SpanExporter } from './span-exporter.ts';

export type DebugVerbosity = 'basic' | 'normal' | 'detailed';
const VERBOSITIES: readonly DebugVerbosity[] = ['basic', 'normal', 'detailed'];

/** Where the text goes; process.stdout and any Writable fit. */
export interface TextOutput {
  write(chunk: string, callback: (error?: Error | null) => void): boolean;
}

/** Options of the debug exporter; each mirrors an otelcol key of the `debug` exporter. */
export interface DebugExporterOptions {
  /** The component id, i.e. the key under otelcol `exporters:` ("debug/spans"). Default "debug". */
  readonly name?: string;
  /**
   * otelcol `verbosity`: "basic" (default: one summary line per batch), "normal" (a line per
   * span), "detailed" (every field, as indented OTLP/JSON).
   */
  readonly verbosity?: DebugVerbosity;
  /** Not an otelcol key: where to write. Default process.stdout. */
  readonly output?: TextOutput;
}

const KIND_NAMES = invert(SpanKind);
const STATUS_NAMES = invert(StatusCode);

export class DebugExporter implements SpanExporter {
  readonly name: string;
  readonly verbosity: DebugVerbosity;
  private readonly output: TextOutput;

  constructor(options: DebugExporterOptions = {}) {
    this.name = options.name ?? 'debug';
    this.verbosity = options.verbosity ?? 'basic';
    if (!VERBOSITIES.includes(this.verbosity)) {
      throw new PipelineConfigError('verbosity', `"${this.verbosity}" is not a level; use "basic", "normal" or "detailed"`);
    }
    this.output = options.output ?? process.stdout;
  }

  async export(spans: readonly Span[], signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw abortedError(this.name, signal);
    await this.write(this.render(spans));
  }

  /** The output stream is not ours (stdout by default), so it stays open. */
  async shutdown(): Promise<void> {}

  private render(spans: readonly Span[]): string {
    const summary = `${this.name}: ${summarize(spans)}\n`;
    if (this.verbosity === 'basic') return summary;
    if (this.verbosity === 'normal') return summary + spans.map((span) => `${describeSpan(span)}\n`).join('');
    const json = encodeOrFail(this.name, () => encodeTraceRequestJson(spans));
    return `${summary}${JSON.stringify(JSON.parse(json), null, 2)}\n`;
  }

  /** Resolves once the stream took the text, so a batch is printed before the next one starts. */
  private write(text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.output.write(text, (error) => {
        if (error) reject(new ExportError(`${this.name}: cannot write output: ${describeError(error)}`, { retryable: false, cause: error }));
        else resolve();
      });
    });
  }
}

/** "3 spans, 2 traces, 1 resource": the Collector's basic line, plus the trace count. */
function summarize(spans: readonly Span[]): string {
  // traceIdHex: received spans are counted without being decoded.
  const traces = new Set(spans.map(traceIdHex)).size;
  const resources = groupSpans(spans).length;
  return `${plural(spans.length, 'span')}, ${plural(traces, 'trace')}, ${plural(resources, 'resource')}`;
}

/** trace id, span id, name, kind, duration, and the status when it is set. */
function describeSpan(span: Span): string {
  const parts = [
    `trace_id=${hex(span.traceId)}`,
    `span_id=${hex(span.spanId)}`,
    `name=${JSON.stringify(span.name)}`,
    `kind=${KIND_NAMES.get(span.kind) ?? span.kind}`,
    `duration=${formatDuration(span.endTimeUnixNano - span.startTimeUnixNano)}`,
  ];
  if (span.statusCode !== StatusCode.Unset) parts.push(`status=${STATUS_NAMES.get(span.statusCode) ?? span.statusCode}`);
  return parts.join(' ');
}

/** Nanoseconds, exact (bigint), shown in the largest unit that keeps them readable. */
export function formatDuration(nanos: bigint): string {
  const sign = nanos < 0n ? '-' : '';
  const magnitude = nanos < 0n ? -nanos : nanos;
  if (magnitude < 1_000n) return `${sign}${magnitude}ns`;
  if (magnitude < 1_000_000n) return `${sign}${decimal(magnitude, 1_000n)}µs`;
  if (magnitude < 1_000_000_000n) return `${sign}${decimal(magnitude, 1_000_000n)}ms`;
  return `${sign}${decimal(magnitude, 1_000_000_000n)}s`;
}

/** value / unit with up to three decimals, trailing zeros dropped. */
function decimal(value: bigint, unit: bigint): string {
  const whole = value / unit;
  const thousandths = ((value % unit) * 1_000n) / unit;
  const fraction = thousandths.toString().padStart(3, '0').replace(/0+$/, '');
  return fraction === '' ? whole.toString() : `${whole}.${fraction}`;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function invert(values: Readonly<Record<string, number>>): ReadonlyMap<number, string> {
  return new Map(Object.entries(values).map(([name, value]) => [value, name]));
}
