/**
 * `npm run peers:build`: builds the OpenTelemetry Collector of bench/peers/otelcol/manifest.yaml
 * with the Collector's own builder, from the Go module proxy, into `.peers/` (ignored by git).
 * A second run with the same manifest, builder and Go is a no-op (a stamp says what was built).
 * Go's module and build caches are its usual per-user ones (GOMODCACHE, GOCACHE), so a fresh
 * clone on a machine that built once before builds again in seconds.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUILDER_VERSION = 'v0.165.0';
const ROOT = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../../' : '../../../', import.meta.url));
const MANIFEST = join(ROOT, 'bench/peers/otelcol/manifest.yaml');
const PEERS = join(ROOT, '.peers');
const WORK = join(PEERS, 'otelcol');
/** Where bench:peers finds the Collector. */
export const OTELCOL_BINARY = join(WORK, 'build', 'otelcol-peer');
const BUILDER = join(PEERS, 'bin', 'builder');
const STAMP = join(WORK, 'stamp.json');

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const result = spawnSync(command, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error !== undefined) throw new Error(`${command} could not be run: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}):\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

function goVersion(): string | undefined {
  const result = spawnSync('go', ['version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function main(): number {
  const go = goVersion();
  if (go === undefined) {
    process.stderr.write('peers:build needs the Go toolchain (`go` on PATH); the tests do not, only bench:peers does.\n');
    return 1;
  }
  const manifest = readFileSync(MANIFEST);
  const stamp = JSON.stringify({ manifest: createHash('sha256').update(manifest).digest('hex'), builder: BUILDER_VERSION, go });
  if (existsSync(OTELCOL_BINARY) && existsSync(STAMP) && readFileSync(STAMP, 'utf8') === stamp) {
    process.stdout.write(`peers:build: ${OTELCOL_BINARY} is up to date (${go}, builder ${BUILDER_VERSION})\n`);
    return 0;
  }
  const started = performance.now();
  mkdirSync(WORK, { recursive: true });
  if (!existsSync(BUILDER) || !existsSync(STAMP) || !readFileSync(STAMP, 'utf8').includes(`"builder":"${BUILDER_VERSION}"`)) {
    process.stdout.write(`peers:build: go install go.opentelemetry.io/collector/cmd/builder@${BUILDER_VERSION}\n`);
    run('go', ['install', `go.opentelemetry.io/collector/cmd/builder@${BUILDER_VERSION}`], ROOT, { GOBIN: join(PEERS, 'bin') });
  }
  copyFileSync(MANIFEST, join(WORK, 'manifest.yaml'));
  process.stdout.write('peers:build: building the Collector (the first build downloads its modules and takes a few minutes)\n');
  run(BUILDER, ['--config', 'manifest.yaml'], WORK);
  writeFileSync(STAMP, stamp);
  process.stdout.write(`peers:build: built ${OTELCOL_BINARY} in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.exitCode = main();
  } catch (error) {
    process.stderr.write(`peers:build: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
