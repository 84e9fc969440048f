import 'reflect-metadata';
import { connect, constants as http2constants } from 'node:http2';
import type { IncomingHttpHeaders } from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import { deflateSync, gzipSync } from 'node:zlib';
import { Client, compressionAlgorithms, credentials, Metadata, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { Global, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  decodeRetryInfo,
  decodeRpcStatus,
  decodeTraceResponse,
  encodeTraceRequest,
  RETRY_INFO_TYPE_URL,
  TRACE_EXPORT_PATH,
} from '#spanring/otlp';
import type { InstrumentationScope, Resource, Span } from '#spanring/otlp';
import { CollectorModule, SpanCollectorService } from '#spanring/nest';
import { ExportError, SILENT_LOGGER } from '#spanring/pipeline';
import type { ExporterSettingsInput, PipelineOptionsInput, SpanExporter } from '#spanring/pipeline';
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcReceiverModule } from '../../apps/collector/src/receiver/grpc/grpc-receiver.module.ts';
import type { ClientInfo } from '../../apps/collector/src/receiver/grpc/client-leases.ts';
import { OtlpGrpcReceiver, type GrpcReceiverTuning } from '../../apps/collector/src/receiver/grpc/otlp-grpc.receiver.ts';
import { ReceiverStats } from '../../apps/collector/src/telemetry/receiver-stats.ts';
import { MemoryExporter } from '../e2e/http-receiver.support.ts';

const MIB = 1024 * 1024;
const STATUS_DETAILS = 'grpc-status-details-bin';

// ---------------------------------------------------------------------------------------------
// Spans and request bytes

const RESOURCE: Resource = {
  attributes: [{ key: 'service.name', value: 'grpc-receiver-test' }],
  droppedAttributesCount: 0,
  entityRefs: [],
  schemaUrl: '',
};
const SCOPE: InstrumentationScope = { name: 'test-scope', version: '1.0.0', attributes: [], droppedAttributesCount: 0, schemaUrl: '' };

/** Span `seq` of client `client`: the name says whose it is; ids are unique per (client, seq). */
function makeSpan(client: number, seq: number): Span {
  const traceId = new Uint8Array(16);
  traceId[0] = 0xab;
  new DataView(traceId.buffer).setUint32(8, client);
  new DataView(traceId.buffer).setUint32(12, seq);
  const spanId = new Uint8Array(8);
  spanId[0] = client + 1;
  new DataView(spanId.buffer).setUint32(4, seq);
  return {
    resource: RESOURCE,
    scope: SCOPE,
    traceId,
    spanId,
    parentSpanId: undefined,
    name: `c${client}-${seq}`,
    kind: 2,
    startTimeUnixNano: 1_700_000_000_000_000_000n + BigInt(seq),
    endTimeUnixNano: 1_700_000_000_000_001_000n + BigInt(seq),
    flags: 1,
    statusCode: 0,
    attributes: [{ key: 'seq', value: BigInt(seq) }],
    extra: undefined,
  };
}

function spansOf(client: number, from: number, count: number): Span[] {
  return Array.from({ length: count }, (_, i) => makeSpan(client, from + i));
}

function requestBytes(spans: readonly Span[]): Buffer {
  const bytes = encodeTraceRequest(spans);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function varint(value: number): number[] {
  const out: number[] = [];
  while (value > 0x7f) {
    out.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  out.push(value);
  return out;
}

/** A length-delimited protobuf field. */
function lenField(field: number, payload: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([...varint((field << 3) | 2), ...varint(payload.length)]), payload]);
}

/**
 * `request` grown to exactly `total` bytes with an unknown top-level field (number 1000),
 * which decoders skip: a valid request of a chosen size.
 */
function padRequest(request: Buffer, total: number): Buffer {
  const tag = varint((1000 << 3) | 2);
  for (let filler = total - request.length - tag.length - 1; filler >= 0; filler--) {
    const padded = Buffer.concat([request, lenField(1000, Buffer.alloc(filler, 0x61))]);
    if (padded.length === total) return padded;
  }
  throw new Error(`cannot pad ${request.length} bytes to ${total}`);
}

// ---------------------------------------------------------------------------------------------
// Exporters

/** Holds every batch until open() (or the pipeline's abort), so the rings fill up. */
class GatedExporter extends MemoryExporter {
  private opened = false;
  private readonly waiters: (() => void)[] = [];

  open(): void {
    this.opened = true;
    for (const wake of this.waiters.splice(0)) wake();
  }

  override async export(spans: readonly Span[], signal: AbortSignal): Promise<void> {
    if (!this.opened && !signal.aborted) {
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    if (signal.aborted) throw new ExportError('aborted', { retryable: false });
    await super.export(spans);
  }
}

/** Takes `delayMs` per batch: a backend slower than the flood. */
class SlowExporter extends MemoryExporter {
  private readonly delayMs: number;
  constructor(delayMs: number) {
    super();
    this.delayMs = delayMs;
  }
  override async export(spans: readonly Span[], signal: AbortSignal): Promise<void> {
    await sleep(this.delayMs, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) throw new ExportError('aborted', { retryable: false });
    await super.export(spans);
  }
}

// ---------------------------------------------------------------------------------------------
// The service under test

interface AppOptions {
  readonly exporter: SpanExporter;
  readonly exporterSettings?: ExporterSettingsInput;
  readonly pipeline?: PipelineOptionsInput;
  readonly maxRecvMsgSizeBytes?: number;
  readonly retryAfterSeconds?: number;
  readonly shutdownDeadlineMs?: number;
  readonly tuning?: GrpcReceiverTuning;
}

interface RunningApp {
  readonly moduleRef: TestingModule;
  readonly receiver: OtlpGrpcReceiver;
  readonly service: SpanCollectorService;
  readonly stats: ReceiverStats;
  readonly port: number;
  close(): Promise<void>;
}

const openApps: RunningApp[] = [];
const openClients: Client[] = [];

afterEach(async () => {
  for (const client of openClients.splice(0)) client.close();
  for (const app of openApps.splice(0)) await app.close();
});

/** Stands in for the (global) TelemetryModule's ReceiverStats. */
@Global()
@Module({ providers: [ReceiverStats], exports: [ReceiverStats] })
class ReceiverStatsModule {}

async function startApp(options: AppOptions): Promise<RunningApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ReceiverStatsModule,
      CollectorModule.forRoot({
        exporters: [{ exporter: options.exporter, settings: options.exporterSettings }],
        logger: SILENT_LOGGER,
        pipeline: options.pipeline ?? { batch: { timeoutMs: 10 } },
        retryAfterSeconds: options.retryAfterSeconds,
        shutdownDeadlineMs: options.shutdownDeadlineMs ?? 10_000,
      }),
      GrpcReceiverModule.forRoot(
        { host: '127.0.0.1', port: 0, maxRecvMsgSizeBytes: options.maxRecvMsgSizeBytes ?? 64 * MIB },
        options.tuning,
      ),
    ],
  }).compile();
  moduleRef.useLogger(false);
  await moduleRef.init();
  const receiver = moduleRef.get(OtlpGrpcReceiver);
  let closed: Promise<void> | undefined;
  const app: RunningApp = {
    moduleRef,
    receiver,
    service: moduleRef.get(SpanCollectorService),
    stats: moduleRef.get(ReceiverStats),
    port: receiver.port,
    close: () => (closed ??= moduleRef.close()),
  };
  openApps.push(app);
  return app;
}

// ---------------------------------------------------------------------------------------------
// Clients

/** A grpc-js client with its own connection (no subchannel shared with other clients). */
function grpcClient(port: number, options: { gzip?: boolean } = {}): Client {
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.enable_retries': 0,
    'grpc.max_send_message_length': -1,
    ...(options.gzip ? { 'grpc.default_compression_algorithm': compressionAlgorithms.gzip } : {}),
  });
  openClients.push(client);
  return client;
}

interface CallResult {
  readonly code: status;
  readonly details: string;
  readonly trailers: Metadata | undefined;
  readonly response: Buffer | undefined;
}

const passThrough = (bytes: Buffer): Buffer => bytes;

/** One Export call; never rejects. The deadline bounds every call a test makes. */
function exportCall(client: Client, request: Buffer, deadlineMs = 20_000, headers: Record<string, string> = {}): Promise<CallResult> {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.add(key, value);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      TRACE_EXPORT_PATH,
      passThrough,
      passThrough,
      request,
      metadata,
      { deadline: Date.now() + deadlineMs },
      (error: ServiceError | null, response?: Buffer) => {
        if (error) resolve({ code: error.code, details: error.details, trailers: error.metadata, response: undefined });
        else resolve({ code: status.OK, details: '', trailers: undefined, response });
      },
    );
  });
}

/** The RetryInfo delay (seconds) carried in an UNAVAILABLE answer's status details. */
function retryDelaySeconds(result: CallResult): bigint | undefined {
  const raw = result.trailers?.get(STATUS_DETAILS)[0];
  if (!(raw instanceof Buffer)) return undefined;
  const rpcStatus = decodeRpcStatus(raw);
  expect(rpcStatus.code).toBe(status.UNAVAILABLE);
  expect(rpcStatus.message).toBe(result.details);
  expect(rpcStatus.details).toHaveLength(1);
  expect(rpcStatus.details[0]!.typeUrl).toBe(RETRY_INFO_TYPE_URL);
  return decodeRetryInfo(rpcStatus.details[0]!.value).retryDelay?.seconds;
}

interface RawResult {
  readonly status: number | undefined;
  readonly message: string;
}

/**
 * One Export call made by hand over node:http2, so the test controls the gRPC frame: the
 * compressed flag, the grpc-encoding header and the payload bytes, valid or not.
 */
function rawGrpcCall(port: number, payload: Buffer, frame: { compressed: boolean; encoding?: string }): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const headers: Record<string, string> = {
      [http2constants.HTTP2_HEADER_METHOD]: 'POST',
      [http2constants.HTTP2_HEADER_PATH]: TRACE_EXPORT_PATH,
      [http2constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      te: 'trailers',
    };
    if (frame.encoding !== undefined) headers['grpc-encoding'] = frame.encoding;
    const stream = session.request(headers);
    let answer: IncomingHttpHeaders = {};
    stream.on('response', (head) => (answer = { ...answer, ...head }));
    stream.on('trailers', (trailers) => (answer = { ...answer, ...trailers }));
    stream.on('data', () => {});
    stream.on('error', reject);
    stream.on('close', () => {
      session.close();
      const code = answer['grpc-status'];
      resolve({
        status: code === undefined ? undefined : Number(code),
        message: decodeURIComponent(String(answer['grpc-message'] ?? '')),
      });
    });
    const header = Buffer.alloc(5);
    header.writeUInt8(frame.compressed ? 1 : 0, 0);
    header.writeUInt32BE(payload.length, 1);
    stream.end(Buffer.concat([header, payload]));
  });
}

/** Polls `condition` a bounded number of times; false if it never held. */
async function eventually(condition: () => boolean, attempts = 400, everyMs = 10): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (condition()) return true;
    await sleep(everyMs);
  }
  return condition();
}

/** One single-span call from `tenant` (x-scope-orgid metadata), or from no tenant. */
function tenantCall(client: Client, tenant: string | undefined, seq: number): Promise<CallResult> {
  return exportCall(client, requestBytes(spansOf(16, seq, 1)), 20_000, tenant === undefined ? {} : { 'x-scope-orgid': tenant });
}

// ---------------------------------------------------------------------------------------------

describe('OTLP/gRPC receiver', () => {
  it('answers OK with an empty ExportTraceServiceResponse and delivers the spans unchanged', async () => {
    const exporter = new MemoryExporter();
    const app = await startApp({ exporter });
    const client = grpcClient(app.port);
    const sent = spansOf(1, 0, 25);

    const result = await exportCall(client, requestBytes(sent));

    expect(result.code).toBe(status.OK);
    expect(result.response).toHaveLength(0);
    expect(decodeTraceResponse(result.response!).partialSuccess).toBeUndefined();
    await app.close();
    expect(exporter.spans.map((span) => span.name)).toEqual(sent.map((span) => span.name));
    expect(exporter.spans).toEqual(sent);
  });

  it('answers OK to a request with no spans', async () => {
    const app = await startApp({ exporter: new MemoryExporter() });
    const result = await exportCall(grpcClient(app.port), Buffer.alloc(0));
    expect(result.code).toBe(status.OK);
    expect(app.receiver.clients()).toEqual([]);
  });

  it('accepts gzip-compressed requests', async () => {
    const exporter = new MemoryExporter();
    const app = await startApp({ exporter });
    const sent = spansOf(2, 0, 200);

    const result = await exportCall(grpcClient(app.port, { gzip: true }), requestBytes(sent));

    expect(result.code).toBe(status.OK);
    await app.close();
    expect(exporter.spans).toEqual(sent);
  });

  it('answers INVALID_ARGUMENT with the decoder message naming the bad field', async () => {
    const exporter = new MemoryExporter();
    const app = await startApp({ exporter });
    const client = grpcClient(app.port);
    // ResourceSpans { ScopeSpans { Span { trace_id: 3 bytes } } }
    const badTraceId = lenField(1, lenField(2, lenField(2, lenField(1, new Uint8Array([1, 2, 3])))));

    const result = await exportCall(client, badTraceId);

    expect(result.code).toBe(status.INVALID_ARGUMENT);
    expect(result.details).toMatch(/^invalid OTLP message at resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId: /);
    expect(result.trailers?.get(STATUS_DETAILS)).toEqual([]);

    const garbage = await exportCall(client, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    expect(garbage.code).toBe(status.INVALID_ARGUMENT);
    expect(garbage.details).toMatch(/^invalid OTLP message/);

    await app.close();
    expect(exporter.spans).toEqual([]);
  });

  it('accepts a message of exactly the size limit and answers RESOURCE_EXHAUSTED, without RetryInfo, one byte over', async () => {
    const limit = 4096;
    const exporter = new MemoryExporter();
    const app = await startApp({ exporter, maxRecvMsgSizeBytes: limit });
    const client = grpcClient(app.port);
    const request = requestBytes(spansOf(3, 0, 3));

    const atLimit = await exportCall(client, padRequest(request, limit));
    const overLimit = await exportCall(client, padRequest(request, limit + 1));
    // Small on the wire, over the limit once decompressed.
    const gzipOverLimit = await exportCall(grpcClient(app.port, { gzip: true }), padRequest(request, limit + 1));

    expect(atLimit.code).toBe(status.OK);
    for (const result of [overLimit, gzipOverLimit]) {
      expect(result.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(result.trailers?.get(STATUS_DETAILS) ?? []).toEqual([]);
    }
    await app.close();
    expect(exporter.spans).toHaveLength(3);
  });

  it('accepts messages larger than grpc-js default 4 MiB under the 64 MiB default', async () => {
    const exporter = new MemoryExporter();
    const app = await startApp({ exporter, maxRecvMsgSizeBytes: 64 * MIB });
    const request = padRequest(requestBytes(spansOf(4, 0, 2)), 5 * MIB);

    const result = await exportCall(grpcClient(app.port), request);

    expect(result.code).toBe(status.OK);
    await app.close();
    expect(exporter.spans).toHaveLength(2);
  });

  it('answers UNAVAILABLE with RetryInfo when the pipeline pushes back, and accepts again once it drains', async () => {
    const exporter = new GatedExporter();
    const app = await startApp({
      exporter,
      exporterSettings: { queue: { queueSize: 1, numConsumers: 1 }, retry: { enabled: false } },
      pipeline: { collector: { ringBits: 2, backpressureTimeoutMs: 50 }, batch: { sendBatchSize: 4, sendBatchMaxSize: 4, timeoutMs: 5 } },
      retryAfterSeconds: 7,
    });
    const client = grpcClient(app.port);

    // Ring (4) + batcher + queue + the export in progress hold a few requests; then push back.
    let pushedBack: CallResult | undefined;
    let accepted = 0;
    for (let i = 0; i < 100 && pushedBack === undefined; i++) {
      const result = await exportCall(client, requestBytes(spansOf(5, i * 4, 4)));
      if (result.code === status.OK) accepted++;
      else pushedBack = result;
    }

    expect(pushedBack?.code).toBe(status.UNAVAILABLE);
    expect(pushedBack?.details).toMatch(/saturated/);
    expect(retryDelaySeconds(pushedBack!)).toBe(7n);

    exporter.open();
    const after = await exportCall(client, requestBytes(spansOf(5, 1000, 4)));
    expect(after.code).toBe(status.OK);
    await app.close();
    // Refused requests left nothing behind: exactly the accepted ones were delivered.
    expect(exporter.spans).toHaveLength((accepted + 1) * 4);
    expect(app.stats.snapshot().get('grpc')).toEqual({ accepted: (accepted + 1) * 4, refused: 4 });
  });

  it('answers UNAVAILABLE with RetryInfo once the collector is shutting down', async () => {
    const app = await startApp({ exporter: new MemoryExporter() });
    const client = grpcClient(app.port);
    expect((await exportCall(client, requestBytes(spansOf(6, 0, 1)))).code).toBe(status.OK);

    await app.service.shutdown();
    const result = await exportCall(client, requestBytes(spansOf(6, 1, 1)));

    expect(result.code).toBe(status.UNAVAILABLE);
    expect(result.details).toMatch(/shutting down/);
    expect(retryDelaySeconds(result)).toBe(1n);
  });

  it('survives corrupt compressed messages: each call fails with INTERNAL, the server keeps serving', async () => {
    const exporter = new MemoryExporter();
    const app = await startApp({ exporter });
    const valid = requestBytes(spansOf(7, 0, 2));
    const gzipped = gzipSync(valid);
    const badCrc = Buffer.from(gzipped);
    badCrc[badCrc.length - 6]! ^= 0xff;
    const corrupt: [string, Buffer, string][] = [
      ['garbage', Buffer.from('these bytes are not gzip at all'), 'gzip'],
      ['truncated', gzipped.subarray(0, gzipped.length - 5), 'gzip'],
      ['bad crc', badCrc, 'gzip'],
      ['header only', gzipped.subarray(0, 10), 'gzip'],
      ['empty', Buffer.alloc(0), 'gzip'],
      ['deflate garbage', Buffer.from('not deflate either'), 'deflate'],
    ];

    for (const [name, payload, encoding] of corrupt) {
      const result = await rawGrpcCall(app.port, payload, { compressed: true, encoding });
      expect({ name, status: result.status }).toEqual({ name, status: status.INTERNAL });
      expect(result.message).toMatch(/decompress/);
    }
    // A compressed flag without grpc-encoding reaches our decoder as it is: bad data.
    const unflagged = await rawGrpcCall(app.port, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), { compressed: true });
    expect(unflagged.status).toBe(status.INVALID_ARGUMENT);
    const unsupported = await rawGrpcCall(app.port, gzipped, { compressed: true, encoding: 'br' });
    expect(unsupported.status).toBe(status.UNIMPLEMENTED);

    // The same path, well-formed, over the raw client and over grpc-js: both accepted.
    expect((await rawGrpcCall(app.port, gzipped, { compressed: true, encoding: 'gzip' })).status).toBe(status.OK);
    expect((await rawGrpcCall(app.port, deflateSync(valid), { compressed: true, encoding: 'deflate' })).status).toBe(status.OK);
    expect((await exportCall(grpcClient(app.port), valid)).code).toBe(status.OK);
    await app.close();
    expect(exporter.spans).toHaveLength(6);
  });

  it('gives each connection its own producer, shares it among one connection’s calls, and releases it when idle', async () => {
    const app = await startApp({ exporter: new MemoryExporter(), tuning: { clientIdleMs: 50 } });
    const first = grpcClient(app.port);
    const second = grpcClient(app.port);

    await Promise.all([
      exportCall(first, requestBytes(spansOf(8, 0, 1))),
      exportCall(first, requestBytes(spansOf(8, 1, 1))),
      exportCall(second, requestBytes(spansOf(9, 0, 1))),
    ]);
    const clients = app.receiver.clients();

    expect(clients).toHaveLength(2);
    expect(clients[0]!.key).not.toBe(clients[1]!.key);
    expect(clients[0]!.producerId).not.toBe(clients[1]!.producerId);
    expect(app.service.clientCount).toBe(2);

    // No call in flight for clientIdleMs: both leases go back to the collector.
    expect(await eventually(() => app.receiver.clients().length === 0 && app.service.clientCount === 0)).toBe(true);
    // A client that comes back gets a producer again.
    expect((await exportCall(first, requestBytes(spansOf(8, 2, 1)))).code).toBe(status.OK);
    expect(app.receiver.clients()).toHaveLength(1);
  });

  it('answers a larger-than-ring request cut short midway with partial_success, not UNAVAILABLE', async () => {
    const exporter = new GatedExporter();
    const app = await startApp({
      exporter,
      exporterSettings: { queue: { queueSize: 1, numConsumers: 1 }, retry: { enabled: false } },
      pipeline: { collector: { ringBits: 2, backpressureTimeoutMs: 50 }, batch: { sendBatchSize: 4, sendBatchMaxSize: 4, timeoutMs: 5 } },
    });
    const sent = spansOf(15, 0, 100);

    const result = await exportCall(grpcClient(app.port), requestBytes(sent));

    // Some spans got in before the (shut) exporter stopped the pipeline, the rest did not:
    // retrying the request would duplicate the first part, so it must not look retryable.
    expect(result.code).toBe(status.OK);
    const partial = decodeTraceResponse(result.response!).partialSuccess;
    expect(partial).toBeDefined();
    const rejected = Number(partial!.rejectedSpans);
    expect(rejected).toBeGreaterThan(0);
    expect(rejected).toBeLessThan(sent.length);
    expect(partial!.errorMessage).toMatch(new RegExp(`^${rejected} of 100 spans were rejected: .*saturated`));
    expect(app.stats.snapshot().get('grpc')).toEqual({ accepted: sent.length - rejected, refused: rejected });

    exporter.open();
    await app.close();
    expect(exporter.spans).toEqual(sent.slice(0, sent.length - rejected));
  });

  it('keys clients by the x-scope-orgid tenant when present: one producer per tenant across connections', async () => {
    const app = await startApp({ exporter: new MemoryExporter() });
    const first = grpcClient(app.port);
    const second = grpcClient(app.port);
    const results = await Promise.all([
      tenantCall(first, 'acme', 0),
      tenantCall(second, 'acme', 1),
      tenantCall(first, 'globex', 2),
      tenantCall(second, undefined, 3),
    ]);

    expect(results.map((result) => result.code)).toEqual([status.OK, status.OK, status.OK, status.OK]);
    const clients = app.receiver.clients();
    expect(clients.map((client) => client.key).toSorted()).toEqual([
      expect.stringMatching(/^grpc-connection:127\.0\.0\.1:\d+$/),
      'grpc-tenant:acme',
      'grpc-tenant:globex',
    ]);
    expect(new Set(clients.map((client) => client.producerId)).size).toBe(3);

    const invalid = await tenantCall(first, 'two words', 4);
    expect(invalid.code).toBe(status.INVALID_ARGUMENT);
    expect(invalid.details).toMatch(/x-scope-orgid/);
  });

  it('keeps accepting a slow client’s spans while a flooding client on another connection is pushed back', async () => {
    const exporter = new SlowExporter(20);
    const app = await startApp({
      exporter,
      exporterSettings: { queue: { queueSize: 1, numConsumers: 1 }, retry: { enabled: false } },
      pipeline: {
        // Rings of 32 spans; the consumer takes at most 8 per ring per round, 16 per turn.
        collector: { ringBits: 5, maxConsumePerRing: 8, maxSpansPerTurn: 16, backpressureTimeoutMs: 300 },
        batch: { sendBatchSize: 16, sendBatchMaxSize: 16, timeoutMs: 5 },
      },
    });
    const flooder = grpcClient(app.port);
    const slow = grpcClient(app.port);
    const FLOOD = 10;
    const SLOW = 11;
    const SPANS_PER_REQUEST = 4;

    // The flood: 64 concurrent streams on one connection, each sending small requests back to
    // back: far more than the exporter's ~800 spans/s, and requests as small as the slow
    // client's, so in a shared ring the flood would take the freed slots as often as the slow
    // client (64 waiters to 1) and the slow client's requests would time out too.
    // It runs until the slow client is done (or its bound).
    const progress = { slowDone: false };
    let floodSeq = 0;
    const flood = { ok: 0, unavailable: 0, other: [] as CallResult[], retryDelays: new Set<bigint | undefined>() };
    const floodTicks: (() => void)[] = [];
    const floodLoop = async (): Promise<void> => {
      for (let i = 0; i < 100 && !progress.slowDone; i++) {
        const result = await exportCall(flooder, requestBytes(spansOf(FLOOD, floodSeq++ * SPANS_PER_REQUEST, SPANS_PER_REQUEST)));
        if (result.code === status.OK) flood.ok++;
        else if (result.code === status.UNAVAILABLE) {
          flood.unavailable++;
          flood.retryDelays.add(retryDelaySeconds(result));
        } else flood.other.push(result);
        for (const tick of floodTicks.splice(0)) tick();
      }
    };
    const floodDone = Promise.all(Array.from({ length: 64 }, floodLoop));
    /** Resolves at the flood's next answer (or soon, if the flood has ended). */
    const nextFloodAnswer = () => Promise.race([new Promise<void>((resolve) => floodTicks.push(resolve)), floodDone.then(() => undefined)]);

    // The flood is being pushed back before the slow client starts.
    expect(await eventually(() => flood.unavailable > 0, 1000)).toBe(true);

    // The slow client: small requests, each after another flood answer so the two overlap, at
    // least 20 (80 spans, more than a ring holds, so they only fit because its ring keeps
    // draining) and until the flood has been pushed back meanwhile (bounded).
    const unavailableBefore = flood.unavailable;
    const slowResults: CallResult[] = [];
    let clientsDuringSlow: ClientInfo[] = [];
    for (let i = 0; i < 200 && (i < 20 || flood.unavailable === unavailableBefore); i++) {
      await nextFloodAnswer();
      slowResults.push(await exportCall(slow, requestBytes(spansOf(SLOW, i * SPANS_PER_REQUEST, SPANS_PER_REQUEST))));
      if (i === 0) clientsDuringSlow = app.receiver.clients();
    }
    const unavailableDuringSlow = flood.unavailable - unavailableBefore;
    progress.slowDone = true;
    await floodDone;

    // Every slow request accepted, each within the backpressure bound (300 ms: a longer wait
    // would have been answered UNAVAILABLE), while the flood was being pushed back.
    expect(slowResults.map((result) => result.code)).toEqual(Array(slowResults.length).fill(status.OK));
    expect(unavailableDuringSlow).toBeGreaterThan(0);
    expect(flood.other).toEqual([]);
    expect(flood.retryDelays).toEqual(new Set([1n]));
    // Two connections, two rings.
    expect(new Set(clientsDuringSlow.map((client) => client.producerId)).size).toBe(2);

    await app.close();
    const names = exporter.spans.map((span) => span.name);
    expect(names.filter((name) => name.startsWith(`c${SLOW}-`)).toSorted()).toEqual(
      spansOf(SLOW, 0, slowResults.length * SPANS_PER_REQUEST)
        .map((span) => span.name)
        .toSorted(),
    );
    // Pushed-back requests left nothing behind; accepted ones are all delivered.
    expect(names.filter((name) => name.startsWith(`c${FLOOD}-`))).toHaveLength(flood.ok * SPANS_PER_REQUEST);
  });

  it('on shutdown refuses new connections, lets in-flight calls finish, then drains', async () => {
    const exporter = new GatedExporter();
    const app = await startApp({
      exporter,
      exporterSettings: { queue: { queueSize: 1, numConsumers: 1 } },
      pipeline: { collector: { ringBits: 2, backpressureTimeoutMs: 30_000 }, batch: { sendBatchSize: 4, sendBatchMaxSize: 4, timeoutMs: 5 } },
    });
    const client = grpcClient(app.port);
    const port = app.port;

    // More than ring, batcher, queue and export can hold: some calls wait for ring space.
    const calls = Array.from({ length: 12 }, (_, i) => exportCall(client, requestBytes(spansOf(12, i * 4, 4))));
    expect(await eventually(() => app.service.collector.metrics.backpressureWaits > 0)).toBe(true);
    expect(app.receiver.clients()[0]!.inFlight).toBeGreaterThan(0);

    const closing = app.close();
    // The port reads as gone once the receiver has stopped listening.
    expect(
      await eventually(() => {
        try {
          return app.receiver.port !== port;
        } catch {
          return true;
        }
      }),
    ).toBe(true);
    const late = await exportCall(grpcClient(port), requestBytes(spansOf(13, 0, 1)), 5_000);
    expect(late.code).toBe(status.UNAVAILABLE);

    exporter.open();
    const results = await Promise.all(calls);
    await closing;

    expect(results.map((result) => result.code)).toEqual(Array(12).fill(status.OK));
    expect(exporter.spans).toHaveLength(48);
    expect(app.service.clientCount).toBe(0);
  });

  it('cancels calls still in flight after shutdownGraceMs', async () => {
    const exporter = new GatedExporter();
    const app = await startApp({
      exporter,
      exporterSettings: { queue: { queueSize: 1, numConsumers: 1 } },
      pipeline: { collector: { ringBits: 2, backpressureTimeoutMs: 30_000 }, batch: { sendBatchSize: 4, sendBatchMaxSize: 4, timeoutMs: 5 } },
      tuning: { shutdownGraceMs: 100 },
    });
    const client = grpcClient(app.port);
    const calls = Array.from({ length: 12 }, (_, i) => exportCall(client, requestBytes(spansOf(14, i * 4, 4))));
    expect(await eventually(() => app.service.collector.metrics.backpressureWaits > 0)).toBe(true);

    // The exporter stays shut while the receiver stops: the waiting calls cannot finish, so
    // after the grace period the receiver cancels them rather than hold the shutdown.
    const closing = app.close();
    const results = await Promise.all(calls);
    exporter.open();
    await closing;

    const codes = results.map((result) => result.code);
    expect(codes).toContain(status.OK);
    expect(codes.filter((code) => code !== status.OK).length).toBeGreaterThan(0);
    expect(app.service.accepting).toBe(false);
    expect(app.service.clientCount).toBe(0);
  });
});
