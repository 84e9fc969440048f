/**
 * opentelemetry.proto.collector.trace.v1.TraceService as a grpc-js service definition with
 * raw-bytes (de)serializers, for servers and clients whose protobuf handling is this library's:
 * grpc-js hands over the (decompressed) message bytes untouched, so a malformed request can be
 * answered INVALID_ARGUMENT naming the bad field (not grpc-js's generic INTERNAL "Error
 * deserializing request"), and no protobufjs/proto-loader decode builds objects we would
 * convert again. Structurally a grpc-js ServiceDefinition; this library does not import grpc-js.
 */
import { TRACE_EXPORT_PATH } from './schema.ts';

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
};
