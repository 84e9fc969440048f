/**
 * OTLP/JSON decoding of ExportTraceServiceRequest into a flat list of spans
 * (rules in specs/otlp-codec.md). Field names are read in lowerCamelCase or snake_case;
 * errors name fields in lowerCamelCase whatever the input used.
 */
import { OtlpDecodeError, rethrowUnder } from './errors.ts';
import { MAX_ANY_VALUE_DEPTH, NO_ITEMS, spanExtra, SpanKind, StatusCode } from './model.ts';
import type {
  AnyValue,
  EntityRef,
  InstrumentationScope,
  KeyValue,
  Resource,
  Span,
  SpanEvent,
  SpanLink,
} from './model.ts';
import { fromBase64, fromHex } from './text.ts';

export type JsonObject = { readonly [key: string]: unknown };

const UINT64_MAX = 0xffff_ffff_ffff_ffffn;
const INT64_MIN = -0x8000_0000_0000_0000n;
const INT64_MAX = 0x7fff_ffff_ffff_ffffn;
const DECIMAL_INTEGER = /^-?[0-9]+$/;
const JSON_NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

/** A number token of 16+ digits may exceed 2^53; only then is the slower exact parse needed. */
const MAYBE_BIG_INTEGER = /[:,[]\s*-?[0-9]{16}/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses JSON text so integers beyond 2^53 written as JSON numbers arrive exactly, as
 * bigint, using the reviver's view of the source text (Invariant C6).
 */
export function parseJson(input: string | Uint8Array): unknown {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    try {
      text = utf8.decode(input);
    } catch {
      throw new OtlpDecodeError('', 'JSON body is not valid UTF-8');
    }
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return MAYBE_BIG_INTEGER.test(text) ? JSON.parse(text, reviveBigIntegers) : JSON.parse(text);
  } catch (error) {
    throw new OtlpDecodeError('', `not valid JSON: ${(error as Error).message}`);
  }
}

function reviveBigIntegers(this: unknown, _key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number' || Number.isSafeInteger(value)) return value;
  const source = context?.source;
  return source !== undefined && DECIMAL_INTEGER.test(source) ? BigInt(source) : value;
}

/** Invariant C14: a field in either spelling (lowerCamelCase wins); JSON null means absent. */
export function get(object: JsonObject, camel: string, snake: string = camel): unknown {
  let value = object[camel];
  if (value === undefined && snake !== camel) value = object[snake];
  return value === null ? undefined : value;
}

export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

export function asObject(value: unknown, path: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OtlpDecodeError(path, `must be a JSON object, got ${describeJson(value)}`);
  }
  return value as JsonObject;
}

export function optionalObject(object: JsonObject, camel: string, snake: string = camel): JsonObject | undefined {
  const value = get(object, camel, snake);
  return value === undefined ? undefined : asObject(value, camel);
}

/** Decodes each element of a repeated field; errors are put under `camel[i]`. */
export function list<T>(object: JsonObject, camel: string, snake: string, decode: (item: unknown) => T): readonly T[] {
  const value = get(object, camel, snake);
  if (value === undefined) return NO_ITEMS;
  if (!Array.isArray(value)) throw new OtlpDecodeError(camel, `must be an array, got ${describeJson(value)}`);
  if (value.length === 0) return NO_ITEMS;
  const out: T[] = [];
  for (let i = 0; i < value.length; i++) {
    try {
      out.push(decode(value[i]));
    } catch (error) {
      rethrowUnder(error, `${camel}[${i}]`);
    }
  }
  return out;
}

export function string(object: JsonObject, camel: string, snake: string = camel): string {
  const value = get(object, camel, snake);
  if (value === undefined) return '';
  if (typeof value !== 'string') throw new OtlpDecodeError(camel, `must be a string, got ${describeJson(value)}`);
  return value;
}

/** Integers may be JSON numbers or decimal strings (proto3 JSON accepts both). */
function integer(value: unknown, field: string, min: bigint, max: bigint, kind: string): bigint {
  let parsed: bigint | undefined;
  if (typeof value === 'bigint') parsed = value;
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new OtlpDecodeError(
        field,
        Number.isInteger(value)
          ? `${kind} ${value} is beyond 2^53 and cannot be read exactly from a JSON number; send it as a decimal string`
          : `${kind} must be an integer, got ${value}`,
      );
    }
    parsed = BigInt(value);
  } else if (typeof value === 'string' && DECIMAL_INTEGER.test(value)) parsed = BigInt(value);
  if (parsed === undefined) throw new OtlpDecodeError(field, `${kind} must be an integer or a decimal string, got ${describeJson(value)}`);
  if (parsed < min || parsed > max) throw new OtlpDecodeError(field, `${kind} ${parsed} is out of range ${min}..${max}`);
  return parsed;
}

export function uint32(object: JsonObject, camel: string, snake: string = camel): number {
  const value = get(object, camel, snake);
  return value === undefined ? 0 : Number(integer(value, camel, 0n, 0xffff_ffffn, 'uint32'));
}

/** Invariant C6: fixed64 timestamps, exact. */
export function uint64(object: JsonObject, camel: string, snake: string = camel): bigint {
  const value = get(object, camel, snake);
  return value === undefined ? 0n : integer(value, camel, 0n, UINT64_MAX, 'uint64');
}

export function int64Value(value: unknown, field: string): bigint {
  return integer(value, field, INT64_MIN, INT64_MAX, 'int64');
}

export function int32Value(value: unknown, field: string): number {
  return Number(integer(value, field, -0x8000_0000n, 0x7fff_ffffn, 'int32'));
}

/** Enums are integers; their proto names are accepted too (Invariant C16). */
function enumeration(object: JsonObject, camel: string, names: Readonly<Record<string, number>>): number {
  const value = get(object, camel);
  if (value === undefined) return 0;
  if (typeof value === 'string' && !DECIMAL_INTEGER.test(value)) {
    const number = names[value];
    if (number === undefined || !Object.hasOwn(names, value)) {
      throw new OtlpDecodeError(camel, `unknown enum name ${JSON.stringify(value)}; expected an integer or one of ${Object.keys(names).join(', ')}`);
    }
    return number;
  }
  return int32Value(value, camel);
}

const SPAN_KIND_NAMES: Readonly<Record<string, number>> = {
  SPAN_KIND_UNSPECIFIED: SpanKind.Unspecified,
  SPAN_KIND_INTERNAL: SpanKind.Internal,
  SPAN_KIND_SERVER: SpanKind.Server,
  SPAN_KIND_CLIENT: SpanKind.Client,
  SPAN_KIND_PRODUCER: SpanKind.Producer,
  SPAN_KIND_CONSUMER: SpanKind.Consumer,
};

const STATUS_CODE_NAMES: Readonly<Record<string, number>> = {
  STATUS_CODE_UNSET: StatusCode.Unset,
  STATUS_CODE_OK: StatusCode.Ok,
  STATUS_CODE_ERROR: StatusCode.Error,
};

function doubleValue(value: unknown, field: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') {
    if (value === 'NaN') return Number.NaN;
    if (value === 'Infinity') return Number.POSITIVE_INFINITY;
    if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
    if (JSON_NUMBER.test(value)) return Number(value);
  }
  throw new OtlpDecodeError(field, `must be a number, "NaN", "Infinity" or "-Infinity", got ${describeJson(value)}`);
}

/** Invariant C3/C15: ids are hex of exactly 16 or 8 bytes. */
function id(object: JsonObject, camel: string, snake: string, bytes: number, what: string): Uint8Array {
  const value = string(object, camel, snake);
  const decoded = fromHex(value, camel);
  if (decoded.length !== bytes) {
    throw new OtlpDecodeError(camel, `${what} must be ${bytes} bytes (${bytes * 2} hex digits), got ${decoded.length}`);
  }
  return decoded;
}

export function bytesValue(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string') throw new OtlpDecodeError(field, `must be a base64 string, got ${describeJson(value)}`);
  return fromBase64(value, field);
}

/** Decodes a JSON ExportTraceServiceRequest (or TracesData). */
export function decodeTraceRequestJson(input: string | Uint8Array): Span[] {
  const root = asObject(parseJson(input), '');
  const spans: Span[] = [];
  list(root, 'resourceSpans', 'resource_spans', (item) => decodeResourceSpans(item, spans));
  return spans;
}

function decodeResourceSpans(json: unknown, out: Span[]): void {
  const object = asObject(json, '');
  const resource = decodeResource(object);
  list(object, 'scopeSpans', 'scope_spans', (item) => decodeScopeSpans(item, resource, out));
}

function decodeResource(resourceSpans: JsonObject): Resource {
  const schemaUrl = string(resourceSpans, 'schemaUrl', 'schema_url');
  let object: JsonObject | undefined;
  try {
    object = optionalObject(resourceSpans, 'resource');
    if (object === undefined) return { attributes: NO_ITEMS, droppedAttributesCount: 0, entityRefs: NO_ITEMS, schemaUrl };
    return {
      attributes: keyValues(object, 'attributes', 'attributes'),
      droppedAttributesCount: uint32(object, 'droppedAttributesCount', 'dropped_attributes_count'),
      entityRefs: list(object, 'entityRefs', 'entity_refs', decodeEntityRef),
      schemaUrl,
    };
  } catch (error) {
    // optionalObject already names "resource" when the field itself is the problem.
    return rethrowUnder(error, object === undefined ? '' : 'resource');
  }
}

function decodeEntityRef(json: unknown): EntityRef {
  const object = asObject(json, '');
  return {
    schemaUrl: string(object, 'schemaUrl', 'schema_url'),
    type: string(object, 'type'),
    idKeys: list(object, 'idKeys', 'id_keys', stringItem),
    descriptionKeys: list(object, 'descriptionKeys', 'description_keys', stringItem),
  };
}

function stringItem(value: unknown): string {
  if (typeof value !== 'string') throw new OtlpDecodeError('', `must be a string, got ${describeJson(value)}`);
  return value;
}

function decodeScopeSpans(json: unknown, resource: Resource, out: Span[]): void {
  const object = asObject(json, '');
  const scope = decodeScope(object);
  list(object, 'spans', 'spans', (item) => {
    const span = decodeSpan(item, resource, scope);
    out.push(span);
    return span;
  });
}

function decodeScope(scopeSpans: JsonObject): InstrumentationScope {
  const schemaUrl = string(scopeSpans, 'schemaUrl', 'schema_url');
  let object: JsonObject | undefined;
  try {
    object = optionalObject(scopeSpans, 'scope');
    if (object === undefined) return { name: '', version: '', attributes: NO_ITEMS, droppedAttributesCount: 0, schemaUrl };
    return {
      name: string(object, 'name'),
      version: string(object, 'version'),
      attributes: keyValues(object, 'attributes', 'attributes'),
      droppedAttributesCount: uint32(object, 'droppedAttributesCount', 'dropped_attributes_count'),
      schemaUrl,
    };
  } catch (error) {
    return rethrowUnder(error, object === undefined ? '' : 'scope');
  }
}

function decodeSpan(json: unknown, resource: Resource, scope: InstrumentationScope): Span {
  const object = asObject(json, '');
  const traceId = id(object, 'traceId', 'trace_id', 16, 'trace id');
  const spanId = id(object, 'spanId', 'span_id', 8, 'span id');
  const parentHex = string(object, 'parentSpanId', 'parent_span_id');
  // Invariant C3: "" and absent both mean a root span.
  const parentSpanId = parentHex === '' ? undefined : id(object, 'parentSpanId', 'parent_span_id', 8, 'parent span id');
  const status = optionalObject(object, 'status');
  let statusCode = 0;
  let statusMessage = '';
  if (status !== undefined) {
    try {
      statusCode = enumeration(status, 'code', STATUS_CODE_NAMES);
      statusMessage = string(status, 'message');
    } catch (error) {
      rethrowUnder(error, 'status');
    }
  }
  const traceState = string(object, 'traceState', 'trace_state');
  const droppedAttributesCount = uint32(object, 'droppedAttributesCount', 'dropped_attributes_count');
  const events = list(object, 'events', 'events', decodeEvent);
  const droppedEventsCount = uint32(object, 'droppedEventsCount', 'dropped_events_count');
  const links = list(object, 'links', 'links', decodeLink);
  const droppedLinksCount = uint32(object, 'droppedLinksCount', 'dropped_links_count');
  const extra = spanExtra({ traceState, statusMessage, droppedAttributesCount, events, droppedEventsCount, links, droppedLinksCount });
  return {
    resource,
    scope,
    traceId,
    spanId,
    parentSpanId,
    name: string(object, 'name'),
    kind: enumeration(object, 'kind', SPAN_KIND_NAMES),
    startTimeUnixNano: uint64(object, 'startTimeUnixNano', 'start_time_unix_nano'),
    endTimeUnixNano: uint64(object, 'endTimeUnixNano', 'end_time_unix_nano'),
    flags: uint32(object, 'flags'),
    statusCode,
    attributes: keyValues(object, 'attributes', 'attributes'),
    extra,
  };
}

function decodeEvent(json: unknown): SpanEvent {
  const object = asObject(json, '');
  return {
    timeUnixNano: uint64(object, 'timeUnixNano', 'time_unix_nano'),
    name: string(object, 'name'),
    attributes: keyValues(object, 'attributes', 'attributes'),
    droppedAttributesCount: uint32(object, 'droppedAttributesCount', 'dropped_attributes_count'),
  };
}

function decodeLink(json: unknown): SpanLink {
  const object = asObject(json, '');
  return {
    traceId: id(object, 'traceId', 'trace_id', 16, 'link trace id'),
    spanId: id(object, 'spanId', 'span_id', 8, 'link span id'),
    traceState: string(object, 'traceState', 'trace_state'),
    attributes: keyValues(object, 'attributes', 'attributes'),
    droppedAttributesCount: uint32(object, 'droppedAttributesCount', 'dropped_attributes_count'),
    flags: uint32(object, 'flags'),
  };
}

function keyValues(object: JsonObject, camel: string, snake: string): readonly KeyValue[] {
  return list(object, camel, snake, (item) => decodeKeyValue(item, 1));
}

/** `depth` is the nesting depth of this pair's value (Invariant C9). */
function decodeKeyValue(json: unknown, depth: number): KeyValue {
  const object = asObject(json, '');
  const key = string(object, 'key');
  const raw = get(object, 'value');
  if (raw === undefined) return { key, value: null };
  try {
    return { key, value: decodeAnyValue(raw, depth) };
  } catch (error) {
    return rethrowUnder(error, 'value');
  }
}

/**
 * Invariant C9: depth counted, never unbounded. Keys are walked once, so a value object
 * with one member costs one lookup, and two members set at once are caught.
 */
function decodeAnyValue(json: unknown, depth: number): AnyValue {
  if (depth > MAX_ANY_VALUE_DEPTH) throw new OtlpDecodeError('', `AnyValue nested deeper than ${MAX_ANY_VALUE_DEPTH} levels`);
  const object = asObject(json, '');
  let value: AnyValue = null;
  let member = '';
  for (const key in object) {
    const raw = object[key];
    if (raw === null || raw === undefined) continue;
    const name = ANY_VALUE_MEMBERS[key];
    if (name === undefined || !Object.hasOwn(ANY_VALUE_MEMBERS, key)) continue;
    if (member !== '') throw new OtlpDecodeError('', `AnyValue sets both ${member} and ${name}; a value has one member`);
    member = name;
    value = decodeAnyValueMember(name, raw, depth);
  }
  return value;
}

const ANY_VALUE_MEMBERS: Readonly<Record<string, string>> = {
  stringValue: 'stringValue',
  string_value: 'stringValue',
  boolValue: 'boolValue',
  bool_value: 'boolValue',
  intValue: 'intValue',
  int_value: 'intValue',
  doubleValue: 'doubleValue',
  double_value: 'doubleValue',
  arrayValue: 'arrayValue',
  array_value: 'arrayValue',
  kvlistValue: 'kvlistValue',
  kvlist_value: 'kvlistValue',
  bytesValue: 'bytesValue',
  bytes_value: 'bytesValue',
};

function decodeAnyValueMember(name: string, raw: unknown, depth: number): AnyValue {
  switch (name) {
    case 'stringValue':
      if (typeof raw !== 'string') throw new OtlpDecodeError(name, `must be a string, got ${describeJson(raw)}`);
      return raw;
    case 'boolValue':
      if (typeof raw !== 'boolean') throw new OtlpDecodeError(name, `must be true or false, got ${describeJson(raw)}`);
      return raw;
    case 'intValue':
      return int64Value(raw, name);
    case 'doubleValue':
      return doubleValue(raw, name);
    case 'bytesValue':
      return bytesValue(raw, name);
    case 'arrayValue':
      return decodeList(raw, name, (item) => decodeAnyValue(item ?? {}, depth + 1));
    default:
      return { kvlist: decodeList(raw, name, (item) => decodeKeyValue(item, depth + 1)) };
  }
}

/** ArrayValue and KeyValueList wrap their elements in an object's `values` field. */
function decodeList<T>(raw: unknown, name: string, decode: (item: unknown) => T): T[] {
  try {
    const items = list(asObject(raw, ''), 'values', 'values', decode);
    return items === NO_ITEMS ? [] : (items as T[]);
  } catch (error) {
    return rethrowUnder(error, name);
  }
}
