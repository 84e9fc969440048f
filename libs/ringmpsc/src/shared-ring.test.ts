import { describe, expect, it } from 'vitest';
import { RecordTooLargeError, RingArgumentError, RingClosedError, RingStateError } from './errors.ts';
import { CONTROL_BYTES, HEAD, LINE_BYTES, PRODUCER_CLOSED, TAIL } from './shared-layout.ts';
import { createSharedRing, SharedRingConsumer, SharedRingProducer } from './shared-ring.ts';

function record(seed: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (seed * 31 + i * 7) & 0xff;
  return bytes;
}

function takeAll(consumer: SharedRingConsumer, max = Number.MAX_SAFE_INTEGER): Uint8Array[] {
  const out: Uint8Array[] = [];
  consumer.consumeUpTo(max, (bytes, offset, length) => out.push(bytes.slice(offset, offset + length)));
  return out;
}

function pair(ringBits: number, initialSequence = 0) {
  const handle = createSharedRing({ ringBits, initialSequence });
  return { handle, producer: new SharedRingProducer(handle), consumer: new SharedRingConsumer(handle) };
}

describe('SharedRing layout', () => {
  it('puts head and tail on separate 128-byte lines and the data after the control lines', () => {
    const { handle } = pair(8);
    expect(HEAD * 4).toBe(0);
    expect(TAIL * 4).toBe(LINE_BYTES);
    expect(Math.floor((HEAD * 4) / LINE_BYTES)).not.toBe(Math.floor((TAIL * 4) / LINE_BYTES));
    expect(handle.ring.byteLength).toBe(CONTROL_BYTES + 256);
    expect(CONTROL_BYTES % LINE_BYTES).toBe(0);
  });

  it('rejects a buffer that is not a ring', () => {
    const fake = { ring: new SharedArrayBuffer(CONTROL_BYTES + 256), doorbell: new SharedArrayBuffer(256) };
    expect(() => new SharedRingProducer(fake)).toThrow(/not made by createSharedRing/);
    expect(() => new SharedRingConsumer({} as never)).toThrow(RingArgumentError);
  });
});

describe('SharedRing claim/commit/consume', () => {
  it('round-trips records of every small size in order, publishing in batches', () => {
    const { producer, consumer } = pair(12); // 4 KiB: stays under the auto-publish quarter
    const sent: Uint8Array[] = [];
    for (let length = 0; length < 20; length++) {
      const bytes = record(length, length);
      expect(producer.write(bytes)).toBe(true);
      sent.push(bytes);
    }
    // Not yet published: the consumer sees nothing until publish().
    expect(takeAll(consumer)).toEqual([]);
    producer.publish();
    expect(takeAll(consumer)).toEqual(sent);
  });

  it('writes straight into ring memory through the claim and lets commit shrink the record', () => {
    const { producer, consumer } = pair(8);
    const claim = producer.claim(16)!;
    claim.view.setUint32(claim.offset, 0xdeadbeef, true);
    claim.bytes[claim.offset + 4] = 42;
    producer.commit(5);
    producer.publish();
    const [got] = takeAll(consumer);
    expect(got).toEqual(Uint8Array.from([0xef, 0xbe, 0xad, 0xde, 42]));
  });

  it('reuses one claim object: no allocation per record', () => {
    const { producer } = pair(10);
    const first = producer.claim(4);
    producer.commit();
    const second = producer.claim(4);
    producer.commit();
    expect(second).toBe(first);
  });

  it('never lets a record straddle the end: skips to the start with a marker', () => {
    const { producer, consumer } = pair(8); // 256 data bytes
    expect(producer.write(record(1, 192))).toBe(true); // 8 + 192 = 200 bytes: offsets 0..199
    producer.publish();
    expect(takeAll(consumer)).toHaveLength(1);
    // 56 bytes remain before the end; a 60-byte record (8 + 64 bytes) must go to offset 0.
    const claim = producer.claim(60)!;
    expect(claim.offset).toBe(8);
    claim.bytes.set(record(2, 60), claim.offset);
    producer.commit();
    producer.publish();
    expect(takeAll(consumer)).toEqual([record(2, 60)]);
  });

  it('fills the region exactly to its end without a skip (a record that hits the wrap exactly)', () => {
    const { producer, consumer } = pair(8);
    expect(producer.write(record(1, 96))).toBe(true); // 8 + 96 = 104 bytes
    producer.publish();
    takeAll(consumer);
    // 152 bytes remain: a 144-byte payload (8 + 144) fills them exactly.
    const claim = producer.claim(144)!;
    expect(claim.offset).toBe(112);
    expect(claim.offset + 144).toBe(256);
    claim.bytes.set(record(3, 144), claim.offset);
    producer.commit();
    expect(producer.write(record(4, 8))).toBe(true);
    producer.publish();
    const got = takeAll(consumer);
    expect(got).toEqual([record(3, 144), record(4, 8)]);
  });

  it('returns null when full, publishes on that failure, and frees space as the consumer takes records', () => {
    const { producer, consumer } = pair(8);
    let written = 0;
    while (producer.write(record(written, 24))) written++;
    expect(written).toBe(8); // 8 × (8 + 24) bytes = 256
    // The failed claim published everything, so the consumer sees all 8.
    expect(takeAll(consumer, 3)).toHaveLength(3);
    expect(producer.write(record(99, 24))).toBe(true);
    producer.publish();
    expect(takeAll(consumer)).toHaveLength(6);
    expect(producer.fullEvents).toBe(1);
  });

  it('accepts a record as large as the ring (less its header) once the ring is empty', () => {
    const { producer, consumer } = pair(8);
    expect(producer.maxRecordBytes).toBe(248);
    expect(producer.write(record(1, 20))).toBe(true);
    expect(producer.write(record(2, 248))).toBe(false);
    takeAll(consumer);
    // The skip to the start needed publishing; now the whole region is free.
    takeAll(consumer);
    expect(producer.write(record(2, 248))).toBe(true);
    producer.publish();
    expect(takeAll(consumer)).toEqual([record(2, 248)]);
  });
});

describe('SharedRing sequence counters at their limit', () => {
  it('keeps order and checksums while head and tail wrap past 2^32', () => {
    const { handle, producer, consumer } = pair(8, 2 ** 32 - 512);
    const sentLengths: number[] = [];
    let received = 0;
    const check = (bytes: Uint8Array, offset: number, length: number): void => {
      expect(length).toBe(sentLengths[received]);
      expect(bytes.slice(offset, offset + length)).toEqual(record(received, length));
      received++;
    };
    for (let round = 0; round < 200; round++) {
      const length = (round * 37) % 120;
      if (producer.write(record(sentLengths.length, length))) sentLengths.push(length);
      producer.publish();
      consumer.consumeUpTo(1 + (round % 3), check);
    }
    consumer.consumeBatch(check);
    expect(received).toBe(sentLengths.length);
    expect(sentLengths.length).toBeGreaterThan(150);
    // The counters really did wrap: they started at 2^32 - 512 and are now small positives.
    const tail = new Int32Array(handle.ring, 0, CONTROL_BYTES / 4)[TAIL]!;
    expect(tail).toBeGreaterThan(0);
    expect(tail).toBeLessThan(2 ** 20);
  });
});

describe('SharedRing bad input', () => {
  it('rejects a record larger than the ring with RecordTooLargeError, ring still usable', () => {
    const { producer, consumer } = pair(8);
    expect(() => producer.claim(249)).toThrow(RecordTooLargeError);
    expect(() => producer.claim(10_000)).toThrow(/record of 10000 bytes cannot fit .*at most 248 bytes/);
    for (const bad of [-1, 1.5, Number.NaN]) expect(() => producer.claim(bad)).toThrow(RingArgumentError);
    expect(producer.write(record(1, 10))).toBe(true);
    producer.publish();
    expect(takeAll(consumer)).toEqual([record(1, 10)]);
  });

  it('rejects commit without a claim, a second claim, and commit beyond the claim', () => {
    const { producer, consumer } = pair(8);
    expect(() => producer.commit()).toThrow(RingStateError);
    producer.claim(8);
    expect(() => producer.claim(8)).toThrow(/claim\(\) while a claim is open/);
    expect(() => producer.commit(9)).toThrow(/from 0 to the claimed 8, got 9/);
    producer.commit(8);
    producer.publish();
    expect(takeAll(consumer)).toHaveLength(1);
  });

  it('rejects claim after close with RingClosedError; the consumer drains what was committed', () => {
    const { producer, consumer } = pair(8);
    producer.write(record(1, 4));
    producer.close();
    expect(() => producer.claim(4)).toThrow(RingClosedError);
    expect(consumer.isProducerClosed).toBe(true);
    expect(consumer.isDrained).toBe(false);
    expect(takeAll(consumer)).toEqual([record(1, 4)]);
    expect(consumer.isDrained).toBe(true);
  });
});

function controlWords(handle: { ring: SharedArrayBuffer }): number[] {
  return Array.from(new Int32Array(handle.ring, 0, CONTROL_BYTES / 4));
}

function changedWords(before: number[], after: number[]): number[] {
  return before.flatMap((value, index) => (value === after[index] ? [] : [index]));
}

describe('SharedRing record alignment', () => {
  it('starts every payload on an 8-byte boundary of the buffer, whatever the record sizes', () => {
    const { handle, producer, consumer } = pair(10);
    const misaligned: number[] = [];
    for (let length = 0; length < 200; length++) {
      const claim = producer.claim(length % 61);
      if (claim === null) {
        producer.publish();
        takeAll(consumer);
        continue;
      }
      if ((claim.bytes.byteOffset + claim.offset) % 8 !== 0) misaligned.push(claim.offset);
      producer.commit();
    }
    expect(misaligned).toEqual([]);
    expect(handle.ring.byteLength % 8).toBe(0);
  });
});

describe('SharedRing single writer per field', () => {
  it('producer operations write only producer-owned words; consumer operations only consumer-owned ones', () => {
    const { handle, producer, consumer } = pair(8);
    let before = controlWords(handle);
    for (let i = 0; i < 5; i++) producer.write(record(i, 40));
    producer.publish();
    expect(changedWords(before, controlWords(handle))).toEqual([TAIL]);

    before = controlWords(handle);
    takeAll(consumer);
    expect(changedWords(before, controlWords(handle))).toEqual([HEAD]);

    before = controlWords(handle);
    producer.close();
    expect(changedWords(before, controlWords(handle))).toEqual([PRODUCER_CLOSED]);
  });
});
