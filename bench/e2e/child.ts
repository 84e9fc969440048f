/**
 * A server under test as a child process: its stdout split into lines (handed to a callback
 * and searched for a ready line), stderr kept for diagnostics, a bounded wait for its exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { BenchFailure } from '../harness.ts';

/** Diagnostics kept from the child's output: the last this many characters. */
const OUTPUT_TAIL_CHARS = 16_384;

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class ServerChild {
  readonly pid: number;
  readonly exited: Promise<ChildExit>;
  private readonly proc: ChildProcess;
  private readonly waiters = new Set<(line: string) => void>();
  private partial = '';
  private tail = '';
  private exit: ChildExit | undefined;

  private constructor(proc: ChildProcess, onLine: (line: string) => void) {
    this.proc = proc;
    if (proc.pid === undefined) throw new BenchFailure(`could not start ${proc.spawnfile}`);
    this.pid = proc.pid;
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (chunk: string) => {
      this.keep(chunk);
      const text = this.partial + chunk;
      const lines = text.split('\n');
      this.partial = lines.pop()!;
      for (const line of lines) {
        onLine(line);
        for (const waiter of this.waiters) waiter(line);
      }
    });
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (chunk: string) => this.keep(chunk));
  }

  /** Starts `node <args>` (the bench's own Node binary) in `cwd`, with `env` over the bench's environment. */
  static start(
    args: readonly string[],
    cwd: string,
    onLine: (line: string) => void = () => undefined,
    env: Readonly<Record<string, string>> = {},
  ): ServerChild {
    return ServerChild.startBinary(process.execPath, args, cwd, onLine, env);
  }

  /** Starts any executable (the otelcol peer of bench:peers) the same way. */
  static startBinary(
    file: string,
    args: readonly string[],
    cwd: string,
    onLine: (line: string) => void = () => undefined,
    env: Readonly<Record<string, string>> = {},
  ): ServerChild {
    const proc = spawn(file, [...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...childEnv(), ...env } });
    return new ServerChild(proc, onLine);
  }

  /** The last of what the child printed (stdout and stderr interleaved). */
  output(): string {
    return this.tail;
  }

  /** Resolves with the first line (from now on) `match` accepts; fails on exit or after `timeoutMs`. */
  waitForLine<T>(what: string, timeoutMs: number, match: (line: string) => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter = (line: string): void => {
        const value = match(line);
        if (value === undefined) return;
        done();
        resolve(value);
      };
      const timer = setTimeout(() => {
        done();
        reject(new BenchFailure(`${what}: not seen within ${timeoutMs} ms; output:\n${this.tail}`));
      }, timeoutMs);
      this.waiters.add(waiter);
      void this.exited.then((exit) => {
        done();
        reject(new BenchFailure(`${what}: the child exited (${exit.code ?? exit.signal}) first; output:\n${this.tail}`));
      });
    });
  }

  /** SIGTERM, then waits for the exit; SIGKILL and a BenchFailure past `timeoutMs`. */
  async stop(timeoutMs: number): Promise<ChildExit> {
    if (this.exit !== undefined) return this.exit;
    this.proc.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const result = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.proc.kill('SIGKILL');
      await this.exited;
      throw new BenchFailure(`pid ${this.pid} did not exit within ${timeoutMs} ms of SIGTERM; output:\n${this.tail}`);
    }
    return result;
  }

  /** Last resort on a failed run: never leave a child behind. */
  kill(): void {
    if (this.exit === undefined) this.proc.kill('SIGKILL');
  }

  private keep(chunk: string): void {
    this.tail = (this.tail + chunk).slice(-OUTPUT_TAIL_CHARS);
  }
}

/** The bench's environment without OTEL_* variables, which would change exporter defaults. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('OTEL_')) env[key] = value;
  return env;
}
