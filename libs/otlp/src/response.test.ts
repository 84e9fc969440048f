import { describe, expect, it } from 'vitest';
import { OtlpDecodeError, OtlpEncodeError } from './errors.ts';
import {
  decodeRpcStatus,
  decodeRpcStatusJson,
  decodeTraceResponse,
  decodeTraceResponseJson,
  encodeRpcStatus,
  encodeRpcStatusJson,
  encodeTraceResponse,
  encodeTraceResponseJson,
} from './index.ts';
import type { RpcStatus, TraceExportResponse } from './index.ts';

function thrown(decode: () => unknown): OtlpDecodeError {
  try {
    decode();
  } catch (error) {
    if (error instanceof OtlpDecodeError) return error;
    throw error;
  }
  throw new Error('expected an OtlpDecodeError, but decoding succeeded');
}

describe('ExportTraceServiceResponse', () => {
  const cases: [string, TraceExportResponse, number[], string][] = [
    ['full success', { partialSuccess: undefined }, [], '{}'],
    ['a warning with nothing rejected', { partialSuccess: { rejectedSpans: 0n, errorMessage: '' } }, [0x0a, 0x00], '{"partialSuccess":{}}'],
    [
      'rejected spans',
      { partialSuccess: { rejectedSpans: 3n, errorMessage: 'bad id' } },
      [0x0a, 0x0a, 0x08, 0x03, 0x12, 0x06, ...new TextEncoder().encode('bad id')],
      '{"partialSuccess":{"rejectedSpans":"3","errorMessage":"bad id"}}',
    ],
  ];

  it.each(cases)('encodes and decodes %s in protobuf', (_name, response, bytes) => {
    expect([...encodeTraceResponse(response)]).toEqual(bytes);
    expect(decodeTraceResponse(new Uint8Array(bytes))).toEqual(response);
  });

  it.each(cases)('encodes and decodes %s in OTLP/JSON', (_name, response, _bytes, json) => {
    expect(encodeTraceResponseJson(response)).toBe(json);
    expect(decodeTraceResponseJson(json)).toEqual(response);
  });

  it('reads snake_case and a numeric rejected count in JSON', () => {
    expect(decodeTraceResponseJson('{"partial_success":{"rejected_spans":1234567890123456789,"error_message":"x"}}')).toEqual({
      partialSuccess: { rejectedSpans: 1234567890123456789n, errorMessage: 'x' },
    });
  });

  it('rejects a rejected count past int64 in either encoding', () => {
    expect(() => encodeTraceResponse({ partialSuccess: { rejectedSpans: 2n ** 63n, errorMessage: '' } })).toThrow(OtlpEncodeError);
    expect(() => decodeTraceResponseJson('{"partialSuccess":{"rejectedSpans":"9223372036854775808"}}')).toThrow(
      new OtlpDecodeError('partialSuccess.rejectedSpans', 'int64 9223372036854775808 is out of range -9223372036854775808..9223372036854775807'),
    );
  });

  it('rejects a truncated partial_success, naming it', () => {
    expect(() => decodeTraceResponse(new Uint8Array([0x0a, 0x05, 0x08]))).toThrow(OtlpDecodeError);
    expect(thrown(() => decodeTraceResponse(new Uint8Array([0x0a, 0x02, 0x12, 0x05]))).path).toBe('partialSuccess.errorMessage');
  });
});

describe('google.rpc.Status', () => {
  const status: RpcStatus = {
    code: 3,
    message: 'invalid trace id',
    details: [{ typeUrl: 'type.googleapis.com/google.rpc.BadRequest', value: new Uint8Array([1, 2, 3]) }],
  };

  it('round-trips in protobuf with the field numbers of google.rpc.Status', () => {
    const bytes = encodeRpcStatus(status);
    expect([...bytes.subarray(0, 4)]).toEqual([0x08, 0x03, 0x12, 16]);
    expect(decodeRpcStatus(bytes)).toEqual(status);
  });

  it('writes details as {"@type", "value"} in JSON and reads them back', () => {
    const json = encodeRpcStatusJson(status);
    expect(JSON.parse(json)).toEqual({
      code: 3,
      message: 'invalid trace id',
      details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', value: 'AQID' }],
    });
    expect(decodeRpcStatusJson(json)).toEqual(status);
  });

  it('reads a minimal status and typeUrl spelled either way', () => {
    expect(decodeRpcStatusJson('{}')).toEqual({ code: 0, message: '', details: [] });
    expect(decodeRpcStatusJson('{"code":"14","details":[{"type_url":"t"}]}')).toEqual({ code: 14, message: '', details: [{ typeUrl: 't', value: new Uint8Array(0) }] });
    expect(encodeRpcStatus({ code: 0, message: '', details: [] })).toEqual(new Uint8Array(0));
  });

  it('rejects a code past int32 and bad details, naming the path', () => {
    expect(() => decodeRpcStatusJson('{"code":2147483648}')).toThrow(OtlpDecodeError);
    expect(() => encodeRpcStatus({ code: 1.5, message: '', details: [] })).toThrow(OtlpEncodeError);
    expect(thrown(() => decodeRpcStatusJson('{"details":[{"@type":"t","value":"%%"}]}')).path).toBe('details[0].value');
  });
});
