/**
 * What the main thread and the receiver worker threads tell each other. Spans never travel
 * here: they cross through each worker's SharedRing (specs/receiver-workers.md). Messages
 * carry only lifecycle and logs; counters live in shared memory so they are exact when a
 * request is answered.
 */
import type { SharedRingHandle } from '#spanring/ringmpsc';
import type { GrpcReceiverSettings, HttpReceiverSettings } from '../../config/runtime-config.ts';
import type { Transport } from '../span-sink.ts';

/** How every worker receives: the pool's options and each worker's data share these. */
export interface ReceiverSettings {
  readonly http: HttpReceiverSettings | undefined;
  readonly grpc: GrpcReceiverSettings | undefined;
  /** Longest wait for ring space before a 429 / UNAVAILABLE. */
  readonly backpressureTimeoutMs: number;
  readonly retryAfterSeconds: number;
  /** How long a drain lets in-flight requests finish before it cuts connections. */
  readonly shutdownGraceMs: number;
}

export interface ReceiverWorkerData extends ReceiverSettings {
  readonly index: number;
  /** The worker's own ring into the main thread (it is the only producer). */
  readonly ring: SharedRingHandle;
  /** COUNTER_WORDS BigInt64 words: accepted/refused spans per transport. */
  readonly counters: SharedArrayBuffer;
}

export type WorkerMessage =
  | { readonly type: 'listening'; readonly httpPort: number | undefined; readonly grpcPort: number | undefined }
  | { readonly type: 'startup-failed'; readonly message: string }
  | { readonly type: 'log'; readonly level: 'error' | 'warn' | 'info'; readonly message: string };

export type MainMessage = { readonly type: 'drain' };

/** Word index of each counter in a worker's counters buffer. */
export const COUNTER_INDEX = {
  http: { accepted: 0, refused: 1 },
  grpc: { accepted: 2, refused: 3 },
} as const satisfies Record<Transport, { accepted: number; refused: number }>;
export const COUNTER_WORDS = 4;

export function createCounters(): SharedArrayBuffer {
  return new SharedArrayBuffer(COUNTER_WORDS * BigInt64Array.BYTES_PER_ELEMENT);
}
