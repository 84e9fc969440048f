import { OtlpEncodeError } from '#spanring/otlp';
import { ExportError } from '../errors.ts';

/**
 * The rejection for an export the pipeline aborted. Permanent: the pipeline aborts when it has
 * given up on the batch (shutdown deadline), so a retry would only be refused again.
 */
export function abortedError(exporterName: string, signal: AbortSignal): ExportError {
  const reason = signal.reason instanceof Error ? `: ${signal.reason.message}` : '';
  return new ExportError(`${exporterName}: export aborted by the pipeline${reason}`, {
    retryable: false,
    cause: signal.reason,
  });
}

/**
 * Runs a serializer; spans it cannot encode (e.g. a 15-byte trace id) are a permanent
 * failure, since the same batch would fail the same way on every retry.
 */
export function encodeOrFail<T>(exporterName: string, encode: () => T): T {
  try {
    return encode();
  } catch (error) {
    if (!(error instanceof OtlpEncodeError)) throw error;
    throw new ExportError(`${exporterName}: the batch cannot be serialized: ${error.message}`, { retryable: false, cause: error });
  }
}

/** Node's system errors (ECONNREFUSED, ENOSPC…) carry a code; describes one for a message. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code !== undefined && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}
