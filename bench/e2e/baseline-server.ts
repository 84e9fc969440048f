/**
 * The baseline of bench:e2e, run as its own child process (so its CPU is read the same way as
 * the collector's): what a Node user builds today to receive OTLP/HTTP and forward it.
 *
 *   node dist/bench/e2e/baseline-server.js --sink-port <port>
 *
 * - node:http server on 127.0.0.1:0, POST /v1/traces, body read whole;
 * - decoded in full with a generic protobuf decoder: protobufjs reflection, with the schema of
 *   ExportTraceServiceRequest as a protobufjs JSON descriptor from the field numbers of the
 *   OTLP specification (bench/fixtures/otlp-protobufjs-schema.ts, also the codec test's);
 * - each span turned into an SDK ReadableSpan and handed to the OpenTelemetry JS SDK's
 *   BatchSpanProcessor (its defaults: queue 2048, batches of 512, 5 s delay) whose exporter
 *   is the SDK's OTLP/gRPC OTLPTraceExporter (its defaults) pointed at the bench's sink;
 * - answers 200 with an empty ExportTraceServiceResponse, whatever the processor did with
 *   the spans (it has no way to push back: a full queue drops).
 *
 * stdout: one JSON line {"port": N} once listening; on SIGTERM it stops listening, lets open
 * requests finish, awaits bsp.shutdown() (the final flush) and prints one JSON line
 * {"handed": N, "requests": N, "badRequests": N}; the bench computes drops = handed − what
 * its sink received.
 */
import http from 'node:http';
import type { Attributes, AttributeValue, HrTime, Link, SpanContext, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type TimedEvent } from '@opentelemetry/sdk-trace';
import { otlpTraceRoot } from '../fixtures/otlp-protobufjs-schema.ts';

const MAX_BODY_BYTES = 64 * 1024 * 1024;
const SHUTDOWN_LIMIT_MS = 30_000;

// The schema: bench/fixtures/otlp-protobufjs-schema.ts (shared with the codec's cross-check test).
const root = otlpTraceRoot();
const RequestType = root.lookupType('otlp.ExportTraceServiceRequest');
const EMPTY_RESPONSE = Buffer.from(root.lookupType('otlp.ExportTraceServiceResponse').encode({}).finish());

// The decoded message's shape (protobufjs: 64-bit as Long or number, bytes as Buffer, unset
// scalars read their default from the prototype, unset messages are null/undefined).
type Int64 = number | { readonly low: number; readonly high: number; readonly unsigned?: boolean };
interface PbAnyValue {
  readonly value?: string;
  readonly stringValue: string;
  readonly boolValue: boolean;
  readonly intValue: Int64;
  readonly doubleValue: number;
  readonly arrayValue?: { readonly values: readonly PbAnyValue[] } | null;
  readonly kvlistValue?: { readonly values: readonly PbKeyValue[] } | null;
  readonly bytesValue: Uint8Array;
}
interface PbKeyValue {
  readonly key: string;
  readonly value?: PbAnyValue | null;
}
interface PbEvent {
  readonly timeUnixNano: Int64;
  readonly name: string;
  readonly attributes: readonly PbKeyValue[];
  readonly droppedAttributesCount: number;
}
interface PbLink {
  readonly traceId: Uint8Array;
  readonly spanId: Uint8Array;
  readonly attributes: readonly PbKeyValue[];
  readonly droppedAttributesCount: number;
  readonly flags: number;
}
interface PbSpan {
  readonly traceId: Uint8Array;
  readonly spanId: Uint8Array;
  readonly parentSpanId: Uint8Array;
  readonly flags: number;
  readonly name: string;
  readonly kind: number;
  readonly startTimeUnixNano: Int64;
  readonly endTimeUnixNano: Int64;
  readonly attributes: readonly PbKeyValue[];
  readonly droppedAttributesCount: number;
  readonly events: readonly PbEvent[];
  readonly droppedEventsCount: number;
  readonly links: readonly PbLink[];
  readonly droppedLinksCount: number;
  readonly status?: { readonly message: string; readonly code: number } | null;
}
interface PbRequest {
  readonly resourceSpans: readonly {
    readonly resource?: { readonly attributes: readonly PbKeyValue[] } | null;
    readonly scopeSpans: readonly {
      readonly scope?: { readonly name: string; readonly version: string } | null;
      readonly schemaUrl: string;
      readonly spans: readonly PbSpan[];
    }[];
  }[];
}

// ---------------------------------------------------------------------------------------------
// Decoded OTLP → SDK ReadableSpan.

function uint64(value: Int64): bigint {
  if (typeof value === 'number') return BigInt(value);
  return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
}

function int64Number(value: Int64): number {
  if (typeof value === 'number') return value;
  return value.high * 4_294_967_296 + (value.low >>> 0);
}

function hrTime(value: Int64): HrTime {
  const ns = uint64(value);
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function primitive(value: PbAnyValue | null | undefined): string | number | boolean | undefined {
  switch (value?.value) {
    case 'stringValue':
      return value.stringValue;
    case 'boolValue':
      return value.boolValue;
    case 'intValue':
      return int64Number(value.intValue);
    case 'doubleValue':
      return value.doubleValue;
    case 'bytesValue':
      return Buffer.from(value.bytesValue).toString('base64');
    case 'kvlistValue':
      return JSON.stringify(value.kvlistValue?.values.map((kv) => [kv.key, primitive(kv.value)]) ?? []);
    default:
      return undefined;
  }
}

function attributeValue(value: PbAnyValue | null | undefined): AttributeValue | undefined {
  if (value?.value === 'arrayValue') {
    return (value.arrayValue?.values ?? []).map((item) => primitive(item)).filter((item) => item !== undefined) as AttributeValue;
  }
  return primitive(value);
}

function attributes(pairs: readonly PbKeyValue[]): Attributes {
  const out: Attributes = {};
  for (const pair of pairs) out[pair.key] = attributeValue(pair.value);
  return out;
}

const durationOf = (start: HrTime, end: HrTime): HrTime => {
  let seconds = end[0] - start[0];
  let nanos = end[1] - start[1];
  if (nanos < 0) {
    seconds--;
    nanos += 1_000_000_000;
  }
  return [seconds, nanos];
};

function readableSpan(span: PbSpan, resource: Resource, scope: ReadableSpan['instrumentationScope']): ReadableSpan {
  const traceId = hex(span.traceId);
  const context: SpanContext = { traceId, spanId: hex(span.spanId), traceFlags: span.flags & 0xff };
  const startTime = hrTime(span.startTimeUnixNano);
  const endTime = hrTime(span.endTimeUnixNano);
  return {
    name: span.name,
    // OTLP kinds are the API's + 1 (OTLP has UNSPECIFIED = 0).
    kind: Math.max(0, span.kind - 1) as SpanKind,
    spanContext: () => context,
    parentSpanContext: span.parentSpanId.length === 0 ? undefined : { traceId, spanId: hex(span.parentSpanId), traceFlags: context.traceFlags },
    startTime,
    endTime,
    duration: durationOf(startTime, endTime),
    status: { code: (span.status?.code ?? 0) as SpanStatusCode, message: span.status?.message ?? '' },
    attributes: attributes(span.attributes),
    links: span.links.map(
      (link): Link => ({
        context: { traceId: hex(link.traceId), spanId: hex(link.spanId), traceFlags: link.flags & 0xff },
        attributes: attributes(link.attributes),
        droppedAttributesCount: link.droppedAttributesCount,
      }),
    ),
    events: span.events.map(
      (event): TimedEvent => ({
        name: event.name,
        time: hrTime(event.timeUnixNano),
        attributes: attributes(event.attributes),
        droppedAttributesCount: event.droppedAttributesCount,
      }),
    ),
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

// ---------------------------------------------------------------------------------------------
// The server.

function sinkPortArg(argv: readonly string[]): number {
  const at = argv.indexOf('--sink-port');
  const port = Number(argv[at + 1]);
  if (at === -1 || !Number.isInteger(port) || port < 1 || port > 65_535) {
    process.stderr.write('usage: baseline-server --sink-port <port>\n');
    process.exit(2);
  }
  return port;
}

const sinkPort = sinkPortArg(process.argv.slice(2));
const bsp = new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `http://127.0.0.1:${sinkPort}` }) });
let handed = 0;
let requests = 0;
let badRequests = 0;

function answer(res: http.ServerResponse, status: number, body: Buffer | string, contentType: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function handle(body: Buffer, res: http.ServerResponse): void {
  let request: PbRequest;
  try {
    request = RequestType.decode(body) as unknown as PbRequest;
  } catch (error) {
    badRequests++;
    return answer(res, 400, `undecodable request: ${(error as Error).message}`, 'text/plain');
  }
  for (const resourceSpans of request.resourceSpans) {
    const resource = resourceFromAttributes(attributes(resourceSpans.resource?.attributes ?? []));
    for (const scopeSpans of resourceSpans.scopeSpans) {
      const scope = {
        name: scopeSpans.scope?.name ?? '',
        version: scopeSpans.scope?.version || undefined,
        schemaUrl: scopeSpans.schemaUrl || undefined,
      };
      for (const span of scopeSpans.spans) {
        bsp.onEnd(readableSpan(span, resource, scope));
        handed++;
      }
    }
  }
  requests++;
  answer(res, 200, EMPTY_RESPONSE, 'application/x-protobuf');
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/v1/traces') {
    req.resume();
    return answer(res, 404, 'not found', 'text/plain');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > MAX_BODY_BYTES) return answer(res, 413, 'request body too large', 'text/plain');
    handle(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), res);
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});

process.once('SIGTERM', () => {
  server.close();
  server.closeIdleConnections();
  const limit = setTimeout(() => {
    process.stderr.write('baseline-server: bsp.shutdown() did not finish in time\n');
    process.exit(1);
  }, SHUTDOWN_LIMIT_MS);
  void bsp.shutdown().then(
    () => {
      clearTimeout(limit);
      process.stdout.write(`${JSON.stringify({ handed, requests, badRequests })}\n`);
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`baseline-server: shutdown failed: ${String(error)}\n`);
      process.stdout.write(`${JSON.stringify({ handed, requests, badRequests })}\n`);
      process.exit(1);
    },
  );
});
