/**
 * POST /v1/traces, OTLP/HTTP, without a framework: the Nest controller (main-thread receiving)
 * and the receiver worker threads' plain node:http servers both run this. It reads the raw
 * body itself (streaming, gunzip, limits), decodes and validates it, hands the spans to a
 * SpanSink and writes every answer, success or Status, through `res`.
 *
 * Answers: 200 ExportTraceServiceResponse; 400 undecodable/invalid data, corrupt gzip, bad
 * tenant header; 405 (+ Allow: POST) other methods; 413 body over the limit (wire or
 * decompressed); 415 other media types or codings; 429 sink full past the backpressure wait;
 * 503 draining; 429/503 carry Retry-After and a RetryInfo detail.
 *
 * Invalid data rejects the whole request (400), not single spans: the codec validates the
 * request as one message and names the first bad field, and dropping the spans it could not
 * read would hide a client bug behind a 200. partial_success is reserved for the one case
 * where part of a request really did enter the pipeline (a request larger than the ring cut
 * short by backpressure or shutdown).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OtlpDecodeError } from '#spanring/otlp';
import { CollectorClosedError, DurableWriteError } from '#spanring/pipeline/errors';
import { refuseAtOnce, type DecodedRequest, type ReceiverLogger, type SpanSink } from '../span-sink.ts';
import { httpClientKey, InvalidTenantError, parseTenant, TENANT_HEADER } from './client-key.ts';
import {
  JSON_MEDIA_TYPE,
  parseContentEncoding,
  parseOtlpMediaType,
  PROTOBUF_MEDIA_TYPE,
  SUPPORTED_CODINGS,
  type OtlpFormat,
} from './media-type.ts';
import { BodyAbortedError, BodyEncodingError, BodyTooLargeError, readBody } from './read-body.ts';
import { RpcCode, sendStatus, sendSuccess } from './responses.ts';

/** The OTLP/HTTP traces path (otelcol traces_url_path default). */
export const OTLP_TRACES_PATH = '/v1/traces';

export interface OtlpHttpHandlerOptions {
  /** Limit on the body, on the wire and decompressed. */
  readonly maxRequestBodyBytes: number;
  readonly sink: SpanSink;
  readonly logger: ReceiverLogger;
}

/** Handles one request to OTLP_TRACES_PATH (any method); never rejects. */
export async function handleOtlpHttpRequest(req: IncomingMessage, res: ServerResponse, options: OtlpHttpHandlerOptions): Promise<void> {
  try {
    await handle(req, res, options);
  } catch (error) {
    // A bug, not bad input: say so without leaking details, and keep the server up.
    options.logger.error(`OTLP/HTTP request failed: ${(error as Error).stack ?? String(error)}`);
    sendStatus(res, parseOtlpMediaType(req.headers['content-type']) ?? 'json', {
      httpStatus: 500,
      rpcCode: RpcCode.INTERNAL,
      message: 'internal error while receiving the request',
      closeConnection: true,
    });
  }
}

async function handle(req: IncomingMessage, res: ServerResponse, options: OtlpHttpHandlerOptions): Promise<void> {
  const format = parseOtlpMediaType(req.headers['content-type']);
  if (req.method !== 'POST') {
    return sendStatus(res, format ?? 'json', {
      httpStatus: 405,
      rpcCode: RpcCode.UNIMPLEMENTED,
      message: `method ${req.method ?? '?'} is not allowed on ${OTLP_TRACES_PATH}; use POST`,
      headers: { Allow: 'POST' },
    });
  }
  if (format === undefined) {
    const got = req.headers['content-type'] === undefined ? 'no Content-Type' : `Content-Type "${req.headers['content-type']}"`;
    return sendStatus(res, 'json', {
      httpStatus: 415,
      rpcCode: RpcCode.UNIMPLEMENTED,
      message: `unsupported media type: ${got}; supported: ${PROTOBUF_MEDIA_TYPE}, ${JSON_MEDIA_TYPE}`,
      closeConnection: true,
    });
  }
  const coding = parseContentEncoding(req.headers['content-encoding']);
  if (coding === undefined) {
    return sendStatus(res, format, {
      httpStatus: 415,
      rpcCode: RpcCode.UNIMPLEMENTED,
      message: `unsupported Content-Encoding "${req.headers['content-encoding']}"; supported: ${SUPPORTED_CODINGS.join(', ')}`,
      closeConnection: true,
    });
  }
  if (bodyAlreadyConsumed(req)) {
    throw new Error('the request body was consumed before the OTLP receiver: create the Nest app with bodyParser: false');
  }
  let tenant: string | undefined;
  try {
    tenant = parseTenant(req.headers[TENANT_HEADER]);
  } catch (error) {
    if (!(error instanceof InvalidTenantError)) throw error;
    return sendStatus(res, format, { httpStatus: 400, rpcCode: RpcCode.INVALID_ARGUMENT, message: error.message, closeConnection: true });
  }

  const pool = options.sink.bodyPool;
  let body: Buffer;
  try {
    body = await readBody(req, { maxBytes: options.maxRequestBodyBytes, coding, allocate: pool?.take });
  } catch (error) {
    if (error instanceof BodyAbortedError) return;
    if (error instanceof BodyTooLargeError) {
      return sendStatus(res, format, { httpStatus: 413, rpcCode: RpcCode.RESOURCE_EXHAUSTED, message: error.message, closeConnection: true });
    }
    if (error instanceof BodyEncodingError) {
      return sendStatus(res, format, { httpStatus: 400, rpcCode: RpcCode.INVALID_ARGUMENT, message: error.message, closeConnection: true });
    }
    throw error;
  }

  try {
    const clientKey = httpClientKey(req.socket, tenant);
    if (!refuseUnvalidated(res, format, clientKey, body, options.sink)) await decodeAndSubmit(req, res, format, clientKey, body, options.sink);
  } finally {
    // Invariant W11: admit has settled (or never ran), so the sink holds nothing in the body.
    pool?.give(body.buffer);
  }
}

/**
 * Invariant W13: a request the sink would refuse at once for its waiting limits is answered
 * 429 without being validated, so refusing under overload stays cheap. Returns false when the
 * request takes the usual path (see refuseAtOnce).
 */
function refuseUnvalidated(res: ServerResponse, format: OtlpFormat, clientKey: string, body: Buffer, sink: SpanSink): boolean {
  const refusal = refuseAtOnce(sink, 'http', format, clientKey, body);
  if (refusal === undefined) return false;
  sendStatus(res, format, { httpStatus: 429, rpcCode: RpcCode.RESOURCE_EXHAUSTED, message: refusal.message, retryAfterSeconds: sink.retryAfterSeconds });
  return true;
}

async function decodeAndSubmit(
  req: IncomingMessage,
  res: ServerResponse,
  format: OtlpFormat,
  clientKey: string,
  body: Buffer,
  sink: SpanSink,
): Promise<void> {
  let decoded: DecodedRequest;
  try {
    decoded = sink.decode(format, body);
  } catch (error) {
    if (!(error instanceof OtlpDecodeError)) throw error;
    return sendStatus(res, format, { httpStatus: 400, rpcCode: RpcCode.INVALID_ARGUMENT, message: error.message });
  }
  if (decoded.spanCount === 0) return sendSuccess(res, format);
  await submit(req, res, format, clientKey, decoded, sink);
}

async function submit(
  req: IncomingMessage,
  res: ServerResponse,
  format: OtlpFormat,
  clientKey: string,
  decoded: DecodedRequest,
  sink: SpanSink,
): Promise<void> {
  const draining = (): void =>
    sendStatus(res, format, {
      httpStatus: 503,
      rpcCode: RpcCode.UNAVAILABLE,
      message: new CollectorClosedError().message,
      retryAfterSeconds: sink.retryAfterSeconds,
    });
  // A draining receiver registers no new rings; answer before asking for one.
  if (!sink.accepting()) {
    sink.count('http', 0, decoded.spanCount);
    return draining();
  }
  // A client that hangs up stops waiting for ring space: nobody would read the answer.
  const gone = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) gone.abort();
  };
  res.once('close', onClose);
  try {
    const { accepted, refusal } = await sink.admit({ ...decoded, transport: 'http', clientKey, socket: req.socket, signal: gone.signal });
    // otelcol_receiver_accepted/refused_spans: what entered the pipeline and what did not.
    sink.count('http', accepted, decoded.spanCount - accepted);
    if (refusal === undefined) return sendSuccess(res, format);
    // In the pipeline but not in the persistent queue: never a success (specs/durable-queue.md D1).
    if (refusal instanceof DurableWriteError) {
      return sendStatus(res, format, { httpStatus: 503, rpcCode: RpcCode.UNAVAILABLE, message: refusal.message, retryAfterSeconds: sink.retryAfterSeconds });
    }
    if (accepted > 0) {
      // Part of a ring-sized-or-larger request got in: a retry would duplicate it, so this is
      // a partial success (which clients must not retry), not a 429/503.
      const rejected = decoded.spanCount - accepted;
      return sendSuccess(res, format, {
        rejectedSpans: BigInt(rejected),
        errorMessage: `${rejected} of ${decoded.spanCount} spans were rejected: ${refusal.message}`,
      });
    }
    if (refusal instanceof CollectorClosedError) return draining();
    return sendStatus(res, format, {
      httpStatus: 429,
      rpcCode: RpcCode.RESOURCE_EXHAUSTED,
      message: refusal.message,
      retryAfterSeconds: sink.retryAfterSeconds,
    });
  } finally {
    res.off('close', onClose);
  }
}

/**
 * 404 for any other path, for servers without a router (the worker threads): OTLP clients get
 * a google.rpc.Status in their encoding, others the body Nest's default filter sends.
 */
export function sendOtlpNotFound(req: IncomingMessage, res: ServerResponse): void {
  const message = `Cannot ${req.method ?? 'GET'} ${(req.url ?? '/').split('?')[0]}`;
  const format = parseOtlpMediaType(req.headers['content-type']);
  if (format !== undefined) return sendStatus(res, format, { httpStatus: 404, rpcCode: RpcCode.NOT_FOUND, message });
  const text = JSON.stringify({ message, error: 'Not Found', statusCode: 404 });
  res.statusCode = 404;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', String(Buffer.byteLength(text)));
  res.end(text);
}

/** True when a body parser ran before us (the app was created without bodyParser: false). */
function bodyAlreadyConsumed(req: IncomingMessage): boolean {
  return req.readableEnded || (req as IncomingMessage & { body?: unknown }).body !== undefined;
}
