/**
 * Protobuf decoding against hand-built wire bytes. The byte builders below are written
 * from the protobuf encoding rules directly, independent of ProtoWriter.
 */
import { describe, expect, it } from 'vitest';
import { OtlpDecodeError, OtlpEncodeError } from './errors.ts';
import { decodeTraceRequest as decodeFully, encodeTraceRequest, MAX_ANY_VALUE_DEPTH, plainSpan, scanTraceRequest } from './index.ts';
import type { AnyValue, InstrumentationScope, Resource, Span } from './index.ts';
import { double, fixed32, fixed64, key, len, str, vint, type Bytes } from './test-support.ts';

const filled = (length: number, byte: number): Bytes => Array.from({ length }, () => byte);

const TRACE_ID = filled(16, 0xab);
const SPAN_ID = filled(8, 0xcd);
const minimalSpan = (...more: Bytes[]): Bytes => len(2, len(1, TRACE_ID), len(2, SPAN_ID), ...more);
/** ExportTraceServiceRequest { resource_spans { scope_spans { spans } } } */
const request = (...spans: Bytes[]): Uint8Array => new Uint8Array(len(1, len(2, ...spans)));
const SPAN_PATH = 'resourceSpans[0].scopeSpans[0].spans[0]';

function only(spans: Span[]): Span {
  expect(spans).toHaveLength(1);
  return spans[0] as Span;
}

const emptyResource: Resource = { attributes: [], droppedAttributesCount: 0, entityRefs: [], schemaUrl: '' };
const emptyScope: InstrumentationScope = { name: '', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' };

/** An attribute whose value is `levels` AnyValues deep: arrays around a string. */
function nestedAttribute(levels: number): Bytes {
  let value: Bytes = str(1, 'leaf');
  for (let level = 1; level < levels; level++) value = len(5, len(1, value));
  return len(9, str(1, 'deep'), len(2, value));
}

/** The same depth through kvlists, ending in a plain string pair (the scan's fast path). */
function nestedKvlistAttribute(levels: number): Bytes {
  let pair: Bytes = [...str(1, 'k'), ...len(2, str(1, 'leaf'))];
  for (let level = 1; level < levels; level++) pair = [...str(1, 'k'), ...len(2, len(6, len(1, pair)))];
  return len(9, pair);
}

function everything(unknown: Bytes): Uint8Array {
  const kv = (name: string, ...value: Bytes[]): Bytes => len(9, unknown, str(1, name), len(2, unknown, ...value));
  return new Uint8Array([
    ...unknown,
    ...len(
      1,
      unknown,
      len(1, unknown, len(1, unknown, str(1, 'r'), len(2, unknown, str(1, 'v'))), len(3, unknown, str(2, 't'))),
      len(
        2,
        unknown,
        len(1, unknown, str(1, 'scope')),
        len(
          2,
          unknown,
          len(1, TRACE_ID),
          len(2, SPAN_ID),
          kv('s', str(1, 'x')),
          kv('a', len(5, unknown, len(1, unknown, vint(3, 5)))),
          kv('m', len(6, unknown, len(1, unknown, str(1, 'in'), len(2, unknown, vint(2, 1))))),
          len(11, unknown, str(2, 'e')),
          len(13, unknown, len(1, TRACE_ID), len(2, SPAN_ID)),
          len(15, unknown, vint(3, 2)),
        ),
        str(3, 'https://s'),
      ),
    ),
  ]);
}

/**
 * Every rule below holds for both protobuf decoders: the full one, and the receivers' scan,
 * whose WireSpans must decode to exactly the same spans and fail with exactly the same errors
 * (Invariant C22).
 */
const DECODERS: [string, (bytes: Uint8Array) => Span[]][] = [
  ['decodeTraceRequest', decodeFully],
  ['scanTraceRequest, WireSpans decoded on demand', (bytes) => scanTraceRequest(bytes).map(plainSpan)],
];

describe.each(DECODERS)('%s', (_decoderName, decodeTraceRequest) => {
  function decodeError(bytes: Uint8Array): OtlpDecodeError {
    try {
      decodeTraceRequest(bytes);
    } catch (error) {
      if (error instanceof OtlpDecodeError) return error;
      throw error;
    }
    throw new Error('expected an OtlpDecodeError, but decoding succeeded');
  }

  describe('decodeTraceRequest basics', () => {
    it('decodes an empty request to no spans, and encodes no spans to an empty request', () => {
      expect(decodeTraceRequest(new Uint8Array(0))).toEqual([]);
      expect(encodeTraceRequest([])).toEqual(new Uint8Array(0));
    });

    it('gives defaults for absent fields and no extra box', () => {
      const span = only(decodeTraceRequest(request(minimalSpan())));
      expect(span).toEqual({
        resource: emptyResource,
        scope: emptyScope,
        traceId: new Uint8Array(TRACE_ID),
        spanId: new Uint8Array(SPAN_ID),
        parentSpanId: undefined,
        name: '',
        kind: 0,
        startTimeUnixNano: 0n,
        endTimeUnixNano: 0n,
        flags: 0,
        statusCode: 0,
        attributes: [],
        extra: undefined,
      });
    });

    it('reads every span field from its field number', () => {
      const bytes = request(
        minimalSpan(
          str(3, 'congo=t61rcWkgMzE'),
          len(4, filled(8, 0x11)),
          str(5, 'GET /orders'),
          vint(6, 3),
          fixed64(7, 1_700_000_000_000_000_001n),
          fixed64(8, 18446744073709551615n),
          len(9, str(1, 'http.method'), len(2, str(1, 'GET'))),
          vint(10, 4),
          len(11, fixed64(1, 5n), str(2, 'exception'), len(3, str(1, 'k')), vint(4, 6)),
          vint(12, 7),
          len(13, len(1, filled(16, 0x22)), len(2, filled(8, 0x33)), str(3, 'a=b'), len(4, str(1, 'l')), vint(5, 8), fixed32(6, 0x301)),
          vint(14, 9),
          len(15, str(2, 'boom'), vint(3, 2)),
          fixed32(16, 0x201),
        ),
      );
      const span = only(decodeTraceRequest(bytes));
      expect(span).toMatchObject({
        parentSpanId: new Uint8Array(filled(8, 0x11)),
        name: 'GET /orders',
        kind: 3,
        startTimeUnixNano: 1_700_000_000_000_000_001n,
        endTimeUnixNano: 18446744073709551615n,
        flags: 0x201,
        statusCode: 2,
        attributes: [{ key: 'http.method', value: 'GET' }],
      });
      expect(span.extra).toEqual({
        traceState: 'congo=t61rcWkgMzE',
        statusMessage: 'boom',
        droppedAttributesCount: 4,
        events: [{ timeUnixNano: 5n, name: 'exception', attributes: [{ key: 'k', value: null }], droppedAttributesCount: 6 }],
        droppedEventsCount: 7,
        links: [
          {
            traceId: new Uint8Array(filled(16, 0x22)),
            spanId: new Uint8Array(filled(8, 0x33)),
            traceState: 'a=b',
            attributes: [{ key: 'l', value: null }],
            droppedAttributesCount: 8,
            flags: 0x301,
          },
        ],
        droppedLinksCount: 9,
      });
    });

    it('reads resource, entity refs, scope and both schema URLs into holders shared by the spans', () => {
      const bytes = new Uint8Array(
        len(
          1,
          len(1, len(1, str(1, 'service.name'), len(2, str(1, 'checkout'))), vint(2, 1), len(3, str(1, 'https://e'), str(2, 'service'), str(3, 'service.name'), str(4, 'a'), str(4, 'b'))),
          // The scope field comes after a span on purpose: holders are filled as fields arrive.
          len(2, minimalSpan(), len(1, str(1, 'lib'), str(2, '1.2.3'), len(3, str(1, 'x')), vint(4, 2)), minimalSpan(), str(3, 'https://scope')),
          str(3, 'https://resource'),
        ),
      );
      const [first, second] = decodeTraceRequest(bytes) as [Span, Span];
      expect(first.resource).toBe(second.resource);
      expect(first.scope).toBe(second.scope);
      expect(first.resource).toEqual({
        attributes: [{ key: 'service.name', value: 'checkout' }],
        droppedAttributesCount: 1,
        entityRefs: [{ schemaUrl: 'https://e', type: 'service', idKeys: ['service.name'], descriptionKeys: ['a', 'b'] }],
        schemaUrl: 'https://resource',
      });
      expect(first.scope).toEqual({
        name: 'lib',
        version: '1.2.3',
        attributes: [{ key: 'x', value: null }],
        droppedAttributesCount: 2,
        schemaUrl: 'https://scope',
      });
    });

    it('gives each ResourceSpans and ScopeSpans its own holder', () => {
      const resourceSpans = len(1, len(2, minimalSpan()), len(2, minimalSpan()));
      const spans = decodeTraceRequest(new Uint8Array([...resourceSpans, ...resourceSpans]));
      expect(spans).toHaveLength(4);
      const [a, b, c] = spans as [Span, Span, Span];
      expect(a.resource).toBe(b.resource);
      expect(a.scope).not.toBe(b.scope);
      expect(a.resource).not.toBe(c.resource);
    });

    it('merges a repeated resource and status field as protobuf merges messages', () => {
      const bytes = new Uint8Array(
        len(1, len(1, len(1, str(1, 'a'))), len(1, len(1, str(1, 'b')), vint(2, 3)), len(2, minimalSpan(len(15, vint(3, 1)), len(15, str(2, 'm'))))),
      );
      const span = only(decodeTraceRequest(bytes));
      expect(span.resource.attributes.map((pair) => pair.key)).toEqual(['a', 'b']);
      expect(span.resource.droppedAttributesCount).toBe(3);
      expect(span.statusCode).toBe(1);
      expect(span.extra?.statusMessage).toBe('m');
    });

    it('returns plain Uint8Array ids, copied, when given a Buffer', () => {
      const input = Buffer.from(request(minimalSpan()));
      const span = only(decodeTraceRequest(input));
      expect(span.traceId.constructor).toBe(Uint8Array);
      input.fill(0);
      expect(span.traceId).toEqual(new Uint8Array(TRACE_ID));
    });
  });

  function withValue(...value: Bytes[]): AnyValue {
    const span = only(decodeTraceRequest(request(minimalSpan(len(9, str(1, 'k'), len(2, ...value))))));
    return (span.attributes[0] as { value: AnyValue }).value;
  }

  describe('attribute values', () => {

    it.each([
      ['string', str(1, 'héllo'), 'héllo'],
      ['bool true', vint(2, 1), true],
      ['bool false', vint(2, 0), false],
      ['int 0', vint(3, 0), 0n],
      ['negative int64', vint(3, -42n), -42n],
      ['int64 min', vint(3, -(2n ** 63n)), -(2n ** 63n)],
      ['int64 max', vint(3, 2n ** 63n - 1n), 2n ** 63n - 1n],
      ['double', double(4, 1.5), 1.5],
      ['double -0', double(4, -0), -0],
      ['bytes', len(7, [1, 2, 3]), new Uint8Array([1, 2, 3])],
      ['empty', [], null],
      ['the last oneof member when two are set', [...str(1, 'first'), ...vint(3, 7)], 7n],
    ])('decodes %s', (_name, bytes, expected) => {
      expect(withValue(bytes)).toEqual(expected);
    });

    it('decodes nested arrays and kvlists, empty elements included', () => {
      const value = withValue(len(5, len(1, vint(3, 1)), len(1), len(1, len(6, len(1, str(1, 'inner'), len(2, len(5)))))));
      expect(value).toEqual([1n, null, { kvlist: [{ key: 'inner', value: [] }] }]);
    });

    it('round-trips a negative int64 attribute through the encoder', () => {
      const span = only(decodeTraceRequest(request(minimalSpan(len(9, str(1, 'k'), len(2, vint(3, -1n)))))));
      expect(only(decodeTraceRequest(encodeTraceRequest([span])))).toEqual(span);
    });
  });

  describe(`AnyValue depth cap (${MAX_ANY_VALUE_DEPTH})`, () => {
    it('accepts values nested exactly to the cap', () => {
      const span = only(decodeTraceRequest(request(minimalSpan(nestedAttribute(MAX_ANY_VALUE_DEPTH)))));
      let value = (span.attributes[0] as { value: AnyValue }).value;
      let depth = 1;
      while (Array.isArray(value)) {
        value = (value as AnyValue[])[0] as AnyValue;
        depth++;
      }
      expect(depth).toBe(MAX_ANY_VALUE_DEPTH);
      expect(only(decodeTraceRequest(encodeTraceRequest([span])))).toEqual(span);
    });

    it('rejects one level more, naming the path down to it', () => {
      const error = decodeError(request(minimalSpan(nestedAttribute(MAX_ANY_VALUE_DEPTH + 1))));
      expect(error.reason).toBe('AnyValue nested deeper than 64 levels');
      expect(error.path).toBe(`${SPAN_PATH}.attributes[0].value${'.arrayValue.values[0]'.repeat(MAX_ANY_VALUE_DEPTH)}`);
    });

    it('applies the cap through kvlists down to a plain string pair', () => {
      expect(decodeTraceRequest(request(minimalSpan(nestedKvlistAttribute(MAX_ANY_VALUE_DEPTH))))).toHaveLength(1);
      expect(decodeError(request(minimalSpan(nestedKvlistAttribute(MAX_ANY_VALUE_DEPTH + 1)))).reason).toBe('AnyValue nested deeper than 64 levels');
    });

    it('rejects 2000 levels with OtlpDecodeError, not a stack overflow', () => {
      expect(decodeError(request(minimalSpan(nestedAttribute(2000)))).reason).toMatch(/nested deeper than 64/);
    });

    it('refuses to encode a value nested past the cap', () => {
      let value: AnyValue = 'leaf';
      for (let level = 1; level <= MAX_ANY_VALUE_DEPTH; level++) value = [value];
      const span = only(decodeTraceRequest(request(minimalSpan())));
      expect(() => encodeTraceRequest([{ ...span, attributes: [{ key: 'deep', value }] }])).toThrow(OtlpEncodeError);
    });
  });

  describe('validation errors name the offending path', () => {
    it.each([
      ['a trace id of 15 bytes', len(2, len(1, filled(15, 1)), len(2, SPAN_ID)), 'traceId', 'trace id must be 16 bytes, got 15'],
      ['an empty trace id', len(2, len(1, []), len(2, SPAN_ID)), 'traceId', 'trace id must be 16 bytes, got 0'],
      ['an absent trace id', len(2, len(2, SPAN_ID)), 'traceId', 'trace id must be 16 bytes, got 0'],
      ['a span id of 9 bytes', len(2, len(1, TRACE_ID), len(2, filled(9, 1))), 'spanId', 'span id must be 8 bytes, got 9'],
      ['a parent span id of 7 bytes', minimalSpan(len(4, filled(7, 1))), 'parentSpanId', 'parent span id must be 8 bytes, got 7'],
      ['a link trace id of 8 bytes', minimalSpan(len(13, len(1, filled(8, 1)), len(2, SPAN_ID))), 'links[0].traceId', 'link trace id must be 16 bytes, got 8'],
      ['a link without span id', minimalSpan(len(13, len(1, TRACE_ID))), 'links[0].spanId', 'link span id must be 8 bytes, got 0'],
    ])('rejects %s', (_name, span, path, reason) => {
      const error = decodeError(request(span));
      expect(error.path).toBe(`${SPAN_PATH}.${path}`);
      expect(error.reason).toBe(reason);
      expect(error.message).toBe(`invalid OTLP message at ${SPAN_PATH}.${path}: ${reason}`);
    });

    it('treats an empty parent span id as a root span', () => {
      expect(only(decodeTraceRequest(request(minimalSpan(len(4, []))))).parentSpanId).toBeUndefined();
    });

    it('rejects a trace id sent with the wrong wire type', () => {
      const error = decodeError(request(len(2, vint(1, 5), len(2, SPAN_ID))));
      expect(error.path).toBe(`${SPAN_PATH}.traceId`);
      expect(error.reason).toBe('field 1 has wire type 0 (varint), expected 2 (length-delimited)');
    });

    it.each([
      ['start time as varint', minimalSpan(vint(7, 1)), 'startTimeUnixNano'],
      ['flags as fixed64', minimalSpan(fixed64(16, 1n)), 'flags'],
      ['kind as bytes', minimalSpan(len(6, [1])), 'kind'],
      ['status code as fixed32', minimalSpan(len(15, fixed32(3, 1))), 'status.code'],
      ['attribute key as varint', minimalSpan(len(9, vint(1, 1))), 'attributes[0].key'],
    ])('rejects %s', (_name, span, path) => {
      expect(decodeError(request(span)).path).toBe(`${SPAN_PATH}.${path}`);
    });

    it('names the element of the second resource, scope and span', () => {
      const bad = len(2, len(1, filled(3, 1)), len(2, SPAN_ID));
      const bytes = new Uint8Array([...len(1, len(2, minimalSpan())), ...len(1, len(2, minimalSpan()), len(2, minimalSpan(), bad))]);
      expect(decodeError(bytes).path).toBe('resourceSpans[1].scopeSpans[1].spans[1].traceId');
    });

    it('rejects invalid UTF-8 in a span name, naming the field', () => {
      const error = decodeError(request(minimalSpan(len(5, [0x61, 0xc3, 0x28]))));
      expect(error.path).toBe(`${SPAN_PATH}.name`);
      expect(error.reason).toMatch(/not valid UTF-8/);
    });

    it('rejects a span whose length runs past its ScopeSpans, naming the span', () => {
      // ScopeSpans of 3 bytes holding a span field that claims 40.
      const bytes = new Uint8Array(len(1, len(2, [...key(2, 2), 40, 0x0a]), filled(40, 0)));
      const error = decodeError(bytes);
      expect(error.path).toBe('resourceSpans[0].scopeSpans[0].spans[0]');
      expect(error.reason).toMatch(/truncated: length 40 exceeds the 1 bytes left/);
    });
  });

  describe('unknown fields', () => {
    /** One unknown field of every wire type, groups nested, to splice into every message. */
    const UNKNOWN: Bytes = [
      ...vint(900, 123456789),
      ...fixed64(901, 1n),
      ...str(902, 'future'),
      ...fixed32(903, 7),
      ...key(904, 3),
      ...vint(1, 1),
      ...key(905, 3),
      ...str(2, 'x'),
      ...key(905, 4),
      ...key(904, 4),
    ];


    it('skips unknown fields of every wire type in every message', () => {
      const plain = decodeTraceRequest(everything([]));
      expect(only(plain)).toMatchObject({
        attributes: [
          { key: 's', value: 'x' },
          { key: 'a', value: [5n] },
          { key: 'm', value: { kvlist: [{ key: 'in', value: true }] } },
        ],
        statusCode: 2,
      });
      expect(decodeTraceRequest(everything(UNKNOWN))).toEqual(plain);
    });
  });

  describe('truncated and corrupted input', () => {
    const full = request(
      minimalSpan(
        str(3, 'ts'),
        len(4, filled(8, 1)),
        str(5, 'name'),
        vint(6, 2),
        fixed64(7, 1n),
        fixed64(8, 2n),
        len(9, str(1, 'k'), len(2, len(5, len(1, double(4, 2.5)), len(1, len(7, [9]))))),
        len(11, fixed64(1, 3n), str(2, 'e')),
        len(13, len(1, TRACE_ID), len(2, SPAN_ID), fixed32(6, 1)),
        len(15, str(2, 'm'), vint(3, 2)),
        fixed32(16, 1),
      ),
    );

    it('rejects the message cut at every byte position with OtlpDecodeError', () => {
      expect(decodeTraceRequest(full)).toHaveLength(1);
      for (let cut = 1; cut < full.length; cut++) {
        expect(() => decodeTraceRequest(full.subarray(0, cut)), `cut at ${cut}`).toThrow(OtlpDecodeError);
      }
    });

    it('never throws anything but OtlpDecodeError for any single corrupted byte', () => {
      for (let at = 0; at < full.length; at++) {
        for (const byte of [0x00, 0x07, 0x7f, 0x80, 0xff]) {
          const corrupted = full.slice();
          corrupted[at] = byte;
          try {
            decodeTraceRequest(corrupted);
          } catch (error) {
            expect(error, `byte ${at} set to ${byte}`).toBeInstanceOf(OtlpDecodeError);
          }
        }
      }
    });
  });
});
