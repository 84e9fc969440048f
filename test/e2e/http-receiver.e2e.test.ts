import 'reflect-metadata';
import { Agent, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { createGzip, gzipSync } from 'node:zlib';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRetryInfo, decodeTraceRequest, encodeTraceRequest, encodeTraceRequestJson, RETRY_INFO_TYPE_URL } from '#spanring/otlp';
import type { RpcStatus, Span } from '#spanring/otlp';
import { SILENT_LOGGER } from '#spanring/pipeline';
import { CollectorModule, SpanCollectorService } from '#spanring/nest';
import { HttpReceiverModule } from '../../apps/collector/src/receiver/http/index.ts';
import {
  GatedExporter,
  makeSpans,
  MemoryExporter,
  parseStatus,
  parseTraceResponse,
  rawBody,
  startReceiverApp,
  until,
  type ReceiverApp,
} from './http-receiver.support.ts';

const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';
const LIMIT = 64 * 1024;

type Format = 'protobuf' | 'json';
const FORMATS: readonly Format[] = ['protobuf', 'json'];

function contentTypeOf(format: Format): string {
  return format === 'protobuf' ? PROTOBUF : JSON_TYPE;
}

function encode(format: Format, spans: readonly Span[]): Buffer {
  return format === 'protobuf' ? Buffer.from(encodeTraceRequest(spans)) : Buffer.from(encodeTraceRequestJson(spans));
}

/** The spans as the receiver's decoder yields them (shared resource/scope objects, canonical extra). */
function canonical(spans: readonly Span[]): Span[] {
  return decodeTraceRequest(encodeTraceRequest(spans));
}

function post(
  target: Server | string,
  contentType: string | undefined,
  body: Buffer | string,
  headers: Record<string, string> = {},
  agent?: Agent,
) {
  let test = request(target).post('/v1/traces');
  if (agent !== undefined) test = test.agent(agent);
  if (contentType !== undefined) test = test.set('Content-Type', contentType);
  for (const [name, value] of Object.entries(headers)) test = test.set(name, value);
  // Bytes go out as they are: superagent would JSON-serialize a Buffer sent as application/json.
  return test
    .serialize((data: unknown) => data as string)
    .send(typeof body === 'string' ? Buffer.from(body) : body)
    .buffer(true)
    .parse(rawBody);
}

function statusOf(res: { headers: Record<string, string>; body: Buffer }): RpcStatus {
  return parseStatus(res.headers['content-type'], res.body);
}

interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A request written chunk by chunk (no Content-Length: chunked transfer), for streaming limits. */
function streamRequest(url: string, headers: Record<string, string>, chunks: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    const req = httpRequest(`${url}/v1/traces`, { method: 'POST', headers, agent: new Agent({ keepAlive: false }) }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    // The server may answer and close before the upload ends; the answer is what counts.
    req.on('error', () => undefined);
    void (async () => {
      for await (const chunk of chunks) {
        if (req.destroyed) return;
        if (!req.write(chunk)) await new Promise((drained) => req.once('drain', drained));
      }
      req.end();
    })().catch(() => undefined);
  });
}

/** A gzip stream of `totalBytes` zeros: a few hundred KB that inflate to `totalBytes`. */
async function* gzipBomb(totalBytes: number): AsyncGenerator<Buffer> {
  const gzip = createGzip({ level: 9 });
  const zeros = Buffer.alloc(1024 * 1024);
  const feeding = (async () => {
    for (let written = 0; written < totalBytes; written += zeros.length) {
      if (!gzip.write(zeros)) await new Promise((resolve) => gzip.once('drain', resolve));
    }
    gzip.end();
  })();
  for await (const chunk of gzip) yield chunk as Buffer;
  await feeding;
}

describe('OTLP/HTTP receiver (POST /v1/traces)', () => {
  let receiver: ReceiverApp;
  let exporter: MemoryExporter;
  let server: Server;

  beforeAll(async () => {
    exporter = new MemoryExporter();
    receiver = await startReceiverApp({
      exporters: [{ exporter }],
      pipeline: { batch: { timeoutMs: 1 } },
      maxRequestBodyBytes: LIMIT,
      listen: true,
    });
    server = receiver.server;
  });

  afterAll(async () => {
    await receiver?.app.close();
  });

  /** Waits until the exporter holds the spans named `prefix-*` and returns them in arrival order. */
  async function exported(prefix: string, count: number): Promise<Span[]> {
    const mine = () => exporter.spans.filter((span) => span.name.startsWith(`${prefix}-`));
    await until(() => mine().length >= count, 20_000, `${count} spans named ${prefix}-*`);
    return mine();
  }

  describe.each(FORMATS)('%s', (format) => {
    const type = contentTypeOf(format);

    it('accepts spans: 200, an ExportTraceServiceResponse without partial_success, in the request encoding', async () => {
      const spans = makeSpans(`ok-${format}`, 20);
      const res = await post(server, type, encode(format, spans));
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe(type);
      expect(parseTraceResponse(res.headers['content-type'], res.body)).toEqual({ partialSuccess: undefined });
      // Full success writes no partial_success field at all.
      expect(res.body.toString()).toBe(format === 'protobuf' ? '' : '{}');
      expect(await exported(`ok-${format}`, 20)).toEqual(canonical(spans));
    });

    it('accepts a gzip body (Content-Encoding in any case) and identity', async () => {
      const spans = makeSpans(`gz-${format}`, 30);
      const gz = await post(server, type, gzipSync(encode(format, spans.slice(0, 15))), { 'Content-Encoding': 'GZip' });
      const id = await post(server, type, encode(format, spans.slice(15)), { 'Content-Encoding': 'identity' });
      expect([gz.status, id.status]).toEqual([200, 200]);
      expect(gz.headers['content-type']).toBe(type);
      expect(await exported(`gz-${format}`, 30)).toEqual(canonical(spans));
    });

    it('accepts a chunked upload without Content-Length, gzip-compressed', async () => {
      const spans = makeSpans(`chunked-${format}`, 40);
      const body = gzipSync(encode(format, spans));
      const pieces = [body.subarray(0, 10), body.subarray(10, 100), body.subarray(100)];
      const res = await streamRequest(receiver.url, { 'Content-Type': type, 'Content-Encoding': 'gzip' }, pieces);
      expect(res.status).toBe(200);
      expect(await exported(`chunked-${format}`, 40)).toEqual(canonical(spans));
    });

    it('answers a request without spans with 200', async () => {
      const res = await post(server, type, format === 'protobuf' ? Buffer.alloc(0) : '{"resourceSpans":[]}');
      expect(res.status).toBe(200);
      expect(parseTraceResponse(res.headers['content-type'], res.body).partialSuccess).toBeUndefined();
    });

    it('answers undecodable data with 400 and a google.rpc.Status in the request encoding', async () => {
      const garbage = format === 'protobuf' ? Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]) : Buffer.from('{"resourceSpans": [');
      const res = await post(server, type, garbage);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toBe(type);
      const status = statusOf(res);
      expect(status.code).toBe(3); // INVALID_ARGUMENT
      expect(status.message).toMatch(/invalid OTLP message/);
    });

    it('answers invalid data (a 5-byte trace id) with 400 naming the field', async () => {
      const [span] = makeSpans(`bad-${format}`, 1);
      let payload: Buffer;
      if (format === 'protobuf') {
        // request { resource_spans(1) { scope_spans(2) { spans(2) { trace_id(1): 5 bytes, span_id(2): 8 bytes } } } }
        const spanBytes = [0x0a, 0x05, 1, 2, 3, 4, 5, 0x12, 0x08, 1, 2, 3, 4, 5, 6, 7, 8];
        const scopeSpans = [0x12, spanBytes.length, ...spanBytes];
        const resourceSpans = [0x12, scopeSpans.length, ...scopeSpans];
        payload = Buffer.from([0x0a, resourceSpans.length, ...resourceSpans]);
      } else {
        const json = JSON.parse(encodeTraceRequestJson([span!])) as { resourceSpans: { scopeSpans: { spans: { traceId: string }[] }[] }[] };
        json.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId = '0102030405';
        payload = Buffer.from(JSON.stringify(json));
      }
      const res = await post(server, type, payload);
      expect(res.status).toBe(400);
      const status = statusOf(res);
      expect(status.code).toBe(3);
      expect(status.message).toMatch(/resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId/);
    });

    it('answers a corrupt or truncated gzip body with 400', async () => {
      const good = gzipSync(encode(format, makeSpans(`corrupt-${format}`, 5)));
      const corrupt = Buffer.from(good);
      corrupt.fill(0x55, 12, 40);
      for (const body of [corrupt, good.subarray(0, good.length - 9), Buffer.from('not gzip at all')]) {
        const res = await post(server, type, body, { 'Content-Encoding': 'gzip' });
        expect(res.status).toBe(400);
        expect(res.headers['content-type']).toBe(type);
        expect(statusOf(res)).toMatchObject({ code: 3, message: expect.stringMatching(/not valid gzip/) });
      }
    });

    it('applies the body limit to the decompressed size, exactly: limit bytes pass, one more is 413', async () => {
      const spans = makeSpans(`limit-${format}`, 3);
      const base = encode(format, spans);
      // Pad to exactly LIMIT bytes: JSON with trailing whitespace, protobuf with an unknown field.
      const exact = format === 'json' ? Buffer.concat([base, Buffer.alloc(LIMIT - base.length, 0x20)]) : padProtobuf(base, LIMIT);
      expect(exact.length).toBe(LIMIT);
      const over = format === 'json' ? Buffer.concat([exact, Buffer.from(' ')]) : padProtobuf(base, LIMIT + 1);
      const ok = await post(server, type, gzipSync(exact), { 'Content-Encoding': 'gzip' });
      expect(ok.status).toBe(200);
      expect(await exported(`limit-${format}`, 3)).toEqual(canonical(spans));
      const tooLarge = await post(server, type, gzipSync(over), { 'Content-Encoding': 'gzip' });
      expect(tooLarge.status).toBe(413);
      expect(tooLarge.headers['content-type']).toBe(type);
      expect(statusOf(tooLarge)).toMatchObject({ code: 8, message: expect.stringMatching(/decompressed request body exceeds the limit of 65536 bytes/) });
      // Identity bodies: the same limit on the bytes themselves.
      expect((await post(server, type, exact)).status).toBe(200);
      expect((await post(server, type, over)).status).toBe(413);
    });

    it('answers a gzip bomb with 413 without inflating it', async () => {
      // 256 MiB of zeros in ~250 KB: the receiver must stop at 64 KiB of output.
      const res = await streamRequest(receiver.url, { 'Content-Type': type, 'Content-Encoding': 'gzip' }, gzipBomb(256 * 1024 * 1024));
      expect(res.status).toBe(413);
      expect(parseStatus(res.headers['content-type'], res.body)).toMatchObject({ code: 8, message: expect.stringMatching(/decompressed/) });
      expect(res.headers.connection).toBe('close');
    });

    it('answers an oversized chunked upload (no Content-Length) with 413 while it streams', async () => {
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const res = await streamRequest(receiver.url, { 'Content-Type': type }, Array.from({ length: 16 }, () => chunk));
      expect(res.status).toBe(413);
      expect(parseStatus(res.headers['content-type'], res.body).code).toBe(8);
    });

    it('answers other methods with 405 and Allow: POST', async () => {
      for (const method of ['get', 'put', 'delete', 'patch', 'options'] as const) {
        const res = await request(server)[method]('/v1/traces').set('Content-Type', type).buffer(true).parse(rawBody);
        expect(res.status, method).toBe(405);
        expect(res.headers.allow).toBe('POST');
        expect(res.headers['content-type']).toBe(type);
        expect(statusOf(res)).toMatchObject({ code: 12, message: expect.stringContaining('use POST') });
      }
      const head = await request(server).head('/v1/traces');
      expect(head.status).toBe(405);
      expect(head.headers.allow).toBe('POST');
    });

    it('answers an unsupported Content-Encoding with 415 naming what is supported (never 5xx)', async () => {
      const body = encode(format, makeSpans(`enc-${format}`, 2));
      for (const encoding of ['br', 'deflate', 'zstd', 'snappy', 'gzip, gzip', 'compress']) {
        const res = await post(server, type, body, { 'Content-Encoding': encoding });
        expect(res.status, encoding).toBe(415);
        expect(res.headers['content-type']).toBe(type);
        expect(statusOf(res).message).toMatch(/unsupported Content-Encoding.*supported: gzip, identity/);
      }
    });

    it('answers other paths with 404 and a Status for OTLP requests', async () => {
      for (const path of ['/v1/metrics', '/v1/logs', '/v1/traces/extra', '/v2/traces']) {
        const res = await request(server).post(path).set('Content-Type', type).send(encode(format, makeSpans('nf', 1))).buffer(true).parse(rawBody);
        expect(res.status, path).toBe(404);
        expect(res.headers['content-type']).toBe(type);
        expect(statusOf(res)).toMatchObject({ code: 5, message: expect.stringContaining(path) });
      }
    });

    it('answers an invalid tenant header with 400', async () => {
      const res = await post(server, type, encode(format, makeSpans('tenant', 1)), { 'X-Scope-OrgID': 'a b' });
      expect(res.status).toBe(400);
      expect(statusOf(res).message).toMatch(/x-scope-orgid/i);
    });
  });

  it('accepts media type parameters and any letter case, and mirrors the canonical type', async () => {
    const cases: [string, Format][] = [
      ['application/json; charset=utf-8', 'json'],
      ['Application/JSON;Charset=UTF-8', 'json'],
      ['APPLICATION/X-PROTOBUF', 'protobuf'],
      ['application/x-protobuf ; proto=opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest', 'protobuf'],
    ];
    for (const [header, format] of cases) {
      const res = await post(server, header, encode(format, makeSpans(`case-${format}`, 1)));
      expect(res.status, header).toBe(200);
      expect(res.headers['content-type']).toBe(contentTypeOf(format));
    }
  });

  it('answers an unsupported or missing content type with 415 and a JSON Status naming the supported ones', async () => {
    for (const type of ['text/plain', 'application/protobuf', 'application/jsonl', 'application/x-www-form-urlencoded', undefined]) {
      const res = await post(server, type, '{}');
      expect(res.status, type).toBe(415);
      expect(res.headers['content-type']).toBe(JSON_TYPE);
      expect(statusOf(res).message).toMatch(/supported: application\/x-protobuf, application\/json/);
    }
  });

  it("keeps Nest's default 404 for requests that are not OTLP", async () => {
    const res = await request(server).get('/nope');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ statusCode: 404, message: 'Cannot GET /nope', error: 'Not Found' });
  });

  it('answers the limit from Content-Length before reading the body', async () => {
    const res = await post(server, PROTOBUF, Buffer.alloc(LIMIT + 1));
    expect(res.status).toBe(413);
    expect(statusOf(res)).toMatchObject({ code: 8, message: expect.stringMatching(/request body exceeds the limit of 65536 bytes/) });
  });

  it('survives a client that disconnects mid-body', async () => {
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${receiver.url}/v1/traces`, { method: 'POST', headers: { 'Content-Type': PROTOBUF, 'Content-Length': '1000' } });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(100), () => setTimeout(() => req.destroy(), 20));
      req.on('close', () => resolve());
    });
    const res = await post(server, PROTOBUF, encode('protobuf', makeSpans('after-abort', 1)));
    expect(res.status).toBe(200);
  });

  it('gives each connection its own producer ring, one per tenant across connections, released on close', async () => {
    const service = receiver.service;
    await until(() => service.clientCount === 0, 10_000, 'earlier connections to close');
    const agents = [new Agent({ keepAlive: true, maxSockets: 1 }), new Agent({ keepAlive: true, maxSockets: 1 })];
    const send = (agent: Agent, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve, reject) => {
        const body = encode('protobuf', makeSpans('key', 1));
        const req = httpRequest(`${receiver.url}/v1/traces`, { method: 'POST', agent, headers: { 'Content-Type': PROTOBUF, ...headers } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
    expect([await send(agents[0]!), await send(agents[0]!)]).toEqual([200, 200]);
    expect(service.clientCount).toBe(1); // one keep-alive connection, one ring
    expect(await send(agents[1]!)).toBe(200);
    expect(service.clientCount).toBe(2);
    for (const agent of agents) agent.destroy();
    await until(() => service.clientCount === 0, 10_000, 'leases released on socket close');

    const tenantAgents = [new Agent({ keepAlive: true, maxSockets: 1 }), new Agent({ keepAlive: true, maxSockets: 1 })];
    for (const agent of tenantAgents) expect(await send(agent, { 'X-Scope-OrgID': 'team-a' })).toBe(200);
    expect(service.clientCount).toBe(1); // the tenant's connections share its ring
    for (const agent of tenantAgents) agent.destroy();
    await until(() => service.clientCount === 0, 10_000, 'tenant lease released');
  });
});

describe('OTLP/HTTP receiver under backpressure and shutdown', () => {
  it.each(FORMATS)('%s: rings full past the wait → 429 with Retry-After and a RetryInfo Status; nothing of it is kept', async (format) => {
    const gated = new GatedExporter();
    const receiver = await startReceiverApp({
      exporters: [{ exporter: gated, settings: { queue: { queueSize: 1, numConsumers: 1 } } }],
      pipeline: { collector: { ringBits: 7, backpressureTimeoutMs: 30 }, batch: { sendBatchSize: 100, sendBatchMaxSize: 100, timeoutMs: 1 } },
      retryAfterSeconds: 3,
      listen: true,
    });
    try {
      // One keep-alive connection → one ring. Send until a request is refused (bounded).
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const accepted: Span[] = [];
      let refused: { status: number; headers: Record<string, string>; body: Buffer } | undefined;
      for (let i = 0; i < 50 && refused === undefined; i++) {
        const spans = makeSpans(`bp-${format}-${i}`, 100);
        const res = await post(receiver.url, contentTypeOf(format), encode(format, spans), {}, agent);
        if (res.status === 200) accepted.push(...spans);
        else refused = res;
      }
      agent.destroy();
      expect(refused, 'a request was pushed back').toBeDefined();
      expect(refused!.status).toBe(429);
      expect(refused!.headers['retry-after']).toBe('3');
      expect(refused!.headers['content-type']).toBe(contentTypeOf(format));
      const status = statusOf(refused!);
      expect(status.code).toBe(8); // RESOURCE_EXHAUSTED
      expect(status.message).toMatch(/saturated/);
      expect(status.details).toHaveLength(1);
      expect(status.details[0]!.typeUrl).toBe(RETRY_INFO_TYPE_URL);
      expect(decodeRetryInfo(status.details[0]!.value)).toEqual({ retryDelay: { seconds: 3n, nanos: 0 } });

      gated.open();
      await receiver.app.close();
      // Conservation: exactly the acknowledged spans were exported; the refused request left nothing.
      expect(gated.spans.map((s) => s.name).toSorted()).toEqual(accepted.map((s) => s.name).toSorted());
    } finally {
      gated.open();
      await receiver.app.close();
    }
  });

  it.each(FORMATS)('%s: a request larger than the ring gets partly in → 200 with partial_success', async (format) => {
    const gated = new GatedExporter();
    const receiver = await startReceiverApp({
      exporters: [{ exporter: gated, settings: { queue: { queueSize: 1, numConsumers: 1 } } }],
      pipeline: { collector: { ringBits: 6, backpressureTimeoutMs: 100 }, batch: { sendBatchSize: 32, sendBatchMaxSize: 32, timeoutMs: 1 } },
    });
    try {
      const spans = makeSpans(`partial-${format}`, 512);
      const res = await post(receiver.server, contentTypeOf(format), encode(format, spans));
      expect(res.status).toBe(200);
      const partial = parseTraceResponse(res.headers['content-type'], res.body).partialSuccess;
      expect(partial).toBeDefined();
      const rejected = Number(partial!.rejectedSpans);
      expect(rejected).toBeGreaterThan(0);
      expect(rejected).toBeLessThan(512);
      expect(partial!.errorMessage).toMatch(new RegExp(`^${rejected} of 512 spans were rejected: the collector is saturated`));
      gated.open();
      await receiver.app.close();
      // The accepted part is a prefix of the request, exported exactly once.
      expect(gated.spans.map((s) => s.name).toSorted()).toEqual(spans.slice(0, 512 - rejected).map((s) => s.name).toSorted());
      expect(receiver.stats.snapshot().get('http')).toEqual({ accepted: 512 - rejected, refused: rejected });
    } finally {
      gated.open();
      await receiver.app.close();
    }
  });

  it('admits a request larger than the ring piece by piece when the pipeline keeps up: 200, all spans in order', async () => {
    const exporter = new MemoryExporter();
    const receiver = await startReceiverApp({ exporters: [{ exporter }], pipeline: { collector: { ringBits: 6 }, batch: { timeoutMs: 1 } } });
    try {
      const spans = makeSpans('big', 1000);
      const res = await post(receiver.server, PROTOBUF, encode('protobuf', spans));
      expect(res.status).toBe(200);
      expect(res.body.length).toBe(0);
      await receiver.app.close();
      expect(exporter.spans.map((s) => s.name)).toEqual(spans.map((s) => s.name));
    } finally {
      await receiver.app.close();
    }
  });

  it.each(FORMATS)('%s: a draining collector → 503 with Retry-After and an UNAVAILABLE Status', async (format) => {
    const exporter = new MemoryExporter();
    const receiver = await startReceiverApp({ exporters: [{ exporter }], retryAfterSeconds: 7 });
    try {
      await receiver.service.shutdown();
      const res = await post(receiver.server, contentTypeOf(format), encode(format, makeSpans('late', 3)));
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('7');
      const status = statusOf(res);
      expect(status.code).toBe(14);
      expect(status.message).toMatch(/shutting down/);
      expect(decodeRetryInfo(status.details[0]!.value)).toEqual({ retryDelay: { seconds: 7n, nanos: 0 } });
      expect(exporter.spans).toEqual([]);
      expect(receiver.stats.snapshot().get('http')).toEqual({ accepted: 0, refused: 3 });
    } finally {
      await receiver.app.close();
    }
  });

  it('refuses to read a body a body parser already consumed (app created without bodyParser: false)', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        CollectorModule.forRoot({ exporters: [{ exporter: new MemoryExporter() }], logger: SILENT_LOGGER }),
        HttpReceiverModule.forRoot({ host: '127.0.0.1', port: 0, maxRequestBodyBytes: LIMIT }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const res = await post(app.getHttpServer() as Server, JSON_TYPE, encode('json', makeSpans('parsed', 1)));
      expect(res.status).toBe(500);
      expect(statusOf(res)).toEqual({ code: 13, message: 'internal error while receiving the request', details: [] });
      expect(app.get(SpanCollectorService).collector.metrics.accepted).toBe(0);
    } finally {
      await app.close();
    }
  });
});

/** Pads a protobuf ExportTraceServiceRequest to `size` bytes with an unknown length-delimited field (number 15). */
function padProtobuf(message: Buffer, size: number): Buffer {
  // tag (15 << 3 | 2) = 0x7a, then a varint length, then filler; find the filler length that lands on `size`.
  for (let filler = Math.max(0, size - message.length - 2); filler >= 0; filler--) {
    const length = varint(filler);
    if (message.length + 1 + length.length + filler === size) {
      return Buffer.concat([message, Buffer.from([0x7a]), length, Buffer.alloc(filler, 0x61)]);
    }
  }
  throw new Error(`cannot pad to ${size}`);
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  bytes.push(value);
  return Buffer.from(bytes);
}

