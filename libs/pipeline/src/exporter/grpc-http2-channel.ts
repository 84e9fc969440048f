/**
 * Unary gRPC calls over one plaintext HTTP/2 connection (node:http2): the otlp_grpc
 * exporter's transport for plaintext host:port endpoints.
 *
 * Why by hand rather than @grpc/grpc-js: grpc-js frames every outgoing message by copying it
 * into a new Buffer of its size (its compression filter's writeMessage). An export is ~3.5 MB,
 * so each call got a fresh mmap and ~900 page faults: 3 ms per call against 0.15 ms for the
 * same copy into reused memory, and the largest single cost of the main thread in bench:e2e
 * (12% of its wall time). Serving those frames from the malloc heap instead fragments it (+60
 * MB peak RSS at twice the saturating load). Here the 5-byte prefix and the encoded message
 * are written to the stream as they are, so the message is never copied. TLS endpoints keep
 * grpc-js, whose credentials OTel's configuration builds.
 *
 * The wire rules followed are gRPC's PROTOCOL-HTTP2: request headers (content-type
 * application/grpc, te: trailers, grpc-timeout, grpc-encoding), length-prefixed messages, the
 * status in trailers (or trailers-only), grpc-message percent-encoded, HTTP statuses and
 * RST_STREAM codes mapped to gRPC codes when no grpc-status came.
 */
import { connect, constants as http2, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { connect as connectTcp } from 'node:net';
import { promisify } from 'node:util';
import { gunzip as gunzipCallback, gzip as gzipCallback } from 'node:zlib';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';

const gzip = promisify(gzipCallback);
const gunzip = promisify(gunzipCallback);

/** grpc-js's default limit on a received message; an ExportTraceServiceResponse is tiny. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
const PREFIX_BYTES = 5;

/** A call that ended with a non-OK gRPC status (or a transport failure mapped to one). */
export class GrpcCallFailure extends Error {
  readonly code: GrpcStatus;
  readonly details: string;
  /** Response trailers (grpc-status-details-bin and the like), empty when none came. */
  readonly metadata: Metadata;
  /** The server refused the stream (REFUSED_STREAM): it never saw the call, so it may be sent again. */
  readonly refusedStream: boolean;

  constructor(code: GrpcStatus, details: string, metadata = new Metadata(), refusedStream = false) {
    super(`${code} ${GrpcStatus[code] ?? 'UNKNOWN'}: ${details}`);
    this.name = 'GrpcCallFailure';
    this.code = code;
    this.details = details;
    this.metadata = metadata;
    this.refusedStream = refusedStream;
  }
}

/** The call was cancelled because its signal aborted; the caller reports the signal's reason. */
export class GrpcCallAborted extends Error {
  constructor() {
    super('the call was cancelled');
    this.name = 'GrpcCallAborted';
  }
}

export interface UnaryCall {
  readonly path: string;
  /** Custom metadata as HTTP/2 headers (Metadata.toHttp2Headers()). */
  readonly headers: OutgoingHttpHeaders;
  readonly message: Uint8Array;
  readonly compress: boolean;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

export class Http2GrpcChannel {
  readonly address: string;
  private readonly userAgent: string;
  private session: ClientHttp2Session | undefined;
  private closed = false;

  /** `address` is host:port (IPv6 in brackets); connects on the first call. */
  constructor(address: string, userAgent: string) {
    this.address = address;
    this.userAgent = userAgent;
  }

  /**
   * Resolves with the response message; rejects with GrpcCallFailure for a non-OK status or a
   * failed connection, GrpcCallAborted when the signal aborted. Safety (P15): `message` is read
   * until the call settles and not after, apart from bytes of a cancelled or failed call that
   * the socket still has queued (see send()).
   */
  async unary(call: UnaryCall): Promise<Buffer> {
    if (call.signal.aborted) throw new GrpcCallAborted();
    // As in grpc-js, the deadline runs from the start of the call, compression included.
    const deadline = performance.now() + call.timeoutMs;
    const message = call.compress ? await gzip(call.message) : call.message;
    if (call.signal.aborted) throw new GrpcCallAborted();
    let response: ReceivedResponse;
    try {
      response = await this.send(call, message, deadline);
    } catch (error) {
      // gRPC's transparent retry: a refused stream (a call racing the server's GOAWAY, say) was
      // never processed, so it is sent once more, on a new connection if the old one is going.
      if (!(error instanceof GrpcCallFailure && error.refusedStream) || call.signal.aborted) throw error;
      response = await this.send(call, message, deadline);
    }
    return this.readResponse(response);
  }

  close(): void {
    this.closed = true;
    this.session?.close();
    this.session = undefined;
  }

  private send(call: UnaryCall, message: Uint8Array, deadline: number): Promise<ReceivedResponse> {
    return new Promise((resolve, reject) => {
      let stream: ClientHttp2Stream;
      try {
        stream = this.connected().request(this.requestHeaders(call, deadline), { endStream: false });
      } catch (error) {
        reject(new GrpcCallFailure(GrpcStatus.UNAVAILABLE, `cannot start a call: ${(error as Error).message}`));
        return;
      }
      const received = new ReceivedResponse();
      let ending: 'deadline' | 'aborted' | undefined;
      const cancel = (why: 'deadline' | 'aborted'): void => {
        ending ??= why;
        stream.close(http2.NGHTTP2_CANCEL);
      };
      const onAbort = (): void => cancel('aborted');
      // The deadline timer is also what keeps the process alive while the call is in flight.
      const timer = setTimeout(cancel, Math.max(0, deadline - performance.now()), 'deadline');
      call.signal.addEventListener('abort', onAbort, { once: true });
      stream.on('response', (headers) => received.onHeaders(headers));
      stream.on('trailers', (trailers) => received.onTrailers(trailers));
      stream.on('data', (chunk: Buffer) => received.onData(chunk, stream));
      stream.on('error', (error) => received.onError(error));
      stream.on('close', () => {
        clearTimeout(timer);
        call.signal.removeEventListener('abort', onAbort);
        if (ending === 'aborted') reject(new GrpcCallAborted());
        else if (ending === 'deadline') reject(new GrpcCallFailure(GrpcStatus.DEADLINE_EXCEEDED, `Deadline exceeded after ${call.timeoutMs} ms`));
        else {
          const failure = received.failure(stream.rstCode, stream.session === undefined || stream.session.destroyed);
          if (failure === undefined) resolve(received);
          else reject(failure);
        }
      });
      // Two writes, no copy: the stream keeps references to both buffers until they are sent.
      // Safety (P15): by 'close' node:http2 has sent or dropped them, except that the socket may
      // still hold DATA of a cancelled or failed call, read after it settles; such a stream has
      // been reset, so the server discards those bytes whatever they are by then.
      const prefix = Buffer.allocUnsafe(PREFIX_BYTES);
      prefix.writeUInt8(call.compress ? 1 : 0, 0);
      prefix.writeUInt32BE(message.byteLength, 1);
      stream.write(prefix);
      stream.end(message);
    });
  }

  private async readResponse(response: ReceivedResponse): Promise<Buffer> {
    const framed = response.body();
    if (framed.length === 0) return framed;
    if (framed.length < PREFIX_BYTES || framed.readUInt32BE(1) !== framed.length - PREFIX_BYTES) {
      throw new GrpcCallFailure(GrpcStatus.INTERNAL, `the response is not one length-prefixed message (${framed.length} bytes)`);
    }
    const payload = framed.subarray(PREFIX_BYTES);
    if (framed[0] === 0) return payload;
    if (response.encoding !== 'gzip') {
      throw new GrpcCallFailure(GrpcStatus.INTERNAL, `the response is compressed with "${response.encoding ?? 'identity'}", which was not offered`);
    }
    try {
      return await gunzip(payload, { maxOutputLength: MAX_RESPONSE_BYTES });
    } catch (error) {
      throw new GrpcCallFailure(GrpcStatus.INTERNAL, `the response cannot be decompressed: ${(error as Error).message}`);
    }
  }

  private requestHeaders(call: UnaryCall, deadline: number): OutgoingHttpHeaders {
    return {
      ...call.headers,
      [http2.HTTP2_HEADER_METHOD]: 'POST',
      [http2.HTTP2_HEADER_PATH]: call.path,
      [http2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      [http2.HTTP2_HEADER_TE]: 'trailers',
      [http2.HTTP2_HEADER_USER_AGENT]: this.userAgent,
      'grpc-timeout': `${Math.max(1, Math.ceil(deadline - performance.now()))}m`,
      'grpc-accept-encoding': 'identity,gzip',
      ...(call.compress ? { 'grpc-encoding': 'gzip' } : {}),
    };
  }

  /** The open connection, or a new one when there is none or the old one is going away. */
  private connected(): ClientHttp2Session {
    if (this.closed) throw new Error('the channel is closed');
    const current = this.session;
    if (current !== undefined && !current.closed && !current.destroyed) return current;
    const url = new URL(`http://${this.address}`);
    const session = connect(url, {
      // As grpc-js: small frames (headers, WINDOW_UPDATEs) go out at once, not after Nagle's delay.
      createConnection: () => connectTcp({ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port), noDelay: true }),
      // As grpc-js: node:http2 counts data queued to send against this (10 MB by default) and
      // refuses new streams past it, and a few exports queued on the connection exceed it.
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
    });
    const forget = (): void => {
      if (this.session === session) this.session = undefined;
    };
    // A failed connection fails its streams (UNAVAILABLE); the next call connects anew.
    session.on('error', forget);
    session.on('goaway', forget);
    session.on('close', forget);
    // An open connection does not keep the process alive, as grpc-js's idle channels do not.
    session.unref();
    this.session = session;
    return session;
  }
}

/** What came back on one call's stream. */
class ReceivedResponse {
  encoding: string | undefined;
  private httpStatus: number | undefined;
  private trailers: IncomingHttpHeaders | undefined;
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  private error: Error | undefined;

  onHeaders(headers: IncomingHttpHeaders): void {
    this.httpStatus = Number(headers[http2.HTTP2_HEADER_STATUS]);
    this.encoding = headerValue(headers['grpc-encoding']);
    // Trailers-only: the status comes with the headers and no message follows.
    if (headers['grpc-status'] !== undefined) this.trailers = headers;
  }

  onTrailers(trailers: IncomingHttpHeaders): void {
    this.trailers = trailers;
  }

  onData(chunk: Buffer, stream: ClientHttp2Stream): void {
    this.bytes += chunk.length;
    if (this.bytes > MAX_RESPONSE_BYTES + PREFIX_BYTES) {
      this.error ??= new GrpcCallFailure(GrpcStatus.RESOURCE_EXHAUSTED, `the response is larger than ${MAX_RESPONSE_BYTES} bytes`);
      stream.close(http2.NGHTTP2_CANCEL);
      return;
    }
    this.chunks.push(chunk);
  }

  onError(error: Error): void {
    this.error ??= error;
  }

  body(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bytes);
  }

  /**
   * Undefined for grpc-status 0; else what the call failed with. `connectionGone`: the
   * connection had closed by the time the stream did.
   */
  failure(rstCode: number | undefined, connectionGone: boolean): GrpcCallFailure | undefined {
    if (this.error instanceof GrpcCallFailure) return this.error;
    const code = this.trailers === undefined ? undefined : Number(headerValue(this.trailers['grpc-status']));
    if (code !== undefined && Number.isInteger(code)) {
      if (code === GrpcStatus.OK) return undefined;
      return new GrpcCallFailure(code, grpcMessage(this.trailers!), Metadata.fromHttp2Headers(this.trailers!));
    }
    if (this.httpStatus !== undefined && this.httpStatus !== 200) {
      return new GrpcCallFailure(codeForHttpStatus(this.httpStatus), `received HTTP status ${this.httpStatus} without a gRPC status`);
    }
    // node:http2 reports a RST_STREAM with an error code as ERR_HTTP2_STREAM_ERROR.
    if (this.error !== undefined && errorCode(this.error) === 'ERR_HTTP2_STREAM_ERROR' && rstCode !== undefined) {
      const refused = rstCode === http2.NGHTTP2_REFUSED_STREAM;
      return new GrpcCallFailure(codeForRstCode(rstCode), `the server reset the stream (HTTP/2 error code ${rstCode})`, undefined, refused);
    }
    if (this.error !== undefined || connectionGone) {
      // The connection failed or dropped; node:http2 puts the socket's error (ECONNREFUSED...) in `cause`.
      const cause = this.error?.cause instanceof Error ? this.error.cause : undefined;
      const reason = cause !== undefined ? `no connection: ${cause.message}` : (this.error?.message ?? 'the connection closed before the call ended');
      return new GrpcCallFailure(GrpcStatus.UNAVAILABLE, reason);
    }
    if (rstCode === http2.NGHTTP2_CANCEL) return new GrpcCallFailure(GrpcStatus.CANCELLED, 'the server cancelled the call');
    return new GrpcCallFailure(GrpcStatus.UNKNOWN, 'the call ended without a grpc-status');
  }
}

function errorCode(error: Error): unknown {
  return (error as NodeJS.ErrnoException).code;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function grpcMessage(trailers: IncomingHttpHeaders): string {
  const raw = headerValue(trailers['grpc-message']) ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** gRPC's HTTP-to-gRPC status mapping, for answers without grpc-status (a proxy's, say). */
function codeForHttpStatus(httpStatus: number): GrpcStatus {
  switch (httpStatus) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/** RST_STREAM error codes as gRPC clients map them. */
function codeForRstCode(rstCode: number | undefined): GrpcStatus {
  switch (rstCode) {
    case http2.NGHTTP2_REFUSED_STREAM:
      return GrpcStatus.UNAVAILABLE;
    case http2.NGHTTP2_CANCEL:
      return GrpcStatus.CANCELLED;
    case http2.NGHTTP2_ENHANCE_YOUR_CALM:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case http2.NGHTTP2_INADEQUATE_SECURITY:
      return GrpcStatus.PERMISSION_DENIED;
    default:
      return GrpcStatus.INTERNAL;
  }
}
