import { describe, expect, it } from 'vitest';
import { OtlpDecodeError, OtlpEncodeError } from './errors.ts';
import { decodeTraceRequestJson, encodeTraceRequestJson, MAX_ANY_VALUE_DEPTH } from './index.ts';
import type { AnyValue, InstrumentationScope, Resource, Span } from './index.ts';

const TRACE_HEX = '5b8efff798038103d269b633813fc60c';
const SPAN_HEX = 'eee19b7ec3c1b174';
const SPAN_PATH = 'resourceSpans[0].scopeSpans[0].spans[0]';

/** A request holding one span object given as JSON-ready fields. */
function request(spanFields: Record<string, unknown>, scopeSpans: Record<string, unknown> = {}, resourceSpans: Record<string, unknown> = {}): string {
  return JSON.stringify({ resourceSpans: [{ ...resourceSpans, scopeSpans: [{ ...scopeSpans, spans: [{ traceId: TRACE_HEX, spanId: SPAN_HEX, ...spanFields }] }] }] });
}

function only(spans: Span[]): Span {
  expect(spans).toHaveLength(1);
  return spans[0] as Span;
}

function decodeError(text: string | Uint8Array): OtlpDecodeError {
  try {
    decodeTraceRequestJson(text);
  } catch (error) {
    if (error instanceof OtlpDecodeError) return error;
    throw error;
  }
  throw new Error('expected an OtlpDecodeError, but decoding succeeded');
}

function bytesOf(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

const resource: Resource = {
  attributes: [{ key: 'service.name', value: 'checkout' }],
  droppedAttributesCount: 0,
  entityRefs: [],
  schemaUrl: 'https://opentelemetry.io/schemas/1.24.0',
};
const scope: InstrumentationScope = { name: 'lib', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' };

function modelSpan(fields: Partial<Span> = {}): Span {
  return {
    resource,
    scope,
    traceId: bytesOf(TRACE_HEX),
    spanId: bytesOf(SPAN_HEX),
    parentSpanId: undefined,
    name: 'op',
    kind: 2,
    startTimeUnixNano: 1_700_000_000_000_000_001n,
    endTimeUnixNano: 18446744073709551615n,
    flags: 0,
    statusCode: 0,
    attributes: [],
    extra: undefined,
    ...fields,
  };
}

describe('encodeTraceRequestJson output form', () => {
  it('writes lowerCamelCase keys, lowercase hex ids, integer enums, 64-bit decimal strings and omits defaults', () => {
    const json = encodeTraceRequestJson([
      modelSpan({
        traceId: bytesOf(TRACE_HEX.toUpperCase()),
        parentSpanId: bytesOf('00f067aa0ba902b7'),
        statusCode: 2,
        flags: 257,
        attributes: [
          { key: 'count', value: -3n },
          { key: 'ratio', value: 0.5 },
          { key: 'ok', value: false },
          { key: 'raw', value: new Uint8Array([0xfb, 0xff]) },
          { key: 'none', value: null },
          { key: 'list', value: ['a', { kvlist: [] }, []] },
        ],
      }),
    ]);
    expect(JSON.parse(json)).toEqual({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
          scopeSpans: [
            {
              scope: { name: 'lib' },
              spans: [
                {
                  traceId: TRACE_HEX,
                  spanId: SPAN_HEX,
                  parentSpanId: '00f067aa0ba902b7',
                  name: 'op',
                  kind: 2,
                  startTimeUnixNano: '1700000000000000001',
                  endTimeUnixNano: '18446744073709551615',
                  attributes: [
                    { key: 'count', value: { intValue: '-3' } },
                    { key: 'ratio', value: { doubleValue: 0.5 } },
                    { key: 'ok', value: { boolValue: false } },
                    { key: 'raw', value: { bytesValue: '+/8=' } },
                    { key: 'none' },
                    { key: 'list', value: { arrayValue: { values: [{ stringValue: 'a' }, { kvlistValue: {} }, { arrayValue: {} }] } } },
                  ],
                  status: { code: 2 },
                  flags: 257,
                },
              ],
            },
          ],
          schemaUrl: 'https://opentelemetry.io/schemas/1.24.0',
        },
      ],
    });
  });

  it('writes an empty request as {} and reads {} back as no spans', () => {
    expect(encodeTraceRequestJson([])).toBe('{}');
    expect(decodeTraceRequestJson('{}')).toEqual([]);
    expect(decodeTraceRequestJson('{"resourceSpans":[]}')).toEqual([]);
  });

  it('writes non-finite doubles and -0 as the strings proto3 JSON defines, and reads them back', () => {
    const values = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 1e308, 5e-324];
    const json = encodeTraceRequestJson([modelSpan({ attributes: values.map((value, i) => ({ key: `d${i}`, value })) })]);
    expect(json).toContain('{"doubleValue":"NaN"}');
    expect(json).toContain('{"doubleValue":"Infinity"}');
    expect(json).toContain('{"doubleValue":"-Infinity"}');
    expect(json).toContain('{"doubleValue":"-0"}');
    expect(only(decodeTraceRequestJson(json)).attributes.map((pair) => pair.value)).toEqual(values);
  });

  it('refuses to encode ids of the wrong length, naming the span', () => {
    expect(() => encodeTraceRequestJson([modelSpan(), modelSpan({ spanId: new Uint8Array(7) })])).toThrow(
      new OtlpEncodeError(`${SPAN_PATH.replace('spans[0]', 'spans[1]')}.spanId`, 'span id must be a Uint8Array of 8 bytes, got 7 bytes'),
    );
  });
});

describe('decodeTraceRequestJson input forms', () => {
  it('accepts hex ids in any letter case', () => {
    const decoded = only(decodeTraceRequestJson(request({ traceId: TRACE_HEX.toUpperCase(), spanId: 'EeE19b7EC3c1B174', parentSpanId: '00F067AA0BA902B7' })));
    expect(decoded.traceId).toEqual(bytesOf(TRACE_HEX));
    expect(decoded.spanId).toEqual(bytesOf(SPAN_HEX));
    expect(decoded.parentSpanId).toEqual(bytesOf('00f067aa0ba902b7'));
  });

  it('accepts snake_case keys everywhere', () => {
    const text = JSON.stringify({
      resource_spans: [
        {
          resource: { attributes: [{ key: 'a', value: { string_value: 's' } }], dropped_attributes_count: 1, entity_refs: [{ schema_url: 'u', type: 't', id_keys: ['a'], description_keys: ['b'] }] },
          schema_url: 'rs',
          scope_spans: [
            {
              scope: { name: 'n', dropped_attributes_count: 2 },
              schema_url: 'ss',
              spans: [
                {
                  trace_id: TRACE_HEX,
                  span_id: SPAN_HEX,
                  parent_span_id: SPAN_HEX,
                  trace_state: 'x=y',
                  start_time_unix_nano: '5',
                  end_time_unix_nano: '6',
                  dropped_attributes_count: 3,
                  dropped_events_count: 4,
                  dropped_links_count: 5,
                  attributes: [
                    { key: 'b', value: { bool_value: true } },
                    { key: 'i', value: { int_value: '7' } },
                    { key: 'd', value: { double_value: 1.5 } },
                    { key: 'y', value: { bytes_value: 'AQ==' } },
                    { key: 'l', value: { array_value: { values: [{ kvlist_value: { values: [] } }] } } },
                  ],
                  events: [{ time_unix_nano: '8', dropped_attributes_count: 9 }],
                  links: [{ trace_id: TRACE_HEX, span_id: SPAN_HEX, trace_state: 'l=1', dropped_attributes_count: 10 }],
                },
              ],
            },
          ],
        },
      ],
    });
    const decoded = only(decodeTraceRequestJson(text));
    expect(decoded.resource).toEqual({
      attributes: [{ key: 'a', value: 's' }],
      droppedAttributesCount: 1,
      entityRefs: [{ schemaUrl: 'u', type: 't', idKeys: ['a'], descriptionKeys: ['b'] }],
      schemaUrl: 'rs',
    });
    expect(decoded.scope).toEqual({ name: 'n', version: '', attributes: [], droppedAttributesCount: 2, schemaUrl: 'ss' });
    expect(decoded).toMatchObject({
      parentSpanId: bytesOf(SPAN_HEX),
      startTimeUnixNano: 5n,
      endTimeUnixNano: 6n,
      attributes: [
        { key: 'b', value: true },
        { key: 'i', value: 7n },
        { key: 'd', value: 1.5 },
        { key: 'y', value: new Uint8Array([1]) },
        { key: 'l', value: [{ kvlist: [] }] },
      ],
    });
    expect(decoded.extra).toEqual({
      traceState: 'x=y',
      statusMessage: '',
      droppedAttributesCount: 3,
      events: [{ timeUnixNano: 8n, name: '', attributes: [], droppedAttributesCount: 9 }],
      droppedEventsCount: 4,
      links: [{ traceId: bytesOf(TRACE_HEX), spanId: bytesOf(SPAN_HEX), traceState: 'l=1', attributes: [], droppedAttributesCount: 10, flags: 0 }],
      droppedLinksCount: 5,
    });
  });

  it('reads 64-bit integers from decimal strings and from JSON numbers, exactly', () => {
    const text =
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_HEX}","spanId":"${SPAN_HEX}",` +
      `"startTimeUnixNano":18446744073709551615,"endTimeUnixNano":"18446744073709551615",` +
      `"attributes":[{"key":"n","value":{"intValue":-9223372036854775808}},{"key":"s","value":{"intValue":"9007199254740993"}},` +
      `{"key":"small","value":{"intValue":42}},{"key":"big","value":{"intValue": 9007199254740993}}]}]}]}]}`;
    const decoded = only(decodeTraceRequestJson(text));
    expect(decoded.startTimeUnixNano).toBe(18446744073709551615n);
    expect(decoded.endTimeUnixNano).toBe(18446744073709551615n);
    expect(decoded.attributes.map((pair) => pair.value)).toEqual([-(2n ** 63n), 9007199254740993n, 42n, 9007199254740993n]);
  });

  it('rejects an integer beyond 2^53 written in exponent form, whose exact value cannot be checked', () => {
    const error = decodeError(request({ startTimeUnixNano: 'EXPONENT' }).replace('"EXPONENT"', '1.2345678901234567e19'));
    expect(error.path).toBe(`${SPAN_PATH}.startTimeUnixNano`);
    expect(error.reason).toMatch(/beyond 2\^53 .* send it as a decimal string/);
  });

  it.each([
    ['a negative timestamp', { startTimeUnixNano: '-1' }, 'startTimeUnixNano', /out of range/],
    ['a timestamp past 2^64', { endTimeUnixNano: '18446744073709551616' }, 'endTimeUnixNano', /out of range/],
    ['a fractional count', { droppedEventsCount: 1.5 }, 'droppedEventsCount', /must be an integer/],
    ['a count past uint32', { droppedLinksCount: 4294967296 }, 'droppedLinksCount', /out of range/],
    ['an int64 string with spaces', { attributes: [{ key: 'k', value: { intValue: ' 1' } }] }, 'attributes[0].value.intValue', /decimal string/],
  ])('rejects %s', (_name, fields, path, reason) => {
    const error = decodeError(request(fields));
    expect(error.path).toBe(`${SPAN_PATH}.${path}`);
    expect(error.reason).toMatch(reason);
  });

  it('reads enums as integers, decimal strings or their proto names', () => {
    const decoded = decodeTraceRequestJson(
      JSON.stringify({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  { traceId: TRACE_HEX, spanId: SPAN_HEX, kind: 3, status: { code: 1 } },
                  { traceId: TRACE_HEX, spanId: SPAN_HEX, kind: 'SPAN_KIND_CONSUMER', status: { code: 'STATUS_CODE_ERROR' } },
                  { traceId: TRACE_HEX, spanId: SPAN_HEX, kind: '9', status: { code: -1 } },
                ],
              },
            ],
          },
        ],
      }),
    );
    expect(decoded.map((s) => [s.kind, s.statusCode])).toEqual([
      [3, 1],
      [5, 2],
      [9, -1],
    ]);
    expect(decodeError(request({ kind: 'SERVER' })).reason).toMatch(/unknown enum name "SERVER"/);
  });

  it('treats null as an absent field and ignores unknown fields', () => {
    const decoded = only(
      decodeTraceRequestJson(request({ name: null, parentSpanId: null, attributes: null, futureField: { x: 1 }, status: { code: null, futureToo: 1 } }, { unknown: [] }, { instrumentationLibrarySpans: [] })),
    );
    expect(decoded).toMatchObject({ name: '', parentSpanId: undefined, attributes: [], statusCode: 0, extra: undefined });
  });

  it('treats an empty parentSpanId string as a root span', () => {
    expect(only(decodeTraceRequestJson(request({ parentSpanId: '' }))).parentSpanId).toBeUndefined();
  });

  it('reads UTF-8 bytes, with or without a BOM', () => {
    const text = request({ name: 'naïve' });
    expect(only(decodeTraceRequestJson(new TextEncoder().encode(text))).name).toBe('naïve');
    expect(only(decodeTraceRequestJson(new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(text)]))).name).toBe('naïve');
    expect(decodeError(new Uint8Array([0x7b, 0xff, 0x7d])).reason).toBe('JSON body is not valid UTF-8');
  });

  it('reads AnyValue members, ignoring unknown ones, and an empty object as an empty value', () => {
    const values: unknown[] = [{}, { futureValue: 1 }, { stringValue: null, intValue: '1' }, { bytesValue: '-_8' }, { doubleValue: '2.5' }, { doubleValue: 7 }];
    const decoded = only(decodeTraceRequestJson(request({ attributes: values.map((value, i) => ({ key: `v${i}`, value })) })));
    expect(decoded.attributes.map((pair) => pair.value)).toEqual([null, null, 1n, new Uint8Array([0xfb, 0xff]), 2.5, 7]);
  });
});

describe('decodeTraceRequestJson errors name the path', () => {
  it.each([
    ['invalid hex in a trace id', { traceId: `${TRACE_HEX.slice(0, 30)}zz` }, 'traceId', /not a hex id/],
    ['a base64 trace id', { traceId: 'W47/95gDgQPSabYzgT/GDA==' }, 'traceId', /ids are hex in OTLP\/JSON, not base64/],
    ['a short trace id', { traceId: TRACE_HEX.slice(0, 30) }, 'traceId', /^trace id must be 16 bytes \(32 hex digits\), got 15$/],
    ['a missing trace id', { traceId: undefined }, 'traceId', /^trace id must be 16 bytes \(32 hex digits\), got 0$/],
    ['an odd-length span id', { spanId: 'abc' }, 'spanId', /odd number of digits/],
    ['a long span id', { spanId: `${SPAN_HEX}00` }, 'spanId', /^span id must be 8 bytes \(16 hex digits\), got 9$/],
    ['a numeric trace id', { traceId: 5 }, 'traceId', /must be a string, got number 5/],
    ['attributes that are not an array', { attributes: { key: 'k' } }, 'attributes', /must be an array, got an object/],
    ['an attribute that is not an object', { attributes: ['k'] }, 'attributes[0]', /must be a JSON object, got the string "k"/],
    ['an AnyValue with two members', { attributes: [{ key: 'k', value: { stringValue: 'a', boolValue: true } }] }, 'attributes[0].value', /sets both stringValue and boolValue/],
    ['a bool given as a string', { attributes: [{ key: 'k', value: { boolValue: 'true' } }] }, 'attributes[0].value.boolValue', /must be true or false/],
    ['invalid base64', { attributes: [{ key: 'k', value: { bytesValue: 'a$b=' } }] }, 'attributes[0].value.bytesValue', /not base64/],
    ['a link with a bad span id', { links: [{ traceId: TRACE_HEX, spanId: 'xx' }] }, 'links[0].spanId', /not a hex id/],
    ['a status that is not an object', { status: 2 }, 'status', /must be a JSON object/],
    ['a bad event time', { events: [{ timeUnixNano: 'soon' }] }, 'events[0].timeUnixNano', /decimal string/],
  ])('rejects %s', (_name, fields, path, reason) => {
    const error = decodeError(request(fields));
    expect(error.path).toBe(`${SPAN_PATH}.${path}`);
    expect(error.reason).toMatch(reason);
  });

  it.each([
    ['spans that is not an array', JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: {} }] }] }), 'resourceSpans[0].scopeSpans[0].spans'],
    ['a resource that is not an object', JSON.stringify({ resourceSpans: [{ resource: [] }] }), 'resourceSpans[0].resource'],
    ['a bad resource attribute', JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 1 }] } }] }), 'resourceSpans[0].resource.attributes[0].key'],
    ['a bad scope name', JSON.stringify({ resourceSpans: [{ scopeSpans: [{ scope: { name: false } }] }] }), 'resourceSpans[0].scopeSpans[0].scope.name'],
    ['a root that is not an object', '[]', ''],
  ])('rejects %s', (_name, text, path) => {
    expect(decodeError(text).path).toBe(path);
  });

  it('rejects text that is not JSON', () => {
    expect(decodeError('{"resourceSpans": [').reason).toMatch(/^not valid JSON: /);
  });
});

/** A request whose one attribute value is `levels` AnyValues deep: arrays around a string. */
function nested(levels: number): string {
  const open = '{"arrayValue":{"values":['.repeat(levels - 1);
  const close = ']}}'.repeat(levels - 1);
  return request({}).replace('"spanId"', `"attributes":[{"key":"deep","value":${open}{"stringValue":"leaf"}${close}}],"spanId"`);
}

describe(`JSON AnyValue depth cap (${MAX_ANY_VALUE_DEPTH})`, () => {
  it('accepts values nested exactly to the cap and round-trips them', () => {
    const decoded = only(decodeTraceRequestJson(nested(MAX_ANY_VALUE_DEPTH)));
    let value: AnyValue = (decoded.attributes[0] as { value: AnyValue }).value;
    let depth = 1;
    while (Array.isArray(value)) {
      value = (value as AnyValue[])[0] as AnyValue;
      depth++;
    }
    expect(depth).toBe(MAX_ANY_VALUE_DEPTH);
    expect(only(decodeTraceRequestJson(encodeTraceRequestJson([decoded])))).toEqual(decoded);
  });

  it('rejects one level more and 100000 levels with OtlpDecodeError', () => {
    const error = decodeError(nested(MAX_ANY_VALUE_DEPTH + 1));
    expect(error.reason).toBe('AnyValue nested deeper than 64 levels');
    expect(error.path).toBe(`${SPAN_PATH}.attributes[0].value${'.arrayValue.values[0]'.repeat(MAX_ANY_VALUE_DEPTH)}`);
    expect(decodeError(nested(100_000)).reason).toBe('AnyValue nested deeper than 64 levels');
  });
});
