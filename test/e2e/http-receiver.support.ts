// Shared by the OTLP/HTTP receiver tests: the Nest app under test, span fixtures, exporters.
import 'reflect-metadata';
import type { Server } from 'node:http';
import { Global, Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { decodeRpcStatus, decodeRpcStatusJson, decodeTraceResponse, decodeTraceResponseJson, plainSpan } from '#spanring/otlp';
import type { InstrumentationScope, Resource, RpcStatus, Span, TraceExportResponse } from '#spanring/otlp';
import { SILENT_LOGGER, type ExporterRegistration, type PipelineOptionsInput, type SpanExporter } from '#spanring/pipeline';
import { CollectorModule, SpanCollectorService } from '#spanring/nest';
import { HTTP_RECEIVER_APP_OPTIONS, HttpReceiverModule } from '../../apps/collector/src/receiver/http/index.ts';
import { ReceiverStats } from '../../apps/collector/src/telemetry/receiver-stats.ts';

/** ReceiverStats as the service's global TelemetryModule provides it, without the endpoints. */
@Global()
@Module({ providers: [ReceiverStats], exports: [ReceiverStats] })
class ReceiverStatsModule {}

/** Keeps every exported span, decoded (received protobuf spans arrive as WireSpans), for toEqual. */
export class MemoryExporter implements SpanExporter {
  readonly name: string;
  readonly spans: Span[] = [];
  constructor(name = 'memory') {
    this.name = name;
  }
  async export(spans: readonly Span[], _signal?: AbortSignal): Promise<void> {
    for (const span of spans) this.spans.push(plainSpan(span));
  }
  async shutdown(): Promise<void> {}
}

/** Takes `delayMs` per batch: a backend slower than the clients, so rings fill up. */
export class SlowExporter extends MemoryExporter {
  readonly delayMs: number;
  constructor(delayMs: number) {
    super('slow');
    this.delayMs = delayMs;
  }
  override async export(spans: readonly Span[]): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    await super.export(spans);
  }
}

/** Holds every batch until open() is called: the rings cannot drain while it is closed. */
export class GatedExporter extends MemoryExporter {
  private opened!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.opened = resolve));
  constructor() {
    super('gated');
  }
  open(): void {
    this.opened();
  }
  override async export(spans: readonly Span[]): Promise<void> {
    await this.gate;
    await super.export(spans);
  }
}

export interface ReceiverAppOptions {
  readonly exporters: readonly ExporterRegistration[];
  readonly pipeline?: PipelineOptionsInput;
  readonly maxRequestBodyBytes?: number;
  readonly retryAfterSeconds?: number;
  /** Listen on 127.0.0.1:0 (for clients that need a URL); otherwise init() only, for supertest. */
  readonly listen?: boolean;
}

export interface ReceiverApp {
  readonly app: INestApplication;
  readonly server: Server;
  readonly service: SpanCollectorService;
  /** The per-transport counters behind otelcol_receiver_accepted/refused_spans. */
  readonly stats: ReceiverStats;
  /** http://127.0.0.1:port when listening. */
  readonly url: string;
}

export async function startReceiverApp(options: ReceiverAppOptions): Promise<ReceiverApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ReceiverStatsModule,
      CollectorModule.forRoot({
        exporters: options.exporters,
        logger: SILENT_LOGGER,
        pipeline: options.pipeline,
        retryAfterSeconds: options.retryAfterSeconds ?? 2,
        shutdownDeadlineMs: 30_000,
      }),
      HttpReceiverModule.forRoot({ host: '127.0.0.1', port: 0, maxRequestBodyBytes: options.maxRequestBodyBytes ?? 4 * 1024 * 1024 }),
    ],
  }).compile();
  const app = moduleRef.createNestApplication({ ...HTTP_RECEIVER_APP_OPTIONS, logger: false });
  let url = '';
  if (options.listen === true) {
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  } else {
    await app.init();
  }
  return { app, server: app.getHttpServer() as Server, service: app.get(SpanCollectorService), stats: app.get(ReceiverStats), url };
}

export const RESOURCE: Resource = {
  attributes: [
    { key: 'service.name', value: 'e2e' },
    { key: 'host.cores', value: 2n },
  ],
  droppedAttributesCount: 0,
  entityRefs: [],
  schemaUrl: '',
};

export const SCOPE: InstrumentationScope = { name: 'e2e-scope', version: '1.2.3', attributes: [], droppedAttributesCount: 0, schemaUrl: '' };

/** A span named `{prefix}-{seq}` whose ids encode seq (trace id: one trace per 8 spans). */
export function makeSpan(prefix: string, seq: number): Span {
  const traceId = new Uint8Array(16);
  traceId[0] = 0xab;
  new DataView(traceId.buffer).setUint32(12, Math.floor(seq / 8) + 1);
  const spanId = new Uint8Array(8);
  spanId[0] = 0xcd;
  new DataView(spanId.buffer).setUint32(4, seq + 1);
  return {
    resource: RESOURCE,
    scope: SCOPE,
    traceId,
    spanId,
    parentSpanId: undefined,
    name: `${prefix}-${seq}`,
    kind: 2,
    startTimeUnixNano: 1_700_000_000_000_000_000n + BigInt(seq),
    endTimeUnixNano: 1_700_000_000_000_100_000n + BigInt(seq),
    flags: 1,
    statusCode: 0,
    attributes: [
      { key: 'http.request.method', value: 'POST' },
      { key: 'seq', value: BigInt(seq) },
    ],
    extra: undefined,
  };
}

export function makeSpans(prefix: string, count: number, from = 0): Span[] {
  return Array.from({ length: count }, (_, i) => makeSpan(prefix, from + i));
}

/** supertest parser keeping the raw bytes (protobuf and JSON alike). */
export function rawBody(response: unknown, done: (error: Error | null, body: Buffer) => void): void {
  // superagent hands its parser the Node response stream (typed as its own Response).
  const res = response as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => done(null, Buffer.concat(chunks)));
  res.on('error', (error: Error) => done(error, Buffer.alloc(0)));
}

export function parseStatus(contentType: string | undefined, body: Buffer): RpcStatus {
  return contentType?.startsWith('application/x-protobuf') ? decodeRpcStatus(body) : decodeRpcStatusJson(body);
}

export function parseTraceResponse(contentType: string | undefined, body: Buffer): TraceExportResponse {
  return contentType?.startsWith('application/x-protobuf') ? decodeTraceResponse(body) : decodeTraceResponseJson(body);
}

/** Resolves once `condition` holds, polling; throws after `timeoutMs` (a safety cap, not a timing claim). */
export async function until(condition: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
