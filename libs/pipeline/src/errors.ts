/** Base class of the pipeline's errors; `code` is stable for programs. */
export class PipelineError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A pipeline option is invalid; `path` names it (e.g. "batch.sendBatchMaxSize"). */
export class PipelineConfigError extends PipelineError {
  readonly path: string;

  constructor(path: string, message: string) {
    super('PIPELINE_CONFIG', `invalid pipeline option "${path}": ${message}`);
    this.path = path;
  }
}

/**
 * The rings stayed full for the whole wait: the pipeline is pushing back. Receivers answer
 * 429/503 with Retry-After (HTTP) or UNAVAILABLE with RetryInfo (gRPC).
 */
export class BackpressureTimeoutError extends PipelineError {
  readonly waitedMs: number;
  readonly pendingSpans: number;

  constructor(waitedMs: number, pendingSpans: number) {
    super(
      'BACKPRESSURE_TIMEOUT',
      `the collector is saturated: ${pendingSpans} span(s) could not enter its ring within ${waitedMs} ms; retry later`,
    );
    this.waitedMs = waitedMs;
    this.pendingSpans = pendingSpans;
  }
}

/** The collector is shutting down (or shut down) and accepts no more spans. */
export class CollectorClosedError extends PipelineError {
  constructor() {
    super('COLLECTOR_CLOSED', 'the collector is shutting down and accepts no more spans; send them to another instance or retry later');
  }
}

/**
 * An exporter's delivery failed. Retryable failures are retried with backoff (at least
 * retryAfterMs when the server said so); permanent ones are counted as failed at once.
 */
export class ExportError extends PipelineError {
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: { retryable: boolean; retryAfterMs?: number; cause?: unknown }) {
    super(options.retryable ? 'EXPORT_RETRYABLE' : 'EXPORT_PERMANENT', message, { cause: options.cause });
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * The persistent sending queue holds its size cap (file_storage max_size_mib): nothing more is
 * acknowledged until exporters catch up. Receivers answer 429 / UNAVAILABLE with Retry-After.
 */
export class DurableQueueFullError extends PipelineError {
  readonly pendingSpans: number;

  constructor(pendingSpans: number) {
    super(
      'DURABLE_QUEUE_FULL',
      `the persistent sending queue is full: ${pendingSpans} span(s) refused until the exporters catch up; retry later`,
    );
    this.pendingSpans = pendingSpans;
  }
}

/**
 * Writing a request to the persistent sending queue failed (disk full, I/O error). Its spans
 * are in the pipeline and will still be exported, but they were not stored, so the client is
 * answered 503 / UNAVAILABLE and asked to retry (a duplicate, within at-least-once).
 */
export class DurableWriteError extends PipelineError {
  readonly acceptedSpans: number;

  constructor(acceptedSpans: number, cause: unknown) {
    super(
      'DURABLE_WRITE_FAILED',
      `the request could not be written to the persistent sending queue (${cause instanceof Error ? cause.message : String(cause)}); retry later`,
      { cause },
    );
    this.acceptedSpans = acceptedSpans;
  }
}
