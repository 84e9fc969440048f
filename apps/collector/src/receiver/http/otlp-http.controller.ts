import type { IncomingMessage, ServerResponse } from 'node:http';
import { All, Controller, Inject, Logger, Optional, Req, Res } from '@nestjs/common';
import { SpanCollectorService } from '#spanring/nest';
import { HTTP_RECEIVER_SETTINGS, type HttpReceiverSettings } from '../../config/runtime-config.ts';
import { ReceiverStats } from '../../telemetry/receiver-stats.ts';
import { admitDurably, decodeForLog } from '../durable-admit.ts';
import { admitThroughLease } from '../leased-admit.ts';
import { WaitingRequests } from '../waiting-limits.ts';
import { decodeSpans, type AdmitOutcome, type DecodedRequest, type ReceivedRequest, type SpanSink, type Transport } from '../span-sink.ts';
import { ClientProducers } from './client-producers.ts';
import { handleOtlpHttpRequest, OTLP_TRACES_PATH, type OtlpHttpHandlerOptions } from './otlp-http-handler.ts';

/**
 * POST /v1/traces on the Nest app (main-thread receiving): the request handling is
 * otlp-http-handler.ts, shared with the receiver worker threads; this controller only plugs it
 * into the collector's per-client producer rings. The handler owns the whole exchange
 * (`@Res()`): the app must run with `bodyParser: false` (HTTP_RECEIVER_APP_OPTIONS).
 */
@Controller(OTLP_TRACES_PATH)
export class OtlpHttpController {
  private readonly options: OtlpHttpHandlerOptions;

  constructor(
    @Inject(HTTP_RECEIVER_SETTINGS) settings: HttpReceiverSettings,
    @Inject(SpanCollectorService) service: SpanCollectorService,
    @Inject(ClientProducers) clients: ClientProducers,
    // Provided by the (global) TelemetryModule; the receiver works without it.
    @Optional() @Inject(ReceiverStats) stats?: ReceiverStats,
  ) {
    const logger = new Logger('OtlpHttpReceiver');
    this.options = {
      maxRequestBodyBytes: settings.maxRequestBodyBytes,
      sink: new ClientProducerSink(service, clients, stats),
      logger: { error: (message) => logger.error(message), warn: (message) => logger.warn(message) },
    };
  }

  // Every method reaches this handler, so anything but POST gets a 405 with Allow (not a 404).
  @All()
  traces(@Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return handleOtlpHttpRequest(req, res, this.options);
  }
}

/** Each request through its client's producer ring (client-producers.ts). */
class ClientProducerSink implements SpanSink {
  readonly retryAfterSeconds: number;
  private readonly service: SpanCollectorService;
  private readonly clients: ClientProducers;
  private readonly stats: ReceiverStats | undefined;
  /** Invariant W13: what may wait for ring space in this receiver. */
  private readonly waiting = new WaitingRequests();

  constructor(service: SpanCollectorService, clients: ClientProducers, stats: ReceiverStats | undefined) {
    this.service = service;
    this.clients = clients;
    this.stats = stats;
    this.retryAfterSeconds = service.retryAfterSeconds;
  }

  accepting(): boolean {
    return this.service.accepting;
  }

  wouldRefuse(clientKey: string, bytes: number): boolean {
    return this.waiting.wouldRefuse(clientKey, bytes);
  }

  decode(format: 'protobuf' | 'json', body: Uint8Array): DecodedRequest {
    // A persistent queue logs each request before answering it (durable-admit.ts).
    return this.service.collector.durability === undefined ? decodeSpans(format, body) : decodeForLog(format, body);
  }

  async admit(request: ReceivedRequest): Promise<AdmitOutcome> {
    const socket = request.socket;
    if (socket === undefined) throw new Error('an OTLP/HTTP request always has a socket');
    const timeoutMs = this.service.collector.options.collector.backpressureTimeoutMs;
    const admit = (): Promise<AdmitOutcome> => admitThroughLease(request, () => this.clients.acquire(socket, request.clientKey), timeoutMs, this.waiting);
    const durability = this.service.collector.durability;
    return durability === undefined ? admit() : admitDurably(durability, request, admit);
  }

  count(transport: Transport, accepted: number, refused: number): void {
    this.stats?.record(transport, accepted, refused);
  }
}
