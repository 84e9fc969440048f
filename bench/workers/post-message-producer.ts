/**
 * MessagePort producer: the same stamped records, `perMessage` of them per postMessage (one
 * Uint8Array, copied by structured clone), over a port the main thread transferred.
 *
 * postMessage has no back-pressure, so the producer keeps at most `window` records in flight
 * (a credit counter in shared memory, advanced by the consumer): unbounded, a fast producer
 * would queue gigabytes in the receiving port; the window matches what a 1 MiB ring holds.
 */
import type { MessagePort } from 'node:worker_threads';
import { SharedNotify } from '#spanring/ringmpsc';
import {
  CREDIT_CONSUMED,
  CREDIT_NOTIFY,
  RECORD_BYTES,
  recordTemplate,
  type PostMessageProduceRequest,
  type ProduceDone,
} from '../ring-protocol.ts';
import { remainingMs, serveProduceRequests } from './serve.ts';

/** Posts messages for records [from, to) while the window allows; returns the next record. */
function postUntilWindowFull(
  port: MessagePort,
  message: Uint8Array,
  perMessage: number,
  consumed: Int32Array,
  window: number,
  from: number,
  to: number,
): number {
  let i = from;
  while (i < to) {
    if (i - Atomics.load(consumed, CREDIT_CONSUMED) + perMessage > window) return i;
    for (let r = 0, offset = 0; r < perMessage; r++, offset += RECORD_BYTES) {
      message[offset] = (i + r) & 255;
      message[offset + RECORD_BYTES - 1] = ((i + r) >>> 8) & 255;
    }
    port.postMessage(message);
    i += perMessage;
  }
  return i;
}

serveProduceRequests(async (request: PostMessageProduceRequest): Promise<ProduceDone> => {
  const { port, perMessage, window, count } = request;
  if (count % perMessage !== 0) throw new Error(`count ${count} is not a multiple of ${perMessage}`);
  if (perMessage > window / 4) throw new Error(`perMessage ${perMessage} must be <= window / 4 (${window / 4})`);
  const template = recordTemplate(RECORD_BYTES);
  const message = new Uint8Array(perMessage * RECORD_BYTES);
  for (let r = 0; r < perMessage; r++) message.set(template, r * RECORD_BYTES);
  const credit = new Int32Array(request.credit);
  const space = new SharedNotify(credit, CREDIT_NOTIFY);
  const deadline = performance.now() + request.timeoutMs;
  let waits = 0;
  Atomics.store(new BigInt64Array(request.startClock), 0, process.hrtime.bigint());
  let next = 0;
  for (;;) {
    next = postUntilWindowFull(port, message, perMessage, credit, window, next, count);
    if (next >= count) break;
    waits++;
    // Hysteresis: resume at half a window, so producer and consumer do not ping-pong a
    // wake-up per message at the window's edge. The consumer signals every quarter window,
    // and at least 3/4 of a window is in flight here, so that signal always comes.
    const resumeAt = next - (window >>> 1);
    if (!(await space.waitUntil(() => Atomics.load(credit, CREDIT_CONSUMED) >= resumeAt, remainingMs(deadline)))) {
      throw new Error(`postMessage producer: no credit within ${request.timeoutMs} ms at record ${next}`);
    }
  }
  // The main thread closes the channel once it has counted every record.
  return { kind: 'done', produced: next, waits };
});
