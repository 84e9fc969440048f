/**
 * The record workload every cross-thread case of the ring bench moves, and the messages and
 * shared-memory layouts its producer workers share with the main thread (kept here, not in
 * the worker files, because importing a worker file would run its message loop).
 *
 * A record is RECORD_BYTES bytes copied from a template; record i is stamped with i's low
 * byte at its first position and i's second byte at its last, so the consumer's checksum
 * (sum of first | last << 8 = i & 0xffff) catches lost, duplicated, reordered-into-overwrite
 * and torn records, not just a wrong count.
 */
import type { MessagePort } from 'node:worker_threads';
import type { SharedRingHandle } from '#spanring/ringmpsc';

export const RECORD_BYTES = 100;

/** The bytes every record starts from; contents beyond the stamps do not matter. */
export function recordTemplate(length: number = RECORD_BYTES): Uint8Array {
  const template = new Uint8Array(length);
  for (let k = 0; k < length; k++) template[k] = (k * 31 + 7) & 255;
  return template;
}

/** Sum over i in [0, count) of (i & 0xffff): what the consumers' checksums must reach. */
export function expectedChecksum(count: number): number {
  const period = 65536;
  const full = Math.floor(count / period);
  const rest = count % period;
  return full * ((period * (period - 1)) / 2) + (rest * (rest - 1)) / 2;
}

/** main → worker: produce `count` records. The transport fields depend on the worker. */
export interface ProduceRequest {
  readonly kind: 'produce';
  readonly count: number;
  /** One BigInt64 slot: the worker stores process.hrtime.bigint() just before record 0. */
  readonly startClock: SharedArrayBuffer;
  /** Every wait in the worker gives up (and fails the run) after this long. */
  readonly timeoutMs: number;
}

/** worker → main, once the last record was handed over (SharedRing and ringbuf.js: and closed). */
export interface ProduceDone {
  readonly kind: 'done';
  readonly produced: number;
  /** Times the producer found no room and had to wait for the consumer. */
  readonly waits: number;
}

export interface ProduceFailed {
  readonly kind: 'failed';
  readonly message: string;
}

export type ProducerReply = ProduceDone | ProduceFailed;

export interface SharedRingProduceRequest extends ProduceRequest {
  readonly handle: SharedRingHandle;
}

export interface RingbufProduceRequest extends ProduceRequest {
  /** RingBuffer.getStorageForCapacity(capacity, Uint8Array). */
  readonly storage: SharedArrayBuffer;
  /** Int32 words, laid out by RINGBUF_*. */
  readonly signals: SharedArrayBuffer;
}

/** `signals` of a ringbuf.js run: two SharedNotify and a closed flag, each on its own 128-byte line. */
export const RINGBUF_DATA_NOTIFY = 0;
export const RINGBUF_SPACE_NOTIFY = 32;
export const RINGBUF_CLOSED = 64;
export const RINGBUF_SIGNAL_BYTES = 3 * 128;

export interface PostMessageProduceRequest extends ProduceRequest {
  readonly port: MessagePort;
  readonly perMessage: number;
  /** Most records posted and not yet consumed. */
  readonly window: number;
  /** Int32 words, laid out by CREDIT_*. */
  readonly credit: SharedArrayBuffer;
}

/** `credit` of a postMessage run: records consumed so far, and a SharedNotify on its own line. */
export const CREDIT_CONSUMED = 0;
export const CREDIT_NOTIFY = 32;
export const CREDIT_BYTES = 2 * 128;
