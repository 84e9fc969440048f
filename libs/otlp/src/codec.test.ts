/**
 * Round trips on generated data (fast-check) and a cross-check of the wire format against
 * protobufjs reflection, using a schema written from the OTLP field numbers
 * (bench/fixtures/otlp-protobufjs-schema.ts, shared with bench:e2e's baseline).
 *
 * Rough self-check, not asserted (timings vary by machine): on the 2-core dev box, 1000
 * HTTP-server-like spans (6 attributes each, ~290 bytes/span) decode from protobuf at
 * 0.8–1M spans/s and encode at 0.5–0.65M spans/s; OTLP/JSON decodes at 150–230k spans/s
 * and encodes at about 360k spans/s (measured with a throwaway script, encode/decode in a loop).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { otlpTraceRoot } from '../../../bench/fixtures/otlp-protobufjs-schema.ts';
import { OtlpDecodeError } from './errors.ts';
import {
  decodeRpcStatus,
  decodeTraceRequest,
  decodeTraceRequestJson,
  decodeTraceResponse,
  encodeRpcStatus,
  encodeTraceRequest,
  encodeTraceRequestJson,
  encodeTraceResponse,
} from './index.ts';
import type {
  AnyValue,
  InstrumentationScope,
  KeyValue,
  Resource,
  RpcStatus,
  Span,
  TraceExportResponse,
} from './index.ts';
import { int32, int64, shape, sharing, spansOf, text, type SpanFields, type Shape } from './test-support.ts';

// ---------------------------------------------------------------------------------------
// A hand-written request with every field populated

const fullResource: Resource = {
  attributes: [
    { key: 'service.name', value: 'checkout' },
    { key: 'process.pid', value: 4242n },
  ],
  droppedAttributesCount: 1,
  entityRefs: [{ schemaUrl: 'https://opentelemetry.io/schemas/1.26.0', type: 'service', idKeys: ['service.name'], descriptionKeys: ['process.pid'] }],
  schemaUrl: 'https://opentelemetry.io/schemas/1.24.0',
};
const fullScope: InstrumentationScope = {
  name: '@opentelemetry/instrumentation-http',
  version: '0.52.1',
  attributes: [{ key: 'scope.flag', value: true }],
  droppedAttributesCount: 2,
  schemaUrl: 'https://opentelemetry.io/schemas/1.25.0',
};
const fullSpan: Span = {
  resource: fullResource,
  scope: fullScope,
  traceId: Uint8Array.from({ length: 16 }, (_, i) => i + 1),
  spanId: Uint8Array.from({ length: 8 }, (_, i) => 0xf0 + i),
  parentSpanId: Uint8Array.from({ length: 8 }, (_, i) => 0x10 + i),
  name: 'GET /api/orders/{id} — ünïcode 🎉',
  kind: 2,
  startTimeUnixNano: 1_700_000_000_123_456_789n,
  endTimeUnixNano: 18446744073709551615n,
  flags: 0x301,
  statusCode: 2,
  attributes: [
    { key: 'str', value: 'value' },
    { key: 'bool', value: false },
    { key: 'int.negative', value: -9223372036854775808n },
    { key: 'double', value: -0 },
    { key: 'nan', value: Number.NaN },
    { key: 'bytes', value: new Uint8Array([0, 255, 128]) },
    { key: 'empty', value: null },
    { key: 'array', value: ['a', 1n, [2.5, [null]], { kvlist: [] }] },
    { key: 'kvlist', value: { kvlist: [{ key: 'nested', value: { kvlist: [{ key: 'deeper', value: [true] }] } }] } },
  ],
  extra: {
    traceState: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    statusMessage: 'upstream timed out',
    droppedAttributesCount: 3,
    events: [
      { timeUnixNano: 1_700_000_000_200_000_000n, name: 'exception', attributes: [{ key: 'exception.type', value: 'TimeoutError' }], droppedAttributesCount: 4 },
      { timeUnixNano: 0n, name: '', attributes: [], droppedAttributesCount: 0 },
    ],
    droppedEventsCount: 5,
    links: [
      {
        traceId: new Uint8Array(16).fill(0xaa),
        spanId: new Uint8Array(8).fill(0xbb),
        traceState: 'link=1',
        attributes: [{ key: 'link.kind', value: 'follows' }],
        droppedAttributesCount: 6,
        flags: 1,
      },
    ],
    droppedLinksCount: 7,
  },
};
const rootSpan: Span = { ...fullSpan, spanId: new Uint8Array(8).fill(9), parentSpanId: undefined, extra: undefined, attributes: [] };

describe('every field populated', () => {
  it('round-trips through protobuf and keeps holders shared', () => {
    const decoded = decodeTraceRequest(encodeTraceRequest([fullSpan, rootSpan]));
    expect(decoded).toEqual([fullSpan, rootSpan]);
    expect(decoded[0]?.resource).toBe(decoded[1]?.resource);
    expect(decoded[0]?.scope).toBe(decoded[1]?.scope);
  });

  it('round-trips through OTLP/JSON and keeps holders shared', () => {
    const decoded = decodeTraceRequestJson(encodeTraceRequestJson([fullSpan, rootSpan]));
    expect(decoded).toEqual([fullSpan, rootSpan]);
    expect(decoded[0]?.resource).toBe(decoded[1]?.resource);
  });
});

describe('round trips on generated requests', () => {
  it('protobuf: decode(encode(spans)) equals spans, holder sharing included', () => {
    fc.assert(
      fc.property(shape, (request) => {
        const spans = spansOf(request);
        const decoded = decodeTraceRequest(encodeTraceRequest(spans));
        expect(decoded).toEqual(spans);
        expect(sharing(decoded, 'resource')).toEqual(sharing(spans, 'resource'));
        expect(sharing(decoded, 'scope')).toEqual(sharing(spans, 'scope'));
      }),
      { numRuns: 300 },
    );
  });

  it('OTLP/JSON: decode(encode(spans)) equals spans, holder sharing included', () => {
    fc.assert(
      fc.property(shape, (request) => {
        const spans = spansOf(request);
        const decoded = decodeTraceRequestJson(encodeTraceRequestJson(spans));
        expect(decoded).toEqual(spans);
        expect(sharing(decoded, 'resource')).toEqual(sharing(spans, 'resource'));
        expect(sharing(decoded, 'scope')).toEqual(sharing(spans, 'scope'));
      }),
      { numRuns: 300 },
    );
  });

  it('spans in any order come back grouped by resource then scope, keeping their order within a group', () => {
    fc.assert(
      fc.property(
        shape.chain((request) => fc.shuffledSubarray(spansOf(request))),
        (spans) => {
          // Expected order computed directly: by first appearance of the resource, then of the scope.
          const resourceRank = new Map<object, number>();
          const scopeRank = new Map<object, number>();
          for (const span of spans) {
            if (!resourceRank.has(span.resource)) resourceRank.set(span.resource, resourceRank.size);
            if (!scopeRank.has(span.scope)) scopeRank.set(span.scope, scopeRank.size);
          }
          const rank = (span: Span) => (resourceRank.get(span.resource) as number) * 1000 + (scopeRank.get(span.scope) as number);
          const expected = spans.toSorted((a, b) => rank(a) - rank(b));
          expect(decodeTraceRequest(encodeTraceRequest(spans))).toEqual(expected);
          expect(decodeTraceRequestJson(encodeTraceRequestJson(spans))).toEqual(expected);
        },
      ),
      { numRuns: 100 },
    );
  });
});

function onlyDecodeErrors(decode: () => unknown): void {
  try {
    decode();
  } catch (error) {
    expect(error).toBeInstanceOf(OtlpDecodeError);
  }
}

describe('hostile input never escapes as another error type', () => {
  it('protobuf: random bytes and corrupted valid requests', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => onlyDecodeErrors(() => decodeTraceRequest(bytes))), { numRuns: 1000 });
    fc.assert(
      fc.property(shape, fc.nat(), fc.integer({ min: 0, max: 255 }), (request, at, byte) => {
        const bytes = encodeTraceRequest(spansOf(request));
        if (bytes.length === 0) return;
        bytes[at % bytes.length] = byte;
        onlyDecodeErrors(() => decodeTraceRequest(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('OTLP/JSON: arbitrary JSON values and corrupted valid requests', () => {
    fc.assert(fc.property(fc.json(), (json) => onlyDecodeErrors(() => decodeTraceRequestJson(json))), { numRuns: 500 });
    fc.assert(
      fc.property(shape, fc.nat(), fc.string({ minLength: 1, maxLength: 2 }), (request, at, replacement) => {
        const json = encodeTraceRequestJson(spansOf(request));
        const cut = at % json.length;
        onlyDecodeErrors(() => decodeTraceRequestJson(json.slice(0, cut) + replacement + json.slice(cut + 1)));
      }),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------
// Cross-check against protobufjs reflection. The schema is protobufjs's JSON descriptor
// form, written from the OTLP field numbers and types (specs/otlp-codec.md rule C1) in one
// module shared with bench:e2e's baseline decoder.

const root = otlpTraceRoot();
const RequestType = root.lookupType('otlp.ExportTraceServiceRequest');
const ResponseType = root.lookupType('otlp.ExportTraceServiceResponse');
const RpcStatusType = root.lookupType('otlp.Status_');
/** protobufjs's plain-object form: 64-bit as decimal strings, bytes as base64, defaults left out. */
const TO_OBJECT = { longs: String, enums: Number, bytes: String, defaults: false, arrays: false, oneofs: false } as const;

type Plain = Record<string, unknown>;
const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const decimal = (value: bigint) => (value === 0n ? undefined : value.toString());

/** Drops default scalars and empty lists, as proto3 leaves them off the wire. */
function compact(object: Plain): Plain {
  const out: Plain = {};
  for (const [key, value] of Object.entries(object)) {
    const isDefault = value === undefined || value === '' || value === 0 || (Array.isArray(value) && value.length === 0);
    if (!isDefault) out[key] = value;
  }
  return out;
}

function plainValue(value: AnyValue): Plain {
  if (value === null) return {};
  switch (typeof value) {
    case 'string':
      return { stringValue: value };
    case 'boolean':
      return { boolValue: value };
    case 'bigint':
      return { intValue: value.toString() };
    case 'number':
      return { doubleValue: value };
  }
  if (value instanceof Uint8Array) return { bytesValue: base64(value) };
  if (Array.isArray(value)) return { arrayValue: compact({ values: (value as AnyValue[]).map(plainValue) }) };
  return { kvlistValue: compact({ values: (value as { kvlist: KeyValue[] }).kvlist.map(plainPair) }) };
}
function plainPair(pair: KeyValue): Plain {
  return compact({ key: pair.key, value: pair.value === null ? undefined : plainValue(pair.value) });
}
const plainPairs = (pairs: readonly KeyValue[]) => pairs.map(plainPair);

function plainSpan(span: SpanFields): Plain {
  const extra = span.extra;
  const status = compact({ message: extra?.statusMessage, code: span.statusCode });
  return compact({
    traceId: base64(span.traceId),
    spanId: base64(span.spanId),
    traceState: extra?.traceState,
    parentSpanId: span.parentSpanId === undefined ? undefined : base64(span.parentSpanId),
    name: span.name,
    kind: span.kind,
    startTimeUnixNano: decimal(span.startTimeUnixNano),
    endTimeUnixNano: decimal(span.endTimeUnixNano),
    attributes: plainPairs(span.attributes),
    droppedAttributesCount: extra?.droppedAttributesCount,
    events: extra?.events.map((e) =>
      compact({ timeUnixNano: decimal(e.timeUnixNano), name: e.name, attributes: plainPairs(e.attributes), droppedAttributesCount: e.droppedAttributesCount }),
    ),
    droppedEventsCount: extra?.droppedEventsCount,
    links: extra?.links.map((l) =>
      compact({
        traceId: base64(l.traceId),
        spanId: base64(l.spanId),
        traceState: l.traceState,
        attributes: plainPairs(l.attributes),
        droppedAttributesCount: l.droppedAttributesCount,
        flags: l.flags,
      }),
    ),
    droppedLinksCount: extra?.droppedLinksCount,
    status: Object.keys(status).length === 0 ? undefined : status,
    flags: span.flags,
  });
}

function plainRequest(request: Shape): Plain {
  return compact({
    resourceSpans: request.map(({ resource: r, scopes }) => {
      const plainResource = compact({
        attributes: plainPairs(r.attributes),
        droppedAttributesCount: r.droppedAttributesCount,
        entityRefs: r.entityRefs.map((ref) => compact({ ...ref })),
      });
      return compact({
        resource: Object.keys(plainResource).length === 0 ? undefined : plainResource,
        scopeSpans: scopes.map(({ scope: s, spans }) => {
          const plainScope = compact({ name: s.name, version: s.version, attributes: plainPairs(s.attributes), droppedAttributesCount: s.droppedAttributesCount });
          return compact({ scope: Object.keys(plainScope).length === 0 ? undefined : plainScope, spans: spans.map(plainSpan), schemaUrl: s.schemaUrl });
        }),
        schemaUrl: r.schemaUrl,
      });
    }),
  });
}

describe('cross-check with protobufjs reflection', () => {
  it('protobufjs decodes what we encode to the expected message', () => {
    fc.assert(
      fc.property(shape, (request) => {
        const decoded = RequestType.toObject(RequestType.decode(encodeTraceRequest(spansOf(request))), TO_OBJECT);
        expect(decoded).toEqual(plainRequest(request));
      }),
      { numRuns: 200 },
    );
  });

  it('we decode what protobufjs encodes to the same spans', () => {
    fc.assert(
      fc.property(shape, (request) => {
        const bytes = RequestType.encode(RequestType.fromObject(plainRequest(request))).finish();
        expect(decodeTraceRequest(bytes)).toEqual(spansOf(request));
      }),
      { numRuns: 200 },
    );
  });

  it('agrees with protobufjs on the fully populated span', () => {
    const fields: SpanFields = { ...fullSpan };
    const request: Shape = [{ resource: fullResource, scopes: [{ scope: fullScope, spans: [fields] }] }];
    expect(RequestType.toObject(RequestType.decode(encodeTraceRequest([fullSpan])), TO_OBJECT)).toEqual(plainRequest(request));
  });

  it('agrees on ExportTraceServiceResponse both ways', () => {
    const partial = fc.option(fc.record({ rejectedSpans: int64, errorMessage: text }), { nil: undefined });
    fc.assert(
      fc.property(partial, (partialSuccess) => {
        const response: TraceExportResponse = { partialSuccess };
        const plain = partialSuccess === undefined ? {} : { partialSuccess: compact({ rejectedSpans: decimal(partialSuccess.rejectedSpans), errorMessage: partialSuccess.errorMessage }) };
        expect(ResponseType.toObject(ResponseType.decode(encodeTraceResponse(response)), TO_OBJECT)).toEqual(plain);
        expect(decodeTraceResponse(ResponseType.encode(ResponseType.fromObject(plain)).finish())).toEqual(response);
      }),
    );
  });

  it('agrees on google.rpc.Status both ways', () => {
    const status: fc.Arbitrary<RpcStatus> = fc.record({
      code: int32,
      message: text,
      details: fc.array(fc.record({ typeUrl: text, value: fc.uint8Array({ maxLength: 8 }) }), { maxLength: 2 }),
    });
    fc.assert(
      fc.property(status, (value) => {
        const plain = compact({ code: value.code, message: value.message, details: value.details.map((d) => compact({ typeUrl: d.typeUrl, value: base64(d.value) })) });
        expect(RpcStatusType.toObject(RpcStatusType.decode(encodeRpcStatus(value)), TO_OBJECT)).toEqual(plain);
        expect(decodeRpcStatus(RpcStatusType.encode(RpcStatusType.fromObject(plain)).finish())).toEqual(value);
      }),
    );
  });
});
