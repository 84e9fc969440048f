/**
 * Span fixtures for the exporter tests: one batch that sets every field OTLP trace data has,
 * at the edges of its range, so a round trip through an exporter proves nothing was lost.
 */
import type { AnyValue, InstrumentationScope, KeyValue, Resource, Span } from '#spanring/otlp';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const UINT32_MAX = 0xffff_ffff;

const bytes = (length: number, first: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (first + i * 7) & 0xff);

/** Every AnyValue kind, including nesting, non-finite and negative-zero doubles, and int64 extremes. */
function everyValueKind(prefix: string): KeyValue[] {
  const nested: AnyValue = { kvlist: [{ key: 'deep', value: [[{ kvlist: [{ key: 'deepest', value: INT64_MIN }] }], null] }] };
  return [
    { key: `${prefix}.string`, value: 'ünïcødé ✓ 🚀 with "quotes"\nand a newline' },
    { key: `${prefix}.empty-string`, value: '' },
    { key: `${prefix}.true`, value: true },
    { key: `${prefix}.false`, value: false },
    { key: `${prefix}.int-min`, value: INT64_MIN },
    { key: `${prefix}.int-max`, value: INT64_MAX },
    { key: `${prefix}.int-zero`, value: 0n },
    { key: `${prefix}.double`, value: 0.1 + 0.2 },
    { key: `${prefix}.double-nan`, value: Number.NaN },
    { key: `${prefix}.double-inf`, value: Number.NEGATIVE_INFINITY },
    { key: `${prefix}.double-neg-zero`, value: -0 },
    { key: `${prefix}.bytes`, value: bytes(5, 0xfb) },
    { key: `${prefix}.empty-bytes`, value: new Uint8Array(0) },
    { key: `${prefix}.array`, value: ['a', 1n, 2.5, false, null, new Uint8Array([0])] },
    { key: `${prefix}.empty-array`, value: [] },
    { key: `${prefix}.kvlist`, value: nested },
    { key: `${prefix}.empty-kvlist`, value: { kvlist: [] } },
    { key: `${prefix}.null`, value: null },
    { key: '', value: 'empty key' },
  ];
}

/**
 * Three spans over two resources and two scopes: a fully-populated one, its child in the same
 * resource and scope, and a bare span elsewhere with out-of-enum kind and status values.
 */
export function fullyPopulatedSpans(): Span[] {
  const resource: Resource = {
    attributes: everyValueKind('res'),
    droppedAttributesCount: UINT32_MAX,
    entityRefs: [
      { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0', type: 'service', idKeys: ['service.name', 'service.namespace'], descriptionKeys: ['service.version'] },
      { schemaUrl: '', type: 'host', idKeys: ['host.id'], descriptionKeys: [] },
    ],
    schemaUrl: 'https://opentelemetry.io/schemas/1.25.0',
  };
  const scope: InstrumentationScope = {
    name: 'io.spanring.test',
    version: '1.2.3-rc.1',
    attributes: everyValueKind('scope'),
    droppedAttributesCount: 11,
    schemaUrl: 'https://opentelemetry.io/schemas/1.24.0',
  };
  const traceId = bytes(16, 0x01);
  const full: Span = {
    resource,
    scope,
    traceId,
    spanId: bytes(8, 0x80),
    parentSpanId: bytes(8, 0x40),
    name: 'GET /api/ünïcødé',
    kind: 2,
    startTimeUnixNano: UINT64_MAX - 1_000_000n,
    endTimeUnixNano: UINT64_MAX,
    // W3C sampled flag plus the has-is-remote and is-remote bits, and high bits that must survive.
    flags: 0x8000_0301,
    statusCode: 2,
    attributes: everyValueKind('span'),
    extra: {
      traceState: 'vendor1=opaque,vendor2=x:y',
      statusMessage: 'upstream returned 503',
      droppedAttributesCount: 5,
      events: [
        { timeUnixNano: UINT64_MAX, name: 'exception', attributes: everyValueKind('event'), droppedAttributesCount: 2 },
        { timeUnixNano: 0n, name: '', attributes: [], droppedAttributesCount: 0 },
      ],
      droppedEventsCount: 6,
      links: [
        { traceId: bytes(16, 0xa0), spanId: bytes(8, 0xb0), traceState: 'linked=state', attributes: everyValueKind('link'), droppedAttributesCount: 4, flags: 0x0000_0301 },
        { traceId: bytes(16, 0xc0), spanId: bytes(8, 0xd0), traceState: '', attributes: [], droppedAttributesCount: 0, flags: UINT32_MAX },
      ],
      droppedLinksCount: UINT32_MAX,
    },
  };
  const child: Span = {
    ...full,
    spanId: bytes(8, 0x90),
    parentSpanId: full.spanId,
    name: 'db.query',
    kind: 3,
    flags: 1,
    statusCode: 1,
    attributes: [{ key: 'db.system', value: 'postgresql' }],
    extra: undefined,
  };
  const otherResource: Resource = { attributes: [{ key: 'service.name', value: 'other' }], droppedAttributesCount: 0, entityRefs: [], schemaUrl: '' };
  const otherScope: InstrumentationScope = { name: '', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' };
  const bare: Span = {
    resource: otherResource,
    scope: otherScope,
    traceId: bytes(16, 0x33),
    spanId: bytes(8, 0x44),
    parentSpanId: undefined,
    name: '',
    kind: 42,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    flags: 0,
    statusCode: -7,
    attributes: [],
    extra: undefined,
  };
  return [full, child, bare];
}

/** `count` small spans of one resource and scope, spread over `traces` trace ids. */
export function simpleSpans(count: number, traces = 1): Span[] {
  const resource: Resource = { attributes: [{ key: 'service.name', value: 'checkout' }], droppedAttributesCount: 0, entityRefs: [], schemaUrl: '' };
  const scope: InstrumentationScope = { name: 'test', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' };
  return Array.from({ length: count }, (_, i) => ({
    resource,
    scope,
    traceId: bytes(16, (i % traces) + 1),
    spanId: bytes(8, i + 1),
    parentSpanId: undefined,
    name: `span-${i}`,
    kind: 1,
    startTimeUnixNano: 1_700_000_000_000_000_000n + BigInt(i),
    endTimeUnixNano: 1_700_000_000_001_500_000n + BigInt(i),
    flags: 1,
    statusCode: 0,
    attributes: [],
    extra: undefined,
  }));
}
