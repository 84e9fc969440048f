import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeTraceRequest,
  decodeTraceRequestJson,
  encodeRpcStatus,
  encodeRpcStatusJson,
  encodeTraceResponse,
  encodeTraceResponseJson,
} from '#spanring/otlp';
import type { Span } from '#spanring/otlp';
import { ExportError, PipelineConfigError } from '../errors.ts';
import { OtlpHttpExporter } from './otlp-http.ts';
import type { OtlpHttpExporterOptions } from './otlp-http.ts';
import { fullyPopulatedSpans, simpleSpans } from './test-spans.ts';

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The body as sent, still compressed if it was. */
  readonly body: Buffer;
}

interface Answer {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).toReversed()) await cleanup();
});

/** A real HTTP server on 127.0.0.1; `answer` null leaves the request hanging. */
async function startServer(answer: (request: Received) => Answer | null) {
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  const closedSockets: Socket[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry = { path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) };
      received.push(entry);
      const reply = answer(entry);
      if (reply === null) return;
      response.writeHead(reply.status ?? 200, reply.headers ?? {});
      response.end(reply.body ?? '');
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => closedSockets.push(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, received, sockets, closedSockets };
}

function exporterFor(port: number, options: Partial<OtlpHttpExporterOptions> = {}): OtlpHttpExporter {
  const exporter = new OtlpHttpExporter({ endpoint: `http://127.0.0.1:${port}`, ...options });
  cleanups.push(() => exporter.shutdown());
  return exporter;
}

async function rejection(promise: Promise<unknown>): Promise<ExportError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ExportError);
    return error as ExportError;
  }
  throw new Error('expected the export to reject, but it resolved');
}

function spansIn(request: Received): Span[] {
  const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(request.body) : request.body;
  return request.headers['content-type'] === 'application/json' ? decodeTraceRequestJson(body) : decodeTraceRequest(body);
}

const signal = (): AbortSignal => new AbortController().signal;

describe('otlp_http exporter delivery', () => {
  it('POSTs gzip-compressed protobuf to endpoint + /v1/traces, every field intact, with the configured headers', async () => {
    const { port, received } = await startServer(() => ({}));
    const spans = fullyPopulatedSpans();
    await expect(exporterFor(port, { headers: { 'X-Tenant': 'acme' } }).export(spans, signal())).resolves.toBeUndefined();

    expect(received).toHaveLength(1);
    const [request] = received as [Received];
    expect(request.path).toBe('/v1/traces');
    expect(request.headers['content-type']).toBe('application/x-protobuf');
    expect(request.headers['content-encoding']).toBe('gzip');
    expect(request.headers['x-tenant']).toBe('acme');
    expect(request.headers['user-agent']).toBe('Spanring');
    expect(spansIn(request)).toEqual(spans);
  });

  it('sends OTLP/JSON with encoding "json", uncompressed with compression "none"', async () => {
    const { port, received } = await startServer(() => ({}));
    const spans = fullyPopulatedSpans();
    await exporterFor(port, { encoding: 'json', compression: 'none' }).export(spans, signal());

    const [request] = received as [Received];
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['content-encoding']).toBeUndefined();
    expect(decodeTraceRequestJson(request.body)).toEqual(spans);
  });

  it('does not let a configured header mislabel the body', async () => {
    const { port, received } = await startServer(() => ({}));
    await exporterFor(port, { headers: { 'Content-Type': 'text/plain', 'User-Agent': 'custom/1' } }).export(simpleSpans(1), signal());
    expect(received[0]?.headers['content-type']).toBe('application/x-protobuf');
    expect(received[0]?.headers['user-agent']).toBe('custom/1');
  });

  it('returns partial success from a protobuf answer as the outcome', async () => {
    const body = encodeTraceResponse({ partialSuccess: { rejectedSpans: 2n, errorMessage: 'too old' } });
    const { port } = await startServer(() => ({ headers: { 'content-type': 'application/x-protobuf' }, body }));
    await expect(exporterFor(port).export(simpleSpans(3), signal())).resolves.toEqual({ rejectedSpans: 2, message: 'too old' });
  });

  it('returns partial success from a JSON answer as the outcome', async () => {
    const body = encodeTraceResponseJson({ partialSuccess: { rejectedSpans: 1n, errorMessage: '' } });
    const { port } = await startServer(() => ({ headers: { 'content-type': 'application/json' }, body }));
    await expect(exporterFor(port, { encoding: 'json' }).export(simpleSpans(3), signal())).resolves.toEqual({ rejectedSpans: 1 });
  });

  it('counts a 2xx with an unreadable body as delivered', async () => {
    const { port } = await startServer(() => ({ headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array([0xff]) }));
    await expect(exporterFor(port).export(simpleSpans(1), signal())).resolves.toBeUndefined();
  });
});

describe('otlp_http exporter failures', () => {
  it.each([
    [503, true],
    [502, true],
    [504, true],
    [429, true],
    [400, false],
    [401, false],
    [404, false],
    [413, false],
    [500, false],
  ])('classifies HTTP %i as retryable: %s, after exactly one attempt', async (status, retryable) => {
    const { port, received } = await startServer(() => ({ status }));
    const error = await rejection(exporterFor(port).export(simpleSpans(1), signal()));
    expect(error.retryable).toBe(retryable);
    expect(error.message).toContain(`HTTP ${status}`);
    expect(received).toHaveLength(1);
  });

  it('honours Retry-After in seconds on 429', async () => {
    const { port } = await startServer(() => ({ status: 429, headers: { 'retry-after': '2' } }));
    const error = await rejection(exporterFor(port).export(simpleSpans(1), signal()));
    expect([error.retryable, error.retryAfterMs]).toEqual([true, 2_000]);
  });

  it('honours Retry-After as an HTTP-date on 503', async () => {
    const at = new Date(Date.now() + 60_000).toUTCString();
    const { port } = await startServer(() => ({ status: 503, headers: { 'retry-after': at } }));
    const error = await rejection(exporterFor(port).export(simpleSpans(1), signal()));
    expect(error.retryable).toBe(true);
    // HTTP-dates have whole seconds, and some time passes before the answer is read.
    expect(error.retryAfterMs).toBeGreaterThan(30_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('ignores Retry-After on a permanent failure', async () => {
    const { port } = await startServer(() => ({ status: 400, headers: { 'retry-after': '5' } }));
    const error = await rejection(exporterFor(port).export(simpleSpans(1), signal()));
    expect([error.retryable, error.retryAfterMs]).toEqual([false, undefined]);
  });

  it('puts the message of a protobuf google.rpc.Status body in the error', async () => {
    const body = encodeRpcStatus({ code: 3, message: 'span name must not be empty', details: [] });
    const { port } = await startServer(() => ({ status: 400, headers: { 'content-type': 'application/x-protobuf' }, body }));
    const error = await rejection(exporterFor(port).export(simpleSpans(1), signal()));
    expect(error.message).toContain('span name must not be empty');
  });

  it('puts the message of a JSON google.rpc.Status body in the error', async () => {
    const body = encodeRpcStatusJson({ code: 8, message: 'quota exceeded', details: [] });
    const { port } = await startServer(() => ({ status: 429, headers: { 'content-type': 'application/json' }, body }));
    const error = await rejection(exporterFor(port).export(simpleSpans(1), signal()));
    expect(error.message).toContain('quota exceeded');
  });

  it('quotes a short piece of a body that is not a Status', async () => {
    const body = `<html><body>Bad Gateway ${'x'.repeat(5000)}</body></html>`;
    const { port } = await startServer(() => ({ status: 502, headers: { 'content-type': 'text/html' }, body }));
    const error = await rejection(exporterFor(port).export(simpleSpans(1), signal()));
    expect(error.message).toContain('Bad Gateway');
    expect(error.message.length).toBeLessThan(600);
  });

  it('fails retryably when nothing listens on the port', async () => {
    const probe = createNetServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    probe.close();
    await once(probe, 'close');

    const error = await rejection(exporterFor(port).export(simpleSpans(1), signal()));
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('fails retryably when the server does not answer within timeoutMs', async () => {
    const { port } = await startServer(() => null);
    const error = await rejection(exporterFor(port, { timeoutMs: 200 }).export(simpleSpans(1), signal()));
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('within 200 ms');
  });

  it('rejects a batch it cannot serialize as a permanent failure, without a request', async () => {
    const { port, received } = await startServer(() => ({}));
    const [span] = simpleSpans(1) as [Span];
    const error = await rejection(exporterFor(port).export([{ ...span, spanId: new Uint8Array(3) }], signal()));
    expect(error.retryable).toBe(false);
    expect(received).toHaveLength(0);
  });
});

describe('otlp_http exporter abort and shutdown', () => {
  it('aborts an in-flight request when the signal aborts, and rejects at once', async () => {
    const server = await startServer(() => null);
    const exporter = exporterFor(server.port, { timeoutMs: 600_000 });
    const controller = new AbortController();
    const pending = exporter.export(simpleSpans(1), controller.signal);
    for (let i = 0; i < 500 && server.received.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(server.received).toHaveLength(1);

    controller.abort(new Error('shutdown deadline'));

    const error = await rejection(pending);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('shutdown deadline');
    for (let i = 0; i < 500 && server.closedSockets.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(server.closedSockets).toHaveLength(1);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const { port, received } = await startServer(() => ({}));
    const error = await rejection(exporterFor(port).export(simpleSpans(1), AbortSignal.abort()));
    expect(error.retryable).toBe(false);
    expect(received).toHaveLength(0);
  });

  it('keeps one connection alive across exports and closes it on shutdown', async () => {
    const server = await startServer(() => ({}));
    const exporter = exporterFor(server.port);
    for (let i = 0; i < 3; i++) await exporter.export(simpleSpans(1), signal());
    expect(server.sockets.size).toBe(1);

    await exporter.shutdown();

    for (let i = 0; i < 500 && server.closedSockets.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(server.closedSockets).toHaveLength(1);
    const error = await rejection(exporter.export(simpleSpans(1), signal()));
    expect(error.message).toContain('shut down');
  });
});

describe('otlp_http exporter configuration', () => {
  it.each([
    [{ endpoint: 'http://collector:4318' }, 'http://collector:4318/v1/traces'],
    [{ endpoint: 'http://collector:4318/' }, 'http://collector:4318/v1/traces'],
    [{ endpoint: 'https://example.com/otlp' }, 'https://example.com/otlp/v1/traces'],
    [{ endpoint: 'http://collector:4318/v1/traces' }, 'http://collector:4318/v1/traces/v1/traces'],
    [{ tracesEndpoint: 'http://collector:4318/custom' }, 'http://collector:4318/custom'],
    [{ endpoint: 'http://ignored:1', tracesEndpoint: 'https://traces.example.com/' }, 'https://traces.example.com/'],
  ])('resolves %j to %s', (options, url) => {
    const exporter = new OtlpHttpExporter(options);
    cleanups.push(() => exporter.shutdown());
    expect(exporter.url.href).toBe(url);
  });

  it('uses the Collector defaults: protobuf, gzip, 30 s', () => {
    const exporter = new OtlpHttpExporter({ endpoint: 'http://localhost:4318' });
    cleanups.push(() => exporter.shutdown());
    expect([exporter.name, exporter.encoding, exporter.compression, exporter.timeoutMs]).toEqual(['otlp_http', 'proto', 'gzip', 30_000]);
  });

  it.each([
    ['endpoint', {}],
    ['endpoint', { endpoint: 'collector:4318' }],
    ['tracesEndpoint', { tracesEndpoint: 'ftp://collector/v1/traces' }],
    ['encoding', { endpoint: 'http://c', encoding: 'yaml' as 'json' }],
    ['compression', { endpoint: 'http://c', compression: 'zstd' as 'gzip' }],
    ['timeoutMs', { endpoint: 'http://c', timeoutMs: -1 }],
    ['headers.bad header', { endpoint: 'http://c', headers: { 'bad header': 'x' } }],
    ['tls.caFile', { endpoint: 'https://c', tls: { caFile: '/nonexistent/ca.pem' } }],
  ])('rejects an invalid %s as a PipelineConfigError', (path, options) => {
    let thrown: unknown;
    try {
      void new OtlpHttpExporter(options).shutdown();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PipelineConfigError);
    expect((thrown as PipelineConfigError).path).toBe(path);
  });
});
