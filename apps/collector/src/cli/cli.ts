/**
 * The command line, as a pure function of argv, env and version: main.ts runs what it returns
 * (start the service, print text, set the exit code). Nothing here writes or exits.
 */
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { ConfigError } from '../config/config-error.ts';
import { DEFAULT_CONFIG_SOURCE } from '../config/default-config.ts';
import { loadEffectiveConfig, parseSetArgument, resolveCollectorConfig } from '../config/load-config.ts';
import type { ConfigDocument } from '../config/load-config.ts';
import type { RuntimeConfig } from '../config/runtime-config.ts';
import { probeExporters, toRuntimeConfig } from '../config/to-runtime-config.ts';
import { probeDurableQueue } from '../storage/durable-queue.ts';
import { helpText } from './help.ts';

export { loadRuntimeConfig } from '../config/load-config.ts';
export type { LoadOptions } from '../config/load-config.ts';

/** Exit status for arguments the CLI cannot understand (as getopt tools use 2). */
export const EXIT_USAGE = 2;
/** Exit status for a configuration that cannot run. */
export const EXIT_INVALID_CONFIG = 1;

export type CliResult =
  /** Start the collector with `config`; `effective` is the merged document (${env:…} unexpanded), for logging. */
  | { readonly kind: 'run'; readonly config: RuntimeConfig; readonly effective: ConfigDocument }
  /** Print `text` (YAML) to stdout, exit 0. */
  | { readonly kind: 'print-config'; readonly text: string }
  /** Print `text`; exit 0 when ok, else 1. */
  | { readonly kind: 'validate'; readonly ok: boolean; readonly text: string }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version'; readonly text: string }
  /** Print `text` to stderr, exit with `exitCode`: 2 for bad arguments, 1 for a configuration that cannot run. */
  | { readonly kind: 'error'; readonly exitCode: number; readonly text: string };

const OPTIONS = {
  config: { type: 'string', short: 'c', multiple: true },
  set: { type: 'string', multiple: true },
  'print-config': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

/** `argv` without node and the script, i.e. process.argv.slice(2). */
export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv, version: string): CliResult {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help === true || positionals[0] === 'help') return { kind: 'help', text: helpText(version) };
  if (values.version === true) return { kind: 'version', text: `spanring version ${version}\n` };

  if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== 'validate')) {
    return usageError(`unknown command "${positionals.join(' ')}" (the only command is "validate")`);
  }
  const validate = positionals[0] === 'validate';
  const printConfig = values['print-config'] === true;
  if (validate && printConfig) return usageError('--print-config cannot be combined with validate');

  const configFiles = values.config ?? [];
  const sets = values.set ?? [];
  if (configFiles.some((file) => file.trim() === '')) return usageError('--config needs a file path');
  const setProblems: string[] = [];
  for (const set of sets) parseSetArgument(set, setProblems);
  if (setProblems.length > 0) return usageError(setProblems.join('\n'));

  const source = configFiles.length === 0 ? DEFAULT_CONFIG_SOURCE : configFiles.join(', ');
  try {
    const effective = loadEffectiveConfig({ configFiles, sets });
    const config = toRuntimeConfig(resolveCollectorConfig(effective, env));
    if (printConfig) return { kind: 'print-config', text: stringify(effective, { lineWidth: 0, nullStr: '' }) };
    if (validate) {
      const problems = [...probeExporters(config), ...probeDurableQueue(config.durableQueue)];
      if (problems.length > 0) throw new ConfigError(problems);
      return { kind: 'validate', ok: true, text: `${source}: the configuration is valid\n` };
    }
    return { kind: 'run', config, effective };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const text = `${source}: ${error.message}\n`;
    if (validate) return { kind: 'validate', ok: false, text };
    return { kind: 'error', exitCode: EXIT_INVALID_CONFIG, text: `spanring: ${text}` };
  }
}

function usageError(message: string): CliResult {
  return { kind: 'error', exitCode: EXIT_USAGE, text: `spanring: ${message}\nRun "spanring --help" for usage.\n` };
}
