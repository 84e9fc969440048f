/** What the bench thread (sink.ts) and the sink's thread (sink-server.ts) share and say. */

export interface SinkThreadData {
  /** BigInt64Array words at SINK_COUNTER, written by the sink thread only. */
  readonly counters: SharedArrayBuffer;
}

export const SINK_COUNTER = { spans: 0, requests: 1, bytes: 2 } as const;
export const SINK_COUNTER_WORDS = 3;

export type SinkMessage = { type: 'listening'; port: number } | { type: 'problem'; text: string } | { type: 'closed' };
