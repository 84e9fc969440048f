/**
 * Memory layout of a SharedRing (specs/ring-buffer-invariants.md, L1-L3).
 *
 * ring buffer:  [ line 0: head | line 1: tail, producer-closed | line 2: space notify, geometry | data ]
 * doorbell:     [ line 0: data notify | line 1: channel-closed ]
 *
 * Invariant L1: head (written only by the consumer) and tail (written only by the producer)
 * sit on separate 128-byte lines, so the two threads never write the same cache line on the
 * hot path (128 covers adjacent-line prefetching on x86 and 128-byte lines on Apple silicon).
 */
export const LINE_BYTES = 128;
const WORDS_PER_LINE = LINE_BYTES / 4;

export const HEAD = 0;
export const TAIL = WORDS_PER_LINE;
export const PRODUCER_CLOSED = WORDS_PER_LINE + 1;
export const SPACE_NOTIFY = 2 * WORDS_PER_LINE;
export const RING_BITS_WORD = 2 * WORDS_PER_LINE + 2;
export const MAGIC_WORD = 2 * WORDS_PER_LINE + 3;
export const CONTROL_BYTES = 3 * LINE_BYTES;

export const DATA_NOTIFY = 0;
export const CHANNEL_CLOSED = WORDS_PER_LINE;
export const DOORBELL_BYTES = 2 * LINE_BYTES;

/** Marks a ring buffer as ours, so attaching to a foreign buffer fails clearly. */
export const RING_MAGIC = 0x53524e47;

/** Record header value that means "skip to the start of the data region". */
export const SKIP_MARKER = -1;
/**
 * Invariant S10: records start on 8-byte boundaries and their payload too (a 4-byte length, 4
 * reserved bytes). V8 copies into a SharedArrayBuffer word by word only when source and target
 * agree mod 8; a payload at 4 mod 8 halves Uint8Array.set throughput.
 */
export const HEADER_BYTES = 8;
export const RECORD_ALIGN = 8;

export const SHARED_RING_BITS_MIN = 8;
export const SHARED_RING_BITS_MAX = 30;
export const SHARED_RING_BITS_DEFAULT = 20;

/** Bytes a record of payloadLength occupies: header plus payload padded to 8 bytes. */
export function recordBytes(payloadLength: number): number {
  return HEADER_BYTES + ((payloadLength + 7) & ~7);
}

/** What crosses threads (postMessage) to attach to a ring: only the two buffers. */
export interface SharedRingHandle {
  readonly ring: SharedArrayBuffer;
  readonly doorbell: SharedArrayBuffer;
}
