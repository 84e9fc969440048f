/**
 * Durations as the OTel Collector reads them: Go's time.ParseDuration strings ("200ms", "5s",
 * "1m30s", "1.5h", "500us", "0"), or an integer, which Go decodes as nanoseconds because
 * time.Duration is an int64 of nanoseconds. Accepting integers keeps an existing otelcol config
 * meaning what it meant there, even though `timeout: 5` is 5 ns in both; write units.
 */

const NS_PER_MS = 1e6;

/** Go's units, in milliseconds; "µs" (U+00B5) and "μs" (U+03BC) are both micro in Go. */
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

const TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** A duration in milliseconds (fractions kept: "500us" is 0.5), or undefined when `value` is not one. Negative durations are not durations here. */
export function parseDurationMs(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? value / NS_PER_MS : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '0') return 0;
  if (text === '') return undefined;
  let total = 0;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < text.length) {
    const match = TERM.exec(text);
    if (match === null) return undefined;
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
  }
  return Number.isFinite(total) ? total : undefined;
}

/** The message for a value parseDurationMs rejects. */
export function invalidDurationMessage(value: unknown): string {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  if (typeof value === 'string' && /^\s*-/.test(value)) return `invalid duration ${shown}: must not be negative`;
  if (typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value)) {
    return `invalid duration ${shown}: missing unit (use e.g. 200ms, 5s)`;
  }
  return `invalid duration ${shown} (use e.g. 200ms, 5s, 1m30s; a bare integer is nanoseconds)`;
}
