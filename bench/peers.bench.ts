/**
 * Spanring beside the real OpenTelemetry Collector (`npm run bench:peers [-- --quick] [-- --json]`;
 * build the Collector first with `npm run peers:build`).
 *
 * For each scenario (peers/configs.ts) both collectors run as children of this process, one
 * after the other under the same load from tools/load, each exporting OTLP/gRPC to the same
 * in-bench sink: saturation (32 in flight, unthrottled), then 50% of the slower one's saturating
 * rate for latency, then 4x that rate (128 in flight) for memory under overload. Reported per
 * side: accepted spans/s, CPU-s per 1M spans (the child's own utime+stime), p50/p99 at half
 * rate, peak RSS, RSS at 4x, spans lost (acknowledged − received at the sink), and the ratios.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { COLLECTOR_ENV, COLLECTOR_NODE_FLAGS } from '../apps/collector/src/node-flags.ts';
import { runLoad, type LoadSummary } from '../tools/load/index.ts';
import { ServerChild } from './e2e/child.ts';
import { cpuSeconds, memory } from './e2e/proc-stats.ts';
import { GrpcSink } from './e2e/sink.ts';
import { BenchFailure, formatRate, log, parseBenchArgs, printReport, runBench, type BenchCheck, type BenchRatio, type BenchResult, type TableRow } from './harness.ts';
import { OTELCOL_BINARY } from './peers/build.ts';
import { otelcolYaml, SCENARIOS, spanringPeerYaml, type Scenario } from './peers/configs.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COLLECTOR_MAIN = join(ROOT, 'dist/apps/collector/src/main.js');
const SPANS_PER_REQUEST = 512;
const CONCURRENCY = 32;
const OVERLOAD_CONCURRENCY = 128;
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 60_000;
const POLL_MS = 25;
const RATIO_TARGET = 1.5;

interface Timing {
  readonly warmupMs: number;
  readonly saturationMs: number;
  readonly halfMs: number;
  readonly overloadMs: number;
  readonly catchUpLimitMs: number;
}
const QUICK: Timing = { warmupMs: 750, saturationMs: 3_000, halfMs: 2_500, overloadMs: 2_500, catchUpLimitMs: 15_000 };
const FULL: Timing = { warmupMs: 3_000, saturationMs: 15_000, halfMs: 15_000, overloadMs: 15_000, catchUpLimitMs: 60_000 };

type SideName = 'spanring' | 'otelcol';

interface Phase {
  readonly summary: LoadSummary;
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  readonly sustainedSpansPerSecond: number;
  readonly caughtUp: boolean;
  readonly rssBytes: number;
  readonly peakRssBytes: number;
}

interface SideResult {
  readonly side: SideName;
  readonly saturation: Phase;
  readonly half: Phase;
  readonly overload: Phase;
  readonly acknowledged: number;
  readonly exported: number;
  readonly exitCode: number | null;
}

/** One collector child under test, with what it acknowledged and what reached the sink for it. */
class Side {
  readonly name: SideName;
  private readonly child: ServerChild;
  private readonly sink: GrpcSink;
  private acknowledged = 0;
  private exported = 0;
  private seed = 1;

  private constructor(name: SideName, child: ServerChild, sink: GrpcSink) {
    this.name = name;
    this.child = child;
    this.sink = sink;
  }

  static async start(name: SideName, scenario: Scenario, sink: GrpcSink, dir: string): Promise<{ side: Side; target: string }> {
    const storageDir = join(dir, `${scenario.name}-${name}-queue`);
    await mkdir(storageDir, { recursive: true });
    const configPath = join(dir, `${scenario.name}-${name}.yaml`);
    if (name === 'spanring') {
      await writeFile(configPath, spanringPeerYaml(scenario, sink.port, storageDir));
      const child = ServerChild.start([...COLLECTOR_NODE_FLAGS, COLLECTOR_MAIN, '--config', configPath], dir, undefined, COLLECTOR_ENV);
      const ready = await child.waitForLine('"spanring is ready"', READY_TIMEOUT_MS, (line) => {
        const parsed = parseJson<{ msg?: string; otlpHttpPort?: number; otlpGrpcPort?: number }>(line);
        return parsed?.msg === 'spanring is ready' ? parsed : undefined;
      });
      return { side: new Side(name, child, sink), target: targetOf(scenario, ready.otlpHttpPort!, ready.otlpGrpcPort!) };
    }
    const ports = { http: await freePort(), grpc: await freePort(), sink: sink.port };
    await writeFile(configPath, otelcolYaml(scenario, ports, storageDir));
    const child = ServerChild.startBinary(OTELCOL_BINARY, ['--config', configPath], dir);
    await waitForPort(scenario.protocol === 'grpc' ? ports.grpc : ports.http, child);
    return { side: new Side(name, child, sink), target: targetOf(scenario, ports.http, ports.grpc) };
  }

  async phase(what: string, scenario: Scenario, target: string, load: { concurrency: number; rate?: number }, durationMs: number, timing: Timing): Promise<Phase> {
    const pid = this.child.pid;
    const cpu0 = cpuSeconds(pid);
    const sink0 = this.sink.spans;
    const start = performance.now();
    const summary = await runLoad(
      {
        target,
        protocol: scenario.protocol,
        spansPerRequest: SPANS_PER_REQUEST,
        gzip: scenario.gzip,
        seed: this.seed++,
        duration: durationMs,
        ...load,
      },
      { signal: AbortSignal.timeout(durationMs + 30_000) },
    );
    const loadEnd = performance.now();
    this.acknowledged += summary.spans.acknowledged;
    // Until everything acknowledged reached the sink (bounded): then CPU and time are read.
    const deadline = performance.now() + timing.catchUpLimitMs;
    while (this.sink.spans - sink0 < summary.spans.acknowledged && performance.now() < deadline) await sleep(POLL_MS);
    const exported = this.sink.spans - sink0;
    this.exported += exported;
    const caughtUp = exported >= summary.spans.acknowledged;
    const wallSeconds = (Math.max(performance.now(), loadEnd) - start) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    const mem = memory(pid);
    const phase: Phase = {
      summary,
      cpuSeconds: cpu,
      wallSeconds,
      sustainedSpansPerSecond: summary.spans.acknowledged / wallSeconds,
      caughtUp,
      rssBytes: mem.rssBytes,
      peakRssBytes: mem.peakRssBytes,
    };
    log(
      `  ${this.name} ${what}: ${formatRate(phase.sustainedSpansPerSecond)} spans/s sustained (${summary.spans.acknowledged} acknowledged, ` +
        `${summary.spans.refused} refused, ${summary.requests.errors} errors), ${formatRate(summary.spans.acknowledged / cpu)} spans/CPU-s, ` +
        `p50 ${summary.latencyMs.p50 ?? '-'} / p99 ${summary.latencyMs.p99 ?? '-'} ms, RSS ${mb(mem.rssBytes).toFixed(0)} MB (peak ${mb(mem.peakRssBytes).toFixed(0)})` +
        (caughtUp ? '' : ` [sink got ${exported} of ${summary.spans.acknowledged} within ${timing.catchUpLimitMs} ms]`),
    );
    return phase;
  }

  async stop(): Promise<{ acknowledged: number; exported: number; exitCode: number | null }> {
    const before = this.sink.spans;
    const exit = await this.child.stop(STOP_TIMEOUT_MS);
    // What the drain delivered after the last phase counts too.
    this.exported += this.sink.spans - before;
    return { acknowledged: this.acknowledged, exported: this.exported, exitCode: exit.code };
  }

  kill(): void {
    this.child.kill();
  }
}

function targetOf(scenario: Scenario, httpPort: number, grpcPort: number): string {
  return scenario.protocol === 'grpc' ? `127.0.0.1:${grpcPort}` : `http://127.0.0.1:${httpPort}`;
}

function parseJson<T>(line: string): T | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as T;
  } catch {
    return undefined;
  }
}

/** A port free now on loopback (otelcol needs its ports written in its config). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ServerChild): Promise<void> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(100);
  }
  throw new BenchFailure(`otelcol did not listen on 127.0.0.1:${port} within ${READY_TIMEOUT_MS} ms; output:\n${child.output()}`);
}

const mb = (bytes: number): number => bytes / (1024 * 1024);

/** Both sides of one scenario: saturation for each, then the shared half-rate and 4x loads. */
async function runScenario(scenario: Scenario, sink: GrpcSink, dir: string, timing: Timing): Promise<Record<SideName, SideResult>> {
  log(`${scenario.name}: ${scenario.label}`);
  const started: { side: Side; target: string }[] = [];
  try {
    for (const name of ['spanring', 'otelcol'] as const) started.push(await Side.start(name, scenario, sink, dir));
    const saturation = new Map<Side, Phase>();
    for (const { side, target } of started) {
      await side.phase('warm-up', scenario, target, { concurrency: CONCURRENCY }, timing.warmupMs, timing);
      saturation.set(side, await side.phase('saturation', scenario, target, { concurrency: CONCURRENCY }, timing.saturationMs, timing));
    }
    const slowest = Math.min(...[...saturation.values()].map((p) => p.sustainedSpansPerSecond));
    const halfRequestsPerSecond = Math.max(1, slowest / 2 / SPANS_PER_REQUEST);
    const out = {} as Record<SideName, SideResult>;
    for (const { side, target } of started) {
      const half = await side.phase('50% of the slower', scenario, target, { concurrency: CONCURRENCY, rate: halfRequestsPerSecond }, timing.halfMs, timing);
      const overload = await side.phase('4x the slower', scenario, target, { concurrency: OVERLOAD_CONCURRENCY, rate: halfRequestsPerSecond * 8 }, timing.overloadMs, timing);
      const end = await side.stop();
      out[side.name] = { side: side.name, saturation: saturation.get(side)!, half, overload, ...end };
    }
    return out;
  } finally {
    for (const { side } of started) side.kill();
  }
}

const verdict = (met: boolean): string => (met ? 'PASS' : 'MISS');
const spansPerCpu = (p: Phase): number => p.summary.spans.acknowledged / p.cpuSeconds;
const lost = (r: SideResult): number => Math.max(0, r.acknowledged - r.exported);

function resultOf(name: string, label: string, value: number, unit: string): BenchResult {
  return { name, label, opsPerSec: value, unit, runs: [value] };
}

function tableLines(results: readonly { scenario: Scenario; sides: Record<SideName, SideResult> }[]): string[] {
  const header = ['scenario', 'side', 'accepted/s', 'CPU-s/1M', 'spans/CPU-s', 'p50@50%', 'p99@50%', 'peak RSS', 'RSS@4x', 'lost', 'ratio (spans/CPU-s)'];
  const rows: string[][] = [];
  for (const { scenario, sides } of results) {
    for (const name of ['spanring', 'otelcol'] as const) {
      const r = sides[name];
      rows.push([
        name === 'spanring' ? `${scenario.headline ? '* ' : '  '}${scenario.name}` : '',
        name,
        formatRate(r.saturation.sustainedSpansPerSecond),
        ((r.saturation.cpuSeconds / r.saturation.summary.spans.acknowledged) * 1e6).toFixed(2),
        formatRate(spansPerCpu(r.saturation)),
        `${(r.half.summary.latencyMs.p50 ?? Number.NaN).toFixed(1)} ms`,
        `${(r.half.summary.latencyMs.p99 ?? Number.NaN).toFixed(1)} ms`,
        `${mb(r.overload.peakRssBytes).toFixed(0)} MB`,
        `${mb(r.overload.rssBytes).toFixed(0)} MB`,
        String(lost(r)),
        name === 'spanring' ? `${(spansPerCpu(r.saturation) / spansPerCpu(sides.otelcol.saturation)).toFixed(2)}x` : '',
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

async function main(): Promise<void> {
  const options = parseBenchArgs(process.argv.slice(2), { full: 1, quick: 1 });
  const timing = options.quick ? QUICK : FULL;
  if (!existsSync(OTELCOL_BINARY)) throw new BenchFailure(`no OpenTelemetry Collector at ${OTELCOL_BINARY}: run \`npm run peers:build\` first (needs Go)`);
  if (!existsSync(COLLECTOR_MAIN)) throw new BenchFailure(`no built Spanring at ${COLLECTOR_MAIN}: run \`npm run build\``);
  const startedAt = performance.now();
  const dir = await mkdtemp(join(os.tmpdir(), 'spanring-peers-'));
  const sink = await GrpcSink.start();
  const all: { scenario: Scenario; sides: Record<SideName, SideResult> }[] = [];
  try {
    for (const scenario of SCENARIOS) all.push({ scenario, sides: await runScenario(scenario, sink, dir, timing) });
  } finally {
    await sink.close();
    await rm(dir, { recursive: true, force: true });
  }
  if (sink.problems.length > 0) throw new BenchFailure(`the sink saw problems: ${sink.problems.join('; ')}`);

  const results: BenchResult[] = [];
  const ratios: BenchRatio[] = [];
  const rows: TableRow[] = [];
  const checks: BenchCheck[] = [];
  for (const { scenario, sides } of all) {
    const ours = resultOf(`${scenario.name}.spanring`, `${scenario.label}: Spanring spans per CPU-s`, spansPerCpu(sides.spanring.saturation), 'spans/CPU-s');
    const theirs = resultOf(`${scenario.name}.otelcol`, `${scenario.label}: otelcol spans per CPU-s`, spansPerCpu(sides.otelcol.saturation), 'spans/CPU-s');
    const r: BenchRatio = {
      name: `${scenario.name} spanring/otelcol spans per CPU-s`,
      value: ours.opsPerSec / theirs.opsPerSec,
      target: scenario.headline ? RATIO_TARGET : null,
      met: scenario.headline ? ours.opsPerSec / theirs.opsPerSec >= RATIO_TARGET : null,
    };
    results.push(ours, theirs);
    ratios.push(r);
    rows.push({ result: theirs }, { result: ours, ratio: r, indent: true });
    for (const side of ['spanring', 'otelcol'] as const) {
      checks.push({ name: `${scenario.name}.${side}.lost`, label: `${scenario.name} ${side}: lost (acknowledged − received at the sink)`, value: lost(sides[side]), unit: 'spans', target: '== 0', met: lost(sides[side]) === 0 });
    }
  }
  const headline = all.find((entry) => entry.scenario.headline === true)!;
  const ours = headline.sides.spanring;
  const theirs = headline.sides.otelcol;
  const p99 = (r: SideResult): number => r.half.summary.latencyMs.p99 ?? Number.POSITIVE_INFINITY;
  const headlineRatio = ratios.find((r) => r.name.startsWith(headline.scenario.name))!;
  const targets = [
    `${verdict(headlineRatio.met === true && lost(ours) === 0)}  spans per CPU-s >= ${RATIO_TARGET}x otelcol's with 0 lost (${headline.scenario.label}): ${headlineRatio.value.toFixed(2)}x ` +
      `(${formatRate(spansPerCpu(ours.saturation))} vs ${formatRate(spansPerCpu(theirs.saturation))}), lost ${lost(ours)}`,
    `${verdict(p99(ours) <= p99(theirs))}  p99 at 50% of the slower one's saturation <= otelcol's: ${p99(ours).toFixed(1)} ms vs ${p99(theirs).toFixed(1)} ms`,
    `${verdict(ours.overload.peakRssBytes <= 2 * theirs.overload.peakRssBytes)}  peak RSS under 4x overload <= 2x otelcol's: ${mb(ours.overload.peakRssBytes).toFixed(0)} MB vs ${mb(theirs.overload.peakRssBytes).toFixed(0)} MB`,
  ];
  const notes = [
    ...tableLines(all),
    '',
    `Targets (headline ${headline.scenario.name}, * above):`,
    ...targets.map((line) => `  ${line}`),
    '',
    `Both collectors batch 8192 spans / 200 ms and export OTLP/gRPC to one in-bench sink (a worker thread of this process); otelcol's sending queue has block_on_overflow: true so a full queue pushes back as Spanring's does; Spanring runs as its launchers start it (${COLLECTOR_NODE_FLAGS.join(' ')}), spanring.workers auto. ` +
      "otelcol's batch processor does not group spans by trace (Spanring's always does); the persistent-queue scenario is file_storage with fsync off on both sides (otelcol's default), and Spanring then receives on its main thread.",
    `Phases per side: warm-up ${timing.warmupMs} ms, saturation ${timing.saturationMs} ms (${CONCURRENCY} in flight), 50% of the slower one's saturating rate ${timing.halfMs} ms, 4x that rate ${timing.overloadMs} ms (${OVERLOAD_CONCURRENCY} in flight); spans/CPU-s is acknowledged spans over the child's own CPU (utime+stime, all threads) from the start of the saturation load until the sink had them all. The load generator and sink share the ${os.availableParallelism()} cores.`,
    `This run: ${((performance.now() - startedAt) / 1000).toFixed(0)} s wall.`,
  ];
  printReport({ bench: 'peers', options, results, ratios, rows, checks, notes, extra: { scenarios: all.map(({ scenario, sides }) => ({ scenario: scenario.name, sides })) } });
}

runBench(main);
