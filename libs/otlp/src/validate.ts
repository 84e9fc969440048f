/**
 * Checks both encoders run on model values before writing them, so neither can emit
 * something the decoders reject or a number silently wrapped into range.
 */
import { OtlpEncodeError } from './errors.ts';
import type { KeyValue } from './model.ts';

const UINT64_MAX = 0xffff_ffff_ffff_ffffn;
const INT64_MIN = -0x8000_0000_0000_0000n;
const INT64_MAX = 0x7fff_ffff_ffff_ffffn;

export function checkUint32(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new OtlpEncodeError(field, `must be an integer from 0 to 4294967295, got ${String(value)}`);
  }
}

export function checkInt32(value: number, field: string): void {
  if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0x7fff_ffff) {
    throw new OtlpEncodeError(field, `must be an integer from -2147483648 to 2147483647, got ${String(value)}`);
  }
}

/** Invariant C6: fixed64 timestamps are bigints in 0 ..= 2^64-1. */
export function checkUint64(value: bigint, field: string): void {
  if (typeof value !== 'bigint' || value < 0n || value > UINT64_MAX) {
    throw new OtlpEncodeError(field, `must be a bigint from 0 to 18446744073709551615, got ${String(value)}`);
  }
}

/** Invariant C6: int64 values are bigints in -2^63 ..= 2^63-1. */
export function checkInt64(value: bigint, field: string): void {
  if (value < INT64_MIN || value > INT64_MAX) {
    throw new OtlpEncodeError(field, `must be within the int64 range, got ${String(value)}`);
  }
}

/** Invariant C3: ids are exactly 16 (trace) or 8 (span) bytes. */
export function checkId(id: Uint8Array, bytes: number, field: string, what: string): void {
  if (!(id instanceof Uint8Array) || id.length !== bytes) {
    const got = id instanceof Uint8Array ? `${id.length} bytes` : String(id);
    throw new OtlpEncodeError(field, `${what} must be a Uint8Array of ${bytes} bytes, got ${got}`);
  }
}

/** A parent span id is absent (undefined or empty) or exactly 8 bytes. */
export function hasParent(id: Uint8Array | undefined): id is Uint8Array {
  if (id === undefined || id.length === 0) return false;
  checkId(id, 8, 'parentSpanId', 'parent span id');
  return true;
}

export function isKeyValueList(value: unknown): value is { kvlist: readonly KeyValue[] } {
  return typeof value === 'object' && value !== null && Array.isArray((value as { kvlist?: unknown }).kvlist);
}

/** Names what a bad AnyValue was, for an error message the caller can act on. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined (use null for an empty value)';
  if (typeof value === 'object' && value !== null) return `an object without a kvlist array (${value.constructor?.name ?? 'no prototype'})`;
  return typeof value;
}
