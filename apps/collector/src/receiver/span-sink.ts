/**
 * What the OTLP receivers hand their decoded requests to. The request handling (HTTP in
 * otlp-http-handler.ts, gRPC in otlp-grpc-handler.ts) is the same whether it runs on the main
 * thread, where the sink is the collector's per-client producer rings, or in a receiver
 * worker thread, where the sink is the worker's shared ring into the main thread
 * (workers/ring-sink.ts). Framework-free and erasable TypeScript: worker threads load it.
 */
import type { Socket } from 'node:net';
import type { Span } from '#spanring/otlp';
import type { BackpressureTimeoutError, CollectorClosedError } from '#spanring/pipeline';
import { decodeTraceRequestJson, scanTraceRequest } from '#spanring/otlp';

export type Transport = 'http' | 'grpc';

/** One valid request, decoded. */
export interface ReceivedRequest {
  readonly transport: Transport;
  /** Which fairness queue / ring the request belongs to (connection or tenant). */
  readonly clientKey: string;
  /** The request's TCP connection when known (HTTP pins its producer leases to it). */
  readonly socket: Socket | undefined;
  readonly spans: readonly Span[];
  /** The (decompressed) protobuf request bytes, when the request came as protobuf. */
  readonly protobuf: Uint8Array | undefined;
  /** Aborts when the client hung up or cancelled: nobody would read the answer. */
  readonly signal: AbortSignal;
}

/** `accepted` spans are in the pipeline; `refusal` says why the rest are not. */
export interface AdmitOutcome {
  readonly accepted: number;
  readonly refusal: BackpressureTimeoutError | CollectorClosedError | undefined;
}

export interface SpanSink {
  /** Seconds for Retry-After / RetryInfo on 429/503/UNAVAILABLE. */
  readonly retryAfterSeconds: number;
  /** False once the receiver drains: requests are answered 503 / UNAVAILABLE without admitting. */
  accepting(): boolean;
  /**
   * Admits the request's spans: all of them, none (refusal), or for a request larger than the
   * sink can ever hold at once, the part that got in before the refusal.
   */
  admit(request: ReceivedRequest): Promise<AdmitOutcome>;
  /** otelcol_receiver_accepted/refused_spans; called before the request is answered. */
  count(transport: Transport, accepted: number, refused: number): void;
}

/** The receivers' logging needs, so the handlers need neither Nest nor pino. */
export interface ReceiverLogger {
  error(message: string): void;
  warn(message: string): void;
}

/**
 * Decodes and validates one OTLP request body (throws OtlpDecodeError naming the bad field).
 * The one place the receivers decode: swap the decoder here.
 */
export function decodeRequest(format: 'protobuf' | 'json', body: Uint8Array): Span[] {
  return format === 'protobuf' ? scanTraceRequest(body) : decodeTraceRequestJson(body);
}
