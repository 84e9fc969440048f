/**
 * The in-bench OTLP/gRPC backend: a raw grpc-js server on 127.0.0.1:0 serving only
 * TraceService/Export with Buffer pass-through (de)serializers, answering every call with an
 * empty ExportTraceServiceResponse (full success).
 *
 * It shares the bench process (and so the machine) with the load generator, so it counts
 * spans cheaply: a protobuf wire walk that counts the `spans` entries (field 2) of every
 * ScopeSpans of every ResourceSpans without decoding them. The count is cross-checked against
 * a full decodeTraceRequest on the first request of every CROSS_CHECK_EVERY, and a mismatch
 * is recorded as a problem the bench fails on. grpc-js has already gunzipped the message
 * (grpc-encoding gzip) when the deserializer sees it.
 */
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { decodeTraceRequest, TRACE_SERVICE_DEFINITION } from '#spanring/otlp';

/** Batches may exceed grpc-js's 4 MiB default: send_batch_max_size 0 means no limit. */
const MAX_MESSAGE_BYTES = 512 * 1024 * 1024;
const CROSS_CHECK_EVERY = 64;
const EMPTY = Buffer.alloc(0);

export class GrpcSink {
  readonly port: number;
  /** Spans received so far (every call is answered with success). */
  spans = 0;
  requests = 0;
  bytes = 0;
  /** Counting mismatches or undecodable messages: the bench fails when any is present. */
  readonly problems: string[] = [];
  private readonly server: Server;

  private constructor(server: Server, port: number) {
    this.server = server;
    this.port = port;
  }

  static async start(): Promise<GrpcSink> {
    const server = new Server({ 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES });
    let sink: GrpcSink | undefined;
    server.addService(TRACE_SERVICE_DEFINITION, {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        sink?.receive(call.request);
        callback(null, EMPTY);
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    sink = new GrpcSink(server, port);
    return sink;
  }

  private receive(message: Buffer): void {
    let count: number;
    try {
      count = countSpans(message);
      if (this.requests % CROSS_CHECK_EVERY === 0) {
        const decoded = decodeTraceRequest(message).length;
        if (decoded !== count) this.problems.push(`sink: wire walk counted ${count} spans, decodeTraceRequest ${decoded}`);
      }
    } catch (error) {
      this.problems.push(`sink: undecodable export request: ${(error as Error).message}`);
      return;
    }
    this.requests++;
    this.bytes += message.length;
    this.spans += count;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2_000);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }
}

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
