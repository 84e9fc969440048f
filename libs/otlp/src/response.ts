/**
 * What receivers answer with: ExportTraceServiceResponse (success, or partial success) and
 * google.rpc.Status (failure), in protobuf and OTLP/JSON (rules C17, C18 in specs/otlp-codec.md).
 */
import { OtlpDecodeError, OtlpEncodeError, rethrowUnder } from './errors.ts';
import { NO_ITEMS } from './model.ts';
import { append } from './proto-decode.ts';
import { asObject, bytesValue, describeJson, get, int32Value, int64Value, list, optionalObject, parseJson, string } from './json-decode.ts';
import { PartialSuccessTag, ProtoAnyTag, ResponseTag, RpcStatusTag } from './schema.ts';
import { toBase64 } from './text.ts';
import { checkInt32, checkInt64 } from './validate.ts';
import { NO_BYTES, ProtoReader, ProtoWriter } from './wire.ts';

/** ExportTracePartialSuccess: how many spans the receiver rejected, and why. */
export interface PartialSuccess {
  readonly rejectedSpans: bigint;
  readonly errorMessage: string;
}

/**
 * ExportTraceServiceResponse. `partialSuccess` undefined means full success; present (even
 * with rejectedSpans 0, which carries a warning) it is written as a field (Invariant C17).
 */
export interface TraceExportResponse {
  readonly partialSuccess: PartialSuccess | undefined;
}

/** google.protobuf.Any: a type URL and the serialized message it names. */
export interface ProtoAny {
  readonly typeUrl: string;
  readonly value: Uint8Array;
}

/** google.rpc.Status, the body of an OTLP/HTTP error response. */
export interface RpcStatus {
  /** A google.rpc.Code value (int32). */
  readonly code: number;
  readonly message: string;
  readonly details: readonly ProtoAny[];
}

export function encodeTraceResponse(response: TraceExportResponse): Uint8Array {
  const writer = new ProtoWriter(64);
  const partial = response.partialSuccess;
  if (partial !== undefined) {
    const at = writer.begin(ResponseTag.partialSuccess);
    if (partial.rejectedSpans !== 0n) {
      checkRejectedSpans(partial.rejectedSpans);
      writer.tag(PartialSuccessTag.rejectedSpans);
      writer.int64(partial.rejectedSpans);
    }
    if (partial.errorMessage !== '') {
      writer.tag(PartialSuccessTag.errorMessage);
      writer.string(partial.errorMessage);
    }
    writer.end(at);
  }
  return writer.finish();
}

function checkRejectedSpans(value: bigint): void {
  if (typeof value !== 'bigint') throw new OtlpEncodeError('partialSuccess.rejectedSpans', `must be a bigint, got ${typeof value}`);
  checkInt64(value, 'partialSuccess.rejectedSpans');
}

export function decodeTraceResponse(bytes: Uint8Array): TraceExportResponse {
  const reader = new ProtoReader(bytes);
  let partialSuccess: PartialSuccess | undefined;
  while (reader.more()) {
    const tag = reader.tag();
    if (tag !== ResponseTag.partialSuccess) {
      reader.skipUnknown(tag, ResponseTag);
      continue;
    }
    try {
      partialSuccess = decodePartialSuccess(reader, partialSuccess);
    } catch (error) {
      rethrowUnder(error, 'partialSuccess');
    }
  }
  return { partialSuccess };
}

/** A repeated partial_success merges into the earlier one, as protobuf merges messages. */
function decodePartialSuccess(reader: ProtoReader, earlier: PartialSuccess | undefined): PartialSuccess {
  const outer = reader.enter();
  let rejectedSpans = earlier?.rejectedSpans ?? 0n;
  let errorMessage = earlier?.errorMessage ?? '';
  let field = '';
  try {
    while (reader.more()) {
      field = '';
      const tag = reader.tag();
      if (tag === PartialSuccessTag.rejectedSpans) {
        field = 'rejectedSpans';
        rejectedSpans = reader.int64();
      } else if (tag === PartialSuccessTag.errorMessage) {
        field = 'errorMessage';
        errorMessage = reader.string();
      } else {
        reader.skipUnknown(tag, PartialSuccessTag);
      }
    }
  } catch (error) {
    rethrowUnder(error, field);
  }
  reader.leave(outer);
  return { rejectedSpans, errorMessage };
}

export function encodeTraceResponseJson(response: TraceExportResponse): string {
  const partial = response.partialSuccess;
  if (partial === undefined) return '{}';
  const out: { rejectedSpans?: string; errorMessage?: string } = {};
  if (partial.rejectedSpans !== 0n) {
    checkRejectedSpans(partial.rejectedSpans);
    out.rejectedSpans = partial.rejectedSpans.toString();
  }
  if (partial.errorMessage !== '') out.errorMessage = partial.errorMessage;
  return JSON.stringify({ partialSuccess: out });
}

export function decodeTraceResponseJson(input: string | Uint8Array): TraceExportResponse {
  const root = asObject(parseJson(input), '');
  const partial = optionalObject(root, 'partialSuccess', 'partial_success');
  if (partial === undefined) return { partialSuccess: undefined };
  try {
    const rejected = get(partial, 'rejectedSpans', 'rejected_spans');
    return {
      partialSuccess: {
        rejectedSpans: rejected === undefined ? 0n : int64Value(rejected, 'rejectedSpans'),
        errorMessage: string(partial, 'errorMessage', 'error_message'),
      },
    };
  } catch (error) {
    return rethrowUnder(error, 'partialSuccess');
  }
}

export function encodeRpcStatus(status: RpcStatus): Uint8Array {
  const writer = new ProtoWriter(64 + status.message.length * 3);
  if (status.code !== 0) {
    checkInt32(status.code, 'code');
    writer.tag(RpcStatusTag.code);
    writer.int32(status.code);
  }
  if (status.message !== '') {
    writer.tag(RpcStatusTag.message);
    writer.string(status.message);
  }
  for (const detail of status.details) {
    const at = writer.begin(RpcStatusTag.details);
    if (detail.typeUrl !== '') {
      writer.tag(ProtoAnyTag.typeUrl);
      writer.string(detail.typeUrl);
    }
    if (detail.value.length > 0) {
      writer.tag(ProtoAnyTag.value);
      writer.bytes(detail.value);
    }
    writer.end(at);
  }
  return writer.finish();
}

export function decodeRpcStatus(bytes: Uint8Array): RpcStatus {
  const reader = new ProtoReader(bytes);
  let code = 0;
  let message = '';
  let details: readonly ProtoAny[] = NO_ITEMS;
  let field = '';
  try {
    while (reader.more()) {
      field = '';
      const tag = reader.tag();
      if (tag === RpcStatusTag.code) {
        field = 'code';
        code = reader.int32();
      } else if (tag === RpcStatusTag.message) {
        field = 'message';
        message = reader.string();
      } else if (tag === RpcStatusTag.details) {
        field = `details[${details.length}]`;
        details = append(details, decodeProtoAny(reader));
      } else {
        reader.skipUnknown(tag, RpcStatusTag);
      }
    }
  } catch (error) {
    rethrowUnder(error, field);
  }
  return { code, message, details };
}

function decodeProtoAny(reader: ProtoReader): ProtoAny {
  const outer = reader.enter();
  let typeUrl = '';
  let value = NO_BYTES;
  while (reader.more()) {
    const tag = reader.tag();
    if (tag === ProtoAnyTag.typeUrl) typeUrl = reader.string();
    else if (tag === ProtoAnyTag.value) value = reader.bytes();
    else reader.skipUnknown(tag, ProtoAnyTag);
  }
  reader.leave(outer);
  return { typeUrl, value };
}

/**
 * Invariant C18: a detail is written as {"@type": typeUrl, "value": base64}. proto3 JSON
 * would expand the packed message's own fields, which needs its schema; this form keeps
 * the bytes without one, and is what decodeRpcStatusJson reads back.
 */
export function encodeRpcStatusJson(status: RpcStatus): string {
  const out: { code?: number; message?: string; details?: unknown[] } = {};
  if (status.code !== 0) {
    checkInt32(status.code, 'code');
    out.code = status.code;
  }
  if (status.message !== '') out.message = status.message;
  if (status.details.length > 0) {
    out.details = status.details.map((detail) => {
      const json: { '@type'?: string; value?: string } = {};
      if (detail.typeUrl !== '') json['@type'] = detail.typeUrl;
      if (detail.value.length > 0) json.value = toBase64(detail.value);
      return json;
    });
  }
  return JSON.stringify(out);
}

export function decodeRpcStatusJson(input: string | Uint8Array): RpcStatus {
  const root = asObject(parseJson(input), '');
  const code = get(root, 'code');
  return {
    code: code === undefined ? 0 : int32Value(code, 'code'),
    message: string(root, 'message'),
    details: list(root, 'details', 'details', decodeProtoAnyJson),
  };
}

function decodeProtoAnyJson(json: unknown): ProtoAny {
  const object = asObject(json, '');
  const typeUrl = get(object, '@type') ?? get(object, 'typeUrl', 'type_url') ?? '';
  if (typeof typeUrl !== 'string') throw new OtlpDecodeError('@type', `must be a string, got ${describeJson(typeUrl)}`);
  const value = get(object, 'value');
  return { typeUrl, value: value === undefined ? NO_BYTES : bytesValue(value, 'value') };
}
