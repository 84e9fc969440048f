export type {
  AnyValue,
  EntityRef,
  InstrumentationScope,
  KeyValue,
  KeyValueList,
  Resource,
  ResourceGroup,
  ScopeGroup,
  Span,
  SpanEvent,
  SpanExtra,
  SpanLink,
} from './model.ts';
export { groupSpans, MAX_ANY_VALUE_DEPTH, spanExtra, SpanKind, StatusCode } from './model.ts';
export { decodeTraceRequest } from './proto-decode.ts';
export { TRACE_EXPORT_PATH } from './schema.ts';
export { TRACE_SERVICE_DEFINITION } from './trace-service.ts';
export {
  countTraceRequestSpans,
  indexTraceRequest,
  scanIndexedTraceRequest,
  scanTraceRequest,
  scanValidatedTraceRequest,
  validateTraceRequest,
} from './proto-scan.ts';
export { idWordAt, plainSpan, traceIdHex, WireSpan } from './wire-span.ts';
export { encodeTraceRequest } from './proto-encode.ts';
export { BufferPool } from './buffer-pool.ts';
export { decodeTraceRequestJson } from './json-decode.ts';
export { encodeTraceRequestJson } from './json-encode.ts';
export type { PartialSuccess, ProtoAny, RpcStatus, TraceExportResponse } from './response.ts';
export {
  decodeRpcStatus,
  decodeRpcStatusJson,
  decodeTraceResponse,
  decodeTraceResponseJson,
  encodeRpcStatus,
  encodeRpcStatusJson,
  encodeTraceResponse,
  encodeTraceResponseJson,
} from './response.ts';
export { OtlpDecodeError, OtlpEncodeError, OtlpError } from './errors.ts';
export { decodeRetryInfo, encodeRetryInfo, RETRY_INFO_TYPE_URL, type ProtoDuration, type RetryInfo } from './retry-info.ts';
