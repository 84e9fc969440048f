/**
 * The in-bench OTLP/gRPC backend's thread (started by sink.ts): a raw grpc-js server on
 * 127.0.0.1:0 serving only TraceService/Export with Buffer pass-through (de)serializers,
 * answering every call with an empty ExportTraceServiceResponse (full success).
 *
 * It counts spans cheaply: a protobuf wire walk that counts the `spans` entries (field 2) of
 * every ScopeSpans of every ResourceSpans without decoding them. The count is cross-checked
 * against a full decodeTraceRequest on the first request of every CROSS_CHECK_EVERY, and a
 * mismatch is posted as a problem the bench fails on. grpc-js has already gunzipped the message
 * (grpc-encoding gzip) when the deserializer sees it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { decodeTraceRequest, TRACE_SERVICE_DEFINITION } from '#spanring/otlp';
import { SINK_COUNTER, type SinkMessage, type SinkThreadData } from './sink-protocol.ts';

/** Batches may exceed grpc-js's 4 MiB default: send_batch_max_size 0 means no limit. */
const MAX_MESSAGE_BYTES = 512 * 1024 * 1024;
const CROSS_CHECK_EVERY = 64;
const EMPTY = Buffer.alloc(0);

const port = parentPort;
if (port === null) throw new Error('sink-server.ts runs only as a worker thread (see sink.ts)');
const counters = new BigInt64Array((workerData as SinkThreadData).counters);

function post(message: SinkMessage): void {
  port!.postMessage(message);
}

function receive(message: Buffer): void {
  let count: number;
  try {
    count = countSpans(message);
    if (Atomics.load(counters, SINK_COUNTER.requests) % BigInt(CROSS_CHECK_EVERY) === 0n) {
      const decoded = decodeTraceRequest(message).length;
      if (decoded !== count) post({ type: 'problem', text: `sink: wire walk counted ${count} spans, decodeTraceRequest ${decoded}` });
    }
  } catch (error) {
    post({ type: 'problem', text: `sink: undecodable export request: ${(error as Error).message}` });
    return;
  }
  // Only this thread writes the counters; Atomics make the bench thread's reads whole 64-bit values.
  Atomics.add(counters, SINK_COUNTER.requests, 1n);
  Atomics.add(counters, SINK_COUNTER.bytes, BigInt(message.length));
  Atomics.add(counters, SINK_COUNTER.spans, BigInt(count));
}

const server = new Server({ 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES });
server.addService(TRACE_SERVICE_DEFINITION, {
  Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
    receive(call.request);
    callback(null, EMPTY);
  },
});
const bound = await new Promise<number>((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, boundPort) => (error ? reject(error) : resolve(boundPort))),
);
port.on('message', (message: 'close') => {
  if (message !== 'close') return;
  const force = setTimeout(() => server.forceShutdown(), 2_000);
  server.tryShutdown(() => {
    clearTimeout(force);
    post({ type: 'closed' });
    port.close();
  });
});
post({ type: 'listening', port: bound });

// ---------------------------------------------------------------------------------------------
// Counting spans on the wire: ExportTraceServiceRequest.resource_spans (1) → ResourceSpans.scope_spans
// (2) → ScopeSpans.spans (2), each a length-delimited field; everything else is skipped.

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** Spans in an encoded ExportTraceServiceRequest. Throws on malformed input. */
export function countSpans(bytes: Uint8Array): number {
  let spans = 0;
  forEachLenField(bytes, 0, bytes.length, 1, (rsStart, rsEnd) => {
    forEachLenField(bytes, rsStart, rsEnd, 2, (ssStart, ssEnd) => {
      forEachLenField(bytes, ssStart, ssEnd, 2, () => {
        spans++;
      });
    });
  });
  return spans;
}

/** Calls `visit(start, end)` for every length-delimited field `field` in bytes[from, to). */
function forEachLenField(bytes: Uint8Array, from: number, to: number, field: number, visit: (start: number, end: number) => void): void {
  let at = from;
  // Bounded: every turn advances `at` by at least one byte (or throws).
  while (at < to) {
    const [key, afterKey] = varint(bytes, at, to);
    const wire = key & 7;
    const number = Math.floor(key / 8);
    at = afterKey;
    switch (wire) {
      case WIRE_VARINT:
        at = varint(bytes, at, to)[1];
        break;
      case WIRE_I64:
        at += 8;
        break;
      case WIRE_I32:
        at += 4;
        break;
      case WIRE_LEN: {
        const [length, start] = varint(bytes, at, to);
        const end = start + length;
        if (end > to) throw new Error(`field ${number} runs past its message (${end} > ${to})`);
        if (number === field) visit(start, end);
        at = end;
        break;
      }
      default:
        throw new Error(`unexpected wire type ${wire} at byte ${at}`);
    }
    if (at > to) throw new Error(`truncated field ${number}`);
  }
}

/** A varint (up to 64 bits, as a float: exact below 2^53, which lengths and keys are) and where it ends. */
function varint(bytes: Uint8Array, at: number, to: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at >= to) throw new Error('truncated varint');
    const byte = bytes[at++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, at];
    scale *= 128;
  }
  throw new Error('varint longer than 10 bytes');
}
