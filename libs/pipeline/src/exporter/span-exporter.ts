import type { Span } from '#spanring/otlp';

/** What a backend said about a delivered batch; OTLP partial success maps here. */
export interface ExportOutcome {
  /** Spans the backend refused although the request succeeded (OTLP partial_success). */
  readonly rejectedSpans: number;
  readonly message?: string;
}

/**
 * The contract every exporter (otlp_grpc, otlp_http, file, debug, or a user's own) implements.
 * One batch per call; the pipeline calls export() from up to `numConsumers` tasks at once,
 * retries, and counts outcomes, so an exporter only has to deliver or explain why not.
 */
export interface SpanExporter {
  /** The component id as configured, e.g. "otlp_grpc/backend"; used in metrics and logs. */
  readonly name: string;
  /**
   * Delivers one batch. Resolve when the backend accepted it. Reject with ExportError to say
   * whether a retry can help (any other error is treated as retryable). The signal aborts
   * when the pipeline gives up (shutdown deadline): stop and reject promptly.
   */
  export(spans: readonly Span[], signal: AbortSignal): Promise<ExportOutcome | void>;
  /** Releases connections and files; called once, after the last export finished. */
  shutdown(): Promise<void>;
}

/**
 * An exporter that sends encoded bytes may split encoding out of export(): the sending queue
 * then calls encode() once, when the batch is queued, and keeps only the bytes through the
 * wait, the export and its retries. The spans, and the received request buffers that
 * WireSpans point into, are freed right away instead of living on for seconds, which is most
 * of a busy collector's memory (bench:e2e).
 */
export interface EncodingSpanExporter extends SpanExporter {
  /** The request body for these spans; throws ExportError (not retryable) when they cannot be encoded. */
  encode(spans: readonly Span[]): Uint8Array;
  /** export() for a body encode() returned; same contract. */
  exportEncoded(request: Uint8Array, signal: AbortSignal): Promise<ExportOutcome | void>;
  /**
   * Optional: called once per body encode() returned, after the batch's final outcome
   * (delivered, rejected, or given up), when no attempt will read it again (Invariant P15),
   * so the exporter may reuse its storage for a later encode().
   */
  releaseEncoded?(request: Uint8Array): void;
}

/**
 * export() of an encoding exporter: encode, export once, then release the body (P15: no retry
 * follows, so the outcome is final).
 */
export async function exportEncodingOnce(
  exporter: EncodingSpanExporter,
  spans: readonly Span[],
  signal: AbortSignal,
): Promise<ExportOutcome | void> {
  const request = exporter.encode(spans);
  try {
    return await exporter.exportEncoded(request, signal);
  } finally {
    exporter.releaseEncoded?.(request);
  }
}

export function isEncodingExporter(exporter: SpanExporter): exporter is EncodingSpanExporter {
  const candidate = exporter as Partial<EncodingSpanExporter>;
  return typeof candidate.encode === 'function' && typeof candidate.exportEncoded === 'function';
}
