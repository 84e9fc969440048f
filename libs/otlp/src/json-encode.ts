/**
 * OTLP/JSON encoding of spans as an ExportTraceServiceRequest (rules in specs/otlp-codec.md):
 * lowerCamelCase keys, lowercase hex ids, integer enums, 64-bit integers as decimal
 * strings, base64 bytes, default values omitted.
 */
import { OtlpEncodeError, rethrowUnder } from './errors.ts';
import { groupSpans, MAX_ANY_VALUE_DEPTH } from './model.ts';
import type {
  AnyValue,
  EntityRef,
  InstrumentationScope,
  KeyValue,
  Resource,
  ResourceGroup,
  ScopeGroup,
  Span,
  SpanEvent,
  SpanLink,
} from './model.ts';
import { toBase64, toHex } from './text.ts';
import { checkId, checkInt32, checkInt64, checkUint32, checkUint64, describe, hasParent, isKeyValueList } from './validate.ts';

type Json = { [key: string]: unknown };

/** Encodes spans as one OTLP/JSON ExportTraceServiceRequest, grouped as groupSpans does. */
export function encodeTraceRequestJson(spans: readonly Span[]): string {
  const groups = groupSpans(spans);
  const out: Json = {};
  if (groups.length > 0) out.resourceSpans = mapWithPath(groups, 'resourceSpans', resourceSpansToJson);
  return JSON.stringify(out);
}

function mapWithPath<T>(items: readonly T[], field: string, convert: (item: T) => unknown): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < items.length; i++) {
    try {
      out.push(convert(items[i] as T));
    } catch (error) {
      rethrowUnder(error, `${field}[${i}]`);
    }
  }
  return out;
}

function resourceSpansToJson(group: ResourceGroup): Json {
  const out: Json = {};
  const resource = resourceToJson(group.resource);
  if (resource !== undefined) out.resource = resource;
  out.scopeSpans = mapWithPath(group.scopes, 'scopeSpans', scopeSpansToJson);
  if (group.resource.schemaUrl !== '') out.schemaUrl = group.resource.schemaUrl;
  return out;
}

function resourceToJson(resource: Resource): Json | undefined {
  const out: Json = {};
  try {
    putAttributes(out, resource.attributes);
    putUint32(out, 'droppedAttributesCount', resource.droppedAttributesCount);
    if (resource.entityRefs.length > 0) out.entityRefs = resource.entityRefs.map(entityRefToJson);
  } catch (error) {
    rethrowUnder(error, 'resource');
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function entityRefToJson(ref: EntityRef): Json {
  const out: Json = {};
  putString(out, 'schemaUrl', ref.schemaUrl);
  putString(out, 'type', ref.type);
  if (ref.idKeys.length > 0) out.idKeys = ref.idKeys;
  if (ref.descriptionKeys.length > 0) out.descriptionKeys = ref.descriptionKeys;
  return out;
}

function scopeSpansToJson(group: ScopeGroup): Json {
  const out: Json = {};
  const scope = scopeToJson(group.scope);
  if (scope !== undefined) out.scope = scope;
  out.spans = mapWithPath(group.spans, 'spans', spanToJson);
  if (group.scope.schemaUrl !== '') out.schemaUrl = group.scope.schemaUrl;
  return out;
}

function scopeToJson(scope: InstrumentationScope): Json | undefined {
  const out: Json = {};
  try {
    putString(out, 'name', scope.name);
    putString(out, 'version', scope.version);
    putAttributes(out, scope.attributes);
    putUint32(out, 'droppedAttributesCount', scope.droppedAttributesCount);
  } catch (error) {
    rethrowUnder(error, 'scope');
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function spanToJson(span: Span): Json {
  const extra = span.extra;
  checkId(span.traceId, 16, 'traceId', 'trace id');
  checkId(span.spanId, 8, 'spanId', 'span id');
  const out: Json = { traceId: toHex(span.traceId), spanId: toHex(span.spanId) };
  if (extra !== undefined) putString(out, 'traceState', extra.traceState);
  if (hasParent(span.parentSpanId)) out.parentSpanId = toHex(span.parentSpanId);
  putString(out, 'name', span.name);
  putInt32(out, 'kind', span.kind);
  putUint64(out, 'startTimeUnixNano', span.startTimeUnixNano);
  putUint64(out, 'endTimeUnixNano', span.endTimeUnixNano);
  putAttributes(out, span.attributes);
  if (extra !== undefined) {
    putUint32(out, 'droppedAttributesCount', extra.droppedAttributesCount);
    if (extra.events.length > 0) out.events = mapWithPath(extra.events, 'events', eventToJson);
    putUint32(out, 'droppedEventsCount', extra.droppedEventsCount);
    if (extra.links.length > 0) out.links = mapWithPath(extra.links, 'links', linkToJson);
    putUint32(out, 'droppedLinksCount', extra.droppedLinksCount);
  }
  const statusMessage = extra === undefined ? '' : extra.statusMessage;
  if (span.statusCode !== 0 || statusMessage !== '') {
    const status: Json = {};
    putString(status, 'message', statusMessage);
    try {
      putInt32(status, 'code', span.statusCode);
    } catch (error) {
      rethrowUnder(error, 'status');
    }
    out.status = status;
  }
  putUint32(out, 'flags', span.flags);
  return out;
}

function eventToJson(event: SpanEvent): Json {
  const out: Json = {};
  putUint64(out, 'timeUnixNano', event.timeUnixNano);
  putString(out, 'name', event.name);
  putAttributes(out, event.attributes);
  putUint32(out, 'droppedAttributesCount', event.droppedAttributesCount);
  return out;
}

function linkToJson(link: SpanLink): Json {
  checkId(link.traceId, 16, 'traceId', 'link trace id');
  checkId(link.spanId, 8, 'spanId', 'link span id');
  const out: Json = { traceId: toHex(link.traceId), spanId: toHex(link.spanId) };
  putString(out, 'traceState', link.traceState);
  putAttributes(out, link.attributes);
  putUint32(out, 'droppedAttributesCount', link.droppedAttributesCount);
  putUint32(out, 'flags', link.flags);
  return out;
}

function putAttributes(out: Json, attributes: readonly KeyValue[]): void {
  if (attributes.length > 0) out.attributes = mapWithPath(attributes, 'attributes', (pair) => keyValueToJson(pair, 1));
}

function keyValueToJson(pair: KeyValue, depth: number): Json {
  const out: Json = {};
  putString(out, 'key', pair.key);
  if (pair.value !== null) {
    try {
      out.value = anyValueToJson(pair.value, depth);
    } catch (error) {
      rethrowUnder(error, 'value');
    }
  }
  return out;
}

/** Invariant C9 on output too: never write what the decoders would reject. */
export function anyValueToJson(value: AnyValue, depth: number): Json {
  if (depth > MAX_ANY_VALUE_DEPTH) throw new OtlpEncodeError('', `AnyValue nested deeper than ${MAX_ANY_VALUE_DEPTH} levels`);
  switch (typeof value) {
    case 'string':
      return { stringValue: value };
    case 'boolean':
      return { boolValue: value };
    case 'bigint':
      checkInt64(value, 'intValue');
      return { intValue: value.toString() };
    case 'number':
      return { doubleValue: doubleToJson(value) };
    default:
      return compositeToJson(value, depth);
  }
}

function compositeToJson(value: AnyValue, depth: number): Json {
  if (value === null) return {};
  if (value instanceof Uint8Array) return { bytesValue: toBase64(value) };
  if (Array.isArray(value)) {
    const values = value as readonly AnyValue[];
    try {
      return { arrayValue: values.length === 0 ? {} : { values: mapWithPath(values, 'values', (item) => anyValueToJson(item, depth + 1)) } };
    } catch (error) {
      return rethrowUnder(error, 'arrayValue');
    }
  }
  if (isKeyValueList(value)) {
    const pairs = value.kvlist;
    try {
      return { kvlistValue: pairs.length === 0 ? {} : { values: mapWithPath(pairs, 'values', (pair) => keyValueToJson(pair, depth + 1)) } };
    } catch (error) {
      return rethrowUnder(error, 'kvlistValue');
    }
  }
  throw new OtlpEncodeError('', `not an AnyValue: ${describe(value)}`);
}

/** Invariant C14: non-finite doubles and -0 are strings, which proto3 JSON parsers accept. */
function doubleToJson(value: number): number | string {
  if (Number.isFinite(value)) return Object.is(value, -0) ? '-0' : value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}

function putString(out: Json, key: string, value: string): void {
  if (value !== '') out[key] = value;
}

function putUint32(out: Json, key: string, value: number): void {
  if (value === 0) return;
  checkUint32(value, key);
  out[key] = value;
}

function putInt32(out: Json, key: string, value: number): void {
  if (value === 0) return;
  checkInt32(value, key);
  out[key] = value;
}

/** Invariant C6: 64-bit integers are decimal strings in JSON, exact. */
function putUint64(out: Json, key: string, value: bigint): void {
  checkUint64(value, key);
  if (value !== 0n) out[key] = value.toString();
}
