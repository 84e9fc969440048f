/**
 * One process per log directory (specs/durable-log.md L9): two collectors appending to the same
 * segments would corrupt each other. The lock is a file naming the owner's pid; a lock left by
 * a process that is gone (kill -9) is taken over, so a crash never blocks the restart.
 */
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageConfigError, StorageIoError } from './errors.ts';

const LOCK_FILE = 'LOCK';

export async function acquireLock(directory: string): Promise<void> {
  const path = join(directory, LOCK_FILE);
  try {
    await writeFile(path, String(process.pid), { flag: 'wx' });
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EROFS') throw new StorageConfigError(directory, 'is not writable by this process');
    if (code !== 'EEXIST') throw new StorageIoError('creating', path, error);
  }
  const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
  if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
    throw new StorageConfigError(directory, `is in use by process ${owner} (another collector?); give each collector a directory of its own`);
  }
  await writeFile(path, String(process.pid)).catch((error: unknown) => {
    throw new StorageIoError('writing', path, error);
  });
}

export async function releaseLock(directory: string): Promise<void> {
  const path = join(directory, LOCK_FILE);
  const owner = await readFile(path, 'utf8').catch(() => '');
  if (owner.trim() === String(process.pid)) await unlink(path).catch(() => undefined);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
