import type { TraceExportResponse } from '#spanring/otlp';
import type { ExportOutcome } from './span-exporter.ts';

/**
 * The outcome an OTLP response reports: partial_success (even with 0 rejected spans, which
 * carries a warning message) becomes an ExportOutcome; a full success gives undefined.
 */
export function outcomeOf(response: TraceExportResponse): ExportOutcome | undefined {
  const partial = response.partialSuccess;
  if (partial === undefined) return undefined;
  const rejectedSpans = partial.rejectedSpans > 0n ? Number(partial.rejectedSpans) : 0;
  return partial.errorMessage === '' ? { rejectedSpans } : { rejectedSpans, message: partial.errorMessage };
}
