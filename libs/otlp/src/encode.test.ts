import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OtlpEncodeError, OtlpError } from './errors.ts';
import { BufferPool, encodeTraceRequest, encodeTraceRequestJson, groupSpans, scanTraceRequest } from './index.ts';
import { shape, spansOf } from './test-support.ts';
import type { AnyValue, InstrumentationScope, Resource, Span } from './index.ts';

const resourceA: Resource = { attributes: [], droppedAttributesCount: 0, entityRefs: [], schemaUrl: 'a' };
const resourceB: Resource = { attributes: [], droppedAttributesCount: 0, entityRefs: [], schemaUrl: 'b' };
const scopeX: InstrumentationScope = { name: 'x', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' };
const scopeY: InstrumentationScope = { name: 'y', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' };

function span(name: string, resource: Resource = resourceA, scope: InstrumentationScope = scopeX): Span {
  return {
    resource,
    scope,
    traceId: new Uint8Array(16).fill(1),
    spanId: new Uint8Array(8).fill(2),
    parentSpanId: undefined,
    name,
    kind: 1,
    startTimeUnixNano: 1n,
    endTimeUnixNano: 2n,
    flags: 0,
    statusCode: 0,
    attributes: [],
    extra: undefined,
  };
}

describe('groupSpans', () => {
  it('groups by resource object then scope object in order of first appearance, keeping span order', () => {
    const spans = [span('1', resourceA, scopeX), span('2', resourceB, scopeX), span('3', resourceA, scopeY), span('4', resourceA, scopeX), span('5', resourceB, scopeX)];
    const groups = groupSpans(spans);
    expect(groups.map((g) => [g.resource.schemaUrl, g.scopes.map((s) => [s.scope.name, s.spans.map((x) => x.name)])])).toEqual([
      ['a', [['x', ['1', '4']], ['y', ['3']]]],
      ['b', [['x', ['2', '5']]]],
    ]);
  });

  it('keeps structurally equal but distinct holder objects apart', () => {
    const twin: Resource = { ...resourceA };
    expect(groupSpans([span('1'), span('2', twin)])).toHaveLength(2);
  });

  it('returns no groups for no spans', () => {
    expect(groupSpans([])).toEqual([]);
  });
});

type Encoder = (spans: readonly Span[]) => unknown;
const encoders: [string, Encoder][] = [
  ['protobuf', encodeTraceRequest],
  ['JSON', encodeTraceRequestJson],
];

function encodeError(encode: Encoder, spans: Span[]): OtlpEncodeError {
  try {
    encode(spans);
  } catch (error) {
    if (error instanceof OtlpEncodeError) return error;
    throw error;
  }
  throw new Error('expected an OtlpEncodeError, but encoding succeeded');
}

const PATH = 'resourceSpans[0].scopeSpans[0].spans[1]';

describe.each(encoders)('%s encoder validation', (_name, encode) => {
  it.each<[string, Partial<Span>, string, RegExp]>([
    ['a 15-byte trace id', { traceId: new Uint8Array(15) }, 'traceId', /trace id must be a Uint8Array of 16 bytes, got 15 bytes/],
    ['a span id that is not bytes', { spanId: 'abcd' as unknown as Uint8Array }, 'spanId', /span id must be a Uint8Array of 8 bytes, got abcd/],
    ['a 4-byte parent span id', { parentSpanId: new Uint8Array(4) }, 'parentSpanId', /parent span id must be a Uint8Array of 8 bytes/],
    ['a negative timestamp', { startTimeUnixNano: -1n }, 'startTimeUnixNano', /from 0 to 18446744073709551615, got -1/],
    ['a timestamp past 2^64', { endTimeUnixNano: 2n ** 64n }, 'endTimeUnixNano', /got 18446744073709551616/],
    ['a number timestamp', { endTimeUnixNano: 5 as unknown as bigint }, 'endTimeUnixNano', /must be a bigint/],
    ['a fractional kind', { kind: 1.5 }, 'kind', /integer from -2147483648 to 2147483647, got 1.5/],
    ['flags past uint32', { flags: 2 ** 32 }, 'flags', /integer from 0 to 4294967295/],
    ['a status code past int32', { statusCode: 2 ** 31 }, 'status.code', /integer from -2147483648/],
    ['an int64 attribute past 2^63', { attributes: [{ key: 'k', value: 2n ** 63n }] }, 'attributes[0].value.intValue', /int64 range/],
    ['an undefined attribute value', { attributes: [{ key: 'k', value: undefined as unknown as AnyValue }] }, 'attributes[0].value', /use null for an empty value/],
    ['an object attribute value', { attributes: [{ key: 'k', value: [{ a: 1 } as unknown as AnyValue] }] }, 'attributes[0].value.arrayValue.values[0]', /not an AnyValue/],
    [
      'a link with a short trace id',
      { extra: { traceState: '', statusMessage: '', droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [{ traceId: new Uint8Array(8), spanId: new Uint8Array(8), traceState: '', attributes: [], droppedAttributesCount: 0, flags: 0 }], droppedLinksCount: 0 } },
      'links[0].traceId',
      /link trace id must be a Uint8Array of 16 bytes/,
    ],
    [
      'a negative dropped count',
      { extra: { traceState: '', statusMessage: '', droppedAttributesCount: -1, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0 } },
      'droppedAttributesCount',
      /integer from 0 to 4294967295, got -1/,
    ],
  ])('rejects %s, naming the path', (_case, fields, path, reason) => {
    const error = encodeError(encode, [span('ok'), { ...span('bad'), ...fields }]);
    expect(error).toBeInstanceOf(OtlpError);
    expect(error.code).toBe('OTLP_ENCODE');
    expect(error.path).toBe(`${PATH}.${path}`);
    expect(error.reason).toMatch(reason);
  });

  it('names resource and scope attribute paths', () => {
    const badResource: Resource = { ...resourceA, attributes: [{ key: 'k', value: -(2n ** 63n) - 1n }] };
    expect(encodeError(encode, [span('x', badResource)]).path).toBe('resourceSpans[0].resource.attributes[0].value.intValue');
    const badScope: InstrumentationScope = { ...scopeX, droppedAttributesCount: 0.5 };
    expect(encodeError(encode, [span('x', resourceA, badScope)]).path).toBe('resourceSpans[0].scopeSpans[0].scope.droppedAttributesCount');
  });

  it('writes an empty parent span id as a root span', () => {
    expect(encode([{ ...span('root'), parentSpanId: new Uint8Array(0) }])).toEqual(encode([span('root')]));
  });
});

describe('encodeTraceRequest into a BufferPool (Invariant C23)', () => {
  it('writes the same bytes as without a pool, for decoded spans and WireSpans alike (property)', () => {
    const pool = new BufferPool(1 << 24);
    fc.assert(
      fc.property(shape, (request) => {
        const spans = spansOf(request);
        const plain = encodeTraceRequest(spans);
        const pooled = encodeTraceRequest(spans, pool);
        expect(Buffer.from(pooled).equals(Buffer.from(plain))).toBe(true);
        const received = scanTraceRequest(plain);
        const again = encodeTraceRequest(received, pool);
        expect(Buffer.from(again).equals(Buffer.from(plain))).toBe(true);
        pool.give(pooled.buffer);
        pool.give(again.buffer);
      }),
      { numRuns: 50 },
    );
  });

  it('reuses storage given back, and gives back what it outgrew when a batch does not fit', () => {
    const pool = new BufferPool(1 << 24);
    const first = encodeTraceRequest([span('a')], pool);
    const storage = first.buffer;
    expect(first.byteOffset).toBe(0);
    pool.give(storage);
    const second = encodeTraceRequest([span('b')], pool);
    expect(second.buffer).toBe(storage);
    expect(encodeTraceRequest([span('b')])).toEqual(second);
    // One span is guessed at 512 bytes: a name of 200 KB makes the writer grow several times,
    // each outgrown buffer going back to the pool and only the last one staying lent.
    const big = span('x'.repeat(200_000));
    const grown = encodeTraceRequest([big], pool);
    expect(grown.byteLength).toBeGreaterThan(200_000);
    expect(grown).toEqual(encodeTraceRequest([big]));
    expect(pool.freeBytes).toBeGreaterThan(0);
    const freeBefore = pool.freeBytes;
    pool.give(grown.buffer);
    expect(pool.freeBytes).toBe(freeBefore + grown.buffer.byteLength);
  });
});
