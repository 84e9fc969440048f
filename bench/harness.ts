/**
 * Shared benchmark harness: argument parsing, timing, repeated measurement, and the two
 * outputs (a human table, or exactly one JSON object with --json).
 *
 * Everything except the final report goes to stderr, so `--json` leaves stdout parseable.
 */
import os from 'node:os';

export interface BenchOptions {
  /** Smaller counts and fewer repetitions: the whole bench must finish well under a minute. */
  readonly quick: boolean;
  /** Print only one JSON object on stdout. */
  readonly json: boolean;
  /** Timed repetitions of every case (warm-up excluded). */
  readonly reps: number;
}

export interface RepsDefaults {
  readonly full: number;
  readonly quick: number;
}

/** Thrown when a bench itself is wrong (lost or corrupted records, timeouts): exit code 1. */
export class BenchFailure extends Error {
  override readonly name = 'BenchFailure';
}

const USAGE = 'usage: [--quick] [--json] [--reps N]';

export function parseBenchArgs(argv: readonly string[], defaults: RepsDefaults): BenchOptions {
  let quick = false;
  let json = false;
  let reps: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') quick = true;
    else if (arg === '--json') json = true;
    else if (arg === '--reps' || arg?.startsWith('--reps=')) {
      const text = arg === '--reps' ? argv[++i] : arg.slice('--reps='.length);
      reps = Number(text);
      // Bounded: a typo must not turn the bench into an hour-long run.
      if (!Number.isInteger(reps) || reps < 1 || reps > 20) {
        throw new BenchFailure(`--reps needs an integer from 1 to 20, got ${String(text)}; ${USAGE}`);
      }
    } else {
      throw new BenchFailure(`unknown argument ${String(arg)}; ${USAGE}`);
    }
  }
  return { quick, json, reps: reps ?? (quick ? defaults.quick : defaults.full) };
}

/**
 * Monotonic nanoseconds. process.hrtime is one clock for the whole process, so a worker's
 * reading and the main thread's can be subtracted (performance.now() has a per-thread origin).
 */
export function nowNs(): bigint {
  return process.hrtime.bigint();
}

export function secondsSince(startNs: bigint, endNs: bigint = nowNs()): number {
  return Number(endNs - startNs) / 1e9;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new BenchFailure('median of no values');
  const sorted = values.toSorted((a, b) => a - b);
  const mid = sorted.length >>> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Progress and diagnostics: stderr, never stdout (stdout is the report). */
export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

export function checkEqual(what: string, actual: number, expected: number): void {
  if (actual !== expected) throw new BenchFailure(`${what}: got ${actual}, expected ${expected}`);
}

/** One measured case. run() does `count` operations and returns the seconds they took. */
export interface BenchCase {
  /** Stable id, used in JSON. */
  readonly name: string;
  /** What the table shows; defaults to name. */
  readonly label?: string;
  readonly unit: string;
  readonly count: number;
  /** A shorter first run that is not timed, so every case is measured with hot JIT code. */
  readonly warmupCount: number;
  readonly run: (count: number) => Promise<number>;
}

export interface BenchResult {
  readonly name: string;
  readonly label: string;
  /** Median of the timed repetitions. */
  readonly opsPerSec: number;
  readonly unit: string;
  /** Every repetition's rate, in run order. */
  readonly runs: readonly number[];
}

/**
 * Runs every case `reps` times, round-robin (case A, B, C, A, B, C, ...), so a burst of load
 * from other processes spreads over all cases instead of skewing one of them; each ratio's
 * subject and baseline are measured within seconds of each other. Reports the median rate.
 */
export async function measureRoundRobin(cases: readonly BenchCase[], reps: number): Promise<BenchResult[]> {
  for (const c of cases) {
    const seconds = await c.run(c.warmupCount);
    log(`warm-up ${c.name}: ${formatRate(c.warmupCount / seconds)} ${c.unit} (${seconds.toFixed(3)} s)`);
  }
  const rates = cases.map((): number[] => []);
  for (let round = 0; round < reps; round++) {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i]!;
      const seconds = await c.run(c.count);
      const rate = c.count / seconds;
      rates[i]!.push(rate);
      log(`round ${round + 1}/${reps} ${c.name}: ${formatRate(rate)} ${c.unit} (${seconds.toFixed(3)} s)`);
    }
  }
  return cases.map((c, i) => ({
    name: c.name,
    label: c.label ?? c.name,
    unit: c.unit,
    opsPerSec: median(rates[i]!),
    runs: rates[i]!,
  }));
}

/** Finds results by case name; a missing one is a bench bug, so it fails the bench. */
export function resultLookup(results: readonly BenchResult[]): (name: string) => BenchResult {
  const byName = new Map(results.map((result) => [result.name, result]));
  return (name) => {
    const result = byName.get(name);
    if (result === undefined) throw new BenchFailure(`no result named ${name}`);
    return result;
  };
}

export interface BenchRatio {
  readonly name: string;
  readonly value: number;
  /** Minimum wanted; null for a ratio reported for information only. */
  readonly target: number | null;
  readonly met: boolean | null;
}

export function ratio(name: string, subject: BenchResult, baseline: BenchResult, target: number | null): BenchRatio {
  const value = subject.opsPerSec / baseline.opsPerSec;
  return { name, value, target, met: target === null ? null : value >= target };
}

/** A table line: a result, optionally with the ratio its subject reaches against it. */
export interface TableRow {
  readonly result: BenchResult;
  readonly ratio?: BenchRatio;
  readonly indent?: boolean;
}

export function formatRate(rate: number): string {
  if (!Number.isFinite(rate)) return String(rate);
  if (rate >= 1e9) return `${(rate / 1e9).toFixed(2)}G`;
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(2)}M`;
  if (rate >= 1e3) return `${(rate / 1e3).toFixed(1)}k`;
  return rate.toFixed(0);
}

export function renderTable(rows: readonly TableRow[]): string {
  const header = ['case', 'rate (median)', 'unit', 'ratio', 'target', 'result'];
  const lines = rows.map((row) => [
    `${row.indent === true ? '  vs ' : ''}${row.result.label}`,
    formatRate(row.result.opsPerSec),
    row.result.unit,
    row.ratio ? `${row.ratio.value.toFixed(2)}x` : '',
    row.ratio?.target != null ? `>= ${row.ratio.target}x` : row.ratio ? 'info' : '',
    row.ratio?.met == null ? '' : row.ratio.met ? 'PASS' : 'MISS',
  ]);
  const widths = header.map((h, col) => Math.max(h.length, ...lines.map((l) => l[col]!.length)));
  // Numbers right-aligned, text left-aligned.
  const rightAligned = new Set([1, 3]);
  const format = (cells: readonly string[]): string =>
    cells
      .map((cell, col) => (rightAligned.has(col) ? cell.padStart(widths[col]!) : cell.padEnd(widths[col]!)))
      .join('  ')
      .trimEnd();
  return [format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(format)].join('\n');
}

/**
 * A figure with a target that is not a rate ratio: an absolute rate to reach, a count of lost
 * items that must stay 0. `target` describes the target (">= 1000000", "== 0"); null = info.
 */
export interface BenchCheck {
  readonly name: string;
  /** What the table shows; defaults to name. */
  readonly label?: string;
  readonly value: number;
  readonly unit: string;
  readonly target: string | null;
  readonly met: boolean | null;
  /** How the table shows the value (e.g. "3.42" for milliseconds); defaults to the integer or formatRate. */
  readonly display?: string;
}

export function renderChecks(checks: readonly BenchCheck[]): string {
  const header = ['check', 'value', 'unit', 'target', 'result'];
  const lines = checks.map((c) => [
    c.label ?? c.name,
    c.display ?? (Number.isInteger(c.value) ? String(c.value) : formatRate(c.value)),
    c.unit,
    c.target ?? 'info',
    c.met === null ? '' : c.met ? 'PASS' : 'MISS',
  ]);
  const widths = header.map((h, col) => Math.max(h.length, ...lines.map((l) => l[col]!.length)));
  const format = (cells: readonly string[]): string =>
    cells
      .map((cell, col) => (col === 1 ? cell.padStart(widths[col]!) : cell.padEnd(widths[col]!)))
      .join('  ')
      .trimEnd();
  return [format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(format)].join('\n');
}

export interface BenchReport {
  readonly bench: string;
  readonly options: BenchOptions;
  readonly results: readonly BenchResult[];
  readonly ratios: readonly BenchRatio[];
  readonly rows: readonly TableRow[];
  /** Absolute targets and loss counts, shown in a second table (and as `checks` in JSON). */
  readonly checks?: readonly BenchCheck[];
  /** Extra lines under the table (how counts were chosen, what "median" means here...). */
  readonly notes?: readonly string[];
  /** Further fields for the JSON object only (per-configuration details, notes); absent: none. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

export function printReport(report: BenchReport): void {
  if (report.options.json) {
    const json = {
      bench: report.bench,
      quick: report.options.quick,
      node: process.version,
      cpus: os.availableParallelism(),
      results: report.results.map((r) => ({ name: r.name, opsPerSec: Math.round(r.opsPerSec), unit: r.unit })),
      ratios: report.ratios.map((r) => ({
        name: r.name,
        value: Number(r.value.toFixed(3)),
        target: r.target,
        met: r.met,
      })),
      ...(report.checks === undefined
        ? {}
        : {
            checks: report.checks.map((c) => ({
              name: c.name,
              value: Number.isInteger(c.value) ? c.value : Number(c.value.toFixed(3)),
              unit: c.unit,
              target: c.target,
              met: c.met,
            })),
          }),
      ...(report.extra === undefined ? {} : { extra: report.extra }),
    };
    process.stdout.write(`${JSON.stringify(json)}\n`);
    return;
  }
  const cpuModel = os.cpus()[0]?.model ?? 'unknown cpu';
  const lines = [
    `bench ${report.bench}${report.options.quick ? ' (quick)' : ''}: node ${process.version}, ` +
      `${os.availableParallelism()} cpus (${cpuModel}), median of ${report.options.reps} timed run(s) after a warm-up` +
      (report.options.reps % 2 === 0 ? ' (even count: mean of the middle two)' : ''),
    '',
    renderTable(report.rows),
    ...(report.checks && report.checks.length > 0 ? ['', renderChecks(report.checks)] : []),
    ...(report.notes && report.notes.length > 0 ? ['', ...report.notes] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * Runs a bench's main function: a missed target is a reported result (exit 0), a broken
 * bench (BenchFailure or any other error) exits 1.
 */
export function runBench(main: () => Promise<void>): void {
  // process.exit, not exitCode: a worker left spinning by a failed run must not keep the bench
  // alive past its bound. Standard output to files and pipes is synchronous on Linux, so the
  // report is already written.
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    },
  );
}
