import { once } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, Socket } from 'node:net';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { Metadata, Server, ServerCredentials, status as GrpcStatus } from '@grpc/grpc-js';
import type { sendUnaryData, ServerUnaryCall, ServiceError } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeTraceRequest, encodeRetryInfo, encodeRpcStatus, encodeTraceResponse, RETRY_INFO_TYPE_URL } from '#spanring/otlp';
import type { Span } from '#spanring/otlp';
import { ExportError, PipelineConfigError } from '../errors.ts';
import { TRACE_SERVICE_DEFINITION } from '#spanring/otlp';
import { OtlpGrpcExporter } from './otlp-grpc.ts';
import type { OtlpGrpcExporterOptions } from './otlp-grpc.ts';
import { fullyPopulatedSpans, simpleSpans } from './test-spans.ts';

type ExportCall = ServerUnaryCall<Buffer, Buffer>;
type Handler = (call: ExportCall, callback: sendUnaryData<Buffer>) => void;


const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).toReversed()) await cleanup();
});

// The exporter reads OTEL_EXPORTER_OTLP_* env; tests start from none, whatever the machine has set.
const savedEnv = { ...process.env };
beforeEach(() => {
  for (const key of Object.keys(process.env)) if (key.startsWith('OTEL_')) delete process.env[key];
});
afterAll(() => {
  for (const key of Object.keys(process.env)) if (key.startsWith('OTEL_')) delete process.env[key];
  Object.assign(process.env, savedEnv);
});

async function startServer(handler: Handler): Promise<number> {
  const server = new Server();
  // The TraceService as raw bytes, so the test decodes requests with our own decoder.
  server.addService(TRACE_SERVICE_DEFINITION, { Export: handler });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  cleanups.push(() => {
    server.forceShutdown();
  });
  return port;
}

/** A server that answers every call the same way, recording what it received. */
async function answeringServer(answer: (call: ExportCall) => { error?: Partial<ServiceError>; response?: Uint8Array }) {
  const received: { spans: Span[]; metadata: Metadata }[] = [];
  const port = await startServer((call, callback) => {
    received.push({ spans: decodeTraceRequest(call.request), metadata: call.metadata });
    const { error, response } = answer(call);
    if (error) callback(error);
    else callback(null, Buffer.from(response ?? new Uint8Array(0)));
  });
  return { port, received };
}

function exporterFor(port: number, options: OtlpGrpcExporterOptions = {}): OtlpGrpcExporter {
  const exporter = new OtlpGrpcExporter({ endpoint: `127.0.0.1:${port}`, tls: { insecure: true }, ...options });
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

/** A TCP relay in front of a port that counts the bytes the client sends and sees its sockets close. */
async function byteCountingProxy(targetPort: number) {
  const stats = { clientBytes: 0, openConnections: 0, closedConnections: 0 };
  const sockets = new Set<Socket>();
  const proxy: NetServer = createServer((client) => {
    stats.openConnections++;
    const upstream = new Socket();
    sockets.add(client).add(upstream);
    upstream.connect(targetPort, '127.0.0.1');
    client.on('data', (chunk: Buffer) => {
      stats.clientBytes += chunk.length;
    });
    client.pipe(upstream).pipe(client);
    const closeBoth = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => {
      stats.closedConnections++;
      closeBoth();
    });
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
    upstream.on('close', closeBoth);
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    proxy.close();
  });
  return { port: (proxy.address() as AddressInfo).port, stats };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

function retryInfoTrailer(code: number, delay: { seconds: bigint; nanos: number } | undefined): Metadata {
  const metadata = new Metadata();
  const status = encodeRpcStatus({
    code,
    message: 'slow down',
    details: [
      { typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo', value: new Uint8Array([10, 1, 120]) },
      { typeUrl: RETRY_INFO_TYPE_URL, value: encodeRetryInfo({ retryDelay: delay }) },
    ],
  });
  metadata.set('grpc-status-details-bin', Buffer.from(status));
  return metadata;
}

describe('otlp_grpc exporter delivery', () => {
  it('delivers every field of a fully-populated batch intact, gzip-compressed, with the configured headers', async () => {
    const { port, received } = await answeringServer(() => ({}));
    const exporter = exporterFor(port, { headers: { 'x-tenant': 'acme', authorization: 'Bearer t0k3n' } });
    const spans = fullyPopulatedSpans();

    await expect(exporter.export(spans, new AbortController().signal)).resolves.toBeUndefined();

    expect(exporter.compression).toBe('gzip');
    expect(received).toHaveLength(1);
    expect(received[0]?.spans).toEqual(spans);
    expect(received[0]?.metadata.get('x-tenant')).toEqual(['acme']);
    expect(received[0]?.metadata.get('authorization')).toEqual(['Bearer t0k3n']);
    expect(String(received[0]?.metadata.get('user-agent')[0])).toContain('Spanring');
  });

  // grpc-js's server strips grpc-encoding before the handler sees the metadata, so compression
  // is proven on the wire instead: the request bytes to the real server, counted by a TCP relay.
  it('puts gzip on the wire by default, and sends the batch uncompressed with compression "none"', async () => {
    const { port } = await answeringServer(() => ({}));
    const payload = 'a'.repeat(256 * 1024);
    const [span] = simpleSpans(1) as [Span];
    const batch: Span[] = [{ ...span, attributes: [{ key: 'payload', value: payload }] }];

    const gzipProxy = await byteCountingProxy(port);
    await exporterFor(gzipProxy.port).export(batch, new AbortController().signal);
    const plainProxy = await byteCountingProxy(port);
    await exporterFor(plainProxy.port, { compression: 'none' }).export(batch, new AbortController().signal);

    // gzip shrinks a run of one letter about a thousandfold; the plain request carries it whole.
    expect(gzipProxy.stats.clientBytes).toBeLessThan(payload.length / 10);
    expect(plainProxy.stats.clientBytes).toBeGreaterThan(payload.length);
  });

  it('returns partial success as the outcome', async () => {
    const response = encodeTraceResponse({ partialSuccess: { rejectedSpans: 2n, errorMessage: 'spans too old' } });
    const { port } = await answeringServer(() => ({ response }));
    const outcome = await exporterFor(port).export(simpleSpans(3), new AbortController().signal);
    expect(outcome).toEqual({ rejectedSpans: 2, message: 'spans too old' });
  });

  it('returns a partial success that only carries a warning', async () => {
    const response = encodeTraceResponse({ partialSuccess: { rejectedSpans: 0n, errorMessage: 'deprecated attribute' } });
    const { port } = await answeringServer(() => ({ response }));
    const outcome = await exporterFor(port).export(simpleSpans(1), new AbortController().signal);
    expect(outcome).toEqual({ rejectedSpans: 0, message: 'deprecated attribute' });
  });

  it('delivers to a unix:// socket endpoint, which goes through grpc-js', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'spanring-grpc-')), 'otlp.sock');
    const received: Span[][] = [];
    const server = new Server();
    server.addService(TRACE_SERVICE_DEFINITION, {
      Export: (call: ExportCall, callback: sendUnaryData<Buffer>) => {
        received.push(decodeTraceRequest(call.request));
        callback(null, Buffer.alloc(0));
      },
    });
    await new Promise<number>((resolve, reject) =>
      server.bindAsync(`unix:${path}`, ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    cleanups.push(() => {
      server.forceShutdown();
    });
    const exporter = new OtlpGrpcExporter({ endpoint: `unix://${path}`, tls: { insecure: true } });
    cleanups.push(() => exporter.shutdown());
    const spans = fullyPopulatedSpans();
    await exporter.export(spans, new AbortController().signal);
    expect(exporter.address).toBe(`unix://${path}`);
    expect(received).toEqual([spans]);
  });

  it('sends one request per export, several in parallel on one connection', async () => {
    const { port, received } = await answeringServer(() => ({}));
    const proxy = await byteCountingProxy(port);
    const exporter = exporterFor(proxy.port);
    const batches = [simpleSpans(1), simpleSpans(2), simpleSpans(3)];
    await Promise.all(batches.map((batch) => exporter.export(batch, new AbortController().signal)));
    expect(received.map((request) => request.spans.length).toSorted()).toEqual([1, 2, 3]);
    expect(proxy.stats.openConnections).toBe(1);
  });
});

describe('otlp_grpc exporter failures', () => {
  it.each([
    ['UNAVAILABLE', true, GrpcStatus.UNAVAILABLE],
    ['DEADLINE_EXCEEDED', true, GrpcStatus.DEADLINE_EXCEEDED],
    ['INVALID_ARGUMENT', false, GrpcStatus.INVALID_ARGUMENT],
    ['PERMISSION_DENIED', false, GrpcStatus.PERMISSION_DENIED],
    ['RESOURCE_EXHAUSTED without RetryInfo', false, GrpcStatus.RESOURCE_EXHAUSTED],
  ])('classifies %s as retryable: %s, after exactly one attempt', async (_name, retryable, code) => {
    const { port, received } = await answeringServer(() => ({ error: { code, details: 'backend says no' } }));
    const error = await rejection(exporterFor(port).export(simpleSpans(1), new AbortController().signal));
    expect(error.retryable).toBe(retryable);
    expect(error.retryAfterMs).toBeUndefined();
    expect(error.message).toContain('backend says no');
    expect(received).toHaveLength(1);
  });

  it('makes RESOURCE_EXHAUSTED retryable after the delay of the RetryInfo in grpc-status-details-bin', async () => {
    const metadata = retryInfoTrailer(GrpcStatus.RESOURCE_EXHAUSTED, { seconds: 2n, nanos: 500_000_000 });
    const { port } = await answeringServer(() => ({ error: { code: GrpcStatus.RESOURCE_EXHAUSTED, details: 'quota', metadata } }));
    const error = await rejection(exporterFor(port).export(simpleSpans(1), new AbortController().signal));
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(2_500);
  });

  it('treats RetryInfo without a delay as retry-now, as the Collector does', async () => {
    const metadata = retryInfoTrailer(GrpcStatus.RESOURCE_EXHAUSTED, undefined);
    const { port } = await answeringServer(() => ({ error: { code: GrpcStatus.RESOURCE_EXHAUSTED, details: 'quota', metadata } }));
    const error = await rejection(exporterFor(port).export(simpleSpans(1), new AbortController().signal));
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(0);
  });

  it('passes the RetryInfo delay of an UNAVAILABLE answer on, and ignores it on a permanent one', async () => {
    const delay = { seconds: 1n, nanos: 1 };
    const unavailable = await answeringServer(() => ({
      error: { code: GrpcStatus.UNAVAILABLE, details: 'draining', metadata: retryInfoTrailer(GrpcStatus.UNAVAILABLE, delay) },
    }));
    const invalid = await answeringServer(() => ({
      error: { code: GrpcStatus.INVALID_ARGUMENT, details: 'bad', metadata: retryInfoTrailer(GrpcStatus.INVALID_ARGUMENT, delay) },
    }));
    const retryable = await rejection(exporterFor(unavailable.port).export(simpleSpans(1), new AbortController().signal));
    const permanent = await rejection(exporterFor(invalid.port).export(simpleSpans(1), new AbortController().signal));
    expect([retryable.retryable, retryable.retryAfterMs]).toEqual([true, 1_001]);
    expect([permanent.retryable, permanent.retryAfterMs]).toEqual([false, undefined]);
  });

  it('ignores a status details trailer that is not a google.rpc.Status', async () => {
    const metadata = new Metadata();
    metadata.set('grpc-status-details-bin', Buffer.from([0xff, 0xff, 0xff]));
    const { port } = await answeringServer(() => ({ error: { code: GrpcStatus.RESOURCE_EXHAUSTED, details: 'quota', metadata } }));
    const error = await rejection(exporterFor(port).export(simpleSpans(1), new AbortController().signal));
    expect(error.retryable).toBe(false);
  });

  it('fails retryably when nothing listens on the port', async () => {
    const exporter = exporterFor(await closedPort());
    const error = await rejection(exporter.export(simpleSpans(1), new AbortController().signal));
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('UNAVAILABLE');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('fails retryably with DEADLINE_EXCEEDED when the server does not answer within timeoutMs', async () => {
    const port = await startServer(() => {});
    const error = await rejection(exporterFor(port, { timeoutMs: 200 }).export(simpleSpans(1), new AbortController().signal));
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('DEADLINE_EXCEEDED');
  });

  it('rejects a batch it cannot serialize as a permanent failure, without calling the server', async () => {
    const { port, received } = await answeringServer(() => ({}));
    const [span] = simpleSpans(1) as [Span];
    const error = await rejection(exporterFor(port).export([{ ...span, traceId: new Uint8Array(15) }], new AbortController().signal));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('traceId');
    expect(received).toHaveLength(0);
  });
});

describe('otlp_grpc exporter abort and shutdown', () => {
  it('cancels an in-flight call when the signal aborts, and rejects without waiting for the deadline', async () => {
    let cancelledOnServer!: () => void;
    const serverSawCancel = new Promise<void>((resolve) => (cancelledOnServer = resolve));
    let callArrived!: () => void;
    const arrived = new Promise<void>((resolve) => (callArrived = resolve));
    const port = await startServer((call) => {
      call.on('cancelled', cancelledOnServer);
      callArrived();
    });
    const exporter = exporterFor(port, { timeoutMs: 600_000 });
    const controller = new AbortController();

    const pending = exporter.export(simpleSpans(1), controller.signal);
    await arrived;
    controller.abort(new Error('shutdown deadline'));

    const error = await rejection(pending);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('aborted');
    expect(error.message).toContain('shutdown deadline');
    await serverSawCancel;
  });

  it('rejects at once when the signal is already aborted, without calling the server', async () => {
    const { port, received } = await answeringServer(() => ({}));
    const error = await rejection(exporterFor(port).export(simpleSpans(1), AbortSignal.abort()));
    expect(error.retryable).toBe(false);
    expect(received).toHaveLength(0);
  });

  it('closes its connection on shutdown and refuses later exports', async () => {
    const { port } = await answeringServer(() => ({}));
    const proxy = await byteCountingProxy(port);
    const exporter = exporterFor(proxy.port);
    await exporter.export(simpleSpans(1), new AbortController().signal);
    expect(proxy.stats.openConnections).toBe(1);

    await exporter.shutdown();

    for (let i = 0; i < 200 && proxy.stats.closedConnections < 1; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(proxy.stats.closedConnections).toBe(1);
    const error = await rejection(exporter.export(simpleSpans(1), new AbortController().signal));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('shut down');
  });
});

describe('otlp_grpc exporter configuration', () => {
  it('uses the Collector defaults: gzip and a 5 s timeout', () => {
    const exporter = new OtlpGrpcExporter({ endpoint: 'http://127.0.0.1:4317' });
    cleanups.push(() => exporter.shutdown());
    expect([exporter.name, exporter.address, exporter.compression, exporter.timeoutMs]).toEqual(['otlp_grpc', '127.0.0.1:4317', 'gzip', 5_000]);
  });

  it('falls back to OTEL_EXPORTER_OTLP_TRACES_* and OTEL_EXPORTER_OTLP_* env, options winning', async () => {
    const { port, received } = await answeringServer(() => ({}));
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = `http://127.0.0.1:${port}`;
    process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-from-env=yes,x-both=env';
    process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT = '1234';
    process.env.OTEL_EXPORTER_OTLP_COMPRESSION = 'none';
    const fromEnv = new OtlpGrpcExporter({ name: 'otlp/env', headers: { 'x-both': 'option' } });
    cleanups.push(() => fromEnv.shutdown());
    const explicit = new OtlpGrpcExporter({ endpoint: 'http://127.0.0.1:1', compression: 'gzip', timeoutMs: 99 });
    cleanups.push(() => explicit.shutdown());

    expect([fromEnv.address, fromEnv.compression, fromEnv.timeoutMs]).toEqual([`127.0.0.1:${port}`, 'none', 1234]);
    expect([explicit.address, explicit.compression, explicit.timeoutMs]).toEqual(['127.0.0.1:1', 'gzip', 99]);
    await fromEnv.export(simpleSpans(1), new AbortController().signal);
    expect(received[0]?.metadata.get('x-from-env')).toEqual(['yes']);
    expect(received[0]?.metadata.get('x-both')).toEqual(['option']);
  });

  it.each([
    ['endpoint', { endpoint: 'http://[::1' }],
    ['compression', { compression: 'zstd' as 'gzip' }],
    ['timeoutMs', { timeoutMs: 0 }],
    ['headers.bad key', { headers: { 'bad key': 'x' } }],
    ['tls.keyFile', { tls: { certFile: '/tmp/cert.pem' } }],
    ['tls.caFile', { tls: { caFile: '/nonexistent/ca.pem' } }],
  ])('rejects an invalid %s as a PipelineConfigError', (path, options) => {
    let thrown: unknown;
    try {
      new OtlpGrpcExporter({ endpoint: 'localhost:4317', ...options }).shutdown();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PipelineConfigError);
    expect((thrown as PipelineConfigError).path).toBe(path);
  });
});
