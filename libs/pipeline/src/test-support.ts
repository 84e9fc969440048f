// Test helpers for the pipeline's own tests: span factories and scripted exporters.
import type { InstrumentationScope, Resource, Span } from '#spanring/otlp';
import type { ExportOutcome, SpanExporter } from './exporter/span-exporter.ts';

export const TEST_RESOURCE: Resource = {
  attributes: [{ key: 'service.name', value: 'test' }],
  droppedAttributesCount: 0,
  entityRefs: [],
  schemaUrl: '',
};

export const TEST_SCOPE: InstrumentationScope = {
  name: 'test-scope',
  version: '1.0.0',
  attributes: [],
  droppedAttributesCount: 0,
  schemaUrl: '',
};

/** A trace id whose last bytes encode `trace`, so tests can tell traces apart. */
export function traceIdOf(trace: number): Uint8Array {
  const id = new Uint8Array(16);
  new DataView(id.buffer).setUint32(12, trace);
  id[0] = 0xab;
  return id;
}

export function traceNumberOf(span: Span): number {
  return new DataView(span.traceId.buffer, span.traceId.byteOffset).getUint32(12);
}

/** A span whose name is "p{producer}-{seq}" and whose span id encodes seq. */
export function makeSpan(producer: number, seq: number, trace = producer * 1_000_000 + seq): Span {
  const spanId = new Uint8Array(8);
  new DataView(spanId.buffer).setUint32(4, seq);
  spanId[0] = producer + 1;
  return {
    resource: TEST_RESOURCE,
    scope: TEST_SCOPE,
    traceId: traceIdOf(trace),
    spanId,
    parentSpanId: undefined,
    name: `p${producer}-${seq}`,
    kind: 1,
    startTimeUnixNano: 1_700_000_000_000_000_000n + BigInt(seq),
    endTimeUnixNano: 1_700_000_000_000_000_100n + BigInt(seq),
    flags: 1,
    statusCode: 0,
    attributes: [],
    extra: undefined,
  };
}

export function parseName(span: Span): { producer: number; seq: number } {
  const [p, s] = span.name.slice(1).split('-');
  return { producer: Number(p), seq: Number(s) };
}

type Step = (spans: readonly Span[], attempt: number, signal: AbortSignal) => Promise<ExportOutcome | void> | ExportOutcome | void;

/**
 * An exporter that records what it received and can be scripted: `behaviour` decides each
 * attempt's result (throw to fail). Attempts are counted per call, in order.
 */
export class RecordingExporter implements SpanExporter {
  readonly name: string;
  readonly batches: Span[][] = [];
  readonly attemptTimes: number[] = [];
  attempts = 0;
  shutdowns = 0;
  private readonly behaviour: Step;

  constructor(name = 'recording', behaviour: Step = () => undefined) {
    this.name = name;
    this.behaviour = behaviour;
  }

  get spans(): Span[] {
    return this.batches.flat();
  }

  async export(spans: readonly Span[], signal: AbortSignal): Promise<ExportOutcome | void> {
    this.attempts++;
    this.attemptTimes.push(performance.now());
    const outcome = await this.behaviour(spans, this.attempts, signal);
    this.batches.push([...spans]);
    return outcome;
  }

  async shutdown(): Promise<void> {
    this.shutdowns++;
  }
}

export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
