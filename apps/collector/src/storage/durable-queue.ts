/**
 * Opens the persistent sending queue's log (extensions.file_storage) before the app is built:
 * a directory that is missing or cannot be written is a configuration error naming the key,
 * reported at start, never a crash later (specs/durable-queue.md D10).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { DurableLog, StorageConfigError } from '#spanring/storage';
import { ConfigError } from '../config/config-error.ts';
import type { DurableQueueSettings } from '../config/runtime-config.ts';

export async function openDurableQueue(settings: DurableQueueSettings, logger: Logger): Promise<DurableLog> {
  const key = `extensions.${settings.extension}.directory`;
  if (settings.createDirectory) {
    try {
      await mkdir(settings.directory, { recursive: true });
    } catch (error) {
      throw new ConfigError([`${key}: cannot create ${JSON.stringify(settings.directory)} (${(error as Error).message})`]);
    }
  }
  let log: DurableLog;
  try {
    log = await DurableLog.open({
      directory: settings.directory,
      fsync: settings.fsync,
      maxSizeBytes: settings.maxSizeBytes,
      consumers: settings.exporters,
      logger: logger.child({ component: settings.extension }),
    });
  } catch (error) {
    if (error instanceof StorageConfigError) throw new ConfigError([`${key}: ${error.message}`]);
    throw error;
  }
  const { recovery } = log;
  logger.info(
    { extension: settings.extension, directory: settings.directory, fsync: settings.fsync, ...recovery, exporters: settings.exporters },
    'persistent sending queue opened',
  );
  return log;
}

/**
 * What `spanring validate` can tell of the queue's directory without opening the log: it must
 * exist (unless create_directory) and be a writable directory.
 */
export function probeDurableQueue(settings: DurableQueueSettings | undefined): string[] {
  if (settings === undefined) return [];
  const key = `extensions.${settings.extension}.directory`;
  let stats;
  try {
    stats = statSync(settings.directory);
  } catch {
    return settings.createDirectory ? [] : [`${key}: ${JSON.stringify(settings.directory)} does not exist (create it, or set create_directory: true)`];
  }
  if (!stats.isDirectory()) return [`${key}: ${JSON.stringify(settings.directory)} is not a directory`];
  try {
    accessSync(settings.directory, constants.W_OK | constants.X_OK);
  } catch {
    return [`${key}: ${JSON.stringify(settings.directory)} is not writable by this process`];
  }
  return [];
}
