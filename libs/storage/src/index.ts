export { DurableLog, type DurableLogOptions, type RecoveryReport, type StorageLogger } from './durable-log.ts';
export { StorageConfigError, StorageError, StorageFullError, StorageIoError } from './errors.ts';
