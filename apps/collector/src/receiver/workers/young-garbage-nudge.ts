/**
 * Runs a young-generation GC after every `everyBytes` of request bodies a receiver worker read.
 *
 * Why: node:http hands each body chunk to JavaScript in a fresh buffer of up to 64 KB, dead as
 * soon as it is copied into the body. V8 schedules young-generation GCs by JavaScript
 * allocation, which in a worker that builds no spans (W11) is a few KB per request, so at a few
 * hundred MB/s of bodies the dead chunks pile up by tens of MB before a GC runs (measured: the
 * worker's external memory near 90 MB under 128 clients, near 20 MB with this nudge). A
 * scavenge over so little live young data takes a fraction of a millisecond.
 *
 * It needs `gc`, which Node exposes with --expose-gc (the spanring launchers pass it:
 * node-flags.ts); without it, this does nothing.
 */

export type MinorGc = (options: { type: 'minor' }) => void;

/** Bytes of bodies between two nudges. */
export const NUDGE_EVERY_BYTES = 8 * 1024 * 1024;

export class YoungGarbageNudge {
  private readonly everyBytes: number;
  private readonly collect: MinorGc | undefined;
  private sinceLast = 0;

  constructor(everyBytes = NUDGE_EVERY_BYTES, collect: MinorGc | undefined = exposedGc()) {
    this.everyBytes = everyBytes;
    this.collect = collect;
  }

  /** Whether --expose-gc made a collector available. */
  get enabled(): boolean {
    return this.collect !== undefined;
  }

  /** Counts a body of `bytes`; collects the young generation once everyBytes were counted. */
  received(bytes: number): void {
    if (this.collect === undefined) return;
    this.sinceLast += bytes;
    if (this.sinceLast < this.everyBytes) return;
    this.sinceLast = 0;
    this.collect({ type: 'minor' });
  }
}

function exposedGc(): MinorGc | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? (gc as MinorGc) : undefined;
}
