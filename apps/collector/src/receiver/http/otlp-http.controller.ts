import type { IncomingMessage, ServerResponse } from 'node:http';
import { All, Controller, Inject, Logger, Optional, Req, Res } from '@nestjs/common';
import { decodeTraceRequestJson, OtlpDecodeError, scanTraceRequest, type Span } from '#spanring/otlp';
import { CollectorClosedError } from '#spanring/pipeline';
import { SpanCollectorService } from '#spanring/nest';
import { HTTP_RECEIVER_SETTINGS, type HttpReceiverSettings } from '../../config/runtime-config.ts';
import { ReceiverStats } from '../../telemetry/receiver-stats.ts';
import { ClientProducers, InvalidTenantError, parseTenant, TENANT_HEADER } from './client-producers.ts';
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

/**
 * POST /v1/traces, OTLP/HTTP: protobuf or JSON, identity or gzip. The handler owns the whole
 * exchange (`@Res()`): it reads the raw body itself (the app must run with `bodyParser: false`,
 * see HTTP_RECEIVER_APP_OPTIONS) and writes every answer, success or Status, through `res`.
 *
 * Answers: 200 ExportTraceServiceResponse; 400 undecodable/invalid data, corrupt gzip, bad
 * tenant header; 405 (+ Allow: POST) other methods; 413 body over the limit (wire or
 * decompressed); 415 other media types or codings; 429 rings full past the backpressure wait;
 * 503 collector draining; 429/503 carry Retry-After and a RetryInfo detail.
 *
 * Invalid data rejects the whole request (400), not single spans: the codec validates the
 * request as one message and names the first bad field, and dropping the spans it could not
 * read would hide a client bug behind a 200. partial_success is reserved for the one case
 * where part of a request really did enter the pipeline (a request larger than the ring cut
 * short by backpressure or shutdown, see submit.ts).
 */
@Controller(OTLP_TRACES_PATH)
export class OtlpHttpController {
  private readonly logger = new Logger('OtlpHttpReceiver');
  private readonly settings: HttpReceiverSettings;
  private readonly service: SpanCollectorService;
  private readonly clients: ClientProducers;
  private readonly stats: ReceiverStats | undefined;

  constructor(
    @Inject(HTTP_RECEIVER_SETTINGS) settings: HttpReceiverSettings,
    @Inject(SpanCollectorService) service: SpanCollectorService,
    @Inject(ClientProducers) clients: ClientProducers,
    // Provided by the (global) TelemetryModule; the receiver works without it.
    @Optional() @Inject(ReceiverStats) stats?: ReceiverStats,
  ) {
    this.settings = settings;
    this.service = service;
    this.clients = clients;
    this.stats = stats;
  }

  // Every method reaches this handler, so anything but POST gets a 405 with Allow (not a 404).
  @All()
  async traces(@Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    try {
      await this.handle(req, res);
    } catch (error) {
      // A bug, not bad input: say so without leaking details, and keep the server up.
      this.logger.error(`OTLP/HTTP request failed: ${(error as Error).stack ?? String(error)}`);
      sendStatus(res, parseOtlpMediaType(req.headers['content-type']) ?? 'json', {
        httpStatus: 500,
        rpcCode: RpcCode.INTERNAL,
        message: 'internal error while receiving the request',
        closeConnection: true,
      });
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
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

    let body: Buffer;
    try {
      body = await readBody(req, { maxBytes: this.settings.maxRequestBodyBytes, coding });
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

    let spans: Span[];
    try {
      spans = format === 'protobuf' ? scanTraceRequest(body) : decodeTraceRequestJson(body);
    } catch (error) {
      if (!(error instanceof OtlpDecodeError)) throw error;
      return sendStatus(res, format, { httpStatus: 400, rpcCode: RpcCode.INVALID_ARGUMENT, message: error.message });
    }
    if (spans.length === 0) return sendSuccess(res, format);
    await this.submit(req, res, format, tenant, spans);
  }

  private async submit(req: IncomingMessage, res: ServerResponse, format: OtlpFormat, tenant: string | undefined, spans: Span[]): Promise<void> {
    const retryAfterSeconds = this.service.retryAfterSeconds;
    const draining = (): void =>
      sendStatus(res, format, {
        httpStatus: 503,
        rpcCode: RpcCode.UNAVAILABLE,
        message: new CollectorClosedError().message,
        retryAfterSeconds,
      });
    // A draining collector registers no new rings; answer before asking for one.
    if (!this.service.accepting) {
      this.stats?.record('http', 0, spans.length);
      return draining();
    }

    const lease = this.clients.acquire(req.socket, this.clients.clientKey(req.socket, tenant));
    // A client that hangs up stops waiting for ring space: nobody would read the answer.
    const gone = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) gone.abort();
    };
    res.once('close', onClose);
    try {
      const timeoutMs = this.service.collector.options.collector.backpressureTimeoutMs;
      const { accepted, refusal } = await lease.producer.admit(spans, { timeoutMs, signal: gone.signal });
      // otelcol_receiver_accepted/refused_spans: what entered the pipeline and what did not.
      this.stats?.record('http', accepted, spans.length - accepted);
      if (refusal === undefined) return sendSuccess(res, format);
      if (accepted > 0) {
        // Part of a ring-sized-or-larger request got in: a retry would duplicate it, so this is
        // a partial success (which clients must not retry), not a 429/503.
        const rejected = spans.length - accepted;
        return sendSuccess(res, format, {
          rejectedSpans: BigInt(rejected),
          errorMessage: `${rejected} of ${spans.length} spans were rejected: ${refusal.message}`,
        });
      }
      if (refusal instanceof CollectorClosedError) return draining();
      return sendStatus(res, format, {
        httpStatus: 429,
        rpcCode: RpcCode.RESOURCE_EXHAUSTED,
        message: refusal.message,
        retryAfterSeconds,
      });
    } finally {
      res.off('close', onClose);
      lease.release();
    }
  }
}

/** True when a body parser ran before us (the app was created without bodyParser: false). */
function bodyAlreadyConsumed(req: IncomingMessage): boolean {
  return req.readableEnded || (req as IncomingMessage & { body?: unknown }).body !== undefined;
}
