/**
 * What the pipeline needs of a durable log (libs/storage's DurableLog has this shape): the
 * pipeline does not depend on how records reach the disk, only on these promises
 * (specs/durable-queue.md D1–D3):
 * - append(seq, payload) resolves once the record would be found again by replay() after a
 *   crash of the process (and, with fsync, of the machine);
 * - cursor(consumer) survives restarts and never moves back;
 * - replay() yields every appended record that some consumer's cursor has not passed.
 */
export interface DurableStore {
  /** The highest seq the log has seen (records and cursors); new records are numbered above it. */
  readonly highestSeq: number;
  /** Every record with seq <= cursor(consumer) is done for that consumer; 0 when none. */
  cursor(consumer: string): number;
  /** False once the log holds its size cap: the receivers refuse (429 / UNAVAILABLE). */
  hasRoom(bytes: number): boolean;
  append(seq: number, payload: Uint8Array): Promise<void>;
  advanceCursor(consumer: string, seq: number): void;
  replay(onRecord: (seq: number, payload: Uint8Array) => void | Promise<void>): Promise<void>;
  flushCursors(): Promise<void>;
  close(): Promise<void>;
  /** For self-telemetry: bytes of live segments, records found corrupt (recovery and since). */
  readonly stats: { readonly liveBytes: number; readonly segments: number; readonly corruptRecords: number };
}

/** When a receiver may answer 200 / OK (sending_queue.acknowledge_after). */
export type AcknowledgeAfter = 'durable' | 'memory';

export interface DurabilityOptions {
  readonly store: DurableStore;
  /** The exporters whose sending queue is the store (sending_queue.storage set); each keeps a cursor. */
  readonly exporters: readonly string[];
  /** 'durable' (default): answer once the request is in the log; 'memory': once it is in the rings. */
  readonly acknowledgeAfter?: AcknowledgeAfter;
}
