/**
 * Protobuf decoding of ExportTraceServiceRequest into a flat list of spans
 * (rules in specs/otlp-codec.md).
 *
 * Every message decoder has one try/catch around its field loop: it remembers which field
 * it is reading and, on error, puts that field in front of the error's path, so a failure
 * deep inside reports `resourceSpans[0].scopeSpans[2].spans[5].traceId` without building
 * any path string on the happy path.
 */
import { OtlpDecodeError, rethrowUnder } from './errors.ts';
import { MAX_ANY_VALUE_DEPTH, NO_ITEMS, spanExtra } from './model.ts';
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
import { NO_BYTES, ProtoReader } from './wire.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export const TRACE_ID_BYTES = 16;
export const SPAN_ID_BYTES = 8;

/** Decodes an ExportTraceServiceRequest (or TracesData, which has the same shape). */
export function decodeTraceRequest(bytes: Uint8Array): Span[] {
  const reader = new ProtoReader(bytes);
  const spans: Span[] = [];
  let index = 0;
  while (reader.more()) {
    const tag = reader.tag();
    if (tag === RequestTag.resourceSpans) {
      try {
        decodeResourceSpans(reader, spans);
      } catch (error) {
        rethrowUnder(error, `resourceSpans[${index}]`);
      }
      index++;
    } else {
      reader.skipUnknown(tag, RequestTag);
    }
  }
  return spans;
}

/** Appends list items without allocating for lists that stay empty. */
export function append<T>(list: readonly T[], item: T): readonly T[] {
  if (list === NO_ITEMS) return [item];
  (list as T[]).push(item);
  return list;
}

function segment(field: string, index: number): string {
  return index < 0 ? field : `${field}[${index}]`;
}

function decodeResourceSpans(reader: ProtoReader, out: Span[]): void {
  const outer = reader.enter();
  const resource: Mutable<Resource> = { attributes: NO_ITEMS, droppedAttributesCount: 0, entityRefs: NO_ITEMS, schemaUrl: '' };
  let field = '';
  let index = -1;
  let scopeCount = 0;
  try {
    while (reader.more()) {
      field = '';
      index = -1;
      const tag = reader.tag();
      switch (tag) {
        case ResourceSpansTag.resource:
          field = 'resource';
          decodeResourceInto(reader, resource);
          break;
        case ResourceSpansTag.scopeSpans:
          field = 'scopeSpans';
          index = scopeCount++;
          decodeScopeSpans(reader, resource, out);
          break;
        case ResourceSpansTag.schemaUrl:
          field = 'schemaUrl';
          resource.schemaUrl = reader.string();
          break;
        default:
          reader.skipUnknown(tag, ResourceSpansTag);
      }
    }
  } catch (error) {
    rethrowUnder(error, segment(field, index));
  }
  reader.leave(outer);
}

/** Invariant C20: a repeated Resource field merges into the same holder, as protobuf merges messages. */
export function decodeResourceInto(reader: ProtoReader, resource: Mutable<Resource>): void {
  const outer = reader.enter();
  let field = '';
  let index = -1;
  try {
    while (reader.more()) {
      field = '';
      index = -1;
      const tag = reader.tag();
      switch (tag) {
        case ResourceTag.attributes:
          field = 'attributes';
          index = resource.attributes.length;
          resource.attributes = append(resource.attributes, decodeKeyValue(reader, 1));
          break;
        case ResourceTag.droppedAttributesCount:
          field = 'droppedAttributesCount';
          resource.droppedAttributesCount = reader.uint32();
          break;
        case ResourceTag.entityRefs:
          field = 'entityRefs';
          index = resource.entityRefs.length;
          resource.entityRefs = append(resource.entityRefs, decodeEntityRef(reader));
          break;
        default:
          reader.skipUnknown(tag, ResourceTag);
      }
    }
  } catch (error) {
    rethrowUnder(error, segment(field, index));
  }
  reader.leave(outer);
}

function decodeEntityRef(reader: ProtoReader): EntityRef {
  const outer = reader.enter();
  let schemaUrl = '';
  let type = '';
  let idKeys: readonly string[] = NO_ITEMS;
  let descriptionKeys: readonly string[] = NO_ITEMS;
  let field = '';
  let index = -1;
  try {
    while (reader.more()) {
      field = '';
      index = -1;
      const tag = reader.tag();
      switch (tag) {
        case EntityRefTag.schemaUrl:
          field = 'schemaUrl';
          schemaUrl = reader.string();
          break;
        case EntityRefTag.type:
          field = 'type';
          type = reader.string();
          break;
        case EntityRefTag.idKeys:
          field = 'idKeys';
          index = idKeys.length;
          idKeys = append(idKeys, reader.string());
          break;
        case EntityRefTag.descriptionKeys:
          field = 'descriptionKeys';
          index = descriptionKeys.length;
          descriptionKeys = append(descriptionKeys, reader.string());
          break;
        default:
          reader.skipUnknown(tag, EntityRefTag);
      }
    }
  } catch (error) {
    rethrowUnder(error, segment(field, index));
  }
  reader.leave(outer);
  return { schemaUrl, type, idKeys, descriptionKeys };
}

function decodeScopeSpans(reader: ProtoReader, resource: Resource, out: Span[]): void {
  const outer = reader.enter();
  // Invariant C2: spans may precede the scope field on the wire, so they point at a holder filled in as it comes.
  const scope: Mutable<InstrumentationScope> = { name: '', version: '', attributes: NO_ITEMS, droppedAttributesCount: 0, schemaUrl: '' };
  let field = '';
  let index = -1;
  let spanCount = 0;
  try {
    while (reader.more()) {
      field = '';
      index = -1;
      const tag = reader.tag();
      switch (tag) {
        case ScopeSpansTag.scope:
          field = 'scope';
          decodeScopeInto(reader, scope);
          break;
        case ScopeSpansTag.spans:
          field = 'spans';
          index = spanCount++;
          out.push(decodeSpan(reader, resource, scope));
          break;
        case ScopeSpansTag.schemaUrl:
          field = 'schemaUrl';
          scope.schemaUrl = reader.string();
          break;
        default:
          reader.skipUnknown(tag, ScopeSpansTag);
      }
    }
  } catch (error) {
    rethrowUnder(error, segment(field, index));
  }
  reader.leave(outer);
}

export function decodeScopeInto(reader: ProtoReader, scope: Mutable<InstrumentationScope>): void {
  const outer = reader.enter();
  let field = '';
  let index = -1;
  try {
    while (reader.more()) {
      field = '';
      index = -1;
      const tag = reader.tag();
      switch (tag) {
        case ScopeTag.name:
          field = 'name';
          scope.name = reader.string();
          break;
        case ScopeTag.version:
          field = 'version';
          scope.version = reader.string();
          break;
        case ScopeTag.attributes:
          field = 'attributes';
          index = scope.attributes.length;
          scope.attributes = append(scope.attributes, decodeKeyValue(reader, 1));
          break;
        case ScopeTag.droppedAttributesCount:
          field = 'droppedAttributesCount';
          scope.droppedAttributesCount = reader.uint32();
          break;
        default:
          reader.skipUnknown(tag, ScopeTag);
      }
    }
  } catch (error) {
    rethrowUnder(error, segment(field, index));
  }
  reader.leave(outer);
}

/** Invariant C3: trace ids are exactly 16 bytes, span ids exactly 8; empty is invalid too. */
export function checkIdLength(id: Uint8Array, expected: number, field: string, what: string): void {
  if (id.length !== expected) throw new OtlpDecodeError(field, `${what} must be ${expected} bytes, got ${id.length}`);
}

function decodeSpan(reader: ProtoReader, resource: Resource, scope: InstrumentationScope): Span {
  const outer = reader.enter();
  const span = decodeSpanFields(reader, resource, scope);
  reader.leave(outer);
  return span;
}

/**
 * Decodes the Span message in bytes[start, end) (its body, without tag or length): what a
 * WireSpan runs the first time a field beyond its routing data is read.
 */
export function decodeSpanAt(bytes: Uint8Array, start: number, end: number, resource: Resource, scope: InstrumentationScope): Span {
  return decodeSpanFields(new ProtoReader(bytes.subarray(start, end)), resource, scope);
}

/** Reads the fields of one Span until the end of the reader's current message. */
function decodeSpanFields(reader: ProtoReader, resource: Resource, scope: InstrumentationScope): Span {
  let traceId = NO_BYTES;
  let spanId = NO_BYTES;
  let parentSpanId: Uint8Array | undefined;
  let traceState = '';
  let name = '';
  let kind = 0;
  let startTimeUnixNano = 0n;
  let endTimeUnixNano = 0n;
  let flags = 0;
  let statusCode = 0;
  let statusMessage = '';
  let attributes: readonly KeyValue[] = NO_ITEMS;
  let droppedAttributesCount = 0;
  let events: readonly SpanEvent[] = NO_ITEMS;
  let droppedEventsCount = 0;
  let links: readonly SpanLink[] = NO_ITEMS;
  let droppedLinksCount = 0;
  let field = '';
  let index = -1;
  try {
    while (reader.more()) {
      field = '';
      index = -1;
      const tag = reader.tag();
      switch (tag) {
        case SpanTag.traceId:
          field = 'traceId';
          traceId = reader.bytes();
          break;
        case SpanTag.spanId:
          field = 'spanId';
          spanId = reader.bytes();
          break;
        case SpanTag.traceState:
          field = 'traceState';
          traceState = reader.string();
          break;
        case SpanTag.parentSpanId: {
          field = 'parentSpanId';
          const id = reader.bytes();
          // Invariant C3: proto3 cannot tell empty bytes from absent; both mean a root span.
          if (id.length !== 0) checkIdLength(id, SPAN_ID_BYTES, '', 'parent span id');
          parentSpanId = id.length === 0 ? undefined : id;
          break;
        }
        case SpanTag.name:
          field = 'name';
          name = reader.string();
          break;
        case SpanTag.kind:
          field = 'kind';
          kind = reader.int32();
          break;
        case SpanTag.startTimeUnixNano:
          field = 'startTimeUnixNano';
          startTimeUnixNano = reader.fixed64();
          break;
        case SpanTag.endTimeUnixNano:
          field = 'endTimeUnixNano';
          endTimeUnixNano = reader.fixed64();
          break;
        case SpanTag.attributes:
          field = 'attributes';
          index = attributes.length;
          attributes = append(attributes, decodeKeyValue(reader, 1));
          break;
        case SpanTag.droppedAttributesCount:
          field = 'droppedAttributesCount';
          droppedAttributesCount = reader.uint32();
          break;
        case SpanTag.events:
          field = 'events';
          index = events.length;
          events = append(events, decodeEvent(reader));
          break;
        case SpanTag.droppedEventsCount:
          field = 'droppedEventsCount';
          droppedEventsCount = reader.uint32();
          break;
        case SpanTag.links:
          field = 'links';
          index = links.length;
          links = append(links, decodeLink(reader));
          break;
        case SpanTag.droppedLinksCount:
          field = 'droppedLinksCount';
          droppedLinksCount = reader.uint32();
          break;
        case SpanTag.status: {
          field = 'status';
          // Invariant C20: inline so a repeated status merges field by field, as protobuf does.
          const statusOuter = reader.enter();
          while (reader.more()) {
            const statusTag = reader.tag();
            if (statusTag === StatusTag.message) statusMessage = reader.string();
            else if (statusTag === StatusTag.code) statusCode = reader.int32();
            else reader.skipUnknown(statusTag, StatusTag);
          }
          reader.leave(statusOuter);
          break;
        }
        case SpanTag.flags:
          field = 'flags';
          flags = reader.fixed32();
          break;
        default:
          reader.skipUnknown(tag, SpanTag);
      }
    }
  } catch (error) {
    rethrowUnder(error, segment(field, index));
  }
  checkIdLength(traceId, TRACE_ID_BYTES, 'traceId', 'trace id');
  checkIdLength(spanId, SPAN_ID_BYTES, 'spanId', 'span id');
  const extra = spanExtra({ traceState, statusMessage, droppedAttributesCount, events, droppedEventsCount, links, droppedLinksCount });
  return {
    resource,
    scope,
    traceId,
    spanId,
    parentSpanId,
    name,
    kind,
    startTimeUnixNano,
    endTimeUnixNano,
    flags,
    statusCode,
    attributes,
    extra,
  };
}

function decodeEvent(reader: ProtoReader): SpanEvent {
  const outer = reader.enter();
  let timeUnixNano = 0n;
  let name = '';
  let attributes: readonly KeyValue[] = NO_ITEMS;
  let droppedAttributesCount = 0;
  let field = '';
  let index = -1;
  try {
    while (reader.more()) {
      field = '';
      index = -1;
      const tag = reader.tag();
      switch (tag) {
        case EventTag.timeUnixNano:
          field = 'timeUnixNano';
          timeUnixNano = reader.fixed64();
          break;
        case EventTag.name:
          field = 'name';
          name = reader.string();
          break;
        case EventTag.attributes:
          field = 'attributes';
          index = attributes.length;
          attributes = append(attributes, decodeKeyValue(reader, 1));
          break;
        case EventTag.droppedAttributesCount:
          field = 'droppedAttributesCount';
          droppedAttributesCount = reader.uint32();
          break;
        default:
          reader.skipUnknown(tag, EventTag);
      }
    }
  } catch (error) {
    rethrowUnder(error, segment(field, index));
  }
  reader.leave(outer);
  return { timeUnixNano, name, attributes, droppedAttributesCount };
}

function decodeLink(reader: ProtoReader): SpanLink {
  const outer = reader.enter();
  let traceId = NO_BYTES;
  let spanId = NO_BYTES;
  let traceState = '';
  let attributes: readonly KeyValue[] = NO_ITEMS;
  let droppedAttributesCount = 0;
  let flags = 0;
  let field = '';
  let index = -1;
  try {
    while (reader.more()) {
      field = '';
      index = -1;
      const tag = reader.tag();
      switch (tag) {
        case LinkTag.traceId:
          field = 'traceId';
          traceId = reader.bytes();
          break;
        case LinkTag.spanId:
          field = 'spanId';
          spanId = reader.bytes();
          break;
        case LinkTag.traceState:
          field = 'traceState';
          traceState = reader.string();
          break;
        case LinkTag.attributes:
          field = 'attributes';
          index = attributes.length;
          attributes = append(attributes, decodeKeyValue(reader, 1));
          break;
        case LinkTag.droppedAttributesCount:
          field = 'droppedAttributesCount';
          droppedAttributesCount = reader.uint32();
          break;
        case LinkTag.flags:
          field = 'flags';
          flags = reader.fixed32();
          break;
        default:
          reader.skipUnknown(tag, LinkTag);
      }
    }
  } catch (error) {
    rethrowUnder(error, segment(field, index));
  }
  reader.leave(outer);
  checkIdLength(traceId, TRACE_ID_BYTES, 'traceId', 'link trace id');
  checkIdLength(spanId, SPAN_ID_BYTES, 'spanId', 'link span id');
  return { traceId, spanId, traceState, attributes, droppedAttributesCount, flags };
}

/** `depth` is the nesting depth of this pair's value (Invariant C9). */
function decodeKeyValue(reader: ProtoReader, depth: number): KeyValue {
  const outer = reader.enter();
  let key = '';
  let value: AnyValue = null;
  let field = '';
  try {
    while (reader.more()) {
      field = '';
      const tag = reader.tag();
      switch (tag) {
        case KeyValueTag.key:
          field = 'key';
          key = reader.string();
          break;
        case KeyValueTag.value:
          field = 'value';
          value = decodeAnyValue(reader, depth);
          break;
        default:
          reader.skipUnknown(tag, KeyValueTag);
      }
    }
  } catch (error) {
    rethrowUnder(error, field);
  }
  reader.leave(outer);
  return { key, value };
}

/** Invariant C9: depth is counted, never unbounded; AnyValue at depth > 64 is rejected. */
function decodeAnyValue(reader: ProtoReader, depth: number): AnyValue {
  if (depth > MAX_ANY_VALUE_DEPTH) {
    throw new OtlpDecodeError('', `AnyValue nested deeper than ${MAX_ANY_VALUE_DEPTH} levels`);
  }
  const outer = reader.enter();
  let value: AnyValue = null;
  let field = '';
  try {
    while (reader.more()) {
      field = '';
      const tag = reader.tag();
      // Invariant C20: a oneof seen twice keeps its last member.
      switch (tag) {
        case AnyValueTag.stringValue:
          field = 'stringValue';
          value = reader.string();
          break;
        case AnyValueTag.boolValue:
          field = 'boolValue';
          value = reader.bool();
          break;
        case AnyValueTag.intValue:
          field = 'intValue';
          value = reader.int64();
          break;
        case AnyValueTag.doubleValue:
          field = 'doubleValue';
          value = reader.double();
          break;
        case AnyValueTag.arrayValue:
          field = 'arrayValue';
          value = decodeArrayValue(reader, depth);
          break;
        case AnyValueTag.kvlistValue:
          field = 'kvlistValue';
          value = { kvlist: decodeKeyValueList(reader, depth) };
          break;
        case AnyValueTag.bytesValue:
          field = 'bytesValue';
          value = reader.bytes();
          break;
        default:
          reader.skipUnknown(tag, AnyValueTag);
      }
    }
  } catch (error) {
    rethrowUnder(error, field);
  }
  reader.leave(outer);
  return value;
}

function decodeArrayValue(reader: ProtoReader, depth: number): AnyValue[] {
  return decodeListValues(reader, depth, decodeAnyValue);
}

function decodeKeyValueList(reader: ProtoReader, depth: number): KeyValue[] {
  return decodeListValues(reader, depth, decodeKeyValue);
}

/** ArrayValue and KeyValueList share one shape: `repeated <T> values = 1` (Invariant C1). */
function decodeListValues<T>(reader: ProtoReader, depth: number, decodeOne: (reader: ProtoReader, depth: number) => T): T[] {
  const outer = reader.enter();
  const values: T[] = [];
  while (reader.more()) {
    const tag = reader.tag();
    if (tag !== ListTag.values) {
      reader.skipUnknown(tag, ListTag);
      continue;
    }
    try {
      values.push(decodeOne(reader, depth + 1));
    } catch (error) {
      rethrowUnder(error, `values[${values.length}]`);
    }
  }
  reader.leave(outer);
  return values;
}
