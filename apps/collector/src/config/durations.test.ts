import { describe, expect, it } from 'vitest';
import { invalidDurationMessage, parseDurationMs } from './durations.ts';
import { parseEndpoint } from './endpoints.ts';
import { grpcMessageLimitBytes, httpBodyLimitBytes, MIB } from './sizes.ts';

describe('parseDurationMs', () => {
  it.each([
    ['200ms', 200],
    ['5s', 5_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['1.5h', 5_400_000],
    ['500us', 0.5],
    ['500µs', 0.5],
    ['250ns', 0.00025],
    ['0s', 0],
    ['0', 0],
    ['.5s', 500],
    ['2h45m', 9_900_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBeCloseTo(ms, 9);
  });

  it('reads an integer as nanoseconds, as Go decodes a time.Duration', () => {
    expect(parseDurationMs(5_000_000_000)).toBe(5_000);
    expect(parseDurationMs(0)).toBe(0);
  });

  it.each(['5x', '5', '', '-1s', '1d', 's', '1s 2ms', 'abc'])('rejects %j', (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
  });

  it.each([1.5, -1, true, null, {}])('rejects the non-string %j', (value) => {
    expect(parseDurationMs(value)).toBeUndefined();
  });

  it('explains what is wrong', () => {
    expect(invalidDurationMessage('5x')).toBe('invalid duration "5x" (use e.g. 200ms, 5s, 1m30s; a bare integer is nanoseconds)');
    expect(invalidDurationMessage('5')).toMatch(/missing unit/);
    expect(invalidDurationMessage('-2s')).toMatch(/must not be negative/);
  });
});

describe('parseEndpoint', () => {
  it.each([
    ['0.0.0.0:4317', { host: '0.0.0.0', port: 4317 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
    [':4318', { host: '0.0.0.0', port: 4318 }],
    ['[::1]:4317', { host: '::1', port: 4317 }],
    ['[::]:13133', { host: '::', port: 13133 }],
  ])('reads %s', (text, endpoint) => {
    expect(parseEndpoint(text)).toEqual(endpoint);
  });

  it.each(['localhost', '4317', 'host:70000', 'host:-1', '::1:4317', '[]:4317', 'http://localhost:4317'])('rejects %s', (text) => {
    expect(parseEndpoint(text)).toMatch(/^invalid endpoint/);
  });
});

describe('sizes', () => {
  it('treats 0 and absent as the 64 MiB default', () => {
    expect(grpcMessageLimitBytes(undefined)).toBe(64 * MIB);
    expect(grpcMessageLimitBytes(0)).toBe(64 * MIB);
    expect(grpcMessageLimitBytes(16)).toBe(16 * MIB);
    expect(httpBodyLimitBytes(0)).toBe(64 * MIB);
    expect(httpBodyLimitBytes(1_000)).toBe(1_000);
  });
});
