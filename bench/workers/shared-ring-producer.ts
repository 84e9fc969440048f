/**
 * SharedRing producer: writes `count` stamped records with claim → set → commit, waiting with
 * waitForSpace() (Atomics.waitAsync) whenever the ring is full, then close()s the ring.
 */
import { SharedRingProducer } from '#spanring/ringmpsc';
import { RECORD_BYTES, recordTemplate, type ProduceDone, type SharedRingProduceRequest } from '../ring-protocol.ts';
import { remainingMs, serveProduceRequests } from './serve.ts';

const template = recordTemplate(RECORD_BYTES);
const last = RECORD_BYTES - 1;

/**
 * The hot loop, kept synchronous so the optimizer sees a plain loop (no await inside):
 * writes records [from, to) until the ring is full; returns the next index to write.
 */
function produceUntilFull(producer: SharedRingProducer, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    const claim = producer.claim(RECORD_BYTES);
    if (claim === null) return i;
    const bytes = claim.bytes;
    const offset = claim.offset;
    bytes.set(template, offset);
    bytes[offset] = i & 255;
    bytes[offset + last] = (i >>> 8) & 255;
    producer.commit();
  }
  return to;
}

serveProduceRequests(async (request: SharedRingProduceRequest): Promise<ProduceDone> => {
  const producer = new SharedRingProducer(request.handle);
  const deadline = performance.now() + request.timeoutMs;
  Atomics.store(new BigInt64Array(request.startClock), 0, process.hrtime.bigint());
  let next = 0;
  for (;;) {
    next = produceUntilFull(producer, next, request.count);
    if (next >= request.count) break;
    if (!(await producer.waitForSpace(RECORD_BYTES, remainingMs(deadline)))) {
      producer.close();
      throw new Error(`SharedRing producer: no space within ${request.timeoutMs} ms at record ${next}`);
    }
  }
  producer.close();
  return { kind: 'done', produced: next, waits: producer.waits };
});
