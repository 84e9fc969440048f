/**
 * Senders put one pre-encoded request on the wire and say how it ended. They never retry and
 * never reject: every ending, including no answer at all, is a RequestOutcome.
 *
 * OTLP/HTTP goes through node:http(s) with a keep-alive Agent of `concurrency` sockets.
 * OTLP/gRPC goes through node:http2 directly rather than @grpc/grpc-js: the pool holds
 * complete gRPC messages (length prefix included, gzipped once when asked), and grpc-js would
 * compress every message again on each call, which is exactly the per-request cost the pool
 * exists to avoid. A unary gRPC call is one HTTP/2 stream: headers, one framed message, then
 * the answer's headers, message and trailers (grpc-status, grpc-message, grpc-status-details-bin).
 */
import http from 'node:http';
import http2 from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders as Http2Headers } from 'node:http2';
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import {
  decodeRetryInfo,
  decodeRpcStatus,
  decodeRpcStatusJson,
  decodeTraceResponse,
  decodeTraceResponseJson,
  RETRY_INFO_TYPE_URL,
  TRACE_EXPORT_PATH,
} from '#spanring/otlp';
import type { TraceExportResponse } from '#spanring/otlp';
import type { LoadOptions } from './options.ts';
import type { PreparedRequest } from './request-builder.ts';
import type { RequestOutcome } from './stats.ts';


/** Answers are small (a response or a status); anything bigger is cut off rather than buffered. */
const MAX_RESPONSE_BYTES = 1024 * 1024;
/** Streams per HTTP/2 connection: under the 100 that servers commonly allow at once. */
const STREAMS_PER_SESSION = 64;
/** How long close() waits for connections to end gracefully before destroying them. */
const CLOSE_GRACE_MS = 1_000;
const USER_AGENT = 'spanring-load/0.1';

export interface Sender {
  /**
   * Sends `request`; resolves when it has ended, never rejects. `lane` is the caller's worker
   * number (gRPC spreads lanes over connections); `signal` cancels the request.
   */
  send(request: PreparedRequest, lane: number, signal: AbortSignal): Promise<RequestOutcome>;
  close(): Promise<void>;
}

export function createSender(options: LoadOptions): Sender {
  return options.protocol === 'grpc' ? new GrpcSender(options) : new HttpSender(options);
}

/** A per-request deadline joined with the caller's signal; `done()` clears the timer. */
function deadline(signal: AbortSignal, timeoutMs: number): { signal: AbortSignal; timedOut: () => boolean; done: () => void } {
  const timer = new AbortController();
  const handle = setTimeout(() => timer.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  return {
    signal: AbortSignal.any([signal, timer.signal]),
    timedOut: () => timer.signal.aborted,
    done: () => clearTimeout(handle),
  };
}

function transportError(error: unknown, callerSignal: AbortSignal, timedOut: boolean): RequestOutcome {
  if (callerSignal.aborted) return { kind: 'error', status: 'aborted', answered: false, message: 'the run was stopped' };
  if (timedOut) return { kind: 'error', status: 'timeout', answered: false, message: 'no answer before the request deadline' };
  const err = error as { code?: unknown; message?: unknown; cause?: { code?: unknown } };
  // http2 reports a failed connection on its streams as a cancel whose cause is the real error.
  const code = typeof err.cause?.code === 'string' ? err.cause.code : typeof err.code === 'string' ? err.code : 'transport-error';
  return { kind: 'error', status: code, answered: false, message: String(err.message ?? error) };
}

// ---------------------------------------------------------------------------------------------
// OTLP/HTTP

class HttpSender implements Sender {
  private readonly url: URL;
  private readonly client: typeof http | typeof https;
  private readonly agent: http.Agent;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(options: LoadOptions) {
    this.url = options.url;
    this.timeoutMs = options.requestTimeoutMs;
    const tls = options.url.protocol === 'https:';
    this.client = tls ? https : http;
    const agentOptions = { keepAlive: true, maxSockets: options.concurrency, maxFreeSockets: options.concurrency };
    this.agent = tls ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.headers = {
      'content-type': options.protocol === 'http/json' ? 'application/json' : 'application/x-protobuf',
      'user-agent': USER_AGENT,
      ...(options.gzip ? { 'content-encoding': 'gzip' } : {}),
    };
  }

  send(request: PreparedRequest, _lane: number, signal: AbortSignal): Promise<RequestOutcome> {
    return new Promise((resolve) => {
      const limit = deadline(signal, this.timeoutMs);
      let settled = false;
      const settle = (outcome: RequestOutcome): void => {
        if (settled) return;
        settled = true;
        limit.done();
        resolve(outcome);
      };
      const onError = (error: unknown): void => settle(transportError(error, signal, limit.timedOut()));
      const req = this.client.request(this.url, {
        method: 'POST',
        agent: this.agent,
        headers: { ...this.headers, 'content-length': String(request.body.length) },
        signal: limit.signal,
      });
      req.on('error', onError);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) res.destroy(Object.assign(new Error('the answer is larger than 1 MiB'), { code: 'response-too-large' }));
          else chunks.push(chunk);
        });
        res.on('error', onError);
        res.on('end', () => settle(httpOutcome(res.statusCode ?? 0, res.headers, Buffer.concat(chunks))));
        res.on('close', () => {
          if (!res.complete) onError(Object.assign(new Error('the connection closed before the answer was complete'), { code: 'ECONNRESET' }));
        });
      });
      req.end(request.body);
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}

/** How an OTLP/HTTP answer counts (OTLP spec: 200 success, 429/503 retryable, others not). */
export function httpOutcome(status: number, headers: IncomingHttpHeaders, body: Buffer): RequestOutcome {
  const json = (headers['content-type'] ?? '').toLowerCase().includes('json');
  if (status >= 200 && status < 300) {
    let response: TraceExportResponse;
    try {
      response = body.length === 0 ? { partialSuccess: undefined } : json ? decodeTraceResponseJson(body) : decodeTraceResponse(body);
    } catch (error) {
      return { kind: 'error', status: `${status} (undecodable answer)`, answered: true, message: (error as Error).message };
    }
    return { kind: 'ok', rejected: Number(response.partialSuccess?.rejectedSpans ?? 0n) };
  }
  if (status === 429 || status === 503) {
    const retryAfter = headers['retry-after']?.trim();
    return { kind: 'refused', retryAfter: retryAfter === '' ? undefined : retryAfter };
  }
  return { kind: 'error', status: String(status), answered: true, message: httpErrorMessage(body, json) };
}

/** The google.rpc.Status message of an error answer, or its text when it is not one. */
function httpErrorMessage(body: Buffer, json: boolean): string {
  try {
    const status = json ? decodeRpcStatusJson(body) : decodeRpcStatus(body);
    if (status.message !== '') return status.message;
  } catch {
    // not a Status: fall through to the raw text
  }
  return body.subarray(0, 300).toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// OTLP/gRPC

/** google.rpc.Code names, the keys errors are counted under. */
const GRPC_CODES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;
const GRPC_OK = 0;
const GRPC_RESOURCE_EXHAUSTED = 8;
const GRPC_UNAVAILABLE = 14;

/** What gRPC clients report for an HTTP status that came without a grpc-status (gRPC's http-grpc-status-mapping). */
function grpcCodeOfHttpStatus(status: number): number {
  if (status === 400) return 13;
  if (status === 401) return 16;
  if (status === 403) return 7;
  if (status === 404) return 12;
  if (status === 429 || status === 502 || status === 503 || status === 504) return GRPC_UNAVAILABLE;
  return 2;
}

class GrpcSender implements Sender {
  private readonly origin: string;
  private readonly sessions: (ClientHttp2Session | undefined)[];
  private readonly headers: http2.OutgoingHttpHeaders;
  private readonly timeoutMs: number;

  constructor(options: LoadOptions) {
    this.origin = options.url.origin;
    this.timeoutMs = options.requestTimeoutMs;
    this.sessions = Array.from({ length: Math.ceil(options.concurrency / STREAMS_PER_SESSION) }, () => undefined);
    this.headers = {
      ':method': 'POST',
      ':path': TRACE_EXPORT_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': `${options.requestTimeoutMs}m`,
      // Answers are a few bytes: asking for them uncompressed saves both sides the work.
      'grpc-accept-encoding': 'identity',
      'user-agent': USER_AGENT,
      ...(options.gzip ? { 'grpc-encoding': 'gzip' } : {}),
    };
  }

  /** The lane's connection, opened again when the last one closed or was told to go away. */
  private session(lane: number): ClientHttp2Session {
    const index = lane % this.sessions.length;
    const current = this.sessions[index];
    if (current !== undefined && !current.closed && !current.destroyed) return current;
    const session = http2.connect(this.origin);
    const forget = (): void => {
      if (this.sessions[index] === session) this.sessions[index] = undefined;
    };
    // Connection errors also fail the streams, which is where they are counted.
    session.on('error', forget);
    session.on('goaway', forget);
    session.on('close', forget);
    this.sessions[index] = session;
    return session;
  }

  send(request: PreparedRequest, lane: number, signal: AbortSignal): Promise<RequestOutcome> {
    return new Promise((resolve) => {
      const limit = deadline(signal, this.timeoutMs);
      let settled = false;
      const settle = (outcome: RequestOutcome): void => {
        if (settled) return;
        settled = true;
        limit.done();
        resolve(outcome);
      };
      const onError = (error: unknown): void => settle(transportError(error, signal, limit.timedOut()));
      let stream: ClientHttp2Stream;
      try {
        stream = this.session(lane).request(this.headers, { signal: limit.signal });
      } catch (error) {
        onError(error);
        return;
      }
      let head: Http2Headers | undefined;
      let trailers: Http2Headers | undefined;
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('response', (headers) => {
        head = headers;
      });
      stream.on('trailers', (headers) => {
        trailers = headers;
      });
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) stream.destroy(Object.assign(new Error('the answer is larger than 1 MiB'), { code: 'response-too-large' }));
        else chunks.push(chunk);
      });
      stream.on('error', onError);
      stream.on('close', () => {
        // A trailers-only answer (the usual form of an error) carries grpc-status in its headers.
        const final = trailers ?? (head?.['grpc-status'] !== undefined ? head : undefined);
        if (final !== undefined) settle(grpcOutcome(final, head, Buffer.concat(chunks)));
        else if (head !== undefined && Number(head[':status']) !== 200) {
          settle(grpcStatusOutcome(grpcCodeOfHttpStatus(Number(head[':status'])), `HTTP ${String(head[':status'])}`, undefined));
        }
        else onError(Object.assign(new Error(`the stream ended without a grpc-status (RST_STREAM code ${stream.rstCode ?? 0})`), { code: 'no-grpc-status' }));
      });
      stream.end(request.body);
    });
  }

  async close(): Promise<void> {
    const open = this.sessions.filter((session): session is ClientHttp2Session => session !== undefined);
    this.sessions.fill(undefined);
    await Promise.all(
      open.map(
        (session) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              session.destroy();
              resolve();
            }, CLOSE_GRACE_MS);
            session.close(() => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
  }
}

function grpcOutcome(final: Http2Headers, head: Http2Headers | undefined, data: Buffer): RequestOutcome {
  const code = Number(final['grpc-status']);
  const message = percentDecode(String(final['grpc-message'] ?? ''));
  if (!Number.isInteger(code)) return { kind: 'error', status: 'bad-grpc-status', answered: true, message: `grpc-status: ${String(final['grpc-status'])}` };
  if (code !== GRPC_OK) return grpcStatusOutcome(code, message, final['grpc-status-details-bin']);
  let response: TraceExportResponse;
  try {
    response = decodeTraceResponse(responseMessage(data, head?.['grpc-encoding']));
  } catch (error) {
    return { kind: 'error', status: 'OK (undecodable answer)', answered: true, message: (error as Error).message };
  }
  return { kind: 'ok', rejected: Number(response.partialSuccess?.rejectedSpans ?? 0n) };
}

function grpcStatusOutcome(code: number, message: string, details: string | string[] | undefined): RequestOutcome {
  if (code === GRPC_UNAVAILABLE || code === GRPC_RESOURCE_EXHAUSTED) return { kind: 'refused', retryAfter: retryDelay(details) };
  return { kind: 'error', status: GRPC_CODES[code] ?? `grpc-status ${code}`, answered: true, message };
}

/** The one message of a unary answer, out of its length-prefixed frame. */
function responseMessage(data: Buffer, encoding: string | string[] | undefined): Buffer {
  if (data.length < 5) throw new Error('the answer carries no message');
  const length = data.readUInt32BE(1);
  if (data.length < 5 + length) throw new Error(`the answer's message is cut short (${data.length - 5} of ${length} bytes)`);
  const message = data.subarray(5, 5 + length);
  if (data[0] === 0) return message;
  if (encoding !== 'gzip') throw new Error(`the answer is compressed with "${String(encoding)}"`);
  return gunzipSync(message, { maxOutputLength: MAX_RESPONSE_BYTES });
}

/** The RetryInfo delay, in seconds as text, from the base64 google.rpc.Status trailer. */
function retryDelay(details: string | string[] | undefined): string | undefined {
  const encoded = Array.isArray(details) ? details[0] : details;
  if (encoded === undefined || encoded === '') return undefined;
  try {
    const status = decodeRpcStatus(Buffer.from(encoded, 'base64'));
    const info = status.details.find((detail) => detail.typeUrl === RETRY_INFO_TYPE_URL);
    const delay = info === undefined ? undefined : decodeRetryInfo(info.value).retryDelay;
    return delay === undefined ? undefined : String(Number(delay.seconds) + delay.nanos / 1e9);
  } catch {
    // A malformed detail is the server's problem; the refusal still counts.
    return undefined;
  }
}

function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
