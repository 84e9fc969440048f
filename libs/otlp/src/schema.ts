/**
 * Field numbers and wire types of the OTLP trace messages (opentelemetry-proto
 * trace/v1, common/v1, resource/v1, collector/trace/v1) and google.rpc.Status,
 * as listed in specs/otlp-codec.md rule C1. Names are the OTLP/JSON names, so a
 * decode error can name the field the same way in both encodings.
 */

export const Wire = {
  Varint: 0,
  I64: 1,
  Len: 2,
  StartGroup: 3,
  EndGroup: 4,
  I32: 5,
} as const;
export type Wire = (typeof Wire)[keyof typeof Wire];

export const WIRE_NAMES: readonly string[] = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32'];

/**
 * The gRPC method of the OTLP trace service (opentelemetry-proto: package
 * opentelemetry.proto.collector.trace.v1, service TraceService, rpc Export).
 */
export const TRACE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** The tag byte(s) value of a field: field number and wire type packed as protobuf does. */
function tag(fieldNumber: number, wire: Wire): number {
  return fieldNumber * 8 + wire;
}

export const RequestTag = {
  resourceSpans: tag(1, Wire.Len),
} as const;

export const ResourceSpansTag = {
  resource: tag(1, Wire.Len),
  scopeSpans: tag(2, Wire.Len),
  schemaUrl: tag(3, Wire.Len),
} as const;

export const ResourceTag = {
  attributes: tag(1, Wire.Len),
  droppedAttributesCount: tag(2, Wire.Varint),
  entityRefs: tag(3, Wire.Len),
} as const;

export const EntityRefTag = {
  schemaUrl: tag(1, Wire.Len),
  type: tag(2, Wire.Len),
  idKeys: tag(3, Wire.Len),
  descriptionKeys: tag(4, Wire.Len),
} as const;

export const ScopeSpansTag = {
  scope: tag(1, Wire.Len),
  spans: tag(2, Wire.Len),
  schemaUrl: tag(3, Wire.Len),
} as const;

export const ScopeTag = {
  name: tag(1, Wire.Len),
  version: tag(2, Wire.Len),
  attributes: tag(3, Wire.Len),
  droppedAttributesCount: tag(4, Wire.Varint),
} as const;

export const SpanTag = {
  traceId: tag(1, Wire.Len),
  spanId: tag(2, Wire.Len),
  traceState: tag(3, Wire.Len),
  parentSpanId: tag(4, Wire.Len),
  name: tag(5, Wire.Len),
  kind: tag(6, Wire.Varint),
  startTimeUnixNano: tag(7, Wire.I64),
  endTimeUnixNano: tag(8, Wire.I64),
  attributes: tag(9, Wire.Len),
  droppedAttributesCount: tag(10, Wire.Varint),
  events: tag(11, Wire.Len),
  droppedEventsCount: tag(12, Wire.Varint),
  links: tag(13, Wire.Len),
  droppedLinksCount: tag(14, Wire.Varint),
  status: tag(15, Wire.Len),
  flags: tag(16, Wire.I32),
} as const;

export const EventTag = {
  timeUnixNano: tag(1, Wire.I64),
  name: tag(2, Wire.Len),
  attributes: tag(3, Wire.Len),
  droppedAttributesCount: tag(4, Wire.Varint),
} as const;

export const LinkTag = {
  traceId: tag(1, Wire.Len),
  spanId: tag(2, Wire.Len),
  traceState: tag(3, Wire.Len),
  attributes: tag(4, Wire.Len),
  droppedAttributesCount: tag(5, Wire.Varint),
  flags: tag(6, Wire.I32),
} as const;

export const StatusTag = {
  message: tag(2, Wire.Len),
  code: tag(3, Wire.Varint),
} as const;

export const KeyValueTag = {
  key: tag(1, Wire.Len),
  value: tag(2, Wire.Len),
} as const;

export const AnyValueTag = {
  stringValue: tag(1, Wire.Len),
  boolValue: tag(2, Wire.Varint),
  intValue: tag(3, Wire.Varint),
  doubleValue: tag(4, Wire.I64),
  arrayValue: tag(5, Wire.Len),
  kvlistValue: tag(6, Wire.Len),
  bytesValue: tag(7, Wire.Len),
} as const;

/** ArrayValue.values and KeyValueList.values share field 1. */
export const ListTag = {
  values: tag(1, Wire.Len),
} as const;

export const ResponseTag = {
  partialSuccess: tag(1, Wire.Len),
} as const;

export const PartialSuccessTag = {
  rejectedSpans: tag(1, Wire.Varint),
  errorMessage: tag(2, Wire.Len),
} as const;

export const RpcStatusTag = {
  code: tag(1, Wire.Varint),
  message: tag(2, Wire.Len),
  details: tag(3, Wire.Len),
} as const;

export const ProtoAnyTag = {
  typeUrl: tag(1, Wire.Len),
  value: tag(2, Wire.Len),
} as const;

export type TagTable = Readonly<Record<string, number>>;

/** The JSON name of field `fieldNumber` in `table`, or undefined when the field is unknown there. */
export function fieldNameOf(table: TagTable, fieldNumber: number): string | undefined {
  for (const name in table) {
    if (Math.floor((table[name] as number) / 8) === fieldNumber) return name;
  }
  return undefined;
}
