/**
 * End-to-end benchmark (`npm run bench:e2e [-- --quick] [-- --json] [-- --reps N]`).
 *
 * The collector as users run it: the built `spanring` binary as a child process, OTLP/HTTP
 * protobuf in (the load generator, tools/load, in this process), and per configuration:
 * - accepted spans/s at saturation (unthrottled load, CONCURRENCY requests in flight);
 * - collector CPU-seconds per million spans, from the child's own CPU accounting
 *   (/proc/<pid>/stat utime + stime, all its threads), so the generator and the sink sharing
 *   the machine are not charged to it; counted from the start of the load until the spans
 *   acknowledged so far have all reached the exporter's output;
 * - p99 latency at 50% of the saturating request rate;
 * - peak RSS (VmHWM) over the whole run;
 * - spans lost = acknowledged − exported, after an overload phase at twice the saturating
 *   rate (CONCURRENCY × 4 in flight) and a SIGTERM drain (must be 0: the excess must be
 *   refused with 429/503, never acknowledged then dropped).
 * Exports go to an in-bench OTLP/gRPC sink (bench/e2e/sink.ts, a worker thread), or with the debug exporter
 * to the child's stdout (one summary line per batch, summed here).
 *
 * Configurations (bench/e2e/configs.ts): Spanring single thread (spanring.workers: 0, written
 * out) with otlp_grpc gzip, otlp_grpc none and debug; Spanring with 1 and 2 receiver worker
 * threads (otlp_grpc none); the baseline. The headline targets are checked on the
 * compression-none configuration a user gets by default on this machine (spanring.workers: auto,
 * which is 1 worker on 2 cores), named in the output; it runs first and the baseline right after
 * it, so the ratio compares runs made back to back. The scaling from 1 to 2 receiver workers is
 * accepted spans/s with 2 ÷ with 1.
 *
 * The baseline (bench/e2e/baseline-server.ts, also a child) is what a Node user builds today:
 * node:http + protobufjs reflection decode + the SDK's BatchSpanProcessor and OTLP/gRPC
 * exporter, with their defaults; its drops are reported.
 *
 * --reps N repeats the saturation phase N times per configuration and reports the median.
 * Targets are reported, not enforced; a broken run (child that does not start or exit, sink
 * counting mismatch, no span acknowledged) exits 1.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { receiverWorkers } from '../apps/collector/src/config/to-runtime-config.ts';
import { COLLECTOR_ENV, COLLECTOR_NODE_FLAGS } from '../apps/collector/src/node-flags.ts';
import { runLoad, type LoadOptionsInput, type LoadSummary } from '../tools/load/index.ts';
import { ServerChild } from './e2e/child.ts';
import { CONFIGS, spanringYaml, type E2eConfig } from './e2e/configs.ts';
import { clockTicksPerSecond, cpuSeconds, memory } from './e2e/proc-stats.ts';
import { GrpcSink } from './e2e/sink.ts';
import {
  BenchFailure,
  formatRate,
  log,
  median,
  parseBenchArgs,
  printReport,
  ratio,
  runBench,
  type BenchCheck,
  type BenchRatio,
  type BenchResult,
  type TableRow,
} from './harness.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COLLECTOR_MAIN = join(ROOT, 'dist/apps/collector/src/main.js');
const BASELINE_MAIN = join(ROOT, 'dist/bench/e2e/baseline-server.js');

/** Requests in flight at saturation and at half rate; the overload phase uses 4×. */
const CONCURRENCY = 32;
const OVERLOAD_CONCURRENCY = CONCURRENCY * 4;
const SPANS_PER_REQUEST = 512;

const SPANS_PER_CPU_SECOND_TARGET = 300_000;
const BASELINE_RATIO_TARGET = 5;
const P99_TARGET_MS = 20;
const PEAK_RSS_TARGET_MB = 300;

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 60_000;
/** The baseline's output never catches up (its processor drops): wait until it stops moving. */
const QUIET_MS = 500;
const POLL_MS = 25;

interface Timing {
  readonly warmupMs: number;
  readonly saturationMs: number;
  readonly halfMs: number;
  readonly overloadMs: number;
  /** After a phase, how long the exporter's output may take to catch up with what was acknowledged. */
  readonly catchUpLimitMs: number;
}

/**
 * Quick: six configurations under 90 s wall. Each phase still runs hundreds of requests of 512
 * spans (a 2 s half-rate phase at ~300 req/s gives ~600 latency samples for the p99).
 */
const QUICK: Timing = { warmupMs: 750, saturationMs: 2_500, halfMs: 2_000, overloadMs: 2_000, catchUpLimitMs: 15_000 };
const FULL: Timing = { warmupMs: 3_000, saturationMs: 15_000, halfMs: 15_000, overloadMs: 15_000, catchUpLimitMs: 60_000 };

/**
 * Every load run is bounded in time (its duration, plus an abort past it) and in count: at most
 * this many spans per second of its duration, far beyond what this machine can take, so the
 * time bound is the one that acts unless the generator runs away.
 */
const MAX_SPANS_PER_SECOND_BOUND = 20_000_000;

function spanBound(durationMs: number): number {
  return Math.ceil(((durationMs / 1000) * MAX_SPANS_PER_SECOND_BOUND) / SPANS_PER_REQUEST) * SPANS_PER_REQUEST;
}

const secondsText = (ms: number): string => `${ms / 1000} s`;

function phasesText(timing: Timing, reps: number): string {
  return (
    `warm-up ${secondsText(timing.warmupMs)}, saturation ${secondsText(timing.saturationMs)} x${reps}, ` +
    `half rate ${secondsText(timing.halfMs)}, 2x overload ${secondsText(timing.overloadMs)}`
  );
}

// ---------------------------------------------------------------------------------------------
// One configuration: a child, its output counter, and its phases.

interface PhaseResult {
  readonly summary: LoadSummary;
  /** Child CPU seconds from the start of the load until its output caught up. */
  readonly cpuSeconds: number;
  /**
   * Wall seconds from the start of the load until the output caught up (collector: everything
   * acknowledged so far was exported; baseline: its output stopped moving), never less than
   * the load's own duration.
   */
  readonly wallSeconds: number;
  /** Acknowledged spans / wallSeconds: the rate the whole path sustains, buffering excluded. */
  readonly sustainedSpansPerSecond: number;
  /** CPU seconds of this process (load generator + sink) over the same interval. */
  readonly benchCpuSeconds: number;
  /** Spans the output received over the same interval. */
  readonly exported: number;
  /** The child's peak resident set (VmHWM) from its start until the end of this phase. */
  readonly peakRssBytesSoFar: number;
  /** False when the output had not caught up within CATCH_UP_LIMIT_MS. */
  readonly caughtUp: boolean;
}

interface ConfigResult {
  readonly config: E2eConfig;
  readonly saturation: PhaseResult;
  readonly saturationRuns: readonly PhaseResult[];
  readonly half: PhaseResult;
  readonly halfRate: number;
  readonly overload: PhaseResult;
  readonly overloadRate: number;
  readonly peakRssBytes: number;
  /** Most threads the child had, sampled after every phase (worker threads show up here). */
  readonly maxThreads: number;
  /** Wall seconds from starting the child until it exited. */
  readonly configWallSeconds: number;
  readonly acknowledged: number;
  readonly exported: number;
  /** Baseline: spans handed to BatchSpanProcessor.onEnd, as it reported at exit. */
  readonly handed: number | undefined;
  readonly exitCode: number | null;
  /** Collector self-metrics scraped before SIGTERM (sums over labels). */
  readonly metrics: Readonly<Record<string, number>>;
}

interface ReadyLine {
  readonly msg?: string;
  readonly otlpHttpPort?: number;
  readonly metricsPort?: number;
}

const DEBUG_LINE = /^debug: (\d+) spans?,/;

class ConfigRun {
  readonly config: E2eConfig;
  private readonly sink: GrpcSink;
  private readonly child: ServerChild;
  private readonly sinkBase: number;
  private debugSpans = 0;
  private acknowledged = 0;
  private seed = 1;
  private maxThreads = 0;
  private readonly catchUpLimitMs: number;

  constructor(config: E2eConfig, sink: GrpcSink, configPath: string | undefined, cwd: string, catchUpLimitMs: number) {
    this.config = config;
    this.catchUpLimitMs = catchUpLimitMs;
    this.sink = sink;
    this.sinkBase = sink.spans;
    const args = config.kind === 'spanring' ? [...COLLECTOR_NODE_FLAGS, COLLECTOR_MAIN, '--config', configPath!] : [BASELINE_MAIN, '--sink-port', String(sink.port)];
    // Spanring runs as its launchers start it; the baseline as a Node user would, with no tuning.
    const env = config.kind === 'spanring' ? COLLECTOR_ENV : {};
    this.child = ServerChild.start(
      args,
      cwd,
      (line) => {
        const match = DEBUG_LINE.exec(line);
        if (match !== null) this.debugSpans += Number(match[1]);
      },
      env,
    );
  }

  get pid(): number {
    return this.child.pid;
  }

  /** Spans this configuration's exporter delivered so far (sink or debug lines). */
  exported(): number {
    return this.config.kind === 'spanring' && this.config.exporter === 'debug' ? this.debugSpans : this.sink.spans - this.sinkBase;
  }

  /** Waits for the ready line; returns the OTLP/HTTP port and, for the collector, the metrics port. */
  async ready(): Promise<{ httpPort: number; metricsPort: number | undefined }> {
    if (this.config.kind === 'baseline') {
      const port = await this.child.waitForLine('baseline ready', READY_TIMEOUT_MS, (line) => parseJson<{ port?: number }>(line)?.port);
      return { httpPort: port, metricsPort: undefined };
    }
    const ready = await this.child.waitForLine('"spanring is ready"', READY_TIMEOUT_MS, (line) => {
      const parsed = parseJson<ReadyLine>(line);
      return parsed?.msg === 'spanring is ready' ? parsed : undefined;
    });
    if (ready.otlpHttpPort === undefined) throw new BenchFailure(`the ready line has no otlpHttpPort: ${JSON.stringify(ready)}`);
    return { httpPort: ready.otlpHttpPort, metricsPort: ready.metricsPort };
  }

  /** One load run against the child, measured; waits for the output to catch up before the CPU is read. */
  async phase(what: string, target: string, input: Omit<LoadOptionsInput, 'target'>, durationMs: number): Promise<PhaseResult> {
    const cpu0 = cpuSeconds(this.pid);
    const bench0 = process.cpuUsage();
    const exported0 = this.exported();
    const start = performance.now();
    const summary = await runLoad(
      {
        target,
        protocol: 'http/protobuf',
        spansPerRequest: SPANS_PER_REQUEST,
        gzip: false,
        seed: this.seed++,
        duration: durationMs,
        spans: spanBound(durationMs),
        ...input,
      },
      // A safety bound only: runLoad stops at `duration` and awaits what is in flight (10 s deadline each).
      { signal: AbortSignal.timeout(durationMs + 30_000) },
    );
    const loadEnd = performance.now();
    this.acknowledged += summary.spans.acknowledged;
    const { caughtUp, at } = await this.catchUp();
    const cpu = cpuSeconds(this.pid) - cpu0;
    const afterPhase = memory(this.pid);
    this.maxThreads = Math.max(this.maxThreads, afterPhase.threads);
    const wallSeconds = (Math.max(at, loadEnd) - start) / 1000;
    const bench = process.cpuUsage(bench0);
    const measured: PhaseResult = {
      summary,
      cpuSeconds: cpu,
      wallSeconds,
      sustainedSpansPerSecond: summary.spans.acknowledged / wallSeconds,
      benchCpuSeconds: (bench.user + bench.system) / 1e6,
      exported: this.exported() - exported0,
      caughtUp,
      peakRssBytesSoFar: afterPhase.peakRssBytes,
    };
    const errors = Object.entries(summary.errorsByStatus);
    log(
      `  ${what}: ${formatRate(summary.spansPerSecond)} spans/s acknowledged (${summary.spans.acknowledged}) over ${summary.durationSeconds.toFixed(1)} s, ` +
        `${formatRate(measured.sustainedSpansPerSecond)} spans/s sustained (output caught up after ${wallSeconds.toFixed(1)} s), ` +
        `refused ${summary.spans.refused}, errors ${summary.requests.errors}${errors.length > 0 ? ` ${JSON.stringify(summary.errorsByStatus)}` : ''}, ` +
        `p99 ${summary.latencyMs.p99 ?? '-'} ms; child ${cpu.toFixed(2)} CPU-s over ${wallSeconds.toFixed(2)} s ` +
        `(${formatRate(summary.spans.acknowledged / cpu)} spans/CPU-s), bench process ${measured.benchCpuSeconds.toFixed(2)} CPU-s, ` +
        `peak RSS so far ${mb(afterPhase.peakRssBytes).toFixed(0)} MB` +
        (caughtUp ? '' : ' [output did not catch up]'),
    );
    if (errors.length > 0) log(`    error samples: ${JSON.stringify(summary.errorSamples)}`);
    return measured;
  }

  /**
   * Collector: until everything acknowledged so far reached the output (bounded). Baseline:
   * its processor drops, so its output never catches up; until the output stops moving.
   */
  private async catchUp(): Promise<{ caughtUp: boolean; at: number }> {
    const end = performance.now() + this.catchUpLimitMs;
    const maxPolls = Math.ceil(this.catchUpLimitMs / POLL_MS) + 1;
    if (this.config.kind === 'spanring') {
      for (let i = 0; i < maxPolls && performance.now() < end; i++) {
        if (this.exported() >= this.acknowledged) return { caughtUp: true, at: performance.now() };
        await sleep(POLL_MS);
      }
      return { caughtUp: this.exported() >= this.acknowledged, at: performance.now() };
    }
    let last = this.exported();
    let lastChange = performance.now();
    for (let i = 0; i < maxPolls && performance.now() < end; i++) {
      await sleep(POLL_MS);
      const now = this.exported();
      if (now !== last) {
        last = now;
        lastChange = performance.now();
      } else if (performance.now() - lastChange >= QUIET_MS) {
        return { caughtUp: true, at: lastChange };
      }
    }
    return { caughtUp: false, at: performance.now() };
  }

  async finish(): Promise<{
    peakRssBytes: number;
    maxThreads: number;
    acknowledged: number;
    exported: number;
    handed: number | undefined;
    exitCode: number | null;
    output: string;
  }> {
    const { peakRssBytes, threads } = memory(this.pid);
    this.maxThreads = Math.max(this.maxThreads, threads);
    const handedLine =
      this.config.kind === 'baseline'
        ? this.child.waitForLine('baseline exit report', STOP_TIMEOUT_MS, (line) => parseJson<{ handed?: number }>(line)?.handed)
        : undefined;
    // The report line is printed just before exit: a failed wait surfaces through stop() below.
    handedLine?.catch(() => undefined);
    const exit = await this.child.stop(STOP_TIMEOUT_MS);
    const handed = handedLine === undefined ? undefined : await handedLine;
    return { peakRssBytes, maxThreads: this.maxThreads, acknowledged: this.acknowledged, exported: this.exported(), handed, exitCode: exit.code, output: this.child.output() };
  }

  kill(): void {
    this.child.kill();
  }
}

function parseJson<T>(line: string): T | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as T;
  } catch {
    return undefined;
  }
}

/** Sums of a few self-metrics (over their labels) from the collector's Prometheus endpoint. */
async function scrapeMetrics(port: number): Promise<Record<string, number>> {
  const names = [
    'otelcol_receiver_accepted_spans_total',
    'otelcol_receiver_refused_spans_total',
    'spanring_backpressure_waits_total',
    'otelcol_exporter_sent_spans_total',
    'otelcol_exporter_send_failed_spans_total',
    'spanring_exporter_retries_total',
  ];
  const out: Record<string, number> = {};
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    for (const name of names) {
      out[name] = text
        .split('\n')
        .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
        .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    }
  } catch (error) {
    log(`  (self-metrics not scraped: ${(error as Error).message})`);
  }
  return out;
}

async function runConfig(config: E2eConfig, sink: GrpcSink, dir: string, timing: Timing, reps: number): Promise<ConfigResult> {
  log(`${config.label}: ${config.description}`);
  const configStart = performance.now();
  let configPath: string | undefined;
  if (config.kind === 'spanring') {
    configPath = join(dir, `${config.name}.yaml`);
    const storageDir = config.storage === undefined ? undefined : join(dir, `${config.name}-queue`);
    if (storageDir !== undefined) await mkdir(storageDir, { recursive: true });
    await writeFile(configPath, spanringYaml(config, sink.port, storageDir));
  }
  const run = new ConfigRun(config, sink, configPath, dir, timing.catchUpLimitMs);
  try {
    const { httpPort, metricsPort } = await run.ready();
    const target = `http://127.0.0.1:${httpPort}`;
    await run.phase('warm-up', target, { concurrency: CONCURRENCY }, timing.warmupMs);
    const saturationRuns: PhaseResult[] = [];
    for (let rep = 0; rep < reps; rep++) {
      saturationRuns.push(await run.phase(`saturation ${rep + 1}/${reps}`, target, { concurrency: CONCURRENCY }, timing.saturationMs));
    }
    const perCpu = (p: PhaseResult): number => p.summary.spans.acknowledged / p.cpuSeconds;
    const middle = median(saturationRuns.map(perCpu));
    const saturation = saturationRuns.find((p) => perCpu(p) === middle) ?? saturationRuns.toSorted((a, b) => perCpu(a) - perCpu(b))[reps >>> 1]!;
    if (saturation.summary.spans.acknowledged === 0) throw new BenchFailure(`${config.name}: nothing acknowledged at saturation`);
    // The saturating rate, in the load generator's unit (requests/s): what the whole path sustains,
    // not the acknowledgement rate of a few seconds, which the rings' buffering inflates.
    const saturatingRate = median(saturationRuns.map((p) => p.sustainedSpansPerSecond)) / SPANS_PER_REQUEST;
    const halfRate = saturatingRate / 2;
    const half = await run.phase(`half rate (${halfRate.toFixed(0)} req/s)`, target, { concurrency: CONCURRENCY, rate: halfRate }, timing.halfMs);
    const overloadRate = saturatingRate * 2;
    const overload = await run.phase(
      `2x overload (${overloadRate.toFixed(0)} req/s, ${OVERLOAD_CONCURRENCY} in flight)`,
      target,
      { concurrency: OVERLOAD_CONCURRENCY, rate: overloadRate },
      timing.overloadMs,
    );
    const metrics = metricsPort === undefined ? {} : await scrapeMetrics(metricsPort);
    const { output, ...end } = await run.finish();
    const configWallSeconds = (performance.now() - configStart) / 1000;
    const difference = end.acknowledged - end.exported;
    log(
      `  exit ${end.exitCode}; acknowledged ${end.acknowledged}, exported ${end.exported}` +
        (end.handed === undefined ? '' : `, handed to the BSP ${end.handed}`) +
        `, acknowledged − exported ${difference}; peak RSS ${(end.peakRssBytes / 1e6).toFixed(0)} MB, up to ${end.maxThreads} threads; ` +
        `${configWallSeconds.toFixed(1)} s for this configuration; self-metrics ${JSON.stringify(metrics)}`,
    );
    if (config.kind === 'spanring' && (difference !== 0 || end.exitCode !== 0)) {
      const lines = output.split('\n').filter((line) => line !== '' && !DEBUG_LINE.test(line));
      log(`  the collector's last log lines:\n    ${lines.slice(-12).join('\n    ')}`);
    }
    return { config, saturation, saturationRuns, half, halfRate, overload, overloadRate, metrics, configWallSeconds, ...end };
  } finally {
    run.kill();
  }
}

// ---------------------------------------------------------------------------------------------
// The report.

const spansPerCpuSecond = (r: ConfigResult): number => r.saturation.summary.spans.acknowledged / r.saturation.cpuSeconds;

/**
 * How close a configuration is to what spanring.workers: auto runs: the most workers not over
 * `defaultWorkers` ranks highest; above it, fewer ranks higher.
 */
function defaultConfigRank(config: E2eConfig, defaultWorkers: number): number {
  const workers = config.kind === 'spanring' ? config.workers : 0;
  return workers <= defaultWorkers ? workers : -workers;
}

/**
 * The headline configuration: OTLP/HTTP protobuf in, otlp_grpc out with compression none, batch
 * by trace, with the receiver workers spanring.workers: auto gives on this machine (the most the
 * bench runs, if auto gives more). Chosen up front, not as the best of the run: picking the best
 * of three noisy figures would flatter every target.
 */
function headlineConfig(defaultWorkers: number): E2eConfig {
  const candidates = CONFIGS.filter((c) => c.kind === 'spanring' && c.exporter === 'otlp_grpc_none');
  return candidates.reduce((best, c) => (defaultConfigRank(c, defaultWorkers) > defaultConfigRank(best, defaultWorkers) ? c : best));
}

/**
 * The order configurations run in: the headline, then the baseline, then the rest. The 5x ratio
 * compares the first two, so they run back to back: on these shared machines speed drifts by
 * tens of percent over minutes, which between runs far apart moves the ratio more than any change.
 */
function runOrder(headline: E2eConfig): E2eConfig[] {
  const baseline = CONFIGS.filter((c) => c.kind === 'baseline');
  return [headline, ...baseline, ...CONFIGS.filter((c) => c !== headline && c.kind !== 'baseline')];
}
const deliveredPerCpuSecond = (r: ConfigResult): number => r.saturation.exported / r.saturation.cpuSeconds;
const ACCEPTED_METRIC = 'otelcol_receiver_accepted_spans_total';

/**
 * Collector: spans acknowledged (to the generator) or accepted (its own count) but never
 * exported: the larger of the two, so a late acceptance cannot hide a loss. Baseline: spans
 * handed to its BatchSpanProcessor and not exported, i.e. dropped.
 */
function lostOf(r: ConfigResult): number {
  if (r.handed !== undefined) return Math.max(0, r.handed - r.exported);
  const accepted = r.metrics[ACCEPTED_METRIC] ?? r.acknowledged;
  return Math.max(0, r.acknowledged - r.exported, accepted - r.exported);
}

/**
 * Exported beyond what the generator saw acknowledged: spans the collector accepted after the
 * generator's request deadline had passed (counted as errors there), plus spans exported
 * twice (an export retried after the backend had taken it: at-least-once delivery).
 */
function surplusOf(r: ConfigResult): { total: number; lateAccepted: number; duplicates: number } {
  const total = Math.max(0, r.exported - r.acknowledged);
  const accepted = r.metrics[ACCEPTED_METRIC];
  if (accepted === undefined) return { total, lateAccepted: 0, duplicates: 0 };
  return { total, lateAccepted: Math.max(0, accepted - r.acknowledged), duplicates: Math.max(0, r.exported - accepted) };
}
const mb = (bytes: number): number => bytes / 1e6;

function result(name: string, label: string, value: number, unit: string, runs: readonly number[] = [value]): BenchResult {
  return { name, label, opsPerSec: value, unit, runs };
}

function check(name: string, label: string, value: number, unit: string, target: string | null, met: boolean | null, display?: string): BenchCheck {
  return { name, label, value, unit, target, met, ...(display === undefined ? {} : { display }) };
}

const cpuPerMillion = (r: ConfigResult): number => r.saturation.cpuSeconds / (r.saturation.summary.spans.acknowledged / 1e6);
const workersOf = (r: ConfigResult): number | undefined => (r.config.kind === 'spanring' ? r.config.workers : undefined);
const verdict = (met: boolean): string => (met ? 'PASS' : 'MISS');
const ratioJson = (rt: BenchRatio): number => Number(rt.value.toFixed(3));
/** Spans/s the generator offered in the 2x phase ÷ the saturating (sustained) rate: 2 when the load really doubled. */
const overloadOffered = (r: ConfigResult): number =>
  r.overload.summary.spans.sent / r.overload.summary.durationSeconds / r.saturation.sustainedSpansPerSecond;
/** Below this, the "2x" phase did not offer much more than the saturating load. */
const OVERLOAD_REACHED = 1.5;
const percent = (fraction: number): string => `${fraction >= 0 ? '+' : ''}${(100 * fraction).toFixed(0)}%`;

function renderConfigTable(results: readonly ConfigResult[], headline: ConfigResult): string[] {
  const header = [
    'configuration',
    'workers',
    'threads',
    'ack/s (load)',
    'accepted/s',
    'CPU-s/1M',
    'spans/CPU-s',
    'child CPU',
    'bench CPU',
    'p99@50%',
    'peak RSS',
    '2x: sent/s → ack/s, refused',
    'lost',
    'surplus',
  ];
  const rows = results.map((r) => {
    const s = r.saturation;
    const o = r.overload.summary;
    const lost = lostOf(r);
    return [
      `${r === headline ? '* ' : '  '}${r.config.name}`,
      String(workersOf(r) ?? '-'),
      String(r.maxThreads),
      formatRate(s.summary.spansPerSecond),
      formatRate(s.sustainedSpansPerSecond),
      cpuPerMillion(r).toFixed(2),
      formatRate(spansPerCpuSecond(r)),
      `${((100 * s.cpuSeconds) / s.wallSeconds).toFixed(0)}%`,
      `${((100 * s.benchCpuSeconds) / s.wallSeconds).toFixed(0)}%`,
      `${r.half.summary.latencyMs.p99?.toFixed(1) ?? '-'} ms`,
      `${mb(r.peakRssBytes).toFixed(0)} MB`,
      `${formatRate(o.spans.sent / o.durationSeconds)} → ${formatRate(o.spansPerSecond)}, ${o.spans.refused}`,
      r.config.kind === 'baseline' ? `${lost} dropped` : String(lost),
      String(surplusOf(r).total),
    ];
  });
  const leftAligned = new Set([0, 11]);
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((row) => row[col]!.length)));
  const format = (cells: readonly string[]): string =>
    cells
      .map((cell, col) => (leftAligned.has(col) ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!)))
      .join('  ')
      .trimEnd();
  return [format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(format)];
}

function phaseDetails(p: PhaseResult): Record<string, unknown> {
  return {
    durationSeconds: p.summary.durationSeconds,
    requests: p.summary.requests,
    spans: p.summary.spans,
    spansPerSecond: p.summary.spansPerSecond,
    latencyMs: p.summary.latencyMs,
    childCpuSeconds: Number(p.cpuSeconds.toFixed(3)),
    benchProcessCpuSeconds: Number(p.benchCpuSeconds.toFixed(3)),
    wallSeconds: Number(p.wallSeconds.toFixed(3)),
    sustainedSpansPerSecond: Math.round(p.sustainedSpansPerSecond),
    exported: p.exported,
    caughtUp: p.caughtUp,
    errorsByStatus: p.summary.errorsByStatus,
    peakRssMBSoFar: Number(mb(p.peakRssBytesSoFar).toFixed(1)),
  };
}

function configDetails(r: ConfigResult): Record<string, unknown> {
  return {
    name: r.config.name,
    description: r.config.description,
    workers: workersOf(r) ?? null,
    maxThreads: r.maxThreads,
    acknowledgedSpansPerSecondDuringLoad: Math.round(r.saturation.summary.spansPerSecond),
    acceptedSpansPerSecond: Math.round(r.saturation.sustainedSpansPerSecond),
    cpuSecondsPerMillionSpans: Number(cpuPerMillion(r).toFixed(3)),
    spansPerCpuSecond: Math.round(spansPerCpuSecond(r)),
    deliveredSpansPerCpuSecond: Math.round(deliveredPerCpuSecond(r)),
    p99MsAtHalfSaturation: r.half.summary.latencyMs.p99,
    halfRateRequestsPerSecond: Number(r.halfRate.toFixed(1)),
    overloadRateRequestsPerSecond: Number(r.overloadRate.toFixed(1)),
    peakRssMB: Number(mb(r.peakRssBytes).toFixed(1)),
    acknowledged: r.acknowledged,
    exported: r.exported,
    lost: lostOf(r),
    exportedBeyondAcknowledged: surplusOf(r),
    ...(r.handed === undefined ? {} : { handedToBsp: r.handed }),
    exitCode: r.exitCode,
    wallSeconds: Number(r.configWallSeconds.toFixed(1)),
    metrics: r.metrics,
    phases: {
      saturation: r.saturationRuns.map(phaseDetails),
      half: phaseDetails(r.half),
      overload: phaseDetails(r.overload),
    },
  };
}

function findConfig(results: readonly ConfigResult[], name: string): ConfigResult {
  const found = results.find((r) => r.config.name === name);
  if (found === undefined) throw new BenchFailure(`configuration ${name} missing from the run`);
  return found;
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  const options = parseBenchArgs(process.argv.slice(2), { full: 1, quick: 1 });
  const timing = options.quick ? QUICK : FULL;
  for (const file of [COLLECTOR_MAIN, BASELINE_MAIN]) {
    if (!existsSync(file)) throw new BenchFailure(`${file} is missing: run npm run build`);
  }
  const ticks = clockTicksPerSecond();
  log(`bench:e2e: ${CONFIGS.length} configurations, phases ${phasesText(timing, options.reps)}; CLK_TCK ${ticks.perSecond} (${ticks.source})`);
  const dir = await mkdtemp(join(os.tmpdir(), 'spanring-e2e-'));
  const sink = await GrpcSink.start();
  const defaultWorkers = receiverWorkers('auto');
  const headlineChoice = headlineConfig(defaultWorkers);
  const order = runOrder(headlineChoice);
  const results: ConfigResult[] = [];
  try {
    for (const config of order) results.push(await runConfig(config, sink, dir, timing, options.reps));
  } finally {
    await sink.close();
    await rm(dir, { recursive: true, force: true });
  }
  if (sink.problems.length > 0) throw new BenchFailure(`the sink's span counts are wrong:\n${sink.problems.slice(0, 5).join('\n')}`);
  // Reported in CONFIGS order, whatever order they ran in.
  results.sort((a, b) => CONFIGS.indexOf(a.config) - CONFIGS.indexOf(b.config));

  const baseline = results.find((r) => r.config.kind === 'baseline');
  if (baseline === undefined) throw new BenchFailure('the baseline is missing from the run');
  const gzip = findConfig(results, 'spanring-1t-grpc-gzip');
  const single = findConfig(results, 'spanring-1t-grpc-none');
  const w1 = findConfig(results, 'spanring-w1-grpc-none');
  const w2 = findConfig(results, 'spanring-w2-grpc-none');
  const candidates = results.filter((r) => r.config.kind === 'spanring' && r.config.exporter === 'otlp_grpc_none');
  const headline = results.find((r) => r.config === headlineChoice)!;

  // Results: spans per collector CPU-second (the ratio's subject) and accepted spans/s, per configuration.
  const perCpu = results.map((r) =>
    result(
      `${r.config.name}.spans-per-cpu-s`,
      `${r.config.label}${r === headline ? ' [headline]' : ''}: acknowledged spans per CPU-s`,
      spansPerCpuSecond(r),
      'spans/CPU-s',
      r.saturationRuns.map((p) => p.summary.spans.acknowledged / p.cpuSeconds),
    ),
  );
  const accepted = results.map((r) =>
    result(
      `${r.config.name}.accepted-spans-per-s`,
      `${r.config.label}: accepted at saturation (sustained)`,
      r.saturation.sustainedSpansPerSecond,
      'spans/s',
      r.saturationRuns.map((p) => p.sustainedSpansPerSecond),
    ),
  );
  const perCpuOf = (r: ConfigResult): BenchResult => perCpu[results.indexOf(r)]!;
  const acceptedOf = (r: ConfigResult): BenchResult => accepted[results.indexOf(r)]!;
  const baselinePerCpu = perCpuOf(baseline);
  const deliveredMain = result(`${headline.config.name}.delivered-per-cpu-s`, `${headline.config.label}: exported spans per CPU-s`, deliveredPerCpuSecond(headline), 'spans/CPU-s');
  const deliveredBaseline = result(
    `${baseline.config.name}.delivered-per-cpu-s`,
    `${baseline.config.label}: exported spans per CPU-s`,
    deliveredPerCpuSecond(baseline),
    'spans/CPU-s',
  );

  const ratios: BenchRatio[] = [];
  const rows: TableRow[] = [];
  results.forEach((r, i) => {
    const subject = perCpu[i]!;
    if (r === baseline) return;
    const rt = ratio(`${r.config.name}/baseline spans per CPU-s`, subject, baselinePerCpu, r === headline ? BASELINE_RATIO_TARGET : null);
    ratios.push(rt);
    rows.push({ result: subject }, { result: baselinePerCpu, ratio: rt, indent: true });
  });
  const headlineRatio = ratios.find((rt) => rt.name === `${headline.config.name}/baseline spans per CPU-s`)!;
  const deliveredRatio = ratio(`${headline.config.name}/baseline exported spans per CPU-s`, deliveredMain, deliveredBaseline, null);
  ratios.push(deliveredRatio);
  rows.push({ result: deliveredMain }, { result: deliveredBaseline, ratio: deliveredRatio, indent: true });
  for (const a of accepted) rows.push({ result: a });

  // Scaling of the receiver workers: accepted spans/s at saturation, 2 workers ÷ 1, and each ÷ single thread.
  const scaling = {
    twoOverOne: ratio('scaling: accepted spans/s, 2 workers / 1 worker', acceptedOf(w2), acceptedOf(w1), null),
    oneOverSingle: ratio('scaling: accepted spans/s, 1 worker / single thread', acceptedOf(w1), acceptedOf(single), null),
    twoOverSingle: ratio('scaling: accepted spans/s, 2 workers / single thread', acceptedOf(w2), acceptedOf(single), null),
  };
  const perCpuScaling = ratio('scaling: spans per CPU-s, 2 workers / 1 worker', perCpuOf(w2), perCpuOf(w1), null);
  ratios.push(scaling.twoOverOne, scaling.oneOverSingle, scaling.twoOverSingle, perCpuScaling);
  rows.push(
    { result: acceptedOf(w2) },
    { result: acceptedOf(w1), ratio: scaling.twoOverOne, indent: true },
    { result: acceptedOf(w1) },
    { result: acceptedOf(single), ratio: scaling.oneOverSingle, indent: true },
    { result: acceptedOf(w2) },
    { result: acceptedOf(single), ratio: scaling.twoOverSingle, indent: true },
  );

  const checks: BenchCheck[] = [];
  for (const r of results) {
    const isMain = r === headline;
    const isSpanring = r.config.kind === 'spanring';
    const n = r.config.name;
    const perSecond = spansPerCpuSecond(r);
    checks.push(
      check(
        `${n}.spans-per-cpu-s`,
        `${n}: spans per collector CPU-s`,
        Math.round(perSecond),
        'spans/CPU-s',
        isMain ? `>= ${SPANS_PER_CPU_SECOND_TARGET}` : null,
        isMain ? perSecond >= SPANS_PER_CPU_SECOND_TARGET : null,
        formatRate(perSecond),
      ),
    );
    const perMillion = cpuPerMillion(r);
    checks.push(check(`${n}.cpu-s-per-million`, `${n}: collector CPU-s per 1M spans`, perMillion, 'CPU-s', null, null, perMillion.toFixed(2)));
    const acceptedPerSecond = r.saturation.sustainedSpansPerSecond;
    checks.push(check(`${n}.accepted-spans-per-s`, `${n}: accepted spans/s at saturation`, Math.round(acceptedPerSecond), 'spans/s', null, null, formatRate(acceptedPerSecond)));
    const p99 = r.half.summary.latencyMs.p99 ?? Number.POSITIVE_INFINITY;
    checks.push(check(`${n}.p99-half-ms`, `${n}: p99 at 50% of saturation`, p99, 'ms', isMain ? `<= ${P99_TARGET_MS}` : null, isMain ? p99 <= P99_TARGET_MS : null, p99.toFixed(2)));
    const rss = mb(r.peakRssBytes);
    checks.push(check(`${n}.peak-rss-mb`, `${n}: peak RSS`, rss, 'MB', isMain ? `<= ${PEAK_RSS_TARGET_MB}` : null, isMain ? rss <= PEAK_RSS_TARGET_MB : null, rss.toFixed(0)));
    const beforeOverload = mb(r.half.peakRssBytesSoFar);
    checks.push(check(`${n}.peak-rss-before-2x-mb`, `${n}: peak RSS before the 2x phase`, beforeOverload, 'MB', null, null, beforeOverload.toFixed(0)));
    const offered = overloadOffered(r);
    checks.push(check(`${n}.overload-offered`, `${n}: 2x phase offered (x the saturating rate)`, offered, 'x', null, null, offered.toFixed(2)));
    checks.push(check(`${n}.overload-refused`, `${n}: refused at 2x (429/503)`, r.overload.summary.spans.refused, 'spans', null, null));
    const lost = lostOf(r);
    checks.push(
      isSpanring
        ? check(`${n}.lost`, `${n}: lost (acknowledged, not exported)`, lost, 'spans', '== 0', lost === 0)
        : check(`${n}.dropped`, `${n}: dropped (handed to the BSP, not exported)`, lost, 'spans', null, null),
    );
    if (isSpanring) {
      const surplus = surplusOf(r);
      const retries = r.metrics['spanring_exporter_retries_total'];
      checks.push(
        check(
          `${n}.surplus`,
          `${n}: surplus (late ${surplus.lateAccepted}, twice ${surplus.duplicates}, retries ${retries ?? '?'})`,
          surplus.total,
          'spans',
          null,
          null,
        ),
      );
    }
  }

  // The five targets in one place (the same figures as the tables above).
  const spanringResults = results.filter((r) => r.config.kind === 'spanring');
  const lostTotal = spanringResults.reduce((sum, r) => sum + lostOf(r), 0);
  const headlineP99 = headline.half.summary.latencyMs.p99 ?? Number.POSITIVE_INFINITY;
  const targetLines = [
    `${verdict(spansPerCpuSecond(headline) >= SPANS_PER_CPU_SECOND_TARGET)}  >= ${formatRate(SPANS_PER_CPU_SECOND_TARGET)} spans per collector CPU-s: ${formatRate(spansPerCpuSecond(headline))} (${cpuPerMillion(headline).toFixed(2)} CPU-s per 1M spans)`,
    `${verdict(headlineRatio.met === true)}  >= ${BASELINE_RATIO_TARGET}x the baseline's spans per CPU-s: ${headlineRatio.value.toFixed(2)}x (baseline ${formatRate(spansPerCpuSecond(baseline))})`,
    `${verdict(headlineP99 <= P99_TARGET_MS)}  p99 <= ${P99_TARGET_MS} ms at 50% of saturation: ${headlineP99.toFixed(2)} ms (at ${headline.halfRate.toFixed(0)} req/s)`,
    `${verdict(mb(headline.peakRssBytes) <= PEAK_RSS_TARGET_MB)}  peak RSS <= ${PEAK_RSS_TARGET_MB} MB: ${mb(headline.peakRssBytes).toFixed(0)} MB` +
      ` (${mb(headline.half.peakRssBytesSoFar).toFixed(0)} MB before the 2x phase)`,
    `${verdict(lostTotal === 0)}  0 spans lost: ${lostTotal} over every Spanring configuration (${spanringResults.map((r) => `${r.config.name} ${lostOf(r)}`).join(', ')})`,
  ];

  // The persistent queue beside the in-memory queue (both single thread: durable receivers run on the main thread).
  const FSYNC_COST_TARGET = 0.3;
  const queueLines = results
    .filter((r) => r.config.kind === 'spanring' && r.config.storage !== undefined)
    .map((r) => {
      const relative = r.saturation.sustainedSpansPerSecond / single.saturation.sustainedSpansPerSecond;
      const cost = 1 - relative;
      const fsync = r.config.kind === 'spanring' && r.config.storage?.fsync === true;
      return (
        `${fsync ? `${verdict(cost <= FSYNC_COST_TARGET)}  file_storage with fsync costs at most 30% of throughput: ` : '      '}` +
        `${r.config.name}: ${formatRate(r.saturation.sustainedSpansPerSecond)} acknowledged spans/s (${percent(relative - 1)} vs ${single.config.name}'s ` +
        `${formatRate(single.saturation.sustainedSpansPerSecond)}), ${formatRate(spansPerCpuSecond(r))} spans/CPU-s, ` +
        `p99 ${(r.half.summary.latencyMs.p99 ?? Number.NaN).toFixed(2)} ms vs ${(single.half.summary.latencyMs.p99 ?? Number.NaN).toFixed(2)} ms`
      );
    });
  targetLines.push(...queueLines);

  // gzip: what compressing the export costs, beside compression none, single thread.
  const gzipExtra = cpuPerMillion(gzip) - cpuPerMillion(single);
  const gzipShare = gzipExtra / cpuPerMillion(single);
  const GZIP_MATTERS = 0.05;
  const gzipNote =
    `otlp_grpc gzip vs none (single thread): ${cpuPerMillion(gzip).toFixed(2)} vs ${cpuPerMillion(single).toFixed(2)} CPU-s per 1M spans ` +
    `(${formatRate(spansPerCpuSecond(gzip))} vs ${formatRate(spansPerCpuSecond(single))} spans/CPU-s): ` +
    (gzipShare > GZIP_MATTERS
      ? `gzip compression of the export costs ${gzipExtra.toFixed(2)} CPU-s per 1M spans (${percent(gzipShare)}), CPU outside the target's stated scope ` +
        '(OTLP/HTTP protobuf in, OTLP/gRPC out, batching by trace: no compression named), so the headline is chosen among the compression-none configurations; the gzip row is reported for information.'
      : `a difference of ${percent(gzipShare)}, within run-to-run noise here; the headline is still chosen among the compression-none configurations (the target names no compression).`);

  // Receiver workers: is the key in effect? One more thread per worker is the visible sign.
  const workersVisible = w1.maxThreads > single.maxThreads && w2.maxThreads > w1.maxThreads;
  const workersNote = workersVisible
    ? `Receiver workers in effect: the collector ran up to ${single.maxThreads} threads with workers: 0, ${w1.maxThreads} with workers: 1, ${w2.maxThreads} with workers: 2.`
    : `Receiver workers NOT visibly in effect: the collector ran up to ${single.maxThreads} threads with workers: 0, ${w1.maxThreads} with workers: 1 and ${w2.maxThreads} with workers: 2 ` +
      '(one more per worker expected); if spanring.workers is not implemented in this build, the worker rows measure the single-thread path.';

  const wallsOf = results.map((r) => r.configWallSeconds);
  const underOffered = spanringResults.filter((r) => overloadOffered(r) < OVERLOAD_REACHED);
  const collapsed = results.filter(
    (r) => r.config.kind === 'spanring' && r.overload.summary.spans.refused === 0 && r.overload.sustainedSpansPerSecond >= 1.5 * r.saturation.sustainedSpansPerSecond,
  );
  const wallSeconds = (performance.now() - startedAt) / 1000;
  const notes = [
    `Targets, on the headline configuration ${headline.config.name} (${headline.config.label}): OTLP/HTTP protobuf in, otlp_grpc out with compression none, batch by trace;` +
      ` spanring.workers: auto is ${defaultWorkers} on this machine (${os.availableParallelism()} cores)` +
      ` (spans per CPU-s: ${candidates.map((r) => `${r.config.name} ${formatRate(spansPerCpuSecond(r))}`).join(', ')}).`,
    ...targetLines.map((line) => `  ${line}`),
    '',
    `Receiver workers, accepted spans/s at saturation: 2 workers / 1 worker = ${scaling.twoOverOne.value.toFixed(2)}x ` +
      `(${formatRate(w2.saturation.sustainedSpansPerSecond)} / ${formatRate(w1.saturation.sustainedSpansPerSecond)}); ` +
      `vs single thread (${formatRate(single.saturation.sustainedSpansPerSecond)}): 1 worker ${scaling.oneOverSingle.value.toFixed(2)}x, 2 workers ${scaling.twoOverSingle.value.toFixed(2)}x. ` +
      `Spans per CPU-s: single thread ${formatRate(spansPerCpuSecond(single))}, 1 worker ${formatRate(spansPerCpuSecond(w1))}, 2 workers ${formatRate(spansPerCpuSecond(w2))}.`,
    workersNote,
    '',
    'Per configuration at saturation (unthrottled, 32 in flight); * = headline. "ack/s (load)": acknowledged while the generator ran, inflated by what',
    'the rings buffer; "accepted/s": acknowledged / time from load start until the output had it all (the saturating rate; half rate and 2x are of it).',
    'CPU-s/1M and spans/CPU-s: the collector\'s CPU over that same interval, per acknowledged span; "child CPU" the same as % of one core; "bench CPU":',
    'this process (load generator + sink). "threads": most threads the child had (sampled after each phase).',
    ...renderConfigTable(results, headline),
    '',
    gzipNote,
    ...(underOffered.length === 0
      ? []
      : [
          `The 2x phase offered only ${underOffered.map((r) => `${overloadOffered(r).toFixed(2)}x`).join(', ')} the saturating rate ` +
            `(${underOffered.map((r) => r.config.name).join(', ')}): the generator is closed-loop (${OVERLOAD_CONCURRENCY} in flight) and runs in this process on the same 2 cores, ` +
            'so the collector\'s latency, not 429/503, held the load back; "refused 0" there means little excess arrived, not that excess was taken and dropped (that would show as lost).',
        ]),
    ...collapsed.map(
      (r) =>
        `${r.config.name}: the 2x phase sustained ${formatRate(r.overload.sustainedSpansPerSecond)} spans/s with no refusal, ` +
        `${(r.overload.sustainedSpansPerSecond / r.saturation.sustainedSpansPerSecond).toFixed(1)}x its unthrottled "saturating" rate: ` +
        'under unthrottled load it acknowledged far faster than it exported (no backpressure until rings and sending queue fill), and the backlog ' +
        'slowed it down (see peak RSS); its capacity without a backlog is at least the 2x figure.',
    ),
    `Phases per configuration${options.quick ? ' (quick)' : ''}: ${phasesText(timing, options.reps)} of load each (JSON: every phase's measured duration), ` +
      `each followed by the wait for the output to catch up; a configuration took ${Math.min(...wallsOf).toFixed(1)}–${Math.max(...wallsOf).toFixed(1)} s ` +
      `with start-up and the SIGTERM drain. This run: ${wallSeconds.toFixed(1)} s wall (the bench process; npm run bench:e2e adds the build). ` +
      `Run order (the headline and the baseline back to back): ${order.map((c) => c.name).join(', ')}.`,
    ...(options.quick
      ? [
          'Quick mode: one short saturation run per configuration, so accepted spans/s varies by some 10-20% from run to run here and a ' +
            'scaling ratio between 0.8x and 1.2x is within that spread; use --reps 3 or full mode for scaling figures.',
          'Quick mode: phases are short, so the backlog an unthrottled run builds (and the GC work it brings) stays small; ' +
            'full mode (15 s phases) reports lower spans per CPU-s for the same build.',
        ]
      : []),
    `Spanring children start as the spanring launchers start it (apps/collector/src/node-flags.ts): node ${COLLECTOR_NODE_FLAGS.join(' ')}, ` +
      `environment ${Object.entries(COLLECTOR_ENV)
        .map(([name, value]) => `${name}=${value}`)
        .join(' ')}; the baseline child gets neither.`,
    `Load: tools/load in this process, OTLP/HTTP protobuf, ${SPANS_PER_REQUEST} spans/request, no gzip; ${CONCURRENCY} in flight` +
      ` (2x overload: rate 2x the saturating requests/s with ${OVERLOAD_CONCURRENCY} in flight; the generator is closed-loop, so "sent/s" is what it could offer).` +
      ` Every run bounded by its duration and by ${formatRate(MAX_SPANS_PER_SECOND_BOUND)} spans per second of it.`,
    `CPU: /proc/<pid>/stat utime+stime of the child, which sums all its threads (receiver workers included), clock ticks ${ticks.perSecond}/s (${ticks.source}); ` +
      '"bench CPU" is this process (generator + sink), which shares the 2 cores with the child.',
    'Peak RSS: the child\'s VmHWM before SIGTERM (each phase\'s log line and the JSON give it as of that phase). lost = max(acknowledged, the collector\'s own accepted count) − exported after the SIGTERM drain,' +
      ' over all phases (warm-up, saturation, half, overload); surplus = exported − acknowledged when positive: requests the collector accepted' +
      ' after the generator\'s 10 s deadline ("late": errors there) or spans exported twice (an export retried after the sink had it: at-least-once);' +
      ' "retries": the collector\'s spanring_exporter_retries_total.',
    'otlp_grpc exports to an in-bench grpc-js sink (a worker thread of this process, so its work does not stall the generator\'s latency clock) that counts spans with a protobuf wire walk (cross-checked against decodeTraceRequest every 64th request); ' +
      'every Spanring configuration writes spanring.workers explicitly (0 = receive on the main thread). ' +
      '"debug" (verbosity basic) is the no-op-ish exporter: one summary line per batch, summed from the child\'s stdout.',
    'Baseline: node:http + protobufjs reflection decode + SDK BatchSpanProcessor (queue 2048, batch 512) + SDK OTLPTraceExporter gRPC, all defaults; ' +
      'it cannot push back, so its "lost" column is spans it acknowledged and then dropped (handed to the BSP − exported). The 5x target compares acknowledged spans per CPU-s ' +
      '(which credits the baseline for spans it dropped); the exported-spans ratio is shown for information.',
  ];

  printReport({
    bench: 'e2e',
    options,
    results: [...perCpu, deliveredMain, deliveredBaseline, ...accepted],
    ratios,
    rows,
    checks,
    notes,
    extra: {
      headline: {
        name: headline.config.name,
        rule: 'OTLP/HTTP protobuf in, otlp_grpc compression none, batch by trace: the highest spans per CPU-s among single thread and receiver workers',
        candidates: candidates.map((r) => ({ name: r.config.name, spansPerCpuSecond: Math.round(spansPerCpuSecond(r)) })),
      },
      targets: targetLines,
      scaling: {
        acceptedSpansPerSecond: {
          singleThread: Math.round(single.saturation.sustainedSpansPerSecond),
          oneWorker: Math.round(w1.saturation.sustainedSpansPerSecond),
          twoWorkers: Math.round(w2.saturation.sustainedSpansPerSecond),
        },
        twoWorkersOverOne: ratioJson(scaling.twoOverOne),
        oneWorkerOverSingleThread: ratioJson(scaling.oneOverSingle),
        twoWorkersOverSingleThread: ratioJson(scaling.twoOverSingle),
        spansPerCpuSecondTwoWorkersOverOne: ratioJson(perCpuScaling),
        workersVisible,
        maxThreads: { singleThread: single.maxThreads, oneWorker: w1.maxThreads, twoWorkers: w2.maxThreads },
      },
      gzip: {
        cpuSecondsPerMillionGzip: Number(cpuPerMillion(gzip).toFixed(3)),
        cpuSecondsPerMillionNone: Number(cpuPerMillion(single).toFixed(3)),
        extraFraction: Number(gzipShare.toFixed(3)),
        matters: gzipShare > GZIP_MATTERS,
      },
      configurations: results.map(configDetails),
      load: {
        protocol: 'http/protobuf',
        gzip: false,
        spansPerRequest: SPANS_PER_REQUEST,
        concurrency: CONCURRENCY,
        overloadConcurrency: OVERLOAD_CONCURRENCY,
        timing,
        maxSpansPerSecondBound: MAX_SPANS_PER_SECOND_BOUND,
      },
      wallSeconds: Number(wallSeconds.toFixed(1)),
      clockTicks: ticks,
      sink: { requests: sink.requests, spans: sink.spans, bytes: sink.bytes, counting: 'protobuf wire walk, cross-checked every 64th request' },
    },
  });
}

runBench(main);
