/**
 * ringbuf.js producer: the same stamped records, one push() per record.
 *
 * ringbuf.js is wait-free and has no way to sleep, so the bench gives it the wake-up scheme
 * SharedRing has (SharedNotify over Atomics.waitAsync, both directions) and the same
 * batching of wake-ups (the consumer is signalled about every quarter ring and whenever the
 * producer finds the ring full): only the ring itself differs between the two cases.
 */
import { SharedNotify } from '#spanring/ringmpsc';
import { RingBuffer } from 'ringbuf.js';
import {
  RECORD_BYTES,
  RINGBUF_CLOSED,
  RINGBUF_DATA_NOTIFY,
  RINGBUF_SPACE_NOTIFY,
  recordTemplate,
  type ProduceDone,
  type RingbufProduceRequest,
} from '../ring-protocol.ts';
import { remainingMs, serveProduceRequests } from './serve.ts';

const template = recordTemplate(RECORD_BYTES);
const last = RECORD_BYTES - 1;

/**
 * Pushes records [from, to); stops when the ring cannot take the rest of a record. Returns
 * the next record index and, through `state.written`, how much of that record is already in
 * (ringbuf.js is a byte stream: a push near full writes part of a record).
 */
function produceUntilFull(
  ring: RingBuffer,
  dataReady: SharedNotify,
  state: { written: number },
  from: number,
  to: number,
  notifyMask: number,
): number {
  let written = state.written;
  for (let i = from; i < to; i++) {
    if (written === 0) {
      template[0] = i & 255;
      template[last] = (i >>> 8) & 255;
    }
    written += ring.push(template, RECORD_BYTES - written, written);
    if (written < RECORD_BYTES) {
      state.written = written;
      return i;
    }
    written = 0;
    if ((i & notifyMask) === 0) dataReady.notifyWaiters();
  }
  state.written = 0;
  return to;
}

serveProduceRequests(async (request: RingbufProduceRequest): Promise<ProduceDone> => {
  const ring = new RingBuffer(request.storage, Uint8Array);
  const signals = new Int32Array(request.signals);
  const dataReady = new SharedNotify(signals, RINGBUF_DATA_NOTIFY);
  const space = new SharedNotify(signals, RINGBUF_SPACE_NOTIFY);
  // Wake the consumer every 2^k records, 2^k the largest power of two <= a quarter ring of
  // records (a mask, not a modulo, keeps the per-record cost to an AND).
  const quarterRecords = Math.max(1, Math.floor(ring.capacity() / 4 / RECORD_BYTES));
  const notifyMask = 2 ** Math.floor(Math.log2(quarterRecords)) - 1;
  const deadline = performance.now() + request.timeoutMs;
  const state = { written: 0 };
  let waits = 0;
  Atomics.store(new BigInt64Array(request.startClock), 0, process.hrtime.bigint());
  let next = 0;
  try {
    for (;;) {
      next = produceUntilFull(ring, dataReady, state, next, request.count, notifyMask);
      if (next >= request.count) break;
      // Full: make sure the consumer is awake, then sleep until the rest of the record fits.
      dataReady.notifyWaiters();
      waits++;
      const need = RECORD_BYTES - state.written;
      if (!(await space.waitUntil(() => ring.availableWrite() >= need, remainingMs(deadline)))) {
        throw new Error(`ringbuf.js producer: no space within ${request.timeoutMs} ms at record ${next}`);
      }
    }
  } finally {
    Atomics.store(signals, RINGBUF_CLOSED, 1);
    dataReady.notifyWaiters();
  }
  return { kind: 'done', produced: next, waits };
});
