/**
 * The OTLP/HTTP answers. Success is an ExportTraceServiceResponse, every failure a
 * google.rpc.Status, both in the request's encoding (JSON when the request's encoding is
 * unknown, e.g. for a 415). Bodies go out through `res.end`: Express would send a Buffer
 * through res.send() with an ETag, and a returned Buffer from a Nest handler as JSON.
 */
import type { ServerResponse } from 'node:http';
import {
  encodeRetryInfo,
  encodeRpcStatus,
  encodeRpcStatusJson,
  encodeTraceResponse,
  encodeTraceResponseJson,
  RETRY_INFO_TYPE_URL,
  type PartialSuccess,
  type ProtoAny,
} from '#spanring/otlp';
import { mediaTypeOf, type OtlpFormat } from './media-type.ts';

/** google.rpc.Code values used here. */
export const RpcCode = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

export interface StatusAnswer {
  readonly httpStatus: number;
  readonly rpcCode: number;
  readonly message: string;
  /** Seconds for Retry-After (and a RetryInfo detail), on 429/503. */
  readonly retryAfterSeconds?: number;
  /** Extra headers, e.g. Allow on a 405. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Close the connection after answering: the rest of the request body was not read. */
  readonly closeConnection?: boolean;
}

export function sendSuccess(res: ServerResponse, format: OtlpFormat, partialSuccess?: PartialSuccess): void {
  const response = { partialSuccess };
  const body = format === 'protobuf' ? encodeTraceResponse(response) : encodeTraceResponseJson(response);
  send(res, 200, format, body);
}

export function sendStatus(res: ServerResponse, format: OtlpFormat, answer: StatusAnswer): void {
  if (res.headersSent) {
    // Nothing sensible can be said any more; end what was started.
    res.end();
    return;
  }
  const details: ProtoAny[] = [];
  if (answer.retryAfterSeconds !== undefined) {
    res.setHeader('Retry-After', String(answer.retryAfterSeconds));
    details.push({
      typeUrl: RETRY_INFO_TYPE_URL,
      value: encodeRetryInfo({ retryDelay: { seconds: BigInt(answer.retryAfterSeconds), nanos: 0 } }),
    });
  }
  for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
  if (answer.closeConnection === true) res.setHeader('Connection', 'close');
  const status = { code: answer.rpcCode, message: answer.message, details };
  const body = format === 'protobuf' ? encodeRpcStatus(status) : encodeRpcStatusJson(status);
  send(res, answer.httpStatus, format, body);
}

function send(res: ServerResponse, httpStatus: number, format: OtlpFormat, body: Uint8Array | string): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.statusCode = httpStatus;
  res.setHeader('Content-Type', mediaTypeOf(format));
  res.setHeader('Content-Length', String(bytes.byteLength));
  res.end(bytes);
}
