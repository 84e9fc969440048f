/**
 * Protobuf encoding of spans as an ExportTraceServiceRequest (rules in specs/otlp-codec.md).
 * Fields are written in field-number order and defaults are omitted (Invariant C8), so the
 * output is canonical proto3; oneof members of AnyValue are always written, defaults included.
 */
import type { BufferPool } from './buffer-pool.ts';
import { OtlpEncodeError, rethrowUnder } from './errors.ts';
import { MAX_ANY_VALUE_DEPTH } from './model.ts';
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
import {
  AnyValueTag,
  EntityRefTag,
  EventTag,
  KeyValueTag,
  LinkTag,
  ListTag,
  RequestTag,
  ResourceSpansTag,
  ResourceTag,
  ScopeSpansTag,
  ScopeTag,
  SpanTag,
  StatusTag,
} from './schema.ts';
import { checkId, checkInt32, checkInt64, checkUint32, checkUint64, describe, hasParent, isKeyValueList } from './validate.ts';
import { ProtoWriter } from './wire.ts';
import { WireSpan } from './wire-span.ts';
import { SpanGrouping, type ResourceEntry } from './span-grouping.ts';

/**
 * A first guess of encoded bytes per span, a little above a realistic span (~420 B with ten
 * attributes, bench:pipeline), so most batches fit without the writer doubling and copying.
 */
const BYTES_PER_SPAN_GUESS = 512;

/**
 * Encodes spans as one ExportTraceServiceRequest, grouped by resource object then scope
 * object (see groupSpans), keeping span order within each group.
 *
 * With a pool, the result is a view of pooled storage: give it back with
 * `pool.give(result.buffer)` once nothing reads it (Invariant C23), and the next encode
 * reuses it.
 */
export function encodeTraceRequest(spans: readonly Span[], pool?: BufferPool): Uint8Array {
  const writer = new ProtoWriter(spans.length * BYTES_PER_SPAN_GUESS, pool);
  grouping.group(spans);
  const { resources } = grouping;
  for (let i = 0; i < resources.length; i++) {
    try {
      encodeResourceSpans(writer, resources[i]!, spans);
    } catch (error) {
      rethrowUnder(error, `resourceSpans[${i}]`);
    }
  }
  return writer.finish();
}

/** Encoding runs to completion on one thread and never nests, so one grouping serves every call. */
const grouping = new SpanGrouping();

function encodeResourceSpans(writer: ProtoWriter, entry: ResourceEntry, spans: readonly Span[]): void {
  const at = writer.begin(RequestTag.resourceSpans);
  const { resource } = entry;
  if (!isEmptyResource(resource)) {
    const resourceAt = writer.begin(ResourceSpansTag.resource);
    encodeResource(writer, resource);
    writer.end(resourceAt);
  }
  for (let i = 0; i < entry.groups.length; i++) {
    const group = entry.groups[i]!;
    try {
      const scopeAt = writer.begin(ResourceSpansTag.scopeSpans);
      encodeScopeSpans(writer, grouping.scopeOf(group), spans, grouping.start(group), grouping.end(group));
      writer.end(scopeAt);
    } catch (error) {
      rethrowUnder(error, `scopeSpans[${i}]`);
    }
  }
  if (resource.schemaUrl !== '') {
    writer.tag(ResourceSpansTag.schemaUrl);
    writer.string(resource.schemaUrl);
  }
  writer.end(at);
}

function isEmptyResource(resource: Resource): boolean {
  return resource.attributes.length === 0 && resource.droppedAttributesCount === 0 && resource.entityRefs.length === 0;
}

function encodeResource(writer: ProtoWriter, resource: Resource): void {
  encodeAttributes(writer, ResourceTag.attributes, resource.attributes, 'resource.attributes');
  if (resource.droppedAttributesCount !== 0) {
    checkUint32(resource.droppedAttributesCount, 'resource.droppedAttributesCount');
    writer.tag(ResourceTag.droppedAttributesCount);
    writer.varint32(resource.droppedAttributesCount);
  }
  for (const ref of resource.entityRefs) encodeEntityRef(writer, ref);
}

function encodeEntityRef(writer: ProtoWriter, ref: EntityRef): void {
  const at = writer.begin(ResourceTag.entityRefs);
  writeString(writer, EntityRefTag.schemaUrl, ref.schemaUrl);
  writeString(writer, EntityRefTag.type, ref.type);
  for (const key of ref.idKeys) {
    writer.tag(EntityRefTag.idKeys);
    writer.string(key);
  }
  for (const key of ref.descriptionKeys) {
    writer.tag(EntityRefTag.descriptionKeys);
    writer.string(key);
  }
  writer.end(at);
}

/** Encodes one ScopeSpans: the scope, then spans[grouping.spanAt(k)] for k in [from, to). */
function encodeScopeSpans(writer: ProtoWriter, scope: InstrumentationScope, spans: readonly Span[], from: number, to: number): void {
  if (!isEmptyScope(scope)) {
    const at = writer.begin(ScopeSpansTag.scope);
    writeString(writer, ScopeTag.name, scope.name);
    writeString(writer, ScopeTag.version, scope.version);
    encodeAttributes(writer, ScopeTag.attributes, scope.attributes, 'scope.attributes');
    if (scope.droppedAttributesCount !== 0) {
      checkUint32(scope.droppedAttributesCount, 'scope.droppedAttributesCount');
      writer.tag(ScopeTag.droppedAttributesCount);
      writer.varint32(scope.droppedAttributesCount);
    }
    writer.end(at);
  }
  for (let k = from; k < to; k++) {
    const span = spans[grouping.spanAt(k)]!;
    if (span instanceof WireSpan) {
      // Invariant C21: a span received as protobuf is sent as the bytes it arrived in.
      writer.tag(ScopeSpansTag.spans);
      writer.bytesRange(span.wire, span.wireStart, span.wireEnd);
      continue;
    }
    try {
      const at = writer.begin(ScopeSpansTag.spans);
      encodeSpan(writer, span);
      writer.end(at);
    } catch (error) {
      rethrowUnder(error, `spans[${k - from}]`);
    }
  }
  if (scope.schemaUrl !== '') {
    writer.tag(ScopeSpansTag.schemaUrl);
    writer.string(scope.schemaUrl);
  }
}

function isEmptyScope(scope: InstrumentationScope): boolean {
  return scope.name === '' && scope.version === '' && scope.attributes.length === 0 && scope.droppedAttributesCount === 0;
}

function encodeSpan(writer: ProtoWriter, span: Span): void {
  const extra = span.extra;
  checkId(span.traceId, 16, 'traceId', 'trace id');
  writer.tag(SpanTag.traceId);
  writer.bytes(span.traceId);
  checkId(span.spanId, 8, 'spanId', 'span id');
  writer.tag(SpanTag.spanId);
  writer.bytes(span.spanId);
  if (extra !== undefined) writeString(writer, SpanTag.traceState, extra.traceState);
  if (hasParent(span.parentSpanId)) {
    writer.tag(SpanTag.parentSpanId);
    writer.bytes(span.parentSpanId);
  }
  writeString(writer, SpanTag.name, span.name);
  if (span.kind !== 0) {
    checkInt32(span.kind, 'kind');
    writer.tag(SpanTag.kind);
    writer.int32(span.kind);
  }
  writeFixed64(writer, SpanTag.startTimeUnixNano, span.startTimeUnixNano, 'startTimeUnixNano');
  writeFixed64(writer, SpanTag.endTimeUnixNano, span.endTimeUnixNano, 'endTimeUnixNano');
  encodeAttributes(writer, SpanTag.attributes, span.attributes, 'attributes');
  if (extra !== undefined) {
    writeUint32(writer, SpanTag.droppedAttributesCount, extra.droppedAttributesCount, 'droppedAttributesCount');
    encodeEvents(writer, extra.events);
    writeUint32(writer, SpanTag.droppedEventsCount, extra.droppedEventsCount, 'droppedEventsCount');
    encodeLinks(writer, extra.links);
    writeUint32(writer, SpanTag.droppedLinksCount, extra.droppedLinksCount, 'droppedLinksCount');
  }
  const statusMessage = extra === undefined ? '' : extra.statusMessage;
  if (span.statusCode !== 0 || statusMessage !== '') {
    const at = writer.begin(SpanTag.status);
    writeString(writer, StatusTag.message, statusMessage);
    if (span.statusCode !== 0) {
      checkInt32(span.statusCode, 'status.code');
      writer.tag(StatusTag.code);
      writer.int32(span.statusCode);
    }
    writer.end(at);
  }
  if (span.flags !== 0) {
    checkUint32(span.flags, 'flags');
    writer.tag(SpanTag.flags);
    writer.fixed32(span.flags);
  }
}

function encodeEvents(writer: ProtoWriter, events: readonly SpanEvent[]): void {
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as SpanEvent;
    try {
      const at = writer.begin(SpanTag.events);
      writeFixed64(writer, EventTag.timeUnixNano, event.timeUnixNano, 'timeUnixNano');
      writeString(writer, EventTag.name, event.name);
      encodeAttributes(writer, EventTag.attributes, event.attributes, 'attributes');
      writeUint32(writer, EventTag.droppedAttributesCount, event.droppedAttributesCount, 'droppedAttributesCount');
      writer.end(at);
    } catch (error) {
      rethrowUnder(error, `events[${i}]`);
    }
  }
}

function encodeLinks(writer: ProtoWriter, links: readonly SpanLink[]): void {
  for (let i = 0; i < links.length; i++) {
    const link = links[i] as SpanLink;
    try {
      const at = writer.begin(SpanTag.links);
      checkId(link.traceId, 16, 'traceId', 'link trace id');
      writer.tag(LinkTag.traceId);
      writer.bytes(link.traceId);
      checkId(link.spanId, 8, 'spanId', 'link span id');
      writer.tag(LinkTag.spanId);
      writer.bytes(link.spanId);
      writeString(writer, LinkTag.traceState, link.traceState);
      encodeAttributes(writer, LinkTag.attributes, link.attributes, 'attributes');
      writeUint32(writer, LinkTag.droppedAttributesCount, link.droppedAttributesCount, 'droppedAttributesCount');
      if (link.flags !== 0) {
        checkUint32(link.flags, 'flags');
        writer.tag(LinkTag.flags);
        writer.fixed32(link.flags);
      }
      writer.end(at);
    } catch (error) {
      rethrowUnder(error, `links[${i}]`);
    }
  }
}

function encodeAttributes(writer: ProtoWriter, tag: number, attributes: readonly KeyValue[], field: string): void {
  for (let i = 0; i < attributes.length; i++) {
    try {
      encodeKeyValue(writer, tag, attributes[i] as KeyValue, 1);
    } catch (error) {
      rethrowUnder(error, `${field}[${i}]`);
    }
  }
}

function encodeKeyValue(writer: ProtoWriter, tag: number, pair: KeyValue, depth: number): void {
  const at = writer.begin(tag);
  writeString(writer, KeyValueTag.key, pair.key);
  if (pair.value !== null) {
    try {
      encodeAnyValue(writer, KeyValueTag.value, pair.value, depth);
    } catch (error) {
      rethrowUnder(error, 'value');
    }
  }
  writer.end(at);
}

/** Invariant C9: the encoder enforces the same depth cap the decoders do. */
function encodeAnyValue(writer: ProtoWriter, tag: number, value: AnyValue, depth: number): void {
  if (depth > MAX_ANY_VALUE_DEPTH) throw new OtlpEncodeError('', `AnyValue nested deeper than ${MAX_ANY_VALUE_DEPTH} levels`);
  const at = writer.begin(tag);
  switch (typeof value) {
    case 'string':
      writer.tag(AnyValueTag.stringValue);
      writer.string(value);
      break;
    case 'boolean':
      writer.tag(AnyValueTag.boolValue);
      writer.bool(value);
      break;
    case 'bigint':
      checkInt64(value, 'intValue');
      writer.tag(AnyValueTag.intValue);
      writer.int64(value);
      break;
    case 'number':
      writer.tag(AnyValueTag.doubleValue);
      writer.double(value);
      break;
    default:
      encodeCompositeValue(writer, value, depth);
  }
  writer.end(at);
}

function encodeCompositeValue(writer: ProtoWriter, value: AnyValue, depth: number): void {
  if (value === null) return;
  if (value instanceof Uint8Array) {
    writer.tag(AnyValueTag.bytesValue);
    writer.bytes(value);
  } else if (Array.isArray(value)) {
    const at = writer.begin(AnyValueTag.arrayValue);
    const values = value as readonly AnyValue[];
    for (let i = 0; i < values.length; i++) {
      try {
        encodeAnyValue(writer, ListTag.values, values[i] as AnyValue, depth + 1);
      } catch (error) {
        rethrowUnder(error, `arrayValue.values[${i}]`);
      }
    }
    writer.end(at);
  } else if (isKeyValueList(value)) {
    const at = writer.begin(AnyValueTag.kvlistValue);
    for (let i = 0; i < value.kvlist.length; i++) {
      try {
        encodeKeyValue(writer, ListTag.values, value.kvlist[i] as KeyValue, depth + 1);
      } catch (error) {
        rethrowUnder(error, `kvlistValue.values[${i}]`);
      }
    }
    writer.end(at);
  } else {
    throw new OtlpEncodeError('', `not an AnyValue: ${describe(value)}`);
  }
}

function writeString(writer: ProtoWriter, tag: number, value: string): void {
  if (value === '') return;
  writer.tag(tag);
  writer.string(value);
}

function writeUint32(writer: ProtoWriter, tag: number, value: number, field: string): void {
  if (value === 0) return;
  checkUint32(value, field);
  writer.tag(tag);
  writer.varint32(value);
}

function writeFixed64(writer: ProtoWriter, tag: number, value: bigint, field: string): void {
  checkUint64(value, field);
  if (value === 0n) return;
  writer.tag(tag);
  writer.fixed64(value);
}
