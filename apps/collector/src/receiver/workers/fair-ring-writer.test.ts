import { describe, expect, it } from 'vitest';
import { createSharedRing, SharedRingConsumer, SharedRingProducer } from '#spanring/ringmpsc';
import { ReceiverOverloadedError } from '../span-sink.ts';
import type { WaitingLimits } from '../waiting-limits.ts';
import { FairRingWriter } from './fair-ring-writer.ts';

const RECORD_BYTES = 300;

function setUp(limits: WaitingLimits) {
  const handle = createSharedRing({ ringBits: 10 });
  const producer = new SharedRingProducer(handle);
  const consumer = new SharedRingConsumer(handle);
  const writer = new FairRingWriter(producer, 30_000, limits);
  const signal = new AbortController().signal;
  const write = (client: string, records = 1) =>
    writer.write(client, Array.from({ length: records }, () => ({ bytes: new Uint8Array(RECORD_BYTES), index: new Uint8Array(0), spanCount: 10 })), signal);
  const drain = (): number => consumer.consumeUpTo(Number.MAX_SAFE_INTEGER, () => {});
  return { writer, write, drain };
}

describe('FairRingWriter waiting limits (W13)', () => {
  it('refuses at once a client that already waits past clientBytes, and everyone past totalBytes; the waiting ones get in', async () => {
    const { writer, write, drain } = setUp({ clientBytes: 2 * RECORD_BYTES, totalBytes: 4 * RECORD_BYTES });
    // Three 300-byte records fill the 1 KiB ring without waiting.
    for (let i = 0; i < 3; i++) await expect(write('a')).resolves.toEqual({ accepted: 10, refusal: undefined });
    const waiting = [write('a'), write('a')];
    expect(writer.bytesWaiting).toBe(2 * RECORD_BYTES);
    // Past clientBytes: client a, which already waits, is refused at once; client b may wait.
    const refusedA = await write('a');
    expect(refusedA.accepted).toBe(0);
    expect(refusedA.refusal).toBeInstanceOf(ReceiverOverloadedError);
    expect(refusedA.refusal!.message).toMatch(/10 span\(s\) refused at once/);
    expect(writer.mustRefuse('a', RECORD_BYTES)).toBe(true);
    expect(writer.mustRefuse('b', RECORD_BYTES)).toBe(false);
    waiting.push(write('b'), write('c'));
    expect(writer.bytesWaiting).toBe(4 * RECORD_BYTES);
    // Past totalBytes: even a client with nothing waiting is refused.
    expect((await write('d')).refusal).toBeInstanceOf(ReceiverOverloadedError);

    let taken = 0;
    const settled = Promise.all(waiting);
    while (taken < 3 + waiting.length) {
      taken += drain();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await expect(settled).resolves.toEqual(waiting.map(() => ({ accepted: 10, refusal: undefined })));
    expect(writer.bytesWaiting).toBe(0);
  });

  it('lets a request wait when nothing else waits, however large', async () => {
    const { writer, write, drain } = setUp({ clientBytes: 1, totalBytes: 1 });
    await write('a', 3);
    const big = write('b', 5);
    expect(writer.bytesWaiting).toBe(5 * RECORD_BYTES);
    expect((await write('c')).refusal).toBeInstanceOf(ReceiverOverloadedError);
    let taken = 0;
    while (taken < 8) {
      taken += drain();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await expect(big).resolves.toEqual({ accepted: 50, refusal: undefined });
  });
});
