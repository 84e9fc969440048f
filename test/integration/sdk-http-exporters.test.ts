// Real clients: the OpenTelemetry JS SDK's OTLP/HTTP exporters (http/json, http/protobuf, and
// http/protobuf with gzip) send SDK spans to the running service; the `file` exporter's output
// is checked field by field against what the SDK recorded.
import 'reflect-metadata';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, SpanKind, SpanStatusCode, trace, TraceFlags, type AttributeValue, type Attributes, type HrTime } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTraceRequestJson, type AnyValue, type KeyValue, type Span } from '#spanring/otlp';
import type { SpanCollectorService } from '#spanring/nest';
import { FileExporter } from '#spanring/pipeline';
import { startReceiverApp } from '../e2e/http-receiver.support.ts';
import { startWorkerApp } from './receiver-workers.support.ts';

const CLIENTS = [
  { protocol: 'http/json', create: (url: string): SpanExporter => new JsonTraceExporter({ url }) },
  { protocol: 'http/protobuf', create: (url: string): SpanExporter => new ProtoTraceExporter({ url }) },
  { protocol: 'http/protobuf+gzip', create: (url: string): SpanExporter => new ProtoTraceExporter({ url, compression: CompressionAlgorithm.GZIP }) },
] as const;

const LINKED = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' };

/** Makes the same small trace with every field the SDK can set, and returns what the SDK recorded. */
async function emitTrace(protocol: string, exporter: SpanExporter): Promise<ReadableSpan[]> {
  const recorded = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': `sdk-${protocol}`, 'service.version': '4.5.6', 'host.cpu.count': 2, 'sampled.ratio': 0.25 }),
    spanProcessors: [new SimpleSpanProcessor({ exporter }), new SimpleSpanProcessor({ exporter: recorded })],
  });
  const tracer = provider.getTracer('checkout', '1.2.3', { schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' });
  const start = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
  const root = tracer.startSpan(`${protocol} GET /cart`, {
    kind: SpanKind.SERVER,
    startTime: start,
    attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, 'server.ok': true, ratio: 0.5, tags: ['a', 'b'], codes: [1, 2, 3] },
  });
  root.setStatus({ code: SpanStatusCode.OK });
  const child = tracer.startSpan(
    `${protocol} SELECT cart`,
    {
      kind: SpanKind.CLIENT,
      startTime: start + 1,
      attributes: { 'db.system': 'postgresql', rows: 7 },
      links: [
        {
          context: { ...LINKED, traceFlags: TraceFlags.SAMPLED, isRemote: true, traceState: new TraceState('vendor=abc,other=1') },
          attributes: { 'link.reason': 'retry', attempt: 2 },
        },
      ],
    },
    trace.setSpan(context.active(), root),
  );
  child.addEvent('cache-miss', { key: 'cart:42', size: 1.5 }, start + 2);
  child.addEvent('retry', undefined, [Math.floor((start + 3) / 1000), 123_456_789]);
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'connection reset' });
  child.end(start + 4);
  for (const kind of [SpanKind.INTERNAL, SpanKind.PRODUCER, SpanKind.CONSUMER]) {
    tracer.startSpan(`${protocol} kind ${kind}`, { kind, startTime: start + 5 }, trace.setSpan(context.active(), root)).end(start + 6);
  }
  root.end(start + 10);
  await provider.forceFlush();
  // Read before shutdown: InMemorySpanExporter.shutdown() forgets what it holds.
  const finished = recorded.getFinishedSpans();
  await provider.shutdown();
  return finished;
}

function nanos(time: HrTime): bigint {
  return BigInt(time[0]) * 1_000_000_000n + BigInt(time[1]);
}

function hex(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('hex');
}

/** The model value OTLP carries for an SDK attribute value (integers are int_value, others double). */
function toModel(value: AttributeValue | undefined): AnyValue {
  if (Array.isArray(value)) return (value as unknown[]).map((item) => toModel(item as AttributeValue));
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  return (value ?? null) as AnyValue;
}

function toKeyValues(attributes: Attributes | undefined): KeyValue[] {
  return Object.entries(attributes ?? {}).map(([key, value]) => ({ key, value: toModel(value) }));
}

/** The receiver on the main thread (workers 0) or in receiver worker threads, with a file exporter. */
interface Receiving {
  readonly url: string;
  readonly service: SpanCollectorService;
  /** Records each request's method, path and encodings (main-thread server only). */
  readonly observe?: (listener: (req: IncomingMessage) => void) => void;
  close(): Promise<void>;
}

async function startReceiving(path: string, workers: number): Promise<Receiving> {
  const exporter = new FileExporter({ path });
  const pipeline = { batch: { timeoutMs: 10 } };
  if (workers > 0) {
    const app = await startWorkerApp({ exporter, workers, pipeline });
    return { url: app.httpUrl, service: app.service, close: () => app.close() };
  }
  const receiver = await startReceiverApp({ exporters: [{ exporter }], pipeline, listen: true });
  return {
    url: receiver.url,
    service: receiver.service,
    observe: (listener) => receiver.server.prependListener('request', listener),
    close: () => receiver.app.close(),
  };
}

describe.each([
  { workers: 0, label: 'on the main thread' },
  { workers: 2, label: 'in 2 receiver workers' },
])('OpenTelemetry JS SDK OTLP/HTTP exporters → receiver ($label) → file exporter', ({ workers }) => {
  let dir: string;
  let path: string;
  let receiver: Receiving;
  const recorded = new Map<string, ReadableSpan[]>();
  let written: Span[] = [];
  /** What went over the wire, to show each client really used its protocol. */
  const seen: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spanring-sdk-http-'));
    path = join(dir, 'spans.jsonl');
    receiver = await startReceiving(path, workers);
    receiver.observe?.((req) => {
      seen.push(`${req.method} ${req.url} ${req.headers['content-type']} ${req.headers['content-encoding'] ?? 'identity'}`);
    });
    for (const client of CLIENTS) {
      recorded.set(client.protocol, await emitTrace(client.protocol, client.create(`${receiver.url}/v1/traces`)));
    }
    // Drains the pipeline and closes the file.
    await receiver.close();
    const lines = (await readFile(path, 'utf8')).split('\n').filter((line) => line !== '');
    written = lines.flatMap((line) => decodeTraceRequestJson(line));
  });

  afterAll(async () => {
    await receiver?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  // The worker threads' servers cannot be observed from here; the main-thread run shows it.
  it.skipIf(workers > 0)('each exporter spoke its own protocol', () => {
    expect(new Set(seen)).toEqual(
      new Set([
        'POST /v1/traces application/json identity',
        'POST /v1/traces application/x-protobuf identity',
        'POST /v1/traces application/x-protobuf gzip',
      ]),
    );
  });

  it('every span each SDK exporter sent was received and written, exactly once', () => {
    const expectedNames = [...recorded.values()].flat().map((span) => span.name);
    expect(expectedNames).toHaveLength(CLIENTS.length * 5);
    expect(written.map((span) => span.name).toSorted()).toEqual(expectedNames.toSorted());
    expect(receiver.service.collector.metrics.accepted).toBe(expectedNames.length);
  });

  describe.each(CLIENTS.map((client) => client.protocol))('%s', (protocol) => {
    it('carries every field of every span as the SDK recorded it', () => {
      const sdkSpans = recorded.get(protocol)!;
      expect(sdkSpans).toHaveLength(5);
      for (const sdk of sdkSpans) {
        const got = written.find((span) => span.name === sdk.name);
        expect(got, sdk.name).toBeDefined();
        const span = got!;
        const ctx = sdk.spanContext();
        expect(hex(span.traceId)).toBe(ctx.traceId);
        expect(hex(span.spanId)).toBe(ctx.spanId);
        expect(hex(span.parentSpanId)).toBe(sdk.parentSpanContext?.spanId);
        expect(span.kind).toBe(sdk.kind + 1); // API SpanKind is OTLP's minus one
        expect(span.startTimeUnixNano).toBe(nanos(sdk.startTime));
        expect(span.endTimeUnixNano).toBe(nanos(sdk.endTime));
        // W3C flags plus "has is-remote" (0x100); these parents are local.
        expect(span.flags).toBe(ctx.traceFlags | 0x100);
        expect(span.statusCode).toBe(sdk.status.code);
        expect(span.attributes).toEqual(toKeyValues(sdk.attributes));
        expect(span.extra?.statusMessage ?? '').toBe(sdk.status.message ?? '');
        expect(span.extra?.traceState ?? '').toBe(ctx.traceState?.serialize() ?? '');
        expect(span.extra?.droppedAttributesCount ?? 0).toBe(sdk.droppedAttributesCount);
        expect(span.extra?.droppedEventsCount ?? 0).toBe(sdk.droppedEventsCount);
        expect(span.extra?.droppedLinksCount ?? 0).toBe(sdk.droppedLinksCount);
        expect(span.extra?.events ?? []).toEqual(
          sdk.events.map((event) => ({
            name: event.name,
            timeUnixNano: nanos(event.time),
            attributes: toKeyValues(event.attributes),
            droppedAttributesCount: event.droppedAttributesCount ?? 0,
          })),
        );
        expect(span.extra?.links ?? []).toEqual(
          sdk.links.map((link) => ({
            traceId: new Uint8Array(Buffer.from(link.context.traceId, 'hex')),
            spanId: new Uint8Array(Buffer.from(link.context.spanId, 'hex')),
            traceState: link.context.traceState?.serialize() ?? '',
            attributes: toKeyValues(link.attributes),
            droppedAttributesCount: link.droppedAttributesCount ?? 0,
            flags: link.context.traceFlags | 0x100 | (link.context.isRemote === true ? 0x200 : 0),
          })),
        );
        expect(span.resource.attributes).toEqual(toKeyValues(sdk.resource.attributes));
        expect(span.resource.droppedAttributesCount).toBe(0);
        expect(span.scope).toMatchObject({
          name: sdk.instrumentationScope.name,
          version: sdk.instrumentationScope.version,
          schemaUrl: sdk.instrumentationScope.schemaUrl,
        });
      }
    });

    it('spells out the fields the trace was built with', () => {
      const byName = (suffix: string) => written.find((span) => span.name === `${protocol} ${suffix}`)!;
      const root = byName('GET /cart');
      const child = byName('SELECT cart');
      expect(root.kind).toBe(2); // SERVER
      expect(child.kind).toBe(3); // CLIENT
      expect(byName('kind 0').kind).toBe(1); // INTERNAL
      expect(byName('kind 3').kind).toBe(4); // PRODUCER
      expect(byName('kind 4').kind).toBe(5); // CONSUMER
      expect(root.parentSpanId).toBeUndefined();
      expect(child.parentSpanId).toEqual(root.spanId);
      expect(child.traceId).toEqual(root.traceId);
      const start = BigInt(Date.UTC(2026, 0, 2, 3, 4, 5, 6)) * 1_000_000n;
      expect(root.startTimeUnixNano).toBe(start);
      expect(root.endTimeUnixNano).toBe(start + 10_000_000n);
      expect(root.statusCode).toBe(1);
      expect(root.attributes).toEqual([
        { key: 'http.request.method', value: 'GET' },
        { key: 'http.response.status_code', value: 200n },
        { key: 'server.ok', value: true },
        { key: 'ratio', value: 0.5 },
        { key: 'tags', value: ['a', 'b'] },
        { key: 'codes', value: [1n, 2n, 3n] },
      ]);
      expect(child.statusCode).toBe(2);
      expect(child.extra?.statusMessage).toBe('connection reset');
      expect(child.extra?.events.map((e) => [e.name, e.timeUnixNano, e.attributes])).toEqual([
        ['cache-miss', start + 2_000_000n, [{ key: 'key', value: 'cart:42' }, { key: 'size', value: 1.5 }]],
        ['retry', BigInt(Math.floor((Date.UTC(2026, 0, 2, 3, 4, 5, 6) + 3) / 1000)) * 1_000_000_000n + 123_456_789n, []],
      ]);
      const [link] = child.extra!.links;
      expect(hex(link!.traceId)).toBe(LINKED.traceId);
      expect(hex(link!.spanId)).toBe(LINKED.spanId);
      expect(link!.traceState).toBe('vendor=abc,other=1');
      expect(link!.flags).toBe(0x301); // sampled, has-is-remote, is-remote
      expect(link!.attributes).toEqual([
        { key: 'link.reason', value: 'retry' },
        { key: 'attempt', value: 2n },
      ]);
      expect(root.resource.attributes).toEqual(
        expect.arrayContaining([
          { key: 'service.name', value: `sdk-${protocol}` },
          { key: 'service.version', value: '4.5.6' },
          { key: 'host.cpu.count', value: 2n },
          { key: 'sampled.ratio', value: 0.25 },
        ]),
      );
      expect(root.scope).toMatchObject({ name: 'checkout', version: '1.2.3', schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' });
    });
  });
});
