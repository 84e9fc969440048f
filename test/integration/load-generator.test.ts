/**
 * The load generator (tools/load) against tiny in-test OTLP servers that answer in a scripted
 * pattern and count what they saw, so the generator's summary can be checked against the truth.
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { Metadata, Server as GrpcServer, ServerCredentials, status } from '@grpc/grpc-js';
import type { sendUnaryData, ServerErrorResponse, ServerUnaryCall } from '@grpc/grpc-js';
import {
  decodeTraceRequest,
  decodeTraceRequestJson,
  encodeRetryInfo,
  encodeRpcStatus,
  encodeRpcStatusJson,
  encodeTraceResponse,
  encodeTraceResponseJson,
  RETRY_INFO_TYPE_URL,
  TRACE_SERVICE_DEFINITION,
} from '#spanring/otlp';
import type { Span } from '#spanring/otlp';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../tools/load/cli.ts';
import { LoadOptionsError, parseLoadArgs, resolveLoadOptions } from '../../tools/load/options.ts';
import { buildRequestPool, MAX_TRACE_SPANS } from '../../tools/load/request-builder.ts';
import { runLoad } from '../../tools/load/run.ts';
import { LatencyHistogram } from '../../tools/load/stats.ts';
import type { LoadSummary } from '../../tools/load/stats.ts';

// ---------------------------------------------------------------------------------------------
// What a test server counts

class Tally {
  requests = 0;
  spans = 0;
  acknowledged = 0;
  refused = 0;
  rejected = 0;
  failed = 0;
  readonly spanIds = new Set<string>();
  readonly retryAfter: Record<string, number> = {};
  readonly requestSizes: number[] = [];

  /** Counts a request's spans and returns its sequence number, the key of the script. */
  saw(spans: readonly Span[]): number {
    for (const span of spans) this.spanIds.add(Buffer.from(span.spanId).toString('hex'));
    this.spans += spans.length;
    this.requestSizes.push(spans.length);
    return this.requests++;
  }

  refusedWith(spans: number, retryAfter: string): void {
    this.refused += spans;
    this.retryAfter[retryAfter] = (this.retryAfter[retryAfter] ?? 0) + 1;
  }
}

const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

// ---------------------------------------------------------------------------------------------
// OTLP/HTTP

type HttpScript = (sequence: number) => { status: 200; rejected?: number } | { status: 429 | 503; retryAfter: string } | { status: 400 | 500 };

/** Every 5th request from the 2nd is 429 (Retry-After 2), from the 4th 503 (Retry-After 7); every 5th a partial success. */
const HTTP_PATTERN: HttpScript = (sequence) => {
  switch (sequence % 5) {
    case 1:
      return { status: 429, retryAfter: '2' };
    case 3:
      return { status: 503, retryAfter: '7' };
    case 4:
      return { status: 200, rejected: 5 };
    default:
      return { status: 200 };
  }
};

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
}

async function startHttp(script: HttpScript = HTTP_PATTERN): Promise<{ url: string; tally: Tally; paths: string[] }> {
  const tally = new Tally();
  const paths: string[] = [];
  const server: HttpServer = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      paths.push(req.url ?? '');
      const json = req.headers['content-type'] === 'application/json';
      const body = await readBody(req);
      const spans = json ? decodeTraceRequestJson(body) : decodeTraceRequest(body);
      const answer = script(tally.saw(spans));
      res.setHeader('content-type', json ? 'application/json' : 'application/x-protobuf');
      if (answer.status === 200) {
        const rejected = answer.rejected ?? 0;
        tally.acknowledged += spans.length - rejected;
        tally.rejected += rejected;
        const response = { partialSuccess: rejected === 0 ? undefined : { rejectedSpans: BigInt(rejected), errorMessage: 'too old' } };
        res.end(json ? encodeTraceResponseJson(response) : Buffer.from(encodeTraceResponse(response)));
        return;
      }
      const rpc = { code: answer.status === 400 ? 3 : answer.status === 500 ? 13 : 14, message: `scripted ${answer.status}`, details: [] };
      if (answer.status === 429 || answer.status === 503) {
        tally.refusedWith(spans.length, answer.retryAfter);
        res.setHeader('retry-after', answer.retryAfter);
      } else {
        tally.failed += spans.length;
      }
      res.statusCode = answer.status;
      res.end(json ? encodeRpcStatusJson(rpc) : Buffer.from(encodeRpcStatus(rpc)));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, tally, paths };
}

// ---------------------------------------------------------------------------------------------
// OTLP/gRPC


function refusal(code: status, seconds: bigint, nanos: number): ServerErrorResponse {
  const retryInfo = encodeRetryInfo({ retryDelay: { seconds, nanos } });
  const details = encodeRpcStatus({ code, message: 'scripted refusal', details: [{ typeUrl: RETRY_INFO_TYPE_URL, value: retryInfo }] });
  const trailers = new Metadata();
  trailers.set('grpc-status-details-bin', Buffer.from(details));
  return Object.assign(new Error('scripted refusal'), { code, details: 'scripted refusal', metadata: trailers });
}

/** Of every 4 calls: OK, UNAVAILABLE (RetryInfo 3 s), RESOURCE_EXHAUSTED (RetryInfo 1.5 s), OK with 4 spans rejected. */
async function startGrpc(): Promise<{ target: string; tally: Tally }> {
  const tally = new Tally();
  const server = new GrpcServer();
  server.addService(TRACE_SERVICE_DEFINITION, {
    Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      const spans = decodeTraceRequest(call.request);
      switch (tally.saw(spans) % 4) {
        case 1:
          tally.refusedWith(spans.length, '3');
          callback(refusal(status.UNAVAILABLE, 3n, 0));
          return;
        case 2:
          tally.refusedWith(spans.length, '1.5');
          callback(refusal(status.RESOURCE_EXHAUSTED, 1n, 500_000_000));
          return;
        case 3:
          tally.acknowledged += spans.length - 4;
          tally.rejected += 4;
          callback(null, Buffer.from(encodeTraceResponse({ partialSuccess: { rejectedSpans: 4n, errorMessage: 'scripted' } })));
          return;
        default:
          tally.acknowledged += spans.length;
          callback(null, Buffer.alloc(0));
      }
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  closers.push(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
  return { target: `127.0.0.1:${port}`, tally };
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createHttpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------------------------------------
// Checks shared by the runs

function expectConsistent(summary: LoadSummary, tally: Tally): void {
  const { spans, requests } = summary;
  expect(spans.sent).toBe(spans.acknowledged + spans.refused + spans.rejected + spans.failed);
  expect(requests.sent).toBe(requests.ok + requests.refused + requests.errors);
  // The server saw exactly the spans sent, each once.
  expect(tally.requests).toBe(requests.sent);
  expect(tally.spans).toBe(spans.sent);
  expect(tally.spanIds.size).toBe(spans.sent);
  expect(spans.acknowledged).toBe(tally.acknowledged);
  expect(spans.refused).toBe(tally.refused);
  expect(spans.rejected).toBe(tally.rejected);
  expect(spans.failed).toBe(tally.failed);
  expect(summary.retryAfter).toEqual(tally.retryAfter);
  const { p50, p90, p99, max } = summary.latencyMs;
  expect(p50).toBeGreaterThan(0);
  expect(p90!).toBeGreaterThanOrEqual(p50!);
  expect(p99!).toBeGreaterThanOrEqual(p90!);
  expect(max!).toBeGreaterThanOrEqual(p99!);
  expect(summary.durationSeconds).toBeGreaterThan(0);
  expect(summary.requestsPerSecond).toBeGreaterThan(0);
  // Both are rounded (durationSeconds to the µs, the rate to 0.1), so they agree only approximately.
  expect(Math.abs(summary.spansPerSecond - spans.acknowledged / summary.durationSeconds)).toBeLessThanOrEqual(summary.spansPerSecond * 0.05 + 1);
}

// ---------------------------------------------------------------------------------------------

describe('load generator over OTLP/HTTP', () => {
  it('sends a bounded count of gzipped protobuf requests and counts every answer as the server gave it', async () => {
    const { url, tally, paths } = await startHttp();
    const summary = await runLoad({ target: url, spans: 20 * 64, spansPerRequest: 64, concurrency: 4, gzip: true, duration: '30s' });
    expect(summary.requests).toEqual({ sent: 20, ok: 12, refused: 8, errors: 0 });
    expect(summary.spans).toEqual({ sent: 1280, acknowledged: 12 * 64 - 4 * 5, refused: 8 * 64, rejected: 4 * 5, failed: 0 });
    expect(summary.retryAfter).toEqual({ '2': 4, '7': 4 });
    expect(summary.errorsByStatus).toEqual({});
    expect(summary).toMatchObject({ target: url, protocol: 'http/protobuf' });
    expect(new Set(paths)).toEqual(new Set(['/v1/traces']));
    expectConsistent(summary, tally);
  });

  it('sends OTLP/JSON, to the path the target names, with a last short request for the span bound', async () => {
    const { url, tally, paths } = await startHttp();
    const summary = await runLoad({ target: `${url}/custom/traces`, protocol: 'http/json', spans: 1000, spansPerRequest: 64, concurrency: 3, duration: '30s' });
    expect(summary.requests.sent).toBe(16);
    expect(summary.spans.sent).toBe(1000);
    expect(tally.requestSizes.toSorted((a, b) => a - b)[0]).toBe(1000 - 15 * 64);
    expect(new Set(paths)).toEqual(new Set(['/custom/traces']));
    expectConsistent(summary, tally);
  });

  it('counts other statuses as errors by status, with the first message seen', async () => {
    const { url, tally } = await startHttp((sequence) => (sequence % 2 === 0 ? { status: 200 } : { status: 400 }));
    const summary = await runLoad({ target: url, spans: 6 * 10, spansPerRequest: 10, concurrency: 2, duration: '30s' });
    expect(summary.requests).toEqual({ sent: 6, ok: 3, refused: 0, errors: 3 });
    expect(summary.errorsByStatus).toEqual({ '400': 3 });
    expect(summary.errorSamples['400']).toBe('scripted 400');
    expectConsistent(summary, tally);
  });

  it('counts a target that is not there as connection errors, without spinning', async () => {
    const port = await closedPort();
    const started = performance.now();
    const summary = await runLoad({ target: `http://127.0.0.1:${port}`, duration: '400ms', concurrency: 2, spansPerRequest: 8 });
    // A safety limit only (the duration is 400 ms): this machine may be slow, never that slow.
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(summary.requests.ok + summary.requests.refused).toBe(0);
    expect(Object.keys(summary.errorsByStatus)).toEqual(['ECONNREFUSED']);
    // 100 ms pause after each unanswered request: 2 workers × ~4 tries in 400 ms.
    expect(summary.requests.errors).toBeLessThanOrEqual(12);
    expect(summary.latencyMs.p50).toBeNull();
  });

  it('keeps to --rate, and stops at the duration when no span bound is given', async () => {
    const { url, tally } = await startHttp(() => ({ status: 200 }));
    const summary = await runLoad({ target: url, rate: 20, duration: '1s', spansPerRequest: 16, concurrency: 4 });
    // 20/s for 1 s: the slots at 0, 50, ..., 950 ms. The rate is a ceiling, which a slow or
    // loaded machine cannot break; how many slots it fills is not asserted.
    expect(summary.requests.sent).toBeGreaterThanOrEqual(1);
    expect(summary.requests.sent).toBeLessThanOrEqual(21);
    expect(summary.durationSeconds).toBeGreaterThanOrEqual(0.9);
    expect(summary.durationSeconds).toBeLessThan(30);
    expectConsistent(summary, tally);
  });

  it('stops early when the signal is aborted, still returning the summary', async () => {
    const { url } = await startHttp(() => ({ status: 200 }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = performance.now();
    const summary = await runLoad({ target: url, duration: '60s', spansPerRequest: 16, concurrency: 2, rate: 50 }, { signal: controller.signal });
    // Far below the 60 s duration: the abort ended the run (a safety limit, not a timing goal).
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(summary.requests.sent).toBeGreaterThan(0);
    expect(summary.spans.sent).toBe(summary.spans.acknowledged + summary.spans.failed);
  });
});

describe('load generator over OTLP/gRPC', () => {
  it('sends gzipped framed requests and counts UNAVAILABLE/RESOURCE_EXHAUSTED as refused with their RetryInfo', async () => {
    const { target, tally } = await startGrpc();
    const summary = await runLoad({ target, protocol: 'grpc', spans: 20 * 64, spansPerRequest: 64, concurrency: 4, gzip: true, duration: '30s' });
    expect(summary.requests).toEqual({ sent: 20, ok: 10, refused: 10, errors: 0 });
    expect(summary.spans).toEqual({ sent: 1280, acknowledged: 10 * 64 - 5 * 4, refused: 10 * 64, rejected: 5 * 4, failed: 0 });
    expect(summary.retryAfter).toEqual({ '3': 5, '1.5': 5 });
    expect(summary.protocol).toBe('grpc');
    expectConsistent(summary, tally);
  });

  it('sends uncompressed requests to an http:// target', async () => {
    const { target, tally } = await startGrpc();
    const summary = await runLoad({ target: `http://${target}`, protocol: 'grpc', spans: 8 * 32, spansPerRequest: 32, concurrency: 8, duration: '30s' });
    expect(summary.requests.sent).toBe(8);
    expectConsistent(summary, tally);
  });

  it('counts a target that is not there as connection errors', async () => {
    const port = await closedPort();
    const summary = await runLoad({ target: `127.0.0.1:${port}`, protocol: 'grpc', duration: '300ms', concurrency: 2, spansPerRequest: 8 });
    expect(summary.requests.ok + summary.requests.refused).toBe(0);
    expect(summary.requests.errors).toBeGreaterThan(0);
    expect(Object.keys(summary.errorsByStatus)).toEqual(['ECONNREFUSED']);
  });
});

describe('load generator requests', () => {
  it('have a realistic shape: ~10 attributes, events, links, traces of 1-50 spans across requests, distinct ids', () => {
    const pool = buildRequestPool({ protocol: 'http/protobuf', spansPerRequest: 512, poolSize: 8, spans: undefined, gzip: false, seed: 42 });
    expect(pool.requests).toHaveLength(8);
    expect(pool.tail).toBeUndefined();
    const requests = pool.requests.map((request) => decodeTraceRequest(request.body));
    const spans = requests.flat();
    expect(spans).toHaveLength(8 * 512);
    expect(new Set(spans.map((span) => Buffer.from(span.spanId).toString('hex'))).size).toBe(spans.length);
    for (const span of spans) {
      expect(span.resource.attributes.length).toBeGreaterThanOrEqual(10);
      expect(span.attributes.length).toBeGreaterThanOrEqual(10);
    }
    expect(spans.filter((span) => (span.extra?.events.length ?? 0) > 0).length).toBeGreaterThan(spans.length * 0.1);
    expect(spans.filter((span) => (span.extra?.links.length ?? 0) > 0).length).toBeGreaterThan(0);
    expect(new Set(spans.map((span) => span.resource.attributes.find((a) => a.key === 'service.name')?.value)).size).toBeGreaterThan(1);

    const traceSizes = new Map<string, number>();
    const requestsOfTrace = new Map<string, Set<number>>();
    requests.forEach((request, index) => {
      for (const span of request) {
        const id = Buffer.from(span.traceId).toString('hex');
        traceSizes.set(id, (traceSizes.get(id) ?? 0) + 1);
        requestsOfTrace.set(id, (requestsOfTrace.get(id) ?? new Set()).add(index));
      }
    });
    const sizes = [...traceSizes.values()];
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_TRACE_SPANS);
    expect(Math.min(...sizes)).toBe(1);
    expect(Math.max(...sizes)).toBeGreaterThan(30);
    // Traces continue into the next request.
    const spread = [...requestsOfTrace.values()].filter((indexes) => indexes.size > 1);
    expect(spread.length).toBeGreaterThan(0);
    for (const indexes of spread) expect(Math.max(...indexes) - Math.min(...indexes)).toBe(indexes.size - 1);
  });

  it('are gRPC-framed and gzipped once when asked, and no more are built than the span bound lets be sent', () => {
    const pool = buildRequestPool({ protocol: 'grpc', spansPerRequest: 100, poolSize: 32, spans: 250, gzip: true, seed: 7 });
    expect(pool.requests).toHaveLength(2);
    expect(pool.fullRequestBudget).toBe(2);
    expect(pool.tail?.spans).toBe(50);
    for (const request of [...pool.requests, pool.tail!]) {
      expect(request.body[0]).toBe(1);
      expect(request.body.readUInt32BE(1)).toBe(request.body.length - 5);
      expect(decodeTraceRequest(gunzipSync(request.body.subarray(5)))).toHaveLength(request.spans);
    }
  });
});

describe('load generator latency histogram', () => {
  it('gives percentiles within 1/64 of the true value, and the exact max', () => {
    const histogram = new LatencyHistogram();
    expect(histogram.percentileMs(50)).toBeNull();
    for (let ms = 1; ms <= 1000; ms++) histogram.recordNs(BigInt(ms) * 1_000_000n);
    for (const [p, truth] of [
      [50, 500],
      [90, 900],
      [99, 990],
    ] as const) {
      const value = histogram.percentileMs(p)!;
      expect(value).toBeGreaterThanOrEqual(truth);
      expect(value).toBeLessThanOrEqual(truth * (1 + 1 / 64));
    }
    expect(histogram.maxMs()).toBe(1000);
    expect(histogram.count).toBe(1000);
  });
});

describe('load generator options', () => {
  it('refuses non-loopback targets without --allow-remote', () => {
    for (const target of ['http://10.0.0.1:4318', 'http://example.com:4318', 'http://[2001:db8::1]:4318', 'http://0.0.0.0:4318']) {
      expect(() => resolveLoadOptions({ target, duration: '1s' })).toThrow(/--allow-remote/);
    }
    expect(() => resolveLoadOptions({ target: 'collector.example:4317', protocol: 'grpc', duration: '1s' })).toThrow(/--allow-remote/);
    expect(resolveLoadOptions({ target: 'http://10.0.0.1:4318', duration: '1s', allowRemote: true }).url.href).toBe('http://10.0.0.1:4318/v1/traces');
    for (const target of ['http://127.0.0.1:4318', 'http://127.9.8.7:1', 'http://localhost:4318', 'http://[::1]:4318']) {
      expect(resolveLoadOptions({ target, duration: '1s' }).url.pathname).toBe('/v1/traces');
    }
  });

  it('needs at least one bound, a known protocol and sane numbers', () => {
    expect(() => resolveLoadOptions({ target: 'http://127.0.0.1:4318' })).toThrow(/at least one bound/);
    expect(() => resolveLoadOptions({ protocol: 'udp', duration: '1s' })).toThrow(/--protocol/);
    expect(() => resolveLoadOptions({ duration: '0s' })).toThrow(/--duration/);
    expect(() => resolveLoadOptions({ duration: 'soon' })).toThrow(/--duration/);
    expect(() => resolveLoadOptions({ spans: 0 })).toThrow(/--spans/);
    expect(() => resolveLoadOptions({ duration: '1s', concurrency: 0 })).toThrow(/--concurrency/);
    expect(() => resolveLoadOptions({ duration: '1s', rate: -1 })).toThrow(/--rate/);
    expect(() => resolveLoadOptions({ target: 'ftp://127.0.0.1', duration: '1s' })).toThrow(LoadOptionsError);
    expect(() => resolveLoadOptions({ target: 'http://127.0.0.1:4317/x', protocol: 'grpc', duration: '1s' })).toThrow(/without a path/);
  });

  it('resolves targets and defaults', () => {
    const http = resolveLoadOptions({ spans: 10 });
    expect(http).toMatchObject({ protocol: 'http/protobuf', concurrency: 8, spansPerRequest: 512, gzip: false, spans: 10, rate: undefined });
    expect(http.url.href).toBe('http://127.0.0.1:4318/v1/traces');
    expect(resolveLoadOptions({ protocol: 'grpc', duration: '1s' }).url.origin).toBe('http://127.0.0.1:4317');
    expect(resolveLoadOptions({ target: 'localhost', protocol: 'grpc', duration: '1s' }).url.origin).toBe('http://localhost:4317');
    expect(resolveLoadOptions({ target: '127.0.0.1:4318', duration: '1s' }).url.href).toBe('http://127.0.0.1:4318/v1/traces');
    expect(resolveLoadOptions({ duration: '1.5m' }).durationMs).toBe(90_000);
    expect(resolveLoadOptions({ duration: '250ms' }).durationMs).toBe(250);
    const cli = parseLoadArgs([]);
    expect(cli.kind === 'run' && cli.options.durationMs).toBe(10_000);
    const both = parseLoadArgs(['--spans', '5000', '--duration', '3s', '--rate', '2.5', '--gzip', '--json']);
    expect(both.kind === 'run' && both.options).toMatchObject({ spans: 5000, durationMs: 3000, rate: 2.5, gzip: true });
    expect(both.kind === 'run' && both.json).toBe(true);
  });
});

/** Captured stdout and stderr for the CLI's main. */
function captureIo(tty: boolean): { stdout: { write(text: string): boolean }; stderr: { write(text: string): boolean; isTTY: boolean }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => ((out += text), true) },
    stderr: { write: (text: string) => ((err += text), true), isTTY: tty },
    out: () => out,
    err: () => err,
  };
}

describe('load generator CLI', () => {
  it('prints exactly one JSON object with --json, and no progress even on a TTY', async () => {
    const { url, tally } = await startHttp();
    const io = captureIo(true);
    const code = await main(['--target', url, '--spans', '640', '--spans-per-request', '64', '--concurrency', '2', '--json'], io);
    expect(code).toBe(0);
    expect(io.err()).toBe('');
    const lines = io.out().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('');
    const summary = JSON.parse(lines[0]!) as LoadSummary;
    expect(Object.keys(summary)).toEqual(
      expect.arrayContaining(['target', 'protocol', 'durationSeconds', 'requests', 'spans', 'requestsPerSecond', 'spansPerSecond', 'latencyMs', 'retryAfter', 'errorsByStatus']),
    );
    expect(summary.requests.sent).toBe(10);
    expectConsistent(summary, tally);
  });

  it('draws progress on a TTY and ends with the human summary', async () => {
    const { url } = await startHttp();
    const io = captureIo(true);
    const code = await main(['--target', url, '--duration', '1200ms', '--rate', '10', '--spans-per-request', '16'], io);
    expect(code).toBe(0);
    expect(io.err()).toMatch(/\r.*spans\/s.*acked.*refused.*p99/);
    expect(io.out()).toMatch(/^target +http:\/\/127\.0\.0\.1:\d+ \(http\/protobuf\)$/m);
    expect(io.out()).toMatch(/^latency \(ms\) +p50 [\d.]+ +p90 [\d.]+ +p99 [\d.]+ +max [\d.]+$/m);
    expect(io.out()).toMatch(/^retry-after +2s ×\d+ +7s ×\d+$/m);
  });

  it('draws nothing on stderr when it is not a TTY', async () => {
    const { url } = await startHttp(() => ({ status: 200 }));
    const io = captureIo(false);
    expect(await main(['--target', url, '--spans', '64', '--spans-per-request', '32'], io)).toBe(0);
    expect(io.err()).toBe('');
    expect(io.out()).toMatch(/^spans +64 sent +64 acknowledged/m);
  });

  it('exits 1 when every request failed', async () => {
    const { url } = await startHttp(() => ({ status: 500 }));
    const io = captureIo(false);
    expect(await main(['--target', url, '--spans', '64', '--spans-per-request', '32', '--json'], io)).toBe(1);
    expect((JSON.parse(io.out()) as LoadSummary).errorsByStatus).toEqual({ '500': 2 });
  });

  it('exits 2 with a clear message for bad options, and 0 for --help', async () => {
    for (const [argv, message] of [
      [['--target', 'http://192.168.1.10:4318'], /without --allow-remote only loopback targets/],
      [['--protocol', 'udp'], /--protocol must be one of http\/protobuf, http\/json, grpc/],
      [['--duration', '0s'], /--duration must be from 1ms to 24h/],
      [['--spans', 'many'], /--spans needs a number/],
      [['--concurrency', '0'], /--concurrency must be an integer/],
      [['--bogus'], /Unknown option '--bogus'/],
      [['stray'], /positional/i],
    ] as const) {
      const io = captureIo(false);
      expect(await main(argv, io)).toBe(2);
      expect(io.err()).toMatch(message);
      expect(io.out()).toBe('');
    }
    const io = captureIo(false);
    expect(await main(['--help'], io)).toBe(0);
    expect(io.out()).toMatch(/^usage: npm run load/);
    expect(io.out()).toMatch(/never retried/);
  });
});
