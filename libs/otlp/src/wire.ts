/**
 * Protobuf wire primitives over a Uint8Array.
 *
 * Hand-written rather than protobufjs's Reader/Writer because the codec needs what those
 * lack: 64-bit values as bigint without Long objects, every overrun reported as an
 * OtlpDecodeError (protobufjs throws RangeError), nested limits so a field can never read
 * past the end of its enclosing message, and iterative group skipping with a depth cap.
 */
import { isUtf8 } from 'node:buffer';
import type { BufferPool } from './buffer-pool.ts';
import { OtlpDecodeError, OtlpEncodeError } from './errors.ts';
import { fieldNameOf, Wire, WIRE_NAMES } from './schema.ts';
import type { TagTable } from './schema.ts';

/** Deepest nesting of unknown groups skipped before the input is rejected (Invariant C11). */
export const MAX_GROUP_DEPTH = 64;

/**
 * Attribute keys and many values repeat from span to span, so short strings go through a
 * direct-mapped cache: a hit (byte-for-byte equal to the cached input) returns the string
 * decoded earlier instead of building a new one, roughly halving string cost per span.
 * Only successfully decoded (valid UTF-8) strings are cached. One cache per module
 * instance, so per worker thread; its memory is fixed (slots × bytes plus the strings).
 */
const CACHE_SLOTS = 4096;
const CACHED_STRING_BYTES = 64;
const cacheBytes = new Uint8Array(CACHE_SLOTS * CACHED_STRING_BYTES);
const cacheLengths = new Int32Array(CACHE_SLOTS).fill(-1);
const cacheStrings: string[] = Array.from({ length: CACHE_SLOTS }, () => '');

// ignoreBOM keeps a leading U+FEFF in a string value instead of silently dropping it.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

export const NO_BYTES: Uint8Array = new Uint8Array(0);

export class ProtoReader {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private pos = 0;
  private limit: number;
  /** High 32 bits of the varint read last; varint() returns the low 32. */
  private hi = 0;

  constructor(input: Uint8Array) {
    // A Buffer would make slice() return Buffers; the model promises plain Uint8Arrays.
    this.buf = input.constructor === Uint8Array ? input : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.limit = this.buf.length;
  }

  /** True while the current message has bytes left. */
  more(): boolean {
    return this.pos < this.limit;
  }

  /** The input as a plain Uint8Array (the one offsets refer to). */
  get input(): Uint8Array {
    return this.buf;
  }

  /** The next byte to read. */
  get offset(): number {
    return this.pos;
  }

  /** The end of the current message. */
  get messageEnd(): number {
    return this.limit;
  }

  // Checking readers for the validating scan (proto-scan.ts): they apply the same rules as
  // the reading ones above but build no value, so a scan allocates nothing per field.

  skipVarint(): void {
    this.varint();
  }

  skipFixed64(): void {
    this.need(8, 'fixed64');
    this.pos += 8;
  }

  skipFixed32(): void {
    this.need(4, 'fixed32');
    this.pos += 4;
  }

  /** Skips any field, known or not, by its wire type: for input validated before (proto-scan). */
  skipField(tag: number): void {
    this.skip(tag & 7, tag >>> 3);
  }

  /** Skips a bytes field; returns its length (ids are checked by length). */
  skipBytes(): number {
    const length = this.length();
    this.pos += length;
    return length;
  }

  /**
   * The scan's fast path for the commonest attribute: a KeyValue (at the reader, after its tag)
   * of an ASCII key and an AnyValue holding one ASCII string, bool, int or double, every length
   * under 128. Skips it and returns true; anything else returns false having consumed nothing,
   * and the general walk takes over. Accepts only encodings the general walk accepts too
   * (Invariant C22), in a third of its time: no calls, one pass over the bytes.
   */
  skipSimpleKeyValue(): boolean {
    const buf = this.buf;
    let p = this.pos;
    const length = buf[p] ?? 0x80;
    if (length >= 0x80) return false;
    const end = p + 1 + length;
    if (end > this.limit) return false;
    p++;
    // key = 1 (string)
    if (buf[p] !== 0x0a) return false;
    const keyLength = buf[p + 1] ?? 0x80;
    p += 2;
    if (keyLength >= 0x80 || p + keyLength > end || !isAsciiRange(buf, p, p + keyLength)) return false;
    p += keyLength;
    if (p === end) return this.skipTo(end);
    // value = 2 (AnyValue), which must end exactly where the KeyValue does
    if (buf[p] !== 0x12 || buf[p + 1] !== end - p - 2) return false;
    p += 2;
    if (p === end) return this.skipTo(end);
    const tag = buf[p]!;
    p++;
    if (tag === 0x0a) {
      // string_value = 1
      return buf[p] === end - p - 1 && isAsciiRange(buf, p + 1, end) && this.skipTo(end);
    }
    if (tag === 0x21) return end - p === 8 && this.skipTo(end); // double_value = 4 (fixed64)
    if (tag !== 0x10 && tag !== 0x18) return false; // bool_value = 2, int_value = 3 (varints)
    // Invariant C10: 1 to 10 bytes, every one but the last with its high bit set.
    const varintBytes = end - p;
    if (varintBytes < 1 || varintBytes > 10 || buf[end - 1]! >= 0x80) return false;
    for (let i = p; i < end - 1; i++) if (buf[i]! < 0x80) return false;
    return this.skipTo(end);
  }

  private skipTo(end: number): true {
    this.pos = end;
    return true;
  }

  /** Skips a string field after checking it is valid UTF-8 (Invariant C7), as string() does. */
  skipString(): void {
    const length = this.length();
    const start = this.pos;
    const end = start + length;
    this.pos = end;
    const buf = this.buf;
    if (!isAsciiRange(buf, start, end) && !isUtf8(buf.subarray(start, end))) {
      throw new OtlpDecodeError('', `string at byte ${start} is not valid UTF-8`);
    }
  }

  /** Reads a field tag; Invariant C10: field number 0 and tags past 32 bits are malformed. */
  tag(): number {
    const lo = this.varint() >>> 0;
    if (this.hi !== 0 || lo < 8) throw this.error(`invalid field tag ${lo} (field number 0 or too large)`);
    return lo;
  }

  uint32(): number {
    return this.varint() >>> 0;
  }

  /** int32 and enums: negative values arrive sign-extended to 10 bytes; the low 32 bits carry them. */
  int32(): number {
    return this.varint() | 0;
  }

  bool(): boolean {
    return (this.varint() | this.hi) !== 0;
  }

  /** Invariant C6: int64 is read to an exact bigint from its 64-bit two's complement. */
  int64(): bigint {
    const lo = this.varint() >>> 0;
    const hi = this.hi >>> 0;
    if (hi === 0) return BigInt(lo);
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  fixed32(): number {
    this.need(4, 'fixed32');
    const value = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return value;
  }

  /** Invariant C6: fixed64 timestamps are read to an exact unsigned bigint. */
  fixed64(): bigint {
    this.need(8, 'fixed64');
    const value = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return value;
  }

  double(): number {
    this.need(8, 'double');
    const value = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return value;
  }

  /** A copy, so the model never pins the request buffer (Invariant C4). */
  bytes(): Uint8Array {
    const length = this.length();
    const start = this.pos;
    this.pos += length;
    return this.buf.slice(start, start + length);
  }

  /** Invariant C7: strings must be valid UTF-8. */
  string(): string {
    const length = this.length();
    const start = this.pos;
    this.pos += length;
    return this.decodeUtf8(start, start + length);
  }

  /** Enters a length-delimited message; returns the outer limit to hand back to leave(). */
  enter(): number {
    const length = this.length();
    const outer = this.limit;
    this.limit = this.pos + length;
    return outer;
  }

  leave(outer: number): void {
    this.limit = outer;
  }

  /**
   * Skips a field this decoder does not know (Invariant C11). A known field with the wrong
   * wire type is rejected instead, since skipping it would silently lose data (Invariant C10).
   */
  skipUnknown(tag: number, known: TagTable): void {
    const fieldNumber = tag >>> 3;
    const wire = tag & 7;
    const name = fieldNameOf(known, fieldNumber);
    if (name !== undefined) {
      const expected = (known[name] as number) & 7;
      throw new OtlpDecodeError(
        name,
        `field ${fieldNumber} has wire type ${wire} (${wireName(wire)}), expected ${expected} (${wireName(expected)})`,
      );
    }
    this.skip(wire, fieldNumber);
  }

  private skip(wire: number, fieldNumber: number): void {
    switch (wire) {
      case Wire.Varint:
        this.varint();
        return;
      case Wire.I64:
        this.need(8, 'fixed64');
        this.pos += 8;
        return;
      case Wire.Len: {
        // Not `this.pos += this.length()`: that reads pos before length() advances it.
        const length = this.length();
        this.pos += length;
        return;
      }
      case Wire.I32:
        this.need(4, 'fixed32');
        this.pos += 4;
        return;
      case Wire.StartGroup:
        this.skipGroup(fieldNumber);
        return;
      case Wire.EndGroup:
        throw this.error(`end-group for field ${fieldNumber} without a matching start-group`);
      default:
        throw this.error(`invalid wire type ${wire} on field ${fieldNumber}`);
    }
  }

  /** Iterative, with a stack of open group numbers, so hostile nesting cannot overflow the call stack. */
  private skipGroup(fieldNumber: number): void {
    const open = [fieldNumber];
    while (open.length > 0) {
      if (!this.more()) throw this.error(`group for field ${open[open.length - 1]} is not closed`);
      const tag = this.tag();
      const wire = tag & 7;
      const inner = tag >>> 3;
      if (wire === Wire.EndGroup) {
        const expected = open.pop();
        if (inner !== expected) throw this.error(`end-group for field ${inner} closes the group of field ${expected}`);
      } else if (wire === Wire.StartGroup) {
        if (open.length >= MAX_GROUP_DEPTH) throw this.error(`groups nested deeper than ${MAX_GROUP_DEPTH}`);
        open.push(inner);
      } else {
        this.skip(wire, inner);
      }
    }
  }

  /** Reads a length prefix and checks it fits in the current message (Invariant C10). */
  private length(): number {
    const length = this.varint();
    if (this.hi !== 0 || length < 0) throw this.error('length prefix is 2 GiB or more');
    if (length > this.limit - this.pos) {
      throw this.error(`truncated: length ${length} exceeds the ${this.limit - this.pos} bytes left`);
    }
    return length;
  }

  private need(bytes: number, what: string): void {
    if (this.limit - this.pos < bytes) {
      throw this.error(`truncated: ${what} needs ${bytes} bytes, ${this.limit - this.pos} left`);
    }
  }

  /** Low 32 bits returned (as int32), high 32 bits left in this.hi. */
  private varint(): number {
    const pos = this.pos;
    if (pos < this.limit) {
      const first = this.buf[pos] as number;
      if (first < 0x80) {
        this.pos = pos + 1;
        this.hi = 0;
        return first;
      }
    }
    return this.varintSlow();
  }

  private varintSlow(): number {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    // Invariant C10: at most 10 bytes; bits past 64 are dropped as protobuf does.
    for (let i = 0; i < 10; i++) {
      if (pos >= this.limit) throw this.error('truncated: varint runs past the end');
      const byte = buf[pos++] as number;
      if (i < 4) {
        lo |= (byte & 0x7f) << (7 * i);
      } else if (i === 4) {
        lo |= (byte & 0x0f) << 28;
        hi = (byte & 0x7f) >>> 4;
      } else {
        hi |= (byte & 0x7f) << (7 * i - 32);
      }
      if (byte < 0x80) {
        this.pos = pos;
        this.hi = hi;
        return lo;
      }
    }
    throw this.error('varint longer than 10 bytes');
  }

  private decodeUtf8(start: number, end: number): string {
    const length = end - start;
    if (length === 0) return '';
    if (length > CACHED_STRING_BYTES) return this.decodeUtf8Native(start, end);
    const buf = this.buf;
    let hash = length;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ (buf[i] as number), 0x01000193);
    const slot = (hash >>> 0) & (CACHE_SLOTS - 1);
    const base = slot * CACHED_STRING_BYTES;
    if (cacheLengths[slot] === length) {
      let i = 0;
      while (i < length && cacheBytes[base + i] === buf[start + i]) i++;
      if (i === length) return cacheStrings[slot] as string;
    }
    const text = this.decodeShortUtf8(start, end);
    cacheBytes.set(buf.subarray(start, end), base);
    cacheLengths[slot] = length;
    cacheStrings[slot] = text;
    return text;
  }

  /** Short ASCII is built by a loop, cheaper than a TextDecoder call at this size. */
  private decodeShortUtf8(start: number, end: number): string {
    const buf = this.buf;
    let text = '';
    for (let i = start; i < end; i++) {
      const byte = buf[i] as number;
      if (byte >= 0x80) return this.decodeUtf8Native(start, end);
      text += String.fromCharCode(byte);
    }
    return text;
  }

  private decodeUtf8Native(start: number, end: number): string {
    try {
      return utf8Decoder.decode(this.buf.subarray(start, end));
    } catch {
      throw new OtlpDecodeError('', `string at byte ${start} is not valid UTF-8`);
    }
  }

  private error(reason: string): OtlpDecodeError {
    return new OtlpDecodeError('', `${reason} (at byte ${this.pos})`);
  }
}

/**
 * A plain Uint8Array over fresh, unzeroed memory: a batch buffer is megabytes and zeroing it
 * cost more than a percent of the collector's CPU. Invariant: a writer exposes only bytes it
 * wrote (finish() returns [0, pos)), so the old contents are never seen.
 */
function uninitializedBytes(size: number): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size);
}

/**
 * Copies source[start, end) into target at `at`. Why not `target.set(source.subarray(...))`:
 * the encoder copies every received span this way (C21), and the subarray view was a third of
 * the main thread's young-generation allocation (~100 B per span, measured with a sampling heap
 * profile); Buffer#copy accepts any Uint8Array as source and target and allocates nothing.
 */
const bufferCopy = Buffer.prototype.copy;
function copyRange(source: Uint8Array, start: number, end: number, target: Uint8Array, at: number): void {
  bufferCopy.call(source, target, at, start, end);
}

/** True when bytes[start, end) are all ASCII (so valid UTF-8): ORs eight bytes at a time, one branch per eight. */
function isAsciiRange(bytes: Uint8Array, start: number, end: number): boolean {
  let high = 0;
  let i = start;
  for (const stop = end - 7; i < stop; i += 8) {
    high |= bytes[i]! | bytes[i + 1]! | bytes[i + 2]! | bytes[i + 3]! | bytes[i + 4]! | bytes[i + 5]! | bytes[i + 6]! | bytes[i + 7]!;
  }
  for (; i < end; i++) high |= bytes[i]!;
  return high < 0x80;
}

function wireName(wire: number): string {
  return WIRE_NAMES[wire] ?? 'invalid';
}

/** Bytes a varint of the unsigned 32-bit value needs. */
function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/** UTF-8 byte length as TextEncoder will write it (a lone surrogate becomes U+FFFD, 3 bytes). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

export class ProtoWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;
  private readonly pool: BufferPool | undefined;

  /** With a pool, the writer's storage comes from it (see finish()). */
  constructor(initialBytes = 1024, pool?: BufferPool) {
    this.pool = pool;
    this.buf = this.storage(Math.max(64, initialBytes));
    this.view = new DataView(this.buf.buffer);
  }

  /**
   * The encoded bytes. Invariant: a writer is single-use — nothing is written after finish() —
   * so a view is safe. Without a pool, a view is returned when at least half the buffer is used
   * (a batch of megabytes is not copied again), otherwise a copy, so a view never pins more
   * than 2×. With a pool, always a view of pooled storage, which the owner gives back with
   * `pool.give(bytes.buffer)` once nothing reads the bytes (Invariant C23).
   */
  finish(): Uint8Array {
    if (this.pool !== undefined || this.pos >= this.buf.length >>> 1) return this.buf.subarray(0, this.pos);
    return this.buf.slice(0, this.pos);
  }

  tag(tag: number): void {
    this.varint32(tag);
  }

  varint32(value: number): void {
    this.ensure(5);
    let v = value >>> 0;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  /** int32 and enums: negatives are sign-extended to 64 bits, as protobuf requires. */
  int32(value: number): void {
    if (value >= 0) this.varint32(value);
    else this.varint64(value >>> 0, 0xffffffff);
  }

  /** Invariant C6: an int64 bigint written as its 64-bit two's complement. */
  int64(value: bigint): void {
    const unsigned = BigInt.asUintN(64, value);
    this.varint64(Number(unsigned & 0xffffffffn), Number(unsigned >> 32n));
  }

  bool(value: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = value ? 1 : 0;
  }

  fixed32(value: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, value, true);
    this.pos += 4;
  }

  fixed64(value: bigint): void {
    this.ensure(8);
    this.view.setBigUint64(this.pos, value, true);
    this.pos += 8;
  }

  double(value: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  bytes(value: Uint8Array): void {
    this.varint32(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** A length-delimited field whose body is source[start, end), copied as it is. */
  bytesRange(source: Uint8Array, start: number, end: number): void {
    const length = end - start;
    this.varint32(length);
    this.ensure(length);
    copyRange(source, start, end, this.buf, this.pos);
    this.pos += length;
  }

  string(value: string): void {
    const length = value.length <= 64 ? utf8Length(value) : Buffer.byteLength(value, 'utf8');
    this.varint32(length);
    this.ensure(length);
    if (length === value.length) {
      const buf = this.buf;
      let pos = this.pos;
      for (let i = 0; i < value.length; i++) buf[pos++] = value.charCodeAt(i);
      this.pos = pos;
      return;
    }
    const { written } = utf8Encoder.encodeInto(value, this.buf.subarray(this.pos, this.pos + length));
    if (written !== length) throw new OtlpEncodeError('', `UTF-8 length of a string changed while encoding (${written} != ${length})`);
    this.pos += length;
  }

  /**
   * Starts a length-delimited field whose size is not known yet: one byte is reserved for
   * the length, enough for most nested messages; end() widens it when the body is larger.
   */
  begin(tag: number): number {
    this.varint32(tag);
    this.ensure(1);
    return this.pos++;
  }

  end(lengthAt: number): void {
    const length = this.pos - lengthAt - 1;
    if (length < 0x80) {
      this.buf[lengthAt] = length;
      return;
    }
    const extra = varintSize(length) - 1;
    this.ensure(extra);
    this.buf.copyWithin(lengthAt + 1 + extra, lengthAt + 1, this.pos);
    this.pos += extra;
    let at = lengthAt;
    let v = length;
    while (v >= 0x80) {
      this.buf[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[at] = v;
  }

  private varint64(lo: number, hi: number): void {
    this.ensure(10);
    let low = lo >>> 0;
    let high = hi >>> 0;
    while (high !== 0 || low >= 0x80) {
      this.buf[this.pos++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    this.buf[this.pos++] = low;
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + bytes) size *= 2;
    const grown = this.storage(size);
    grown.set(this.buf.subarray(0, this.pos));
    // The old storage is the pool's again: nothing outside this writer has seen it.
    this.pool?.give(this.buf.buffer);
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }

  /** At least `bytes` of writable storage; a pooled buffer is used to its whole capacity. */
  private storage(bytes: number): Uint8Array {
    if (this.pool === undefined) return uninitializedBytes(bytes);
    return new Uint8Array(this.pool.take(bytes).buffer);
  }
}
