import { describe, expect, it } from 'vitest';
import { InvalidTenantError, parseTenant } from './client-key.ts';
import { parseContentEncoding, parseOtlpMediaType } from './media-type.ts';

describe('OTLP/HTTP request headers', () => {
  it('reads the two OTLP media types in any case, with parameters and whitespace', () => {
    expect(parseOtlpMediaType('application/x-protobuf')).toBe('protobuf');
    expect(parseOtlpMediaType(' Application/X-Protobuf ; charset=binary')).toBe('protobuf');
    expect(parseOtlpMediaType('application/json')).toBe('json');
    expect(parseOtlpMediaType('APPLICATION/JSON;charset=UTF-8')).toBe('json');
    for (const other of [undefined, '', 'text/plain', 'application/protobuf', 'application/json-seq', 'application/x-protobuf2', 'json']) {
      expect(parseOtlpMediaType(other), String(other)).toBeUndefined();
    }
  });

  it('reads gzip and identity codings, refusing every other one', () => {
    expect(parseContentEncoding(undefined)).toBe('identity');
    expect(parseContentEncoding('')).toBe('identity');
    expect(parseContentEncoding('identity')).toBe('identity');
    expect(parseContentEncoding('GZIP')).toBe('gzip');
    expect(parseContentEncoding('x-gzip')).toBe('gzip');
    expect(parseContentEncoding('identity, gzip')).toBe('gzip');
    for (const other of ['br', 'deflate', 'zstd', 'snappy', 'compress', 'gzip, gzip', 'gzip, br']) {
      expect(parseContentEncoding(other), other).toBeUndefined();
    }
  });

  it('reads the tenant header: absent or blank is no tenant, bad values are refused', () => {
    expect(parseTenant(undefined)).toBeUndefined();
    expect(parseTenant('  ')).toBeUndefined();
    expect(parseTenant(' team-a ')).toBe('team-a');
    expect(() => parseTenant('a b')).toThrow(InvalidTenantError);
    expect(() => parseTenant('x'.repeat(257))).toThrow(/longer than 256/);
    expect(() => parseTenant(['a', 'b'])).toThrow(/more than once/);
    expect(() => parseTenant('tenant\u00e9')).toThrow(InvalidTenantError);
  });
});
