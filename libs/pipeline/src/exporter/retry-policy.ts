import { ExportError } from '../errors.ts';

/** The OTel Collector's retry_on_failure, in milliseconds. */
export interface RetryPolicy {
  readonly enabled: boolean;
  readonly initialIntervalMs: number;
  readonly randomizationFactor: number;
  readonly multiplier: number;
  readonly maxIntervalMs: number;
  /** 0 means no limit. */
  readonly maxElapsedTimeMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  enabled: true,
  initialIntervalMs: 5_000,
  randomizationFactor: 0.5,
  multiplier: 1.5,
  maxIntervalMs: 30_000,
  maxElapsedTimeMs: 300_000,
});

/**
 * Delay before retry number `retry` (1-based), as the Collector's exponential backoff computes
 * it: interval = min(initial × multiplier^(retry−1), max), then a uniform pick in
 * interval × [1 − factor, 1 + factor]. A server-requested delay (Retry-After, RetryInfo) wins
 * when it is longer.
 */
export function backoffDelayMs(policy: RetryPolicy, retry: number, retryAfterMs = 0, random = Math.random): number {
  const interval = Math.min(policy.initialIntervalMs * policy.multiplier ** (retry - 1), policy.maxIntervalMs);
  const spread = interval * policy.randomizationFactor;
  const jittered = interval - spread + random() * 2 * spread;
  return Math.max(jittered, retryAfterMs);
}

/** HTTP statuses OTLP/HTTP says to retry (429 and 502–504); everything else is permanent. */
const RETRYABLE_HTTP = new Set([429, 502, 503, 504]);

/** Classifies an OTLP/HTTP answer; retryAfterHeader is the raw Retry-After value if any. */
export function classifyHttpFailure(status: number, retryAfterHeader?: string | null, detail = ''): ExportError {
  const retryable = RETRYABLE_HTTP.has(status);
  const retryAfterMs = retryable ? parseRetryAfter(retryAfterHeader) : undefined;
  const suffix = detail ? `: ${detail}` : '';
  return new ExportError(`backend answered HTTP ${status}${suffix}`, { retryable, retryAfterMs });
}

/** gRPC status codes (numbers are fixed by the gRPC spec). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

const RETRYABLE_GRPC = new Set<number>([
  GrpcCode.CANCELLED,
  GrpcCode.DEADLINE_EXCEEDED,
  GrpcCode.ABORTED,
  GrpcCode.OUT_OF_RANGE,
  GrpcCode.UNAVAILABLE,
  GrpcCode.DATA_LOSS,
]);

/**
 * Classifies an OTLP/gRPC failure: the OTLP spec's retryable codes, and RESOURCE_EXHAUSTED only
 * when the server attached RetryInfo (then its delay is honoured).
 */
export function classifyGrpcFailure(code: number, retryInfoDelayMs?: number, detail = ''): ExportError {
  const throttled = code === GrpcCode.RESOURCE_EXHAUSTED && retryInfoDelayMs !== undefined;
  const retryable = RETRYABLE_GRPC.has(code) || throttled;
  const name = Object.entries(GrpcCode).find(([, value]) => value === code)?.[0] ?? `code ${code}`;
  const suffix = detail ? `: ${detail}` : '';
  return new ExportError(`backend answered gRPC ${name}${suffix}`, {
    retryable,
    retryAfterMs: retryable ? retryInfoDelayMs : undefined,
  });
}

/** Retry-After is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
