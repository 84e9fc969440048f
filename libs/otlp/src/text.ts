/** Hex and base64 text forms of bytes used by OTLP/JSON. */
import { OtlpDecodeError } from './errors.ts';

const HEX_PAIRS: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** -1 for characters that are not hex digits; both letter cases map (Invariant C15). */
const HEX_VALUES: Int8Array = (() => {
  const values = new Int8Array(128).fill(-1);
  for (let i = 0; i < 10; i++) values[48 + i] = i;
  for (let i = 0; i < 6; i++) {
    values[65 + i] = 10 + i;
    values[97 + i] = 10 + i;
  }
  return values;
})();

/** Lowercase hex, as OTLP/JSON writes ids. */
export function toHex(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i++) text += HEX_PAIRS[bytes[i] as number];
  return text;
}

/** Parses hex in either letter case; `field` names the JSON field in errors. */
export function fromHex(text: string, field: string): Uint8Array {
  if (text.length % 2 !== 0) throw new OtlpDecodeError(field, `hex id has an odd number of digits (${text.length})`);
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    const high = hexValue(text.charCodeAt(2 * i));
    const low = hexValue(text.charCodeAt(2 * i + 1));
    if (high < 0 || low < 0) {
      throw new OtlpDecodeError(field, `not a hex id: ${JSON.stringify(text)} (ids are hex in OTLP/JSON, not base64)`);
    }
    bytes[i] = high * 16 + low;
  }
  return bytes;
}

function hexValue(code: number): number {
  return code < 128 ? (HEX_VALUES[code] as number) : -1;
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Standard or URL-safe alphabet, padding optional, as proto3 JSON parsers accept. */
const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;

export function fromBase64(text: string, field: string): Uint8Array {
  const unpadded = text.replace(/=+$/, '');
  const badPadding = text.length !== unpadded.length && text.length % 4 !== 0;
  if (!BASE64.test(text) || unpadded.length % 4 === 1 || badPadding) {
    throw new OtlpDecodeError(field, `not base64: ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`);
  }
  // Copied out of Buffer's shared pool so the model holds plain, unshared Uint8Arrays.
  return new Uint8Array(Buffer.from(unpadded, 'base64'));
}
