/**
 * A child process's own accounting, read from Linux /proc: CPU time (utime + stime of every
 * thread of the process, so receiver worker threads, V8's GC helpers and libuv's pool count
 * too) and peak RSS (VmHWM).
 *
 * /proc/<pid>/stat (not /proc/<pid>/task/<tid>/stat) is the whole thread group: the kernel sums
 * utime/stime over its live threads plus those that already exited. Checked on this machine:
 * a process whose main thread and one worker_threads Worker each spun 1.5 s read 3.02 CPU-s
 * there after the worker had been terminated.
 * The bench reads the child's counters, never its own, so the load generator and the sink
 * sharing the machine do not distort what the collector is charged.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BenchFailure } from '../harness.ts';

/** The Linux default (USER_HZ), used when `getconf CLK_TCK` cannot be asked. */
const DEFAULT_CLOCK_TICKS = 100;

let clockTicks: { readonly perSecond: number; readonly source: string } | undefined;

/**
 * Clock ticks per second of /proc/<pid>/stat's utime/stime. Node has no sysconf binding, so it
 * asks `getconf CLK_TCK` once; without getconf it assumes 100 (USER_HZ on every Linux ABI).
 */
export function clockTicksPerSecond(): { readonly perSecond: number; readonly source: string } {
  if (clockTicks !== undefined) return clockTicks;
  try {
    const text = execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const value = Number(text);
    if (Number.isInteger(value) && value > 0) {
      clockTicks = { perSecond: value, source: 'getconf CLK_TCK' };
      return clockTicks;
    }
  } catch {
    // no getconf: fall through to the default
  }
  clockTicks = { perSecond: DEFAULT_CLOCK_TICKS, source: 'assumed (getconf unavailable)' };
  return clockTicks;
}

/** CPU seconds (user + system) the process `pid` has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readProc(pid, 'stat');
  // The command name (field 2) is in parentheses and may contain spaces: split after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (field 14) is fields[11] and stime (15) fields[12].
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new BenchFailure(`cannot read utime/stime of ${pid}: ${stat}`);
  return (utime + stime) / clockTicksPerSecond().perSecond;
}

export interface Memory {
  /** Resident set now, bytes. */
  readonly rssBytes: number;
  /** Peak resident set since the process started (VmHWM), bytes. */
  readonly peakRssBytes: number;
  /** Threads now (all of Node's: V8 platform, libuv pool, worker threads). */
  readonly threads: number;
}

export function memory(pid: number): Memory {
  const status = readProc(pid, 'status');
  return {
    rssBytes: statusField(status, 'VmRSS', ' kB') * 1024,
    peakRssBytes: statusField(status, 'VmHWM', ' kB') * 1024,
    threads: statusField(status, 'Threads', ''),
  };
}

function statusField(status: string, key: string, unit: string): number {
  const match = new RegExp(`^${key}:\\s+(\\d+)${unit}$`, 'm').exec(status);
  if (match === null) throw new BenchFailure(`/proc status has no ${key}`);
  return Number(match[1]);
}

function readProc(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch (error) {
    throw new BenchFailure(`cannot read /proc/${pid}/${file} (the bench needs Linux /proc): ${(error as Error).message}`);
  }
}
