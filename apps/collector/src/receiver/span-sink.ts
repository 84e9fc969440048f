/**
 * What the OTLP receivers hand their decoded requests to. The request handling (HTTP in
 * otlp-http-handler.ts, gRPC in otlp-grpc-handler.ts) is the same whether it runs on the main
 * thread, where the sink is the collector's per-client producer rings, or in a receiver
 * worker thread, where the sink is the worker's shared ring into the main thread
 * (workers/ring-sink.ts). Framework-free and erasable TypeScript: worker threads load it.
 */
import type { Socket } from 'node:net';
import type { BufferPool, Span } from '#spanring/otlp';
import type { BackpressureTimeoutError, CollectorClosedError, DurableQueueFullError, DurableWriteError } from '#spanring/pipeline/errors';
import { countTraceRequestSpans, decodeTraceRequestJson, OtlpDecodeError, scanTraceRequest } from '#spanring/otlp';

export type Transport = 'http' | 'grpc';

/** A request body, validated, in the form its sink admits (SpanSink.decode). */
export interface DecodedRequest {
  readonly spanCount: number;
  /** Size of the request body as decoded (after decompression): what waiting for room holds. */
  readonly bytes: number;
  /** The spans; undefined when the sink's decode only validated the bytes, to pass them on as they are. */
  readonly spans: readonly Span[] | undefined;
  /** The (decompressed) protobuf request bytes, when the request came as protobuf. */
  readonly protobuf: Uint8Array | undefined;
  /** Where each span's trace id starts in `protobuf` (indexTraceRequest), when the sink's decode made the index. */
  readonly traceIdIndex?: Uint32Array | undefined;
}

/** One valid request, decoded, with where it came from. */
export interface ReceivedRequest extends DecodedRequest {
  readonly transport: Transport;
  /** Which fairness queue / ring the request belongs to (connection or tenant). */
  readonly clientKey: string;
  /** The request's TCP connection when known (HTTP pins its producer leases to it). */
  readonly socket: Socket | undefined;
  /** Aborts when the client hung up or cancelled: nobody would read the answer. */
  readonly signal: AbortSignal;
}

/**
 * The receiver already holds as many request bytes waiting for room as it may (waiting-limits.ts):
 * refused at once, answered 429 / UNAVAILABLE like a backpressure timeout.
 */
export class ReceiverOverloadedError extends Error {
  readonly pendingSpans: number;

  constructor(pendingSpans: number) {
    super(
      `the collector is saturated: ${pendingSpans} span(s) refused at once, as this receiver already holds ` +
        'as many requests waiting for room as it may; retry later',
    );
    this.name = 'ReceiverOverloadedError';
    this.pendingSpans = pendingSpans;
  }
}

/** `accepted` spans are in the pipeline; `refusal` says why the rest are not. */
export interface AdmitOutcome {
  readonly accepted: number;
  /**
   * DurableWriteError: the `accepted` spans are in the pipeline but not in the persistent queue,
   * so the answer is 503 / UNAVAILABLE (retry), never a success.
   */
  readonly refusal: BackpressureTimeoutError | CollectorClosedError | ReceiverOverloadedError | DurableQueueFullError | DurableWriteError | undefined;
}

export interface SpanSink {
  /** Seconds for Retry-After / RetryInfo on 429/503/UNAVAILABLE. */
  readonly retryAfterSeconds: number;
  /** False once the receiver drains: requests are answered 503 / UNAVAILABLE without admitting. */
  accepting(): boolean;
  /**
   * Set by a sink that keeps no reference into a request body once admit() has settled: HTTP
   * bodies are read into its buffers and given back once admit() has settled (W11).
   */
  readonly bodyPool?: BufferPool | undefined;
  /**
   * Whether admit() would refuse a request of `bytes` from this client at once for the waiting
   * limits (W13): asked before validating, so a refused request costs no validation. Its
   * answer holds until admit() runs, as long as no await comes between.
   */
  wouldRefuse(clientKey: string, bytes: number): boolean;
  /** Validates a request body (throws OtlpDecodeError naming the bad field) into what admit takes. */
  decode(format: 'protobuf' | 'json', body: Uint8Array): DecodedRequest;
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
 * Decodes and validates one OTLP request body into spans (throws OtlpDecodeError naming the
 * bad field): the decode of sinks that hand spans to the pipeline. Swap the decoder here.
 */
export function decodeSpans(format: 'protobuf' | 'json', body: Uint8Array): DecodedRequest {
  const spans = format === 'protobuf' ? scanTraceRequest(body) : decodeTraceRequestJson(body);
  return { spanCount: spans.length, bytes: body.byteLength, spans, protobuf: format === 'protobuf' ? body : undefined };
}

/**
 * Invariant W13, shared by the HTTP and gRPC handlers: when the sink would refuse this request
 * at once for its waiting limits, counts its spans as refused without validating it and
 * returns the refusal to answer with (429 / UNAVAILABLE). Undefined when the request takes the
 * usual path: the sink would take it, or its spans cannot be counted cheaply (spansToRefuse).
 */
export function refuseAtOnce(
  sink: SpanSink,
  transport: Transport,
  format: 'protobuf' | 'json',
  clientKey: string,
  body: Uint8Array,
): ReceiverOverloadedError | undefined {
  if (!sink.accepting() || !sink.wouldRefuse(clientKey, body.byteLength)) return undefined;
  const spans = spansToRefuse(format, body);
  if (spans === undefined) return undefined;
  sink.count(transport, 0, spans);
  return new ReceiverOverloadedError(spans);
}

/**
 * The spans of a request refused at once (SpanSink.wouldRefuse), counted without validating
 * it; undefined when the request must take the usual path: JSON (no cheap count), an empty
 * request (a success), or protobuf whose structure is broken (the decoder names the problem).
 */
function spansToRefuse(format: 'protobuf' | 'json', body: Uint8Array): number | undefined {
  if (format !== 'protobuf') return undefined;
  try {
    const count = countTraceRequestSpans(body);
    return count > 0 ? count : undefined;
  } catch (error) {
    if (error instanceof OtlpDecodeError) return undefined;
    throw error;
  }
}
