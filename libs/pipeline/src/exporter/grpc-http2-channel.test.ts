import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { constants as http2, createServer, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Server, ServerCredentials, status as GrpcStatus } from '@grpc/grpc-js';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { TRACE_EXPORT_PATH, TRACE_SERVICE_DEFINITION } from '#spanring/otlp';
import { GrpcCallAborted, GrpcCallFailure, Http2GrpcChannel, type UnaryCall } from './grpc-http2-channel.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).toReversed()) await cleanup();
});

function channelTo(port: number): Http2GrpcChannel {
  const channel = new Http2GrpcChannel(`127.0.0.1:${port}`, 'spanring-test');
  cleanups.push(() => channel.close());
  return channel;
}

function call(message: Uint8Array, overrides: Partial<UnaryCall> = {}): UnaryCall {
  return { path: TRACE_EXPORT_PATH, headers: {}, message, compress: false, timeoutMs: 5_000, signal: new AbortController().signal, ...overrides };
}

/** A gRPC server (grpc-js) that keeps every request message it receives and answers OK. */
async function grpcJsServer(): Promise<{ port: number; received: Buffer[] }> {
  const received: Buffer[] = [];
  const server = new Server({ 'grpc.max_receive_message_length': -1 });
  server.addService(TRACE_SERVICE_DEFINITION, {
    Export: (unary: { request: Buffer }, callback: (error: null, response: Buffer) => void) => {
      received.push(unary.request);
      callback(null, Buffer.alloc(0));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  cleanups.push(() => {
    server.forceShutdown();
  });
  return { port, received };
}

interface RawCall {
  readonly stream: ServerHttp2Stream;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A bare HTTP/2 server: `answer` gets each stream once its request body has ended. */
async function rawServer(answer: (call: RawCall) => void): Promise<{ port: number; server: Http2Server; sessions: number }> {
  const server = createServer();
  const state = { port: 0, server, sessions: 0 };
  server.on('session', () => state.sessions++);
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => answer({ stream, headers, body: Buffer.concat(chunks) }));
    stream.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  state.port = (server.address() as AddressInfo).port;
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return state;
}

function framed(payload: Uint8Array, compressed: boolean): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt8(compressed ? 1 : 0, 0);
  prefix.writeUInt32BE(payload.byteLength, 1);
  return Buffer.concat([prefix, payload]);
}

async function failureOf(promise: Promise<unknown>): Promise<GrpcCallFailure> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GrpcCallFailure);
    return error as GrpcCallFailure;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

describe('Http2GrpcChannel requests', () => {
  it('delivers messages far larger than the HTTP/2 flow-control windows intact, plain and gzip-compressed', async () => {
    const { port, received } = await grpcJsServer();
    const channel = channelTo(port);
    const message = randomBytes(6 * 1024 * 1024);
    await channel.unary(call(message));
    await channel.unary(call(message, { compress: true }));
    expect(received).toHaveLength(2);
    expect(received[0]!.equals(message)).toBe(true);
    expect(received[1]!.equals(message)).toBe(true);
  });

  it('keeps many large calls in flight on one connection (more data queued than node:http2 allows by default)', async () => {
    const { port, received } = await grpcJsServer();
    const channel = channelTo(port);
    const messages = Array.from({ length: 8 }, () => randomBytes(4 * 1024 * 1024));
    await Promise.all(messages.map((message) => channel.unary(call(message))));
    expect(received.map((message) => messages.findIndex((sent) => sent.equals(message))).toSorted()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('sends gRPC request headers, the metadata, and the message behind its 5-byte prefix', async () => {
    let seen: RawCall | undefined;
    const { port } = await rawServer((raw) => {
      seen = raw;
      raw.stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      raw.stream.on('wantTrailers', () => raw.stream.sendTrailers({ 'grpc-status': '0' }));
      raw.stream.end(framed(new Uint8Array([8, 1]), false));
    });
    const message = new Uint8Array([1, 2, 3, 4]);
    const response = await channelTo(port).unary(call(message, { headers: { 'x-tenant': 'a' }, compress: true, timeoutMs: 1234 }));

    expect([...response]).toEqual([8, 1]);
    expect(seen!.headers).toMatchObject({
      ':method': 'POST',
      ':path': TRACE_EXPORT_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-encoding': 'gzip',
      'x-tenant': 'a',
      'user-agent': 'spanring-test',
    });
    // What is left of the 1234 ms when the call goes out (the gzip came first).
    expect(seen!.headers['grpc-timeout']).toMatch(/^\d+m$/);
    expect(Number.parseInt(seen!.headers['grpc-timeout'] as string)).toBeLessThanOrEqual(1234);
    expect(Number.parseInt(seen!.headers['grpc-timeout'] as string)).toBeGreaterThan(1000);
    expect(seen!.body.readUInt8(0)).toBe(1);
    expect(seen!.body.readUInt32BE(1)).toBe(seen!.body.length - 5);
    expect([...gunzipSync(seen!.body.subarray(5))]).toEqual([...message]);
  });

  it('decompresses a gzip response, and refuses one compressed in an encoding it did not offer', async () => {
    const payload = Buffer.from('partial success');
    const { port } = await rawServer(({ stream, headers }) => {
      const encoding = headers['x-answer-encoding'] as string;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-encoding': encoding }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(framed(gzipSync(payload), true));
    });
    const channel = channelTo(port);
    const response = await channel.unary(call(new Uint8Array(1), { headers: { 'x-answer-encoding': 'gzip' } }));
    expect(response.toString()).toBe('partial success');
    const failure = await failureOf(channel.unary(call(new Uint8Array(1), { headers: { 'x-answer-encoding': 'zstd' } })));
    expect([failure.code, failure.details]).toEqual([GrpcStatus.INTERNAL, 'the response is compressed with "zstd", which was not offered']);
  });
});

describe('Http2GrpcChannel statuses', () => {
  it('reads a trailers-only status with its percent-encoded message and trailers', async () => {
    const { port } = await rawServer(({ stream }) => {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'backend%20draining%3A%20retry', 'x-extra': 'kept' },
        { endStream: true },
      );
    });
    const failure = await failureOf(channelTo(port).unary(call(new Uint8Array(1))));
    expect([failure.code, failure.details]).toEqual([GrpcStatus.UNAVAILABLE, 'backend draining: retry']);
    expect(failure.metadata.get('x-extra')).toEqual(['kept']);
  });

  it.each([
    [503, GrpcStatus.UNAVAILABLE],
    [429, GrpcStatus.UNAVAILABLE],
    [404, GrpcStatus.UNIMPLEMENTED],
    [401, GrpcStatus.UNAUTHENTICATED],
    [500, GrpcStatus.UNKNOWN],
  ])('maps an HTTP %i answer without grpc-status to gRPC code %i', async (httpStatus, code) => {
    const { port } = await rawServer(({ stream }) => {
      stream.respond({ ':status': httpStatus, 'content-type': 'text/plain' });
      stream.end('proxy says no');
    });
    const failure = await failureOf(channelTo(port).unary(call(new Uint8Array(1))));
    expect(failure.code).toBe(code);
    expect(failure.details).toContain(String(httpStatus));
  });

  it.each([
    ['REFUSED_STREAM', http2.NGHTTP2_REFUSED_STREAM, GrpcStatus.UNAVAILABLE],
    ['ENHANCE_YOUR_CALM', http2.NGHTTP2_ENHANCE_YOUR_CALM, GrpcStatus.RESOURCE_EXHAUSTED],
    ['INTERNAL_ERROR', http2.NGHTTP2_INTERNAL_ERROR, GrpcStatus.INTERNAL],
  ])('maps a stream the server resets with %s', async (_name, rstCode, code) => {
    const { port } = await rawServer(({ stream }) => stream.close(rstCode));
    const failure = await failureOf(channelTo(port).unary(call(new Uint8Array(1))));
    expect(failure.code).toBe(code);
  });

  it('sends a refused stream once more (the server never saw it), and no more than once', async () => {
    let streams = 0;
    const refusingOnce = await rawServer(({ stream }) => {
      if (++streams === 1) return stream.close(http2.NGHTTP2_REFUSED_STREAM);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' }, { endStream: true });
    });
    await channelTo(refusingOnce.port).unary(call(new Uint8Array(1)));
    expect(streams).toBe(2);

    let refused = 0;
    const alwaysRefusing = await rawServer(({ stream }) => {
      refused++;
      stream.close(http2.NGHTTP2_REFUSED_STREAM);
    });
    const failure = await failureOf(channelTo(alwaysRefusing.port).unary(call(new Uint8Array(1))));
    expect([failure.code, refused]).toEqual([GrpcStatus.UNAVAILABLE, 2]);
  });

  it('fails UNAVAILABLE when the connection drops mid-call, and connects again for the next call', async () => {
    let calls = 0;
    const server = await rawServer(({ stream }) => {
      if (++calls === 1) {
        stream.session?.socket.destroy();
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' }, { endStream: true });
    });
    const channel = channelTo(server.port);
    const failure = await failureOf(channel.unary(call(new Uint8Array(1))));
    expect(failure.code).toBe(GrpcStatus.UNAVAILABLE);
    await channel.unary(call(new Uint8Array(1)));
    expect(server.sessions).toBe(2);
  });

  it('connects again after the server closes the connection gracefully (GOAWAY)', async () => {
    const server = await rawServer(({ stream }) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' }, { endStream: true });
      stream.session?.close();
    });
    const channel = channelTo(server.port);
    await channel.unary(call(new Uint8Array(1)));
    await channel.unary(call(new Uint8Array(1)));
    expect(server.sessions).toBe(2);
  });

  it('rejects with GrpcCallAborted when the signal aborts, and refuses calls after close()', async () => {
    const { port } = await rawServer(() => {});
    const channel = channelTo(port);
    const controller = new AbortController();
    const pending = channel.unary(call(new Uint8Array(1), { signal: controller.signal }));
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toBeInstanceOf(GrpcCallAborted);
    channel.close();
    const failure = await failureOf(channel.unary(call(new Uint8Array(1))));
    expect(failure.code).toBe(GrpcStatus.UNAVAILABLE);
  });
});

describe('Http2GrpcChannel and the process', () => {
  it('does not keep the process alive once its calls are done, as grpc-js channels do not', async () => {
    // A child process with a server it does not wait for (its listener and connections unref'd)
    // and a channel left open: only the channel's idle connection could keep it running.
    const channelModule = fileURLToPath(new URL('./grpc-http2-channel.ts', import.meta.url));
    const script = `
      import { createServer } from 'node:http2';
      import { Http2GrpcChannel } from ${JSON.stringify(channelModule)};
      const server = createServer((req, res) => {
        req.resume();
        req.on('end', () => { res.stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' }, { endStream: true }); });
      });
      server.on('session', (session) => session.unref());
      server.listen(0, '127.0.0.1', async () => {
        server.unref();
        const channel = new Http2GrpcChannel('127.0.0.1:' + server.address().port, 'spanring-test');
        await channel.unary({ path: '/p', headers: {}, message: new Uint8Array(1), compress: false, timeoutMs: 5000, signal: new AbortController().signal });
        console.log('call done');
      });
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--conditions=spanring-source', '--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script], {
      timeout: 10_000,
    });
    expect(stdout.trim()).toBe('call done');
  });
});
