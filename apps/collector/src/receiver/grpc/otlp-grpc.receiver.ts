import { Inject, Injectable, Logger, Optional, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { SpanCollectorService } from '#spanring/nest';
import { TRACE_SERVICE_DEFINITION } from '#spanring/otlp';
import { GRPC_RECEIVER_SETTINGS, type GrpcReceiverSettings } from '../../config/runtime-config.ts';
import { ReceiverStats } from '../../telemetry/receiver-stats.ts';
import { admitDurably, decodeForLog } from '../durable-admit.ts';
import { admitThroughLease } from '../leased-admit.ts';
import { WaitingRequests } from '../waiting-limits.ts';
import { decodeSpans, type AdmitOutcome, type ReceivedRequest, type SpanSink, type Transport } from '../span-sink.ts';
import { ClientLeases, type ClientInfo } from './client-leases.ts';
import { createTraceExportHandler, formatAddress } from './otlp-grpc-handler.ts';

/** Receiver knobs that are not part of the otelcol configuration. */
export interface GrpcReceiverTuning {
  /** A client's producer is released after it had no call in flight this long. Default 30 s. */
  readonly clientIdleMs?: number;
  /**
   * How long shutdown lets in-flight calls finish before it cancels them. Default 10 s; keep it
   * below the service's shutdown timeout so the collector has time left to drain.
   */
  readonly shutdownGraceMs?: number;
}

export const GRPC_RECEIVER_TUNING = Symbol('spanring.GrpcReceiverTuning');

const DEFAULT_CLIENT_IDLE_MS = 30_000;
const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

/**
 * The OTLP/gRPC receiver: opentelemetry.proto.collector.trace.v1.TraceService/Export on a
 * plain @grpc/grpc-js server (not Nest's gRPC transport, which would decode with protobufjs
 * and map errors its own way).
 *
 * - Decoding is ours (raw-bytes service definition): malformed data is INVALID_ARGUMENT with
 *   the decoder's message naming the field.
 * - Messages larger than `maxRecvMsgSizeBytes` (before or after gzip decompression) are
 *   refused by grpc-js itself with RESOURCE_EXHAUSTED, without RetryInfo: a retry cannot help.
 * - gzip and deflate request compression are accepted (grpc-js decompresses). A corrupt
 *   compressed message cannot crash the process: the server-side decompression in grpc-js
 *   1.14 (BaseServerInterceptingCall.decompressMessage in server-interceptors.js) listens for
 *   zlib's 'error' and answers INTERNAL "Failed to decompress message". (The reported missing
 *   listener concerns the client-side compression-filter.js of older releases, which only
 *   inflates responses.) So nothing here patches grpc-js; grpc-receiver.test.ts sends corrupt
 *   gzip/deflate frames over raw HTTP/2 and fails on any uncaught error, to catch a regression
 *   when grpc-js is upgraded.
 * - Backpressure (rings full past the collector's backpressure timeout) and shutdown answer
 *   UNAVAILABLE with google.rpc.RetryInfo, so clients retry after `retryAfterSeconds`. A
 *   larger-than-ring request cut short midway is answered OK with partial_success instead,
 *   since a retry would duplicate the part that got in (see AsyncSpanProducer.admit).
 *
 * Fairness: each client writes through its own producer ring, so a client flooding the
 * service fills only its own ring and is pushed back while other clients' spans keep flowing.
 * A client is the tenant named by the `x-scope-orgid` metadata when present (the same header
 * the OTLP/HTTP receiver reads), otherwise the HTTP/2 connection (client-key.ts). Leases are
 * taken on a client's first call and released once it has been idle for clientIdleMs
 * (client-leases.ts: grpc-js reports no connection close to handlers); past the collector's
 * maxProducers, clients share rings (SpanCollectorService.acquire).
 */
@Injectable()
export class OtlpGrpcReceiver implements OnModuleInit, BeforeApplicationShutdown {
  private readonly settings: GrpcReceiverSettings;
  private readonly service: SpanCollectorService;
  private readonly shutdownGraceMs: number;
  private readonly leases: ClientLeases;
  private readonly stats: ReceiverStats | undefined;
  private readonly logger = new Logger('OtlpGrpcReceiver');
  private server: Server | undefined;
  private boundPort: number | undefined;
  private closing = false;
  private stopped: Promise<void> | undefined;

  constructor(
    @Inject(GRPC_RECEIVER_SETTINGS) settings: GrpcReceiverSettings,
    @Inject(GRPC_RECEIVER_TUNING) tuning: GrpcReceiverTuning,
    @Inject(SpanCollectorService) service: SpanCollectorService,
    // Provided by the (global) TelemetryModule; the receiver works without it.
    @Optional() @Inject(ReceiverStats) stats?: ReceiverStats,
  ) {
    checkPositiveInteger(settings.maxRecvMsgSizeBytes, 'maxRecvMsgSizeBytes');
    this.settings = settings;
    this.service = service;
    this.stats = stats;
    this.shutdownGraceMs = tuning.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
    checkPositiveInteger(this.shutdownGraceMs, 'shutdownGraceMs');
    const clientIdleMs = tuning.clientIdleMs ?? DEFAULT_CLIENT_IDLE_MS;
    checkPositiveInteger(clientIdleMs, 'clientIdleMs');
    this.leases = new ClientLeases((key) => service.acquire(key), clientIdleMs);
  }

  /** The port the server listens on (the real one when configured with port 0). */
  get port(): number {
    if (this.boundPort === undefined) throw new Error('the OTLP/gRPC receiver is not listening (not initialized, or shut down)');
    return this.boundPort;
  }

  /** Clients holding a producer now, with their producer ids (diagnostics, tests). */
  clients(): ClientInfo[] {
    return this.leases.clients();
  }

  async onModuleInit(): Promise<void> {
    const server = new Server({
      // grpc's own default is 4 MiB; the Collector's (and ours) is 64 MiB, set in config.
      'grpc.max_receive_message_length': this.settings.maxRecvMsgSizeBytes,
    });
    const logger = { error: (message: string) => this.logger.error(message), warn: (message: string) => this.logger.warn(message) };
    server.addService(TRACE_SERVICE_DEFINITION, { Export: createTraceExportHandler({ sink: this.sink(), logger }) });
    const address = formatAddress(this.settings.host, this.settings.port);
    this.boundPort = await new Promise<number>((resolve, reject) => {
      server.bindAsync(address, ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port)));
    });
    this.server = server;
    this.logger.log(`OTLP/gRPC receiver listening on ${formatAddress(this.settings.host, this.boundPort)}`);
  }

  /**
   * Runs before the collector's own shutdown (the collector's module is global, so Nest shuts
   * it down last): stop taking calls, let in-flight ones finish so their spans reach the rings
   * and get drained, and cancel what is still running after shutdownGraceMs.
   */
  beforeApplicationShutdown(): Promise<void> {
    this.stopped ??= this.stop();
    return this.stopped;
  }

  private async stop(): Promise<void> {
    this.closing = true;
    const server = this.server;
    if (server === undefined) return;
    this.boundPort = undefined;
    let timer: NodeJS.Timeout | undefined;
    const graceful = new Promise<'drained'>((resolve) => server.tryShutdown(() => resolve('drained')));
    const bound = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.shutdownGraceMs);
    });
    const outcome = await Promise.race([graceful, bound]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.logger.warn(`in-flight OTLP/gRPC calls did not finish within ${this.shutdownGraceMs} ms; cancelling them`);
      server.forceShutdown();
    }
    this.leases.releaseAll();
  }

  /** Each call through its client's producer lease (client-leases.ts). */
  private sink(): SpanSink {
    const service = this.service;
    const stats = this.stats;
    const leases = this.leases;
    // Invariant W13: what may wait for ring space in this receiver.
    const waiting = new WaitingRequests();
    const isClosing = (): boolean => this.closing;
    const durability = service.collector.durability;
    return {
      retryAfterSeconds: service.retryAfterSeconds,
      accepting: () => !isClosing() && service.accepting,
      wouldRefuse: (clientKey: string, bytes: number) => waiting.wouldRefuse(clientKey, bytes),
      // A persistent queue logs each request before answering it (durable-admit.ts).
      decode: durability === undefined ? decodeSpans : decodeForLog,
      admit: (request: ReceivedRequest): Promise<AdmitOutcome> => {
        const admit = (): Promise<AdmitOutcome> =>
          admitThroughLease(request, () => leases.begin(request.clientKey), service.collector.options.collector.backpressureTimeoutMs, waiting);
        return durability === undefined ? admit() : admitDurably(durability, request, admit);
      },
      count: (transport: Transport, accepted: number, refused: number) => stats?.record(transport, accepted, refused),
    };
  }
}

function checkPositiveInteger(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`OTLP/gRPC receiver: ${name} must be a positive integer, got ${value}`);
}
