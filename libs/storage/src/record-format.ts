/**
 * One record of a segment file (specs/durable-log.md L1):
 *
 *   magic u32 | length u32 | seq u64 | crc u32 | reserved u32 | payload (length bytes)
 *
 * all little-endian; crc is CRC-32 (node:zlib's, zlib's own implementation in Node's binary) of
 * bytes 4..16 of the header (length and seq) followed by the payload. The magic lets recovery
 * find the next record after a damaged one; the checksum tells a real header from payload
 * bytes that happen to look like one.
 */
import { crc32 } from 'node:zlib';

export const RECORD_MAGIC = 0x314c5253; // "SRL1" read as little-endian bytes
export const HEADER_BYTES = 24;
/** Larger than any request a receiver accepts (64 MiB bodies), so a bigger length is damage. */
export const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

/** Writes the header of a record into `header` at `offset`. */
export function writeHeader(header: Buffer, offset: number, seq: number, payload: Uint8Array): void {
  header.writeUInt32LE(RECORD_MAGIC, offset);
  header.writeUInt32LE(payload.byteLength, offset + 4);
  header.writeUInt32LE(seq % 0x1_0000_0000, offset + 8);
  header.writeUInt32LE(Math.floor(seq / 0x1_0000_0000), offset + 12);
  header.writeUInt32LE(checksum(header.subarray(offset + 4, offset + 16), payload), offset + 16);
  header.writeUInt32LE(0, offset + 20);
}

function checksum(lengthAndSeq: Uint8Array, payload: Uint8Array): number {
  return crc32(payload, crc32(lengthAndSeq));
}

/** A record found in a segment's bytes. */
export interface FoundRecord {
  readonly seq: number;
  /** Where the payload starts in the segment. */
  readonly payloadOffset: number;
  readonly length: number;
}

export type ScanStep =
  | { readonly kind: 'record'; readonly record: FoundRecord; readonly next: number }
  /** The bytes at the offset are not a valid record (damaged, or not a header at all). */
  | { readonly kind: 'damaged' }
  /** A header (or part of one) whose record runs past the end: a write the process did not finish. */
  | { readonly kind: 'torn' }
  | { readonly kind: 'end' };

/** Reads the record at `offset` of `bytes`, checking everything (L2). */
export function readRecordAt(bytes: Buffer, offset: number): ScanStep {
  const remaining = bytes.byteLength - offset;
  if (remaining === 0) return { kind: 'end' };
  if (remaining < HEADER_BYTES) return prefixOfMagic(bytes, offset) ? { kind: 'torn' } : { kind: 'damaged' };
  if (bytes.readUInt32LE(offset) !== RECORD_MAGIC) return { kind: 'damaged' };
  const length = bytes.readUInt32LE(offset + 4);
  if (length > MAX_PAYLOAD_BYTES) return { kind: 'damaged' };
  const seq = bytes.readUInt32LE(offset + 8) + bytes.readUInt32LE(offset + 12) * 0x1_0000_0000;
  const payloadOffset = offset + HEADER_BYTES;
  if (payloadOffset + length > bytes.byteLength) return { kind: 'torn' };
  const expected = bytes.readUInt32LE(offset + 16);
  const actual = checksum(bytes.subarray(offset + 4, offset + 16), bytes.subarray(payloadOffset, payloadOffset + length));
  if (actual !== expected || !Number.isSafeInteger(seq) || seq <= 0) return { kind: 'damaged' };
  return { kind: 'record', record: { seq, payloadOffset, length }, next: payloadOffset + length };
}

/** The next offset after `from` where a valid record starts, or -1 (L3: resync after damage). */
export function nextRecordStart(bytes: Buffer, from: number): number {
  for (let offset = bytes.indexOf(MAGIC_BYTES, from); offset >= 0; offset = bytes.indexOf(MAGIC_BYTES, offset + 1)) {
    if (readRecordAt(bytes, offset).kind === 'record') return offset;
  }
  return -1;
}

const MAGIC_BYTES = Buffer.from([0x53, 0x52, 0x4c, 0x31]);

function prefixOfMagic(bytes: Buffer, offset: number): boolean {
  for (let i = 0; i < Math.min(4, bytes.byteLength - offset); i++) if (bytes[offset + i] !== MAGIC_BYTES[i]) return false;
  return true;
}
