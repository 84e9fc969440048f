import { RingConfigError } from './errors.ts';

/** Tuning of rings and channels. All fields are validated by {@link resolveConfig}. */
export interface RingConfig {
  /** Ring capacity is 2^ringBits slots (object rings) or bytes (shared rings); 1..20 (shared: 8..30). */
  readonly ringBits: number;
  /** Most producers a channel accepts at once; 1..128. */
  readonly maxProducers: number;
  /** Per-ring cap per round-robin turn, so one full ring cannot starve the others; >= 1. */
  readonly maxConsumePerRing: number;
  /** Keep plain counters (pushes, consumed, full events, waits); off by default to keep the hot path bare. */
  readonly enableMetrics: boolean;
}

export const DEFAULT_CONFIG: RingConfig = Object.freeze({
  ringBits: 16,
  maxProducers: 32,
  maxConsumePerRing: 4096,
  enableMetrics: false,
});

/** Small rings keep queues short: items wait little, producers feel pushback early. */
export const LOW_LATENCY_CONFIG: RingConfig = Object.freeze({
  ringBits: 12,
  maxProducers: 16,
  maxConsumePerRing: 256,
  enableMetrics: false,
});

/** Large rings and long turns absorb bursts and amortise the consumer's per-turn costs. */
export const HIGH_THROUGHPUT_CONFIG: RingConfig = Object.freeze({
  ringBits: 18,
  maxProducers: 64,
  maxConsumePerRing: 16384,
  enableMetrics: false,
});

export const RING_BITS_MIN = 1;
export const RING_BITS_MAX = 20;
export const MAX_PRODUCERS_LIMIT = 128;

export function requireIntegerInRange(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RingConfigError(field, `must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

/** Fills defaults and validates; throws RingConfigError naming the first bad field. */
export function resolveConfig(partial: Partial<RingConfig> = {}): RingConfig {
  if (partial === null || typeof partial !== 'object') {
    throw new RingConfigError('(config)', `must be an object, got ${describe(partial)}`);
  }
  const merged = { ...DEFAULT_CONFIG, ...partial };
  const enableMetrics = merged.enableMetrics;
  if (typeof enableMetrics !== 'boolean') {
    throw new RingConfigError('enableMetrics', `must be a boolean, got ${describe(enableMetrics)}`);
  }
  return Object.freeze({
    ringBits: requireIntegerInRange('ringBits', merged.ringBits, RING_BITS_MIN, RING_BITS_MAX),
    maxProducers: requireIntegerInRange('maxProducers', merged.maxProducers, 1, MAX_PRODUCERS_LIMIT),
    maxConsumePerRing: requireIntegerInRange('maxConsumePerRing', merged.maxConsumePerRing, 1, 2 ** 30),
    enableMetrics,
  });
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
