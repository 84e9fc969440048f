import { Inject, Injectable, Logger, Optional, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { sendUnaryData, ServerErrorResponse, ServerUnaryCall } from '@grpc/grpc-js';
import { encodeTraceResponse, OtlpDecodeError, scanTraceRequest } from '#spanring/otlp';
import type { Span } from '#spanring/otlp';
import { SpanCollectorService } from '#spanring/nest';
import { CollectorClosedError } from '#spanring/pipeline';
import { GRPC_RECEIVER_SETTINGS, type GrpcReceiverSettings } from '../../config/runtime-config.ts';
import { ReceiverStats } from '../../telemetry/receiver-stats.ts';
import { clientKeyOf, InvalidTenantError } from './client-key.ts';
import { ClientLeases, type ClientInfo } from './client-leases.ts';
import { internalError, invalidArgument, unavailableWithRetryInfo } from './grpc-status.ts';
import { TRACE_SERVICE_DEFINITION } from './trace-service.ts';

/** What a unary handler passes to its callback. */
type Answer = [error: ServerErrorResponse | null, response?: Buffer];

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

/** Full success: ExportTraceServiceResponse with partial_success unset (zero bytes). */
const SUCCESS_RESPONSE = Buffer.from(encodeTraceResponse({ partialSuccess: undefined }));

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
    server.addService(TRACE_SERVICE_DEFINITION, {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        // export() answers every outcome itself and never rejects.
        void this.export(call, callback);
      },
    });
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

  private async export(call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): Promise<void> {
    try {
      let key: string;
      try {
        key = clientKeyOf(call.metadata, call.getPeer());
      } catch (error) {
        if (!(error instanceof InvalidTenantError)) throw error;
        callback(invalidArgument(error.message));
        return;
      }
      let spans: Span[];
      try {
        spans = scanTraceRequest(call.request);
      } catch (error) {
        if (!(error instanceof OtlpDecodeError)) throw error;
        callback(invalidArgument(error.message));
        return;
      }
      // An empty request is valid OTLP and needs no producer.
      if (spans.length === 0) {
        callback(null, SUCCESS_RESPONSE);
        return;
      }
      // Shutting down: no new ring for anyone; the client should go elsewhere or retry.
      if (this.closing || !this.service.accepting) {
        this.stats?.record('grpc', 0, spans.length);
        callback(this.unavailable(new CollectorClosedError().message));
        return;
      }
      callback(...(await this.submit(call, key, spans)));
    } catch (error) {
      this.logger.error(`OTLP/gRPC export failed unexpectedly: ${describeError(error)}`);
      callback(internalError());
    }
  }

  /** Submits through the client's own producer and turns the outcome into the call's answer. */
  private async submit(call: ServerUnaryCall<Buffer, Buffer>, key: string, spans: readonly Span[]): Promise<Answer> {
    const client = this.leases.begin(key);
    // The client's deadline or cancellation ends the wait: nobody would read the answer.
    const aborter = new AbortController();
    const cancel = (): void => aborter.abort();
    call.once('cancelled', cancel);
    try {
      const timeoutMs = this.service.collector.options.collector.backpressureTimeoutMs;
      const { accepted, refusal } = await client.producer.admit(spans, { timeoutMs, signal: aborter.signal });
      // otelcol_receiver_accepted/refused_spans: what entered the pipeline and what did not.
      this.stats?.record('grpc', accepted, spans.length - accepted);
      if (refusal === undefined) return [null, SUCCESS_RESPONSE];
      if (accepted > 0) {
        // Part of a larger-than-ring request got in: a retry would duplicate it, so this is a
        // partial success (which clients must not retry), not UNAVAILABLE.
        const rejected = spans.length - accepted;
        const response = encodeTraceResponse({
          partialSuccess: { rejectedSpans: BigInt(rejected), errorMessage: `${rejected} of ${spans.length} spans were rejected: ${refusal.message}` },
        });
        return [null, Buffer.from(response.buffer, response.byteOffset, response.byteLength)];
      }
      return [this.unavailable(refusal.message)];
    } finally {
      call.removeListener('cancelled', cancel);
      client.done();
    }
  }

  private unavailable(message: string): ServerErrorResponse {
    return unavailableWithRetryInfo(message, this.service.retryAfterSeconds);
  }
}

/** grpc-js takes "host:port", with IPv6 literals in brackets. */
function formatAddress(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

function checkPositiveInteger(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`OTLP/gRPC receiver: ${name} must be a positive integer, got ${value}`);
}

function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
