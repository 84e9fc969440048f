/**
 * Which durable-log records each consumer (an exporter with a persistent queue) is done with,
 * so its cursor can move past them (specs/durable-queue.md D4–D6).
 *
 * A record is done for a consumer once its admission finished (close) and every one of its
 * spans that reached the consumer's queue was settled there (sent, or dropped and counted).
 * The consumer's cursor is the highest seq below which every record is done: records are kept
 * sorted by seq in a growable ring of slots, each consumer has a position in it, and slots
 * every consumer passed are freed. Typed arrays, no object per record.
 */

export type CursorListener = (consumer: number, seq: number) => void;

export class RecordTracker {
  private readonly consumers: number;
  private readonly onCursor: CursorListener;
  private capacity = 64;
  private seqs = new Float64Array(this.capacity);
  /** 1 while the record's admission has not finished (its spans may still be counted down). */
  private open = new Uint8Array(this.capacity);
  /** pending[slot * consumers + c]: spans of the record consumer c has not settled yet. */
  private pending: Int32Array;
  private head = 0;
  private size = 0;
  /** How many slots from head each consumer has passed. */
  private readonly passed: Int32Array;
  private readonly cursors: Float64Array;
  private highestOpened = 0;
  /** Invariant D6: while replaying, records arrive out of seq order, so no cursor moves. */
  private frozen = false;

  constructor(consumers: number, startCursors: readonly number[], onCursor: CursorListener) {
    this.consumers = consumers;
    this.onCursor = onCursor;
    this.pending = new Int32Array(this.capacity * consumers);
    this.passed = new Int32Array(consumers);
    this.cursors = Float64Array.from(startCursors);
    for (const cursor of startCursors) this.highestOpened = Math.max(this.highestOpened, cursor);
  }

  /** Records tracked now (not yet passed by every consumer). */
  get tracked(): number {
    return this.size;
  }

  cursor(consumer: number): number {
    return this.cursors[consumer]!;
  }

  /** From now until endReplay(), records may be opened in any seq order; cursors wait. */
  beginReplay(): void {
    this.frozen = true;
  }

  endReplay(): void {
    this.frozen = false;
    for (let c = 0; c < this.consumers; c++) this.advance(c);
  }

  /**
   * A record the receivers are admitting: seq above every record opened so far. Each consumer
   * whose cursor already covers seq (a replayed record it had sent) starts with nothing pending.
   */
  openRecord(seq: number, spans: number): void {
    if (!(seq > 0) || !Number.isSafeInteger(seq)) throw new RangeError(`record seq must be a positive integer, got ${seq}`);
    if (this.size === this.capacity) this.grow();
    let at = this.size;
    if (this.size > 0 && seq <= this.seqAt(this.size - 1)) {
      if (!this.frozen) throw new RangeError(`record ${seq} opened after record ${this.seqAt(this.size - 1)}: seqs must increase outside replay`);
      at = this.insertionPoint(seq);
      this.shiftUp(at);
    }
    const slot = this.slot(at);
    this.seqs[slot] = seq;
    this.open[slot] = 1;
    for (let c = 0; c < this.consumers; c++) this.pending[slot * this.consumers + c] = seq <= this.cursors[c]! ? 0 : spans;
    this.size++;
    if (seq > this.highestOpened) this.highestOpened = seq;
    // The seqs below this one that were never opened are requests never logged: cursors may cover them.
    for (let c = 0; c < this.consumers; c++) this.advance(c);
  }

  /** `spans` of the record never entered the pipeline (refused): nobody will settle them. */
  forget(seq: number, spans: number): void {
    const at = this.find(seq);
    if (at < 0 || spans <= 0) return;
    const slot = this.slot(at);
    for (let c = 0; c < this.consumers; c++) {
      const index = slot * this.consumers + c;
      if (this.pending[index]! > 0) this.pending[index] = Math.max(0, this.pending[index]! - spans);
    }
    for (let c = 0; c < this.consumers; c++) this.advance(c);
  }

  /** The record's admission finished (written to the log, or refused, or its write failed). */
  close(seq: number): void {
    const at = this.find(seq);
    if (at < 0) return;
    this.open[this.slot(at)] = 0;
    for (let c = 0; c < this.consumers; c++) this.advance(c);
  }

  /** Consumer `consumer` settled a batch whose spans came from `runs` ([seq, count, …]). */
  settle(consumer: number, runs: Float64Array): void {
    for (let i = 0; i < runs.length; i += 2) {
      const at = this.find(runs[i]!);
      if (at < 0) continue;
      const index = this.slot(at) * this.consumers + consumer;
      this.pending[index] = Math.max(0, this.pending[index]! - runs[i + 1]!);
    }
    this.advance(consumer);
  }

  private advance(consumer: number): void {
    if (this.frozen) return;
    let at = this.passed[consumer]!;
    const start = at;
    while (at < this.size) {
      const slot = this.slot(at);
      if (this.open[slot] !== 0 || this.pending[slot * this.consumers + consumer]! > 0) break;
      at++;
    }
    this.passed[consumer] = at;
    // Seqs between records are requests that were never logged, so the cursor may cover them.
    const cursor = at < this.size ? this.seqAt(at) - 1 : this.highestOpened;
    if (cursor > this.cursors[consumer]!) {
      this.cursors[consumer] = cursor;
      this.onCursor(consumer, cursor);
    }
    if (at > start) this.trim();
  }

  /** Frees the slots every consumer passed. */
  private trim(): void {
    let least = this.size;
    for (let c = 0; c < this.consumers; c++) least = Math.min(least, this.passed[c]!);
    if (least === 0) return;
    this.head = (this.head + least) % this.capacity;
    this.size -= least;
    for (let c = 0; c < this.consumers; c++) this.passed[c]! -= least;
  }

  private slot(logical: number): number {
    return (this.head + logical) % this.capacity;
  }

  private seqAt(logical: number): number {
    return this.seqs[this.slot(logical)]!;
  }

  /** Logical index of the record `seq`, or -1 (binary search: records are sorted by seq). */
  private find(seq: number): number {
    let low = 0;
    let high = this.size - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const value = this.seqAt(mid);
      if (value === seq) return mid;
      if (value < seq) low = mid + 1;
      else high = mid - 1;
    }
    return -1;
  }

  private insertionPoint(seq: number): number {
    let at = this.size;
    while (at > 0 && this.seqAt(at - 1) > seq) at--;
    if (at > 0 && this.seqAt(at - 1) === seq) throw new RangeError(`record ${seq} opened twice`);
    return at;
  }

  /** Moves the records at logical [at, size) up by one slot (replay only: a few at the tail). */
  private shiftUp(at: number): void {
    for (let i = this.size; i > at; i--) {
      const to = this.slot(i);
      const from = this.slot(i - 1);
      this.seqs[to] = this.seqs[from]!;
      this.open[to] = this.open[from]!;
      for (let c = 0; c < this.consumers; c++) this.pending[to * this.consumers + c] = this.pending[from * this.consumers + c]!;
    }
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const seqs = new Float64Array(capacity);
    const open = new Uint8Array(capacity);
    const pending = new Int32Array(capacity * this.consumers);
    for (let i = 0; i < this.size; i++) {
      const from = this.slot(i);
      seqs[i] = this.seqs[from]!;
      open[i] = this.open[from]!;
      for (let c = 0; c < this.consumers; c++) pending[i * this.consumers + c] = this.pending[from * this.consumers + c]!;
    }
    this.seqs = seqs;
    this.open = open;
    this.pending = pending;
    this.capacity = capacity;
    this.head = 0;
  }
}
