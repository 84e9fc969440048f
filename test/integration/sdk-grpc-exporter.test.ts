import 'reflect-metadata';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, createTraceState, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import type { Attributes, AttributeValue, HrTime, SpanContext } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { Test } from '@nestjs/testing';
import { decodeTraceRequestJson } from '#spanring/otlp';
import type { AnyValue, KeyValue, Span, SpanExtra } from '#spanring/otlp';
import { CollectorModule } from '#spanring/nest';
import { FileExporter, SILENT_LOGGER } from '#spanring/pipeline';
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcReceiverModule } from '../../apps/collector/src/receiver/grpc/grpc-receiver.module.ts';
import { OtlpGrpcReceiver } from '../../apps/collector/src/receiver/grpc/otlp-grpc.receiver.ts';
import { startWorkerApp } from './receiver-workers.support.ts';

const SCHEMA_URL = 'https://opentelemetry.io/schemas/1.30.0';
const temporaryDirs: string[] = [];

afterEach(async () => {
  for (const dir of temporaryDirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/**
 * The service with the gRPC receiver and a `file` exporter writing OTLP JSON lines to `path`:
 * on the main thread (workers 0), or in receiver worker threads. close() drains it.
 */
async function startService(path: string, workers: number): Promise<{ port: number; close: () => Promise<void> }> {
  const exporter = new FileExporter({ path });
  if (workers > 0) {
    const service = await startWorkerApp({ exporter, workers, pipeline: { batch: { timeoutMs: 10 } } });
    return { port: service.receivers.grpcPort!, close: () => service.close() };
  }
  const moduleRef = await Test.createTestingModule({
    imports: [
      CollectorModule.forRoot({ exporters: [{ exporter }], logger: SILENT_LOGGER, pipeline: { batch: { timeoutMs: 10 } } }),
      GrpcReceiverModule.forRoot({ host: '127.0.0.1', port: 0, maxRecvMsgSizeBytes: 64 * 1024 * 1024 }),
    ],
  }).compile();
  moduleRef.useLogger(false);
  await moduleRef.init();
  return { port: moduleRef.get(OtlpGrpcReceiver).port, close: () => moduleRef.close() };
}

// ---------------------------------------------------------------------------------------------
// What the SDK span must become in OTLP (the OTLP exporter's documented mapping)

const hexBytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
const nanos = (time: HrTime): bigint => BigInt(time[0]) * 1_000_000_000n + BigInt(time[1]);

/** JS attribute values as OTLP AnyValues: integral numbers are int_value (int64), others double. */
function anyValue(value: AttributeValue | undefined): AnyValue {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return value.map((item) => anyValue(item ?? undefined));
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  return value as string | boolean;
}

function keyValues(attributes: Attributes): KeyValue[] {
  return Object.entries(attributes).map(([key, value]) => ({ key, value: anyValue(value) }));
}

/** SpanFlags: the W3C trace flags plus HAS_IS_REMOTE (0x100) and IS_REMOTE (0x200). */
function spanFlags(traceFlags: number, isRemote: boolean | undefined): number {
  return (traceFlags & 0xff) | 0x100 | (isRemote ? 0x200 : 0);
}

function expectedSpan(span: ReadableSpan): Omit<Span, 'resource' | 'scope'> {
  const ctx = span.spanContext();
  const extra: SpanExtra = {
    traceState: ctx.traceState?.serialize() ?? '',
    statusMessage: span.status.message ?? '',
    droppedAttributesCount: span.droppedAttributesCount,
    events: span.events.map((event) => ({
      timeUnixNano: nanos(event.time),
      name: event.name,
      attributes: keyValues(event.attributes ?? {}),
      droppedAttributesCount: event.droppedAttributesCount ?? 0,
    })),
    droppedEventsCount: span.droppedEventsCount,
    links: span.links.map((link) => ({
      traceId: hexBytes(link.context.traceId),
      spanId: hexBytes(link.context.spanId),
      traceState: link.context.traceState?.serialize() ?? '',
      attributes: keyValues(link.attributes ?? {}),
      droppedAttributesCount: link.droppedAttributesCount ?? 0,
      flags: spanFlags(link.context.traceFlags, link.context.isRemote),
    })),
    droppedLinksCount: span.droppedLinksCount,
  };
  const defaultExtra =
    extra.traceState === '' &&
    extra.statusMessage === '' &&
    extra.droppedAttributesCount === 0 &&
    extra.events.length === 0 &&
    extra.droppedEventsCount === 0 &&
    extra.links.length === 0 &&
    extra.droppedLinksCount === 0;
  return {
    traceId: hexBytes(ctx.traceId),
    spanId: hexBytes(ctx.spanId),
    parentSpanId: span.parentSpanContext === undefined ? undefined : hexBytes(span.parentSpanContext.spanId),
    name: span.name,
    // The API's SpanKind starts at INTERNAL = 0; OTLP's at UNSPECIFIED = 0.
    kind: span.kind + 1,
    startTimeUnixNano: nanos(span.startTime),
    endTimeUnixNano: nanos(span.endTime),
    flags: spanFlags(ctx.traceFlags, span.parentSpanContext?.isRemote),
    statusCode: span.status.code,
    attributes: keyValues(span.attributes),
    extra: defaultExtra ? undefined : extra,
  };
}

// ---------------------------------------------------------------------------------------------

describe.each([
  { compression: CompressionAlgorithm.NONE, label: 'uncompressed', workers: 0 },
  { compression: CompressionAlgorithm.GZIP, label: 'gzip', workers: 0 },
  // The same exchange with receiver worker threads (spanring.workers: 2).
  { compression: CompressionAlgorithm.NONE, label: 'uncompressed, 2 receiver workers', workers: 2 },
  { compression: CompressionAlgorithm.GZIP, label: 'gzip, 2 receiver workers', workers: 2 },
])('OpenTelemetry JS SDK → OTLP/gRPC ($label) → file exporter', ({ compression, workers }) => {
  it('delivers every field of the SDK spans', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spanring-sdk-grpc-'));
    temporaryDirs.push(dir);
    const path = join(dir, 'traces.jsonl');
    const service = await startService(path, workers);
    const { port } = service;

    const sdkCopy = new InMemorySpanExporter();
    const provider = new TracerProvider({
      resource: resourceFromAttributes(
        { 'service.name': 'checkout', 'service.version': '1.4.2', 'deployment.replicas': 3, 'host.load': 0.75 },
        { schemaUrl: SCHEMA_URL },
      ),
      spanProcessors: [
        new SimpleSpanProcessor({ exporter: new OTLPTraceExporter({ url: `http://127.0.0.1:${port}`, compression }) }),
        new SimpleSpanProcessor({ exporter: sdkCopy }),
      ],
    });
    const tracer = provider.getTracer('checkout-instrumentation', '2.3.4', { schemaUrl: SCHEMA_URL });

    const linked: SpanContext = {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
      traceState: createTraceState('vendor=opaque,other=1'),
    };
    const server = tracer.startSpan('GET /orders/{id}', {
      kind: SpanKind.SERVER,
      startTime: [1_700_000_000, 123_456_789],
      attributes: {
        'http.request.method': 'GET',
        'http.response.status_code': 503,
        'server.duration_ratio': 1.5,
        'user.authenticated': true,
        'order.item_ids': [101, 102, 103],
        'order.tags': ['express', 'gift'],
        'order.weights': [0.5, 2.25],
        'order.flags': [true, false],
      },
      links: [{ context: linked, attributes: { 'link.reason': 'retry-of', 'link.attempt': 2 } }],
    });
    server.addEvent('cache.miss', { 'cache.key': 'orders:42', 'cache.shard': 3, 'cache.hit_ratio': 0.25 }, [1_700_000_000, 223_456_789]);
    server.addEvent('retry', [1_700_000_000, 323_456_789]);
    server.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream timed out' });

    const client = tracer.startSpan(
      'SELECT orders',
      { kind: SpanKind.CLIENT, startTime: [1_700_000_000, 400_000_000], attributes: { 'db.system.name': 'postgresql' } },
      trace.setSpan(context.active(), server),
    );
    client.setStatus({ code: SpanStatusCode.OK });
    client.end([1_700_000_000, 900_000_000]);
    server.end([1_700_000_001, 5]);

    // A span continuing a trace from another process (remote parent, trace state).
    const remoteParent: SpanContext = {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
      traceState: createTraceState('congo=t61rcWkgMzE'),
    };
    const consumer = tracer.startSpan(
      'orders process',
      { kind: SpanKind.CONSUMER, startTime: [1_700_000_002, 0], attributes: { 'messaging.batch.message_count': 0 } },
      trace.setSpanContext(context.active(), remoteParent),
    );
    consumer.end([1_700_000_002, 999_999_999]);

    await provider.forceFlush();
    // Read before shutdown, which empties the in-memory exporter.
    const sent = [...sdkCopy.getFinishedSpans()];
    await provider.shutdown();
    // Drains the collector: the file holds every accepted span once close() resolves.
    await service.close();

    const lines = (await readFile(path, 'utf8')).split('\n').filter((line) => line !== '');
    const received = lines.flatMap((line) => decodeTraceRequestJson(line));
    expect(sent).toHaveLength(3);
    expect(received).toHaveLength(3);

    const byName = new Map(received.map((span) => [span.name, span]));
    for (const sdkSpan of sent) {
      const span = byName.get(sdkSpan.name);
      expect(span, sdkSpan.name).toBeDefined();
      const { resource, scope, ...fields } = span!;
      // Every span field, as the SDK's OTLP mapping defines it.
      expect(fields).toEqual(expectedSpan(sdkSpan));
      expect(resource).toEqual({
        attributes: keyValues(sdkSpan.resource.attributes),
        droppedAttributesCount: 0,
        entityRefs: [],
        schemaUrl: SCHEMA_URL,
      });
      expect(scope).toEqual({
        name: 'checkout-instrumentation',
        version: '2.3.4',
        attributes: [],
        droppedAttributesCount: 0,
        schemaUrl: SCHEMA_URL,
      });
    }

    // And spelled out, so the test does not only compare the SDK with itself.
    const serverSpan = byName.get('GET /orders/{id}')!;
    const clientSpan = byName.get('SELECT orders')!;
    const consumerSpan = byName.get('orders process')!;
    expect(Buffer.from(serverSpan.traceId).toString('hex')).toBe(server.spanContext().traceId);
    expect(Buffer.from(serverSpan.spanId).toString('hex')).toBe(server.spanContext().spanId);
    expect(serverSpan.parentSpanId).toBeUndefined();
    expect(serverSpan.kind).toBe(2);
    expect(serverSpan.startTimeUnixNano).toBe(1_700_000_000_123_456_789n);
    expect(serverSpan.endTimeUnixNano).toBe(1_700_000_001_000_000_005n);
    expect(serverSpan.flags).toBe(0x101);
    expect(serverSpan.statusCode).toBe(2);
    expect(serverSpan.extra?.statusMessage).toBe('upstream timed out');
    expect(serverSpan.attributes).toEqual([
      { key: 'http.request.method', value: 'GET' },
      { key: 'http.response.status_code', value: 503n },
      { key: 'server.duration_ratio', value: 1.5 },
      { key: 'user.authenticated', value: true },
      { key: 'order.item_ids', value: [101n, 102n, 103n] },
      { key: 'order.tags', value: ['express', 'gift'] },
      { key: 'order.weights', value: [0.5, 2.25] },
      { key: 'order.flags', value: [true, false] },
    ]);
    expect(serverSpan.extra?.events).toEqual([
      {
        timeUnixNano: 1_700_000_000_223_456_789n,
        name: 'cache.miss',
        attributes: [
          { key: 'cache.key', value: 'orders:42' },
          { key: 'cache.shard', value: 3n },
          { key: 'cache.hit_ratio', value: 0.25 },
        ],
        droppedAttributesCount: 0,
      },
      { timeUnixNano: 1_700_000_000_323_456_789n, name: 'retry', attributes: [], droppedAttributesCount: 0 },
    ]);
    expect(serverSpan.extra?.links).toEqual([
      {
        traceId: hexBytes('0af7651916cd43dd8448eb211c80319c'),
        spanId: hexBytes('b7ad6b7169203331'),
        traceState: 'vendor=opaque,other=1',
        attributes: [
          { key: 'link.reason', value: 'retry-of' },
          { key: 'link.attempt', value: 2n },
        ],
        droppedAttributesCount: 0,
        flags: 0x301,
      },
    ]);
    expect(clientSpan.traceId).toEqual(serverSpan.traceId);
    expect(clientSpan.parentSpanId).toEqual(serverSpan.spanId);
    expect(clientSpan.kind).toBe(3);
    expect(clientSpan.statusCode).toBe(1);
    expect(clientSpan.extra).toBeUndefined();
    expect(Buffer.from(consumerSpan.traceId).toString('hex')).toBe(remoteParent.traceId);
    expect(Buffer.from(consumerSpan.parentSpanId!).toString('hex')).toBe(remoteParent.spanId);
    expect(consumerSpan.kind).toBe(5);
    expect(consumerSpan.flags).toBe(0x301);
    expect(consumerSpan.extra?.traceState).toBe('congo=t61rcWkgMzE');
    expect(consumerSpan.attributes).toEqual([{ key: 'messaging.batch.message_count', value: 0n }]);
    expect(serverSpan.resource.attributes).toEqual(
      expect.arrayContaining([
        { key: 'service.name', value: 'checkout' },
        { key: 'service.version', value: '1.4.2' },
        { key: 'deployment.replicas', value: 3n },
        { key: 'host.load', value: 0.75 },
      ]),
    );
  });
});
