import { describe, expect, it } from 'vitest';
import { OtlpDecodeError } from './errors.ts';
import { MAX_GROUP_DEPTH, ProtoReader, ProtoWriter } from './wire.ts';

function written(write: (writer: ProtoWriter) => void): Uint8Array {
  const writer = new ProtoWriter(8);
  write(writer);
  return writer.finish();
}

function decodeError(read: () => unknown): OtlpDecodeError {
  try {
    read();
  } catch (error) {
    if (error instanceof OtlpDecodeError) return error;
    throw error;
  }
  throw new Error('expected an OtlpDecodeError, but reading succeeded');
}

describe('varints', () => {
  it.each([
    [0, [0x00]],
    [1, [0x01]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [300, [0xac, 0x02]],
    [0xffffffff, [0xff, 0xff, 0xff, 0xff, 0x0f]],
  ])('writes and reads uint32 %d as %j', (value, bytes) => {
    expect([...written((w) => w.varint32(value))]).toEqual(bytes);
    expect(new ProtoReader(new Uint8Array(bytes)).uint32()).toBe(value);
  });

  it('writes a negative int32 sign-extended to 10 bytes and reads it back', () => {
    const bytes = written((w) => w.int32(-1));
    expect([...bytes]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(new ProtoReader(bytes).int32()).toBe(-1);
    expect(new ProtoReader(written((w) => w.int32(-2147483648))).int32()).toBe(-2147483648);
  });

  it.each([0n, 1n, -1n, 127n, 128n, 2n ** 53n + 1n, -(2n ** 63n), 2n ** 63n - 1n, 0x1_0000_0000n, -0x1_0000_0000n])(
    'round-trips int64 %s exactly',
    (value) => {
      expect(new ProtoReader(written((w) => w.int64(value))).int64()).toBe(value);
    },
  );

  it('reads the low 32 bits of an oversized varint for uint32 fields, as protobuf does', () => {
    const bytes = written((w) => w.int64(0x1_0000_0005n));
    expect(new ProtoReader(bytes).uint32()).toBe(5);
  });

  it('rejects a varint that runs past the end', () => {
    expect(decodeError(() => new ProtoReader(new Uint8Array([0x80, 0x80])).uint32()).reason).toMatch(/truncated: varint/);
  });

  it('rejects a varint longer than 10 bytes', () => {
    const bytes = new Uint8Array(11).fill(0x80);
    expect(decodeError(() => new ProtoReader(bytes).int64()).reason).toMatch(/longer than 10 bytes/);
  });
});

describe('fixed-width values', () => {
  it('round-trips fixed32, fixed64 and double little-endian', () => {
    const bytes = written((w) => {
      w.fixed32(0xdeadbeef);
      w.fixed64(18446744073709551615n);
      w.double(-0);
      w.double(Number.NaN);
    });
    expect([...bytes.subarray(0, 4)]).toEqual([0xef, 0xbe, 0xad, 0xde]);
    const reader = new ProtoReader(bytes);
    expect(reader.fixed32()).toBe(0xdeadbeef);
    expect(reader.fixed64()).toBe(18446744073709551615n);
    expect(Object.is(reader.double(), -0)).toBe(true);
    expect(reader.double()).toBeNaN();
  });

  it('rejects fixed64 with fewer than 8 bytes left', () => {
    expect(decodeError(() => new ProtoReader(new Uint8Array(7)).fixed64()).reason).toMatch(/fixed64 needs 8 bytes, 7 left/);
  });
});

describe('strings and bytes', () => {
  it.each(['', 'ascii', 'héllo wörld', '日本語テキスト', '🎉 emoji', 'x'.repeat(200), '\uFEFFleading BOM is data'])(
    'round-trips %j',
    (text) => {
      expect(new ProtoReader(written((w) => w.string(text))).string()).toBe(text);
    },
  );

  it('returns equal strings for repeated input whether or not they hit the string cache', () => {
    const bytes = written((w) => {
      w.string('service.name');
      w.string('service.name');
      w.string('service.namf');
    });
    const reader = new ProtoReader(bytes);
    expect([reader.string(), reader.string(), reader.string()]).toEqual(['service.name', 'service.name', 'service.namf']);
  });

  it('replaces a lone surrogate with U+FFFD when encoding, as UTF-8 cannot carry it', () => {
    expect(new ProtoReader(written((w) => w.string('a\uD800b'))).string()).toBe('a\uFFFDb');
  });

  it('rejects invalid UTF-8 in a string, short or long', () => {
    for (const length of [3, 100]) {
      const body = new Uint8Array(length).fill(0x61);
      body[1] = 0xff;
      const bytes = new Uint8Array([length, ...body]);
      expect(decodeError(() => new ProtoReader(bytes).string()).reason).toMatch(/not valid UTF-8/);
    }
  });

  it('copies bytes out as plain Uint8Arrays even from a Buffer', () => {
    const input = Buffer.from([3, 1, 2, 3]);
    const out = new ProtoReader(input).bytes();
    expect(out.constructor).toBe(Uint8Array);
    expect([...out]).toEqual([1, 2, 3]);
    input[1] = 9;
    expect(out[0]).toBe(1);
  });

  it('rejects a length prefix beyond the data', () => {
    expect(decodeError(() => new ProtoReader(new Uint8Array([5, 1, 2])).bytes()).reason).toMatch(/length 5 exceeds the 2 bytes left/);
  });
});

describe('nested lengths', () => {
  it.each([0, 100, 125, 126, 200, 16380, 70000])('widens the reserved length byte around a payload of %d bytes', (size) => {
    const payload = new Uint8Array(size).fill(7);
    const bytes = written((w) => {
      const at = w.begin(0x0a);
      w.tag(0x12);
      w.bytes(payload);
      w.end(at);
      w.varint32(99);
    });
    const bodyLength = 1 + varintLength(size) + size;
    expect(bytes.length).toBe(1 + varintLength(bodyLength) + bodyLength + 1);
    const reader = new ProtoReader(bytes);
    expect(reader.tag()).toBe(0x0a);
    const outer = reader.enter();
    expect(reader.tag()).toBe(0x12);
    expect(reader.bytes()).toEqual(payload);
    expect(reader.more()).toBe(false);
    reader.leave(outer);
    expect(reader.uint32()).toBe(99);
  });

  it('stops a field from reading past the end of its enclosing message', () => {
    // A message of 2 bytes whose inner field claims 3 bytes, followed by bytes of the parent.
    const reader = new ProtoReader(new Uint8Array([0x0a, 0x02, 0x0a, 0x03, 0x61, 0x62, 0x63]));
    reader.tag();
    reader.enter();
    reader.tag();
    expect(decodeError(() => reader.string()).reason).toMatch(/length 3 exceeds the 0 bytes left/);
  });
});

function repeat(byte: number, times: number): number[] {
  return Array.from({ length: times }, () => byte);
}

function varintLength(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : 3;
}

describe('skipping unknown fields', () => {
  const known = { only: 0x0a };

  function skipAll(bytes: number[]): ProtoReader {
    const reader = new ProtoReader(new Uint8Array(bytes));
    while (reader.more()) reader.skipUnknown(reader.tag(), known);
    return reader;
  }

  it('skips varint, fixed64, length-delimited, fixed32 and (nested) group fields', () => {
    const reader = skipAll([
      0x10, 0x96, 0x01, // field 2 varint
      0x19, 1, 2, 3, 4, 5, 6, 7, 8, // field 3 fixed64
      0x22, 0x02, 0x61, 0x62, // field 4 length-delimited
      0x2d, 1, 2, 3, 4, // field 5 fixed32
      0x33, 0x3b, 0x40, 0x01, 0x3c, 0x34, // field 6 group holding group 7 holding a varint
    ]);
    expect(reader.more()).toBe(false);
  });

  it('rejects a known field with the wrong wire type, naming the field', () => {
    const error = decodeError(() => skipAll([0x08, 0x01]));
    expect(error.path).toBe('only');
    expect(error.reason).toBe('field 1 has wire type 0 (varint), expected 2 (length-delimited)');
  });

  it.each([
    ['wire type 6', [0x16], /invalid wire type 6/],
    ['wire type 7', [0x17], /invalid wire type 7/],
    ['an end-group without a start', [0x14], /without a matching start-group/],
    ['a mismatched end-group', [0x13, 0x1c], /end-group for field 3 closes the group of field 2/],
    ['an unterminated group', [0x13, 0x20, 0x01], /group for field 2 is not closed/],
    ['field number 0', [0x00, 0x01], /field number 0/],
  ])('rejects %s', (_name, bytes, reason) => {
    expect(decodeError(() => skipAll(bytes)).reason).toMatch(reason);
  });

  it(`rejects groups nested deeper than ${MAX_GROUP_DEPTH} without recursing`, () => {
    const depth = 10_000;
    const bytes = [...repeat(0x13, depth), ...repeat(0x14, depth)];
    expect(decodeError(() => skipAll(bytes)).reason).toMatch(/groups nested deeper than 64/);
    const shallow = [...repeat(0x13, MAX_GROUP_DEPTH), ...repeat(0x14, MAX_GROUP_DEPTH)];
    expect(skipAll(shallow).more()).toBe(false);
  });
});
