/**
 * The durable log behind Spanring's persistent sending queue: append-only segment files of
 * checksummed records (record-format.ts), one cursor per consumer (cursor-file.ts), segments
 * deleted once every cursor passed them. The rules, each with its test: specs/durable-log.md.
 *
 * Why by hand: what the queue needs is an append-only log with group commit, torn-tail and
 * corruption recovery and cursors per consumer; embedded key-value stores (LevelDB/RocksDB
 * bindings, SQLite) need native builds, do more than that, and would still need the cursor and
 * recovery rules on top. The checksum is node:zlib's crc32 (zlib's, built into Node).
 */
import type { FileHandle } from 'node:fs/promises';
import { open, readFile, readdir, stat, unlink, access } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { readCursors, syncDirectory, writeCursors } from './cursor-file.ts';
import { StorageConfigError, StorageError, StorageFullError, StorageIoError } from './errors.ts';
import { acquireLock, releaseLock } from './lock-file.ts';
import { HEADER_BYTES, writeHeader } from './record-format.ts';
import { scanSegment, type SegmentProblem } from './segment-scan.ts';

export interface StorageLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface DurableLogOptions {
  readonly directory: string;
  /** true: append() resolves only after an fdatasync that covers the record. */
  readonly fsync: boolean;
  /** Cap on the bytes of live segments: hasRoom() is false past it. */
  readonly maxSizeBytes: number;
  /** Roll to a new segment once the current one passes this; default 8 MiB. */
  readonly segmentBytes?: number;
  /** The cursor owners; cursors of others found on disk are dropped. */
  readonly consumers: readonly string[];
  readonly logger?: StorageLogger;
  /** How often changed cursors are persisted; default 100 ms. */
  readonly cursorFlushIntervalMs?: number;
}

export interface RecoveryReport {
  readonly segments: number;
  readonly records: number;
  readonly bytes: number;
  readonly corruptRecords: number;
  readonly tornTails: number;
  readonly problems: readonly (SegmentProblem & { readonly segment: string })[];
}

interface Segment {
  readonly index: number;
  readonly path: string;
  bytes: number;
  maxSeq: number;
  /** Records recovered at open (replayed from the file); 0 for the segment being written. */
  readonly recovered: boolean;
}

interface PendingAppend {
  readonly seq: number;
  readonly payload: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024;
const SEGMENT_NAME = /^segment-(\d{16})\.log$/;
const segmentName = (index: number): string => `segment-${String(index).padStart(16, '0')}.log`;

export class DurableLog {
  readonly recovery: RecoveryReport;
  readonly stats = { liveBytes: 0, segments: 0, appendedRecords: 0, corruptRecords: 0, deletedSegments: 0, fsyncs: 0 };
  private readonly options: DurableLogOptions;
  private readonly directory: string;
  private readonly segments: Segment[];
  private readonly cursors: Map<string, number>;
  private highest: number;
  private active: { segment: Segment; handle: FileHandle } | undefined;
  private pending: PendingAppend[] = [];
  private pendingBytes = 0;
  private writing: Promise<void> | undefined;
  private cursorsDirty = false;
  private cursorTimer: NodeJS.Timeout | undefined;
  private cursorWrite: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(options: DurableLogOptions, segments: Segment[], cursors: Map<string, number>, recovery: RecoveryReport, highest: number) {
    this.options = options;
    this.directory = options.directory;
    this.segments = segments;
    this.cursors = cursors;
    this.recovery = recovery;
    this.highest = highest;
    this.stats.corruptRecords = recovery.corruptRecords + recovery.tornTails;
    this.refreshSize();
  }

  static async open(options: DurableLogOptions): Promise<DurableLog> {
    await checkDirectory(options.directory);
    await acquireLock(options.directory);
    try {
      const { segments, recovery, highestRecorded } = await recoverSegments(options.directory, options.logger);
      const cursors = await loadCursors(options, highestRecorded);
      const highest = Math.max(highestRecorded, ...cursors.values(), 0);
      const log = new DurableLog(options, segments, cursors, recovery, highest);
      await log.startSegment();
      return log;
    } catch (error) {
      await releaseLock(options.directory);
      throw error;
    }
  }

  get highestSeq(): number {
    return this.highest;
  }

  cursor(consumer: string): number {
    return this.cursors.get(consumer) ?? 0;
  }

  hasRoom(bytes: number): boolean {
    return this.stats.liveBytes + this.pendingBytes + bytes + HEADER_BYTES <= this.options.maxSizeBytes;
  }

  /**
   * Records some consumer's cursor has not passed, from the segments found at open, in file
   * order; one segment in memory at a time. The payload is a view into that segment's bytes.
   */
  async replay(onRecord: (seq: number, payload: Uint8Array) => void | Promise<void>): Promise<void> {
    const floor = this.lowestCursor();
    for (const segment of this.segments.filter((candidate) => candidate.recovered && candidate.maxSeq > floor)) {
      let bytes: Buffer;
      try {
        bytes = await readFile(segment.path);
      } catch (error) {
        throw new StorageIoError('reading', segment.path, error);
      }
      for (const record of scanSegment(bytes).records) {
        if (record.seq <= floor) continue;
        await onRecord(record.seq, bytes.subarray(record.payloadOffset, record.payloadOffset + record.length));
      }
    }
  }

  /** Group commit (L4): appends arriving while a write is under way share the next writev + fdatasync. */
  append(seq: number, payload: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new StorageError('STORAGE_CLOSED', 'the durable log is closed'));
    if (!this.hasRoom(payload.byteLength)) return Promise.reject(new StorageFullError(this.stats.liveBytes, this.options.maxSizeBytes));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ seq, payload, resolve, reject });
      this.pendingBytes += HEADER_BYTES + payload.byteLength;
      this.writing ??= this.writeLoop();
    });
  }

  advanceCursor(consumer: string, seq: number): void {
    if (!this.options.consumers.includes(consumer) || seq <= this.cursor(consumer)) return;
    this.cursors.set(consumer, seq);
    if (seq > this.highest) this.highest = seq;
    this.cursorsDirty = true;
    this.cursorTimer ??= setTimeout(() => {
      this.cursorTimer = undefined;
      void this.flushCursors().catch((error: unknown) => this.options.logger?.error({ err: error }, 'persisting the queue cursors failed; retrying'));
    }, this.options.cursorFlushIntervalMs ?? 100).unref();
  }

  /** Persists changed cursors, then deletes the segments every cursor passed (L6). */
  flushCursors(): Promise<void> {
    this.cursorWrite = this.cursorWrite.then(async () => {
      if (!this.cursorsDirty) return;
      this.cursorsDirty = false;
      try {
        await writeCursors(this.directory, this.cursors);
      } catch (error) {
        this.cursorsDirty = true;
        throw error;
      }
      await this.deletePassedSegments();
    });
    return this.cursorWrite;
  }

  /** Finishes pending appends, persists the cursors, closes the files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.cursorTimer);
    this.cursorTimer = undefined;
    await this.writing;
    await this.flushCursors().catch((error: unknown) => this.options.logger?.error({ err: error }, 'persisting the queue cursors at close failed'));
    await this.active?.handle.close().catch(() => undefined);
    this.active = undefined;
    await releaseLock(this.directory);
  }

  private async writeLoop(): Promise<void> {
    // Appends made in this turn of the event loop (requests parsed together) share the first write.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      const bytes = batch.reduce((sum, append) => sum + HEADER_BYTES + append.payload.byteLength, 0);
      try {
        await this.writeBatch(batch, bytes);
        for (const append of batch) append.resolve();
      } catch (error) {
        const path = this.active?.segment.path ?? this.directory;
        // Invariant L7: a failed write leaves at most a torn tail; the next batch starts a new segment.
        await this.abandonSegment();
        const failure = new StorageIoError(this.options.fsync ? 'writing and syncing' : 'writing', path, error);
        for (const append of batch) append.reject(failure);
      } finally {
        this.pendingBytes -= bytes;
      }
    }
    this.writing = undefined;
  }

  private async writeBatch(batch: readonly PendingAppend[], bytes: number): Promise<void> {
    if (this.active === undefined || this.active.segment.bytes >= (this.options.segmentBytes ?? DEFAULT_SEGMENT_BYTES)) await this.startSegment();
    const { segment, handle } = this.active!;
    const headers = Buffer.allocUnsafe(HEADER_BYTES * batch.length);
    const buffers: Uint8Array[] = [];
    for (let i = 0; i < batch.length; i++) {
      const { seq, payload } = batch[i]!;
      writeHeader(headers, i * HEADER_BYTES, seq, payload);
      // The payload is written where it is, behind its header: never copied.
      buffers.push(headers.subarray(i * HEADER_BYTES, (i + 1) * HEADER_BYTES), payload);
    }
    await writeAll(handle, buffers, segment.bytes, bytes);
    // Invariant L4: an append resolves only after the bytes (and, with fsync, a datasync covering them) are done.
    if (this.options.fsync) {
      await handle.datasync();
      this.stats.fsyncs++;
    }
    segment.bytes += bytes;
    for (const { seq } of batch) {
      if (seq > segment.maxSeq) segment.maxSeq = seq;
      if (seq > this.highest) this.highest = seq;
    }
    this.stats.appendedRecords += batch.length;
    this.refreshSize();
  }

  private async startSegment(): Promise<void> {
    const previous = this.active;
    const index = (this.segments.at(-1)?.index ?? 0) + 1;
    const path = join(this.directory, segmentName(index));
    let handle: FileHandle;
    try {
      handle = await open(path, 'wx');
      // Invariant L6: the new file's directory entry is durable before records in it are acknowledged.
      await syncDirectory(this.directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EACCES') throw new StorageConfigError(this.directory, 'is not writable by this process');
      throw new StorageIoError('creating', path, error);
    }
    const segment: Segment = { index, path, bytes: 0, maxSeq: 0, recovered: false };
    this.segments.push(segment);
    this.active = { segment, handle };
    await previous?.handle.close().catch(() => undefined);
    this.refreshSize();
  }

  private async abandonSegment(): Promise<void> {
    const active = this.active;
    this.active = undefined;
    await active?.handle.close().catch(() => undefined);
  }

  private lowestCursor(): number {
    let lowest = Number.POSITIVE_INFINITY;
    for (const consumer of this.options.consumers) lowest = Math.min(lowest, this.cursor(consumer));
    return lowest === Number.POSITIVE_INFINITY ? 0 : lowest;
  }

  private async deletePassedSegments(): Promise<void> {
    const floor = this.lowestCursor();
    for (const segment of this.segments.slice()) {
      if (segment === this.active?.segment || segment.maxSeq > floor) continue;
      try {
        await unlink(segment.path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new StorageIoError('deleting', segment.path, error);
      }
      this.segments.splice(this.segments.indexOf(segment), 1);
      this.stats.deletedSegments++;
    }
    this.refreshSize();
  }

  private refreshSize(): void {
    this.stats.liveBytes = this.segments.reduce((sum, segment) => sum + segment.bytes, 0);
    this.stats.segments = this.segments.length;
  }
}

/** Writes every buffer at `position` onward, resuming after a short write. */
async function writeAll(handle: FileHandle, buffers: Uint8Array[], position: number, total: number): Promise<void> {
  let written = 0;
  let pending = buffers;
  while (written < total) {
    const { bytesWritten } = await handle.writev(pending, position + written);
    written += bytesWritten;
    if (written >= total) return;
    if (bytesWritten === 0) throw new Error('the file system accepted no bytes');
    pending = remainingAfter(pending, bytesWritten);
  }
}

function remainingAfter(buffers: Uint8Array[], consumed: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let skip = consumed;
  for (const buffer of buffers) {
    if (skip >= buffer.byteLength) {
      skip -= buffer.byteLength;
      continue;
    }
    out.push(skip > 0 ? buffer.subarray(skip) : buffer);
    skip = 0;
  }
  return out;
}

async function checkDirectory(directory: string): Promise<void> {
  let info;
  try {
    info = await stat(directory);
  } catch {
    throw new StorageConfigError(directory, 'does not exist (create it, or set create_directory: true)');
  }
  if (!info.isDirectory()) throw new StorageConfigError(directory, 'is not a directory');
  try {
    await access(directory, constants.W_OK | constants.X_OK);
  } catch {
    throw new StorageConfigError(directory, 'is not writable by this process');
  }
}

async function recoverSegments(
  directory: string,
  logger: StorageLogger | undefined,
): Promise<{ segments: Segment[]; recovery: RecoveryReport; highestRecorded: number }> {
  const names = (await readdir(directory)).filter((name) => SEGMENT_NAME.test(name)).toSorted();
  const segments: Segment[] = [];
  const problems: (SegmentProblem & { segment: string })[] = [];
  let records = 0;
  let highestRecorded = 0;
  for (const name of names) {
    const path = join(directory, name);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw new StorageIoError('reading', path, error);
    }
    const scan = scanSegment(bytes);
    let maxSeq = 0;
    for (const record of scan.records) maxSeq = Math.max(maxSeq, record.seq);
    for (const problem of scan.problems) {
      problems.push({ ...problem, segment: name });
      logger?.warn({ segment: name, offset: problem.offset, bytes: problem.bytes, kind: problem.kind }, 'persistent queue: damaged bytes skipped');
    }
    records += scan.records.length;
    highestRecorded = Math.max(highestRecorded, maxSeq);
    segments.push({ index: Number(SEGMENT_NAME.exec(name)![1]), path, bytes: bytes.byteLength, maxSeq, recovered: true });
  }
  const corruptRecords = problems.filter((problem) => problem.kind === 'corrupt').length;
  const tornTails = problems.length - corruptRecords;
  const bytes = segments.reduce((sum, segment) => sum + segment.bytes, 0);
  return { segments, recovery: { segments: segments.length, records, bytes, corruptRecords, tornTails, problems }, highestRecorded };
}

/**
 * The cursors on disk, for the listed consumers. A consumer the file does not name is new: it
 * starts at the log's end, never owed what came before it (L8). Without a readable file every
 * consumer starts at 0: replaying too much duplicates, replaying too little would lose.
 */
async function loadCursors(options: DurableLogOptions, highestRecorded: number): Promise<Map<string, number>> {
  const { cursors: found, problem } = await readCursors(options.directory);
  if (problem !== undefined) options.logger?.error({ directory: options.directory }, `persistent queue: ${problem}; replaying everything found (duplicates possible)`);
  const cursors = new Map<string, number>();
  for (const consumer of options.consumers) {
    const known = found?.get(consumer);
    cursors.set(consumer, known ?? (found === undefined ? 0 : highestRecorded));
  }
  return cursors;
}
