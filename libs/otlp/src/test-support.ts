import fc from 'fast-check';
import type { AnyValue, EntityRef, InstrumentationScope, KeyValue, Resource, Span, SpanEvent, SpanExtra, SpanLink } from './index.ts';
/**
 * Protobuf wire-byte builders for the codec's tests, written from the protobuf encoding rules
 * directly and independent of ProtoWriter, so tests check our encoder and decoder against them.
 */
export type Bytes = number[];

export function varint(value: number | bigint): Bytes {
  let rest = BigInt.asUintN(64, BigInt(value));
  const out: Bytes = [];
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    out.push(rest === 0n ? low : low | 0x80);
  } while (rest !== 0n);
  return out;
}
export const key = (field: number, wire: number): Bytes => varint(field * 8 + wire);
export const vint = (field: number, value: number | bigint): Bytes => [...key(field, 0), ...varint(value)];
export const len = (field: number, ...parts: Bytes[]): Bytes => {
  const body = parts.flat();
  return [...key(field, 2), ...varint(body.length), ...body];
};
export const str = (field: number, text: string): Bytes => len(field, [...new TextEncoder().encode(text)]);
export const fixed64 = (field: number, value: bigint): Bytes => {
  const out = key(field, 1);
  for (let i = 0n; i < 8n; i++) out.push(Number((value >> (8n * i)) & 0xffn));
  return out;
};
export const fixed32 = (field: number, value: number): Bytes => [...key(field, 5), value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24];
export const double = (field: number, value: number): Bytes => {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value, true);
  return [...key(field, 1), ...new Uint8Array(view.buffer)];
};

// ---------------------------------------------------------------------------------------
// Generators of whole requests (fast-check), shared by the codec and scan tests

export const text = fc.oneof(fc.string({ maxLength: 10 }), fc.string({ unit: 'binary', maxLength: 10 }));
export const uint32 = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff_ffff }));
export const int32 = fc.oneof(fc.constant(0), fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }));
export const uint64 = fc.oneof(fc.constant(0n), fc.constant(2n ** 64n - 1n), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
export const int64 = fc.oneof(fc.constantFrom(0n, -1n, -(2n ** 63n), 2n ** 63n - 1n), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }));
const idBytes = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes });

const values = fc.letrec<{ value: AnyValue; pair: KeyValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    fc.boolean(),
    int64,
    fc.double(),
    fc.uint8Array({ maxLength: 6 }),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.record({ kvlist: fc.array(tie('pair'), { maxLength: 3 }) }),
  ),
  pair: fc.record({ key: text, value: tie('value') }),
}));
const attributes = fc.array(values.pair, { maxLength: 3 });

const entityRef: fc.Arbitrary<EntityRef> = fc.record({
  schemaUrl: text,
  type: text,
  idKeys: fc.array(text, { maxLength: 2 }),
  descriptionKeys: fc.array(text, { maxLength: 2 }),
});
const resource: fc.Arbitrary<Resource> = fc.record({
  attributes,
  droppedAttributesCount: uint32,
  entityRefs: fc.array(entityRef, { maxLength: 2 }),
  schemaUrl: text,
});
const scope: fc.Arbitrary<InstrumentationScope> = fc.record({ name: text, version: text, attributes, droppedAttributesCount: uint32, schemaUrl: text });
const event: fc.Arbitrary<SpanEvent> = fc.record({ timeUnixNano: uint64, name: text, attributes, droppedAttributesCount: uint32 });
const link: fc.Arbitrary<SpanLink> = fc.record({ traceId: idBytes(16), spanId: idBytes(8), traceState: text, attributes, droppedAttributesCount: uint32, flags: uint32 });

/** Decoders box extra only when something in it is set; generate that canonical form. */
function canonicalExtra(extra: SpanExtra | undefined): SpanExtra | undefined {
  if (extra === undefined) return undefined;
  const empty =
    extra.traceState === '' &&
    extra.statusMessage === '' &&
    extra.droppedAttributesCount === 0 &&
    extra.events.length === 0 &&
    extra.droppedEventsCount === 0 &&
    extra.links.length === 0 &&
    extra.droppedLinksCount === 0;
  return empty ? undefined : extra;
}
const extraArb = fc
  .option(
    fc.record({
      traceState: text,
      statusMessage: text,
      droppedAttributesCount: uint32,
      events: fc.array(event, { maxLength: 2 }),
      droppedEventsCount: uint32,
      links: fc.array(link, { maxLength: 2 }),
      droppedLinksCount: uint32,
    }),
    { nil: undefined },
  )
  .map(canonicalExtra);

export type SpanFields = Omit<Span, 'resource' | 'scope'>;
const spanFields: fc.Arbitrary<SpanFields> = fc.record({
  traceId: idBytes(16),
  spanId: idBytes(8),
  parentSpanId: fc.option(idBytes(8), { nil: undefined }),
  name: text,
  kind: fc.oneof(fc.integer({ min: 0, max: 5 }), int32),
  startTimeUnixNano: uint64,
  endTimeUnixNano: uint64,
  flags: uint32,
  statusCode: fc.oneof(fc.integer({ min: 0, max: 2 }), int32),
  attributes,
  extra: extraArb,
});

/** The ResourceSpans / ScopeSpans structure of one request. */
export type Shape = { resource: Resource; scopes: { scope: InstrumentationScope; spans: SpanFields[] }[] }[];
export const shape: fc.Arbitrary<Shape> = fc.array(
  fc.record({
    resource,
    scopes: fc.array(fc.record({ scope, spans: fc.array(spanFields, { minLength: 1, maxLength: 3 }) }), { minLength: 1, maxLength: 3 }),
  }),
  { maxLength: 3 },
);

export function spansOf(request: Shape): Span[] {
  return request.flatMap((group) => group.scopes.flatMap((scopeGroup) => scopeGroup.spans.map((fields) => ({ resource: group.resource, scope: scopeGroup.scope, ...fields }))));
}

/** Which spans share a holder object: the sharing pattern must survive a round trip. */
export function sharing(spans: Span[], holder: 'resource' | 'scope'): number[] {
  const firstIndex = new Map<object, number>();
  return spans.map((span, i) => {
    const seen = firstIndex.get(span[holder]);
    if (seen !== undefined) return seen;
    firstIndex.set(span[holder], i);
    return i;
  });
}

