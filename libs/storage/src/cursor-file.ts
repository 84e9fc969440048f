/**
 * The consumers' cursors, persisted atomically (specs/durable-log.md L5): written to a
 * temporary file, fsync'd, renamed over the old one, and the directory fsync'd, so a crash
 * leaves either the old or the new file whole, never a mix.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageIoError } from './errors.ts';

export const CURSOR_FILE = 'cursors.json';

interface CursorDocument {
  readonly version: 1;
  readonly cursors: Record<string, number>;
}

/** The cursors on disk; undefined when there is no file (or it cannot be read as one: `problem` says why). */
export async function readCursors(directory: string): Promise<{ cursors: Map<string, number> | undefined; problem: string | undefined }> {
  let text: string;
  try {
    text = await readFile(join(directory, CURSOR_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { cursors: undefined, problem: undefined };
    throw new StorageIoError('reading', join(directory, CURSOR_FILE), error);
  }
  try {
    const document = JSON.parse(text) as CursorDocument;
    if (document.version !== 1 || typeof document.cursors !== 'object' || document.cursors === null) throw new Error('not a cursor file of version 1');
    const cursors = new Map<string, number>();
    for (const [name, seq] of Object.entries(document.cursors)) {
      if (Number.isSafeInteger(seq) && seq >= 0) cursors.set(name, seq);
    }
    return { cursors, problem: undefined };
  } catch (error) {
    return { cursors: undefined, problem: `${CURSOR_FILE} is unreadable (${(error as Error).message})` };
  }
}

export async function writeCursors(directory: string, cursors: ReadonlyMap<string, number>): Promise<void> {
  const path = join(directory, CURSOR_FILE);
  const temporary = `${path}.tmp`;
  const document: CursorDocument = { version: 1, cursors: Object.fromEntries(cursors) };
  try {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(JSON.stringify(document));
      // Invariant L5: the new contents are on disk before the rename makes them the cursor file.
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
    await syncDirectory(directory);
  } catch (error) {
    throw new StorageIoError('writing', path, error);
  }
}

/** Invariant L5/L6: a rename, a new file or an unlink is durable only once its directory is synced. */
export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
