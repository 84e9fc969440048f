import type { ServiceDefinition } from '@grpc/grpc-js';
import { TRACE_EXPORT_PATH } from '#spanring/otlp';

/**
 * opentelemetry.proto.collector.trace.v1.TraceService, written by hand with raw-bytes
 * (de)serializers: grpc-js hands the handler the (decompressed) request bytes untouched, so
 * decoding is ours and a malformed message becomes INVALID_ARGUMENT naming the bad field,
 * not grpc-js's generic INTERNAL "Error deserializing request". It also spares a
 * protobufjs/proto-loader decode of the whole message into objects we would convert again.
 */
const passThrough = (bytes: Buffer): Buffer => bytes;

export const TRACE_SERVICE_DEFINITION = {
  Export: {
    path: TRACE_EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    responseSerialize: passThrough,
    responseDeserialize: passThrough,
  },
} satisfies ServiceDefinition;
