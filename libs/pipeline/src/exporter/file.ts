/**
 * The `file` exporter: OTLP JSON lines, one ExportTraceServiceRequest (spec JSON encoding)
 * per line and per batch, with optional size-based rotation in the style of the Collector's
 * (lumberjack) rotation.
 *
 * "Flushed" here means: the line's write(2) has completed before export() resolves, so the
 * line is in the kernel and survives a crash of this process (not a power loss: there is no
 * fsync per batch, which would cost a disk round trip per batch; the Collector does not sync
 * either).
 */
import { open, readdir, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { encodeTraceRequestJson } from '#spanring/otlp';
import type { Span } from '#spanring/otlp';
import { ExportError, PipelineConfigError } from '../errors.ts';
import { abortedError, describeError, encodeOrFail } from './export-errors.ts';
import type { SpanExporter } from './span-exporter.ts';

const MEGABYTE = 1024 * 1024;
/** Collector (lumberjack) defaults once a `rotation` block is present. */
const DEFAULT_MAX_MEGABYTES = 100;
const DEFAULT_MAX_BACKUPS = 100;
/** Backups made within one millisecond get -1, -2… suffixes; more than this is a broken clock. */
const MAX_SAME_MILLISECOND_BACKUPS = 1000;

/** File-system failures that can clear up by themselves, so a retry may succeed. */
const TRANSIENT_FS_CODES = new Set(['ENOSPC', 'EDQUOT', 'EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'EIO', 'EINTR']);

/** otelcol `rotation`. */
export interface FileRotationOptions {
  /** otelcol `rotation.max_megabytes`: rotate before a line would grow the file past this (MiB; fractions allowed). Default 100. */
  readonly maxMegabytes?: number;
  /** otelcol `rotation.max_backups`: rotated files to keep, oldest deleted first; 0 keeps all. Default 100. */
  readonly maxBackups?: number;
}

/** Options of the file exporter; each mirrors an otelcol key of the `file` exporter. */
export interface FileExporterOptions {
  /** The component id, i.e. the key under otelcol `exporters:` ("file/audit"). Default "file". */
  readonly name?: string;
  /** otelcol `path`: the file written. Its directory must exist. */
  readonly path: string;
  /** otelcol `rotation`: absent means the file grows without bound. */
  readonly rotation?: FileRotationOptions;
  /**
   * otelcol `append`: keep what the file holds when the exporter first opens it. Default false:
   * the file is truncated, as the Collector does. With rotation the file is always continued,
   * as lumberjack does.
   */
  readonly append?: boolean;
}

interface Rotation {
  readonly maxBytes: number;
  readonly maxBackups: number;
}

export class FileExporter implements SpanExporter {
  readonly name: string;
  readonly path: string;
  private readonly rotation: Rotation | undefined;
  private readonly keepExisting: boolean;
  private handle: FileHandle | undefined;
  /** Bytes in the current file, i.e. where the next line starts. */
  private size = 0;
  /** The tail of the chain of writes: one at a time, so lines never interleave. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: FileExporterOptions) {
    this.name = options.name ?? 'file';
    if (typeof options.path !== 'string' || options.path === '') {
      throw new PipelineConfigError('path', 'set the file to write spans to');
    }
    this.path = options.path;
    this.rotation = options.rotation === undefined ? undefined : checkRotation(options.rotation);
    this.keepExisting = options.append === true || this.rotation !== undefined;
  }

  async export(spans: readonly Span[], signal: AbortSignal): Promise<void> {
    if (this.closed) throw new ExportError(`${this.name}: the exporter is shut down`, { retryable: false });
    if (signal.aborted) throw abortedError(this.name, signal);
    if (spans.length === 0) return;
    const line = encodeOrFail(this.name, () => Buffer.from(`${encodeTraceRequestJson(spans)}\n`));
    await this.serialized(signal, () => this.writeLine(line));
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    await this.queue;
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  /**
   * Queues `task` behind earlier writes. An abort rejects at once; the task, when its turn
   * comes, sees the aborted signal and writes nothing, so an aborted batch never lands later.
   */
  private serialized(signal: AbortSignal, task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(() => (signal.aborted ? undefined : task()));
    this.queue = run.catch(() => undefined);
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(abortedError(this.name, signal));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    return Promise.race([run, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
  }

  private async writeLine(line: Buffer): Promise<void> {
    try {
      let handle = await this.currentHandle();
      if (this.rotation !== undefined && this.size > 0 && this.size + line.length > this.rotation.maxBytes) {
        handle = await this.rotate(this.rotation);
      }
      await this.writeWhole(handle, line);
    } catch (error) {
      throw this.fsFailure(error);
    }
  }

  /** Invariant: the file holds only whole lines; a failed write is cut back to the last one. */
  private async writeWhole(handle: FileHandle, line: Buffer): Promise<void> {
    let written = 0;
    try {
      // A regular file takes the whole buffer in one write; the loop covers the rare short write.
      while (written < line.length) {
        const { bytesWritten } = await handle.write(line, written, line.length - written);
        if (bytesWritten === 0) throw new Error(`no progress writing ${this.path}`);
        written += bytesWritten;
      }
    } catch (error) {
      await handle.truncate(this.size).catch(() => undefined);
      throw error;
    }
    this.size += line.length;
  }

  private async currentHandle(): Promise<FileHandle> {
    if (this.handle !== undefined) return this.handle;
    // O_APPEND always, so writes land at the end even after a truncate() cut a failed line off.
    const handle = await open(this.path, 'a');
    if (this.keepExisting) {
      this.size = (await handle.stat()).size;
    } else {
      await handle.truncate(0);
      this.size = 0;
    }
    this.handle = handle;
    return handle;
  }

  /** Renames the full file to a timestamped backup, starts a new one, and drops old backups. */
  private async rotate(rotation: Rotation): Promise<FileHandle> {
    await this.handle?.close();
    this.handle = undefined;
    await rename(this.path, await this.freeBackupPath(new Date()));
    const handle = await this.currentHandle();
    if (rotation.maxBackups > 0) await this.pruneBackups(rotation.maxBackups);
    return handle;
  }

  /** lumberjack's naming: spans.jsonl → spans-2024-05-01T10-20-30.123.jsonl (UTC). */
  private async freeBackupPath(now: Date): Promise<string> {
    const { dir, stem, ext } = splitPath(this.path);
    const stamp = now.toISOString().replace(/:/g, '-').replace(/Z$/, '');
    for (let n = 0; n < MAX_SAME_MILLISECOND_BACKUPS; n++) {
      const candidate = join(dir, `${stem}-${stamp}${n === 0 ? '' : `-${n}`}${ext}`);
      if (!(await exists(candidate))) return candidate;
    }
    throw new Error(`${MAX_SAME_MILLISECOND_BACKUPS} backups of ${this.path} already exist for ${stamp}`);
  }

  /**
   * Deletes all but the newest `keep` backups. Failures are not reported: the line is already
   * safe, and the next rotation prunes again from the directory listing.
   */
  private async pruneBackups(keep: number): Promise<void> {
    try {
      const backups = await listBackups(this.path);
      for (const backup of backups.slice(0, Math.max(0, backups.length - keep))) {
        await unlink(backup).catch(() => undefined);
      }
    } catch {
      // Listing failed (e.g. the directory is not readable): keep everything rather than guess.
    }
  }

  private fsFailure(error: unknown): ExportError {
    const code = (error as NodeJS.ErrnoException).code;
    const retryable = code !== undefined && TRANSIENT_FS_CODES.has(code);
    return new ExportError(`${this.name}: cannot write ${this.path}: ${describeError(error)}`, { retryable, cause: error });
  }
}

/** Backups of `path`, oldest first (by timestamp, then same-millisecond counter). */
export async function listBackups(path: string): Promise<string[]> {
  const { dir, stem, ext } = splitPath(path);
  const pattern = new RegExp(`^${escapeRegExp(stem)}-(\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}\\.\\d{3})(?:-(\\d+))?${escapeRegExp(ext)}$`);
  const backups: { name: string; stamp: string; n: number }[] = [];
  for (const name of await readdir(dir)) {
    const match = pattern.exec(name);
    if (match !== null) backups.push({ name, stamp: match[1] as string, n: Number(match[2] ?? 0) });
  }
  backups.sort((a, b) => (a.stamp === b.stamp ? a.n - b.n : a.stamp < b.stamp ? -1 : 1));
  return backups.map((backup) => join(dir, backup.name));
}

function splitPath(path: string): { dir: string; stem: string; ext: string } {
  const ext = extname(path);
  return { dir: dirname(path), stem: basename(path, ext), ext };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

function checkRotation(rotation: FileRotationOptions): Rotation {
  const maxMegabytes = rotation.maxMegabytes ?? DEFAULT_MAX_MEGABYTES;
  const maxBackups = rotation.maxBackups ?? DEFAULT_MAX_BACKUPS;
  if (!(Number.isFinite(maxMegabytes) && maxMegabytes > 0)) {
    throw new PipelineConfigError('rotation.maxMegabytes', `must be a positive number, got ${maxMegabytes}`);
  }
  if (!(Number.isInteger(maxBackups) && maxBackups >= 0)) {
    throw new PipelineConfigError('rotation.maxBackups', `must be a whole number ≥ 0 (0 keeps every backup), got ${maxBackups}`);
  }
  return { maxBytes: Math.floor(maxMegabytes * MEGABYTE), maxBackups };
}
