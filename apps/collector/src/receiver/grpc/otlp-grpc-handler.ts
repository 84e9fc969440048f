/**
 * TraceService/Export without a framework: the main-thread OtlpGrpcReceiver and the receiver
 * worker threads both serve calls with this handler, parameterised by a SpanSink.
 *
 * Answers: OK (partial_success when part of a larger-than-ring request got in);
 * INVALID_ARGUMENT for undecodable data or a bad tenant (not retried by clients); UNAVAILABLE
 * with google.rpc.RetryInfo when the sink is full past the backpressure wait or draining;
 * INTERNAL for our own bugs. RESOURCE_EXHAUSTED for oversize messages comes from grpc-js itself.
 */
import type { sendUnaryData, ServerErrorResponse, ServerUnaryCall, UntypedHandleCall } from '@grpc/grpc-js';
import { encodeTraceResponse, OtlpDecodeError } from '#spanring/otlp';
import { CollectorClosedError, DurableWriteError } from '#spanring/pipeline/errors';
import { refuseAtOnce, type DecodedRequest, type ReceiverLogger, type SpanSink } from '../span-sink.ts';
import { clientKeyOf, InvalidTenantError } from './client-key.ts';
import { internalError, invalidArgument, unavailableWithRetryInfo } from './grpc-status.ts';

/** What a unary handler passes to its callback. */
type Answer = [error: ServerErrorResponse | null, response?: Buffer];

/** Full success: ExportTraceServiceResponse with partial_success unset (zero bytes). */
const SUCCESS_RESPONSE = Buffer.from(encodeTraceResponse({ partialSuccess: undefined }));

export interface TraceExportHandlerOptions {
  readonly sink: SpanSink;
  readonly logger: ReceiverLogger;
}

/** The `Export` implementation for TRACE_SERVICE_DEFINITION. */
export function createTraceExportHandler(options: TraceExportHandlerOptions): UntypedHandleCall {
  return (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
    void exportTraces(call, options).then(
      (answer) => callback(...answer),
      (error: unknown) => {
        options.logger.error(`OTLP/gRPC export failed unexpectedly: ${describeError(error)}`);
        callback(internalError());
      },
    );
  };
}

async function exportTraces(call: ServerUnaryCall<Buffer, Buffer>, { sink }: TraceExportHandlerOptions): Promise<Answer> {
  let clientKey: string;
  try {
    clientKey = clientKeyOf(call.metadata, call.getPeer());
  } catch (error) {
    if (!(error instanceof InvalidTenantError)) throw error;
    return [invalidArgument(error.message)];
  }
  // Invariant W13: refused at once for the waiting limits without being validated.
  const refusal = refuseAtOnce(sink, 'grpc', 'protobuf', clientKey, call.request);
  if (refusal !== undefined) return [unavailableWithRetryInfo(refusal.message, sink.retryAfterSeconds)];
  let decoded: DecodedRequest;
  try {
    decoded = sink.decode('protobuf', call.request);
  } catch (error) {
    if (!(error instanceof OtlpDecodeError)) throw error;
    return [invalidArgument(error.message)];
  }
  // An empty request is valid OTLP and needs no producer.
  const spanCount = decoded.spanCount;
  if (spanCount === 0) return [null, SUCCESS_RESPONSE];
  // Shutting down: no new ring for anyone; the client should go elsewhere or retry.
  if (!sink.accepting()) {
    sink.count('grpc', 0, spanCount);
    return [unavailableWithRetryInfo(new CollectorClosedError().message, sink.retryAfterSeconds)];
  }
  // The client's deadline or cancellation ends the wait: nobody would read the answer.
  const aborter = new AbortController();
  const cancel = (): void => aborter.abort();
  call.once('cancelled', cancel);
  try {
    const { accepted, refusal } = await sink.admit({ ...decoded, transport: 'grpc', clientKey, socket: undefined, signal: aborter.signal });
    // otelcol_receiver_accepted/refused_spans: what entered the pipeline and what did not.
    sink.count('grpc', accepted, spanCount - accepted);
    if (refusal === undefined) return [null, SUCCESS_RESPONSE];
    // In the pipeline but not in the persistent queue: never a success (specs/durable-queue.md D1).
    if (refusal instanceof DurableWriteError) return [unavailableWithRetryInfo(refusal.message, sink.retryAfterSeconds)];
    if (accepted > 0) {
      // Part of a larger-than-ring request got in: a retry would duplicate it, so this is a
      // partial success (which clients must not retry), not UNAVAILABLE.
      const rejected = spanCount - accepted;
      const response = encodeTraceResponse({
        partialSuccess: { rejectedSpans: BigInt(rejected), errorMessage: `${rejected} of ${spanCount} spans were rejected: ${refusal.message}` },
      });
      return [null, Buffer.from(response.buffer, response.byteOffset, response.byteLength)];
    }
    return [unavailableWithRetryInfo(refusal.message, sink.retryAfterSeconds)];
  } finally {
    call.removeListener('cancelled', cancel);
  }
}

export function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** grpc-js takes "host:port", with IPv6 literals in brackets. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
