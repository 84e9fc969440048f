/**
 * The `npm run load` command as a function of argv and its streams, so tests run it in-process
 * with captured output. load.ts wires it to the process (argv, stdio, signals, exit code).
 */
import { EXIT_USAGE, LoadOptionsError, parseLoadArgs } from './options.ts';
import type { CliCommand } from './options.ts';
import { runResolvedLoad } from './run.ts';
import { formatSummary } from './stats.ts';

export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  /** Progress is drawn here only when it is a TTY. */
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  /** Aborting ends the run early; the summary of what happened is still printed. */
  readonly signal?: AbortSignal;
}

/** Runs the command; resolves with the exit status (0 done, 1 every request failed, 2 bad options). */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let command: CliCommand;
  try {
    command = parseLoadArgs(argv);
  } catch (error) {
    if (!(error instanceof LoadOptionsError)) throw error;
    io.stderr.write(`load: ${error.message}\nload: see --help\n`);
    return EXIT_USAGE;
  }
  if (command.kind === 'help') {
    io.stdout.write(command.text);
    return 0;
  }
  const { options, json } = command;
  const tty = !json && io.stderr.isTTY === true;
  if (tty) {
    const bounds = [`${options.durationMs / 1000}s`, options.spans === undefined ? undefined : `${options.spans} spans`].filter(Boolean).join(' or ');
    io.stderr.write(`load: ${options.protocol} to ${options.url.href}, ${options.concurrency} in flight, until ${bounds}\n`);
  }
  const summary = await runResolvedLoad(options, { signal: io.signal, progress: tty ? io.stderr : undefined });
  io.stdout.write(json ? `${JSON.stringify(summary)}\n` : formatSummary(summary));
  const { sent, ok, refused } = summary.requests;
  return sent > 0 && ok + refused === 0 ? 1 : 0;
}
