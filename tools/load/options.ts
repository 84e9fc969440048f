/**
 * The load generator's options: the command line (node:util parseArgs) and the programmatic
 * input both end in resolveLoadOptions, so `npm run load` and an in-process caller (bench:e2e)
 * get the same validation and the same errors.
 */
import { isIPv4 } from 'node:net';
import { parseArgs } from 'node:util';

export const PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
export type LoadProtocol = (typeof PROTOCOLS)[number];

/** Exit status for arguments the tool cannot use (as getopt tools use 2). */
export const EXIT_USAGE = 2;

export const DEFAULTS = {
  httpTarget: 'http://127.0.0.1:4318',
  grpcTarget: '127.0.0.1:4317',
  grpcPort: 4317,
  protocol: 'http/protobuf',
  concurrency: 8,
  durationMs: 10_000,
  spansPerRequest: 512,
  requestTimeoutMs: 10_000,
  poolSize: 32,
} as const;

/**
 * With only --spans, the run still ends after this long: every run is bounded in time, so a
 * stalled target cannot keep the generator waiting forever.
 */
export const SPANS_ONLY_TIME_LIMIT_MS = 60 * 60 * 1000;

// Upper bounds keep a typo from turning into a day-long run or a gigabyte request pool.
export const LIMITS = {
  maxDurationMs: 24 * 60 * 60 * 1000,
  maxConcurrency: 1024,
  maxRate: 1_000_000,
  maxSpans: Number.MAX_SAFE_INTEGER,
  maxSpansPerRequest: 20_000,
  maxPoolSize: 256,
  maxRequestTimeoutMs: 10 * 60 * 1000,
} as const;

/** Options as a caller gives them; resolveLoadOptions checks and completes them. */
export interface LoadOptionsInput {
  /** OTLP/HTTP: http(s)://host:port[/path]; gRPC: host:port or http(s)://host:port. */
  readonly target?: string;
  readonly protocol?: string;
  /** Requests in flight at once. */
  readonly concurrency?: number;
  /** Requests per second; undefined: each worker sends again as soon as it has its answer. */
  readonly rate?: number;
  /** "10s", "500ms", "2m", "1h", or a number of seconds as text; a number is milliseconds. */
  readonly duration?: string | number;
  /** Stop after this many spans have been sent. */
  readonly spans?: number;
  readonly spansPerRequest?: number;
  readonly gzip?: boolean;
  /** Without it, only loopback targets (127.0.0.0/8, ::1, localhost) are accepted. */
  readonly allowRemote?: boolean;
  /** Deadline of each request, in ms (default 10 s). Not on the command line. */
  readonly requestTimeoutMs?: number;
  /** Distinct pre-encoded requests cycled through (default 32). Not on the command line. */
  readonly poolSize?: number;
  /** Seed of the span generator, for reproducible requests (default: random). Not on the command line. */
  readonly seed?: number;
}

export interface LoadOptions {
  /** The target as given (or the default), for the summary. */
  readonly target: string;
  /** Where requests go: the full POST URL for OTLP/HTTP, the origin (scheme://host:port) for gRPC. */
  readonly url: URL;
  readonly protocol: LoadProtocol;
  readonly concurrency: number;
  readonly rate: number | undefined;
  /** The time bound; with only a span bound it is SPANS_ONLY_TIME_LIMIT_MS. */
  readonly durationMs: number;
  readonly spans: number | undefined;
  readonly spansPerRequest: number;
  readonly gzip: boolean;
  readonly allowRemote: boolean;
  readonly requestTimeoutMs: number;
  readonly poolSize: number;
  readonly seed: number | undefined;
}

/** Bad options: the CLI prints the message and exits with EXIT_USAGE. */
export class LoadOptionsError extends Error {
  override readonly name = 'LoadOptionsError';
}

export function resolveLoadOptions(input: LoadOptionsInput): LoadOptions {
  const protocol = input.protocol ?? DEFAULTS.protocol;
  if (!isProtocol(protocol)) {
    throw new LoadOptionsError(`--protocol must be one of ${PROTOCOLS.join(', ')}; got "${protocol}"`);
  }
  const target = input.target ?? (protocol === 'grpc' ? DEFAULTS.grpcTarget : DEFAULTS.httpTarget);
  const url = protocol === 'grpc' ? grpcUrl(target) : httpUrl(target);
  const allowRemote = input.allowRemote ?? false;
  if (!allowRemote && !isLoopbackHost(url.hostname)) {
    throw new LoadOptionsError(
      `refusing to send load to ${url.hostname}: without --allow-remote only loopback targets ` +
        `(127.0.0.0/8, ::1, localhost) are accepted`,
    );
  }
  if (input.duration === undefined && input.spans === undefined) {
    throw new LoadOptionsError('give at least one bound: a duration, a span count, or both (the run stops at whichever comes first)');
  }
  const explicitDuration = input.duration === undefined ? undefined : checkDuration(input.duration);
  const spans = input.spans === undefined ? undefined : checkInteger('--spans', input.spans, 1, LIMITS.maxSpans);
  return {
    target,
    url,
    protocol,
    concurrency: checkInteger('--concurrency', input.concurrency ?? DEFAULTS.concurrency, 1, LIMITS.maxConcurrency),
    rate: input.rate === undefined ? undefined : checkRate(input.rate),
    durationMs: explicitDuration ?? SPANS_ONLY_TIME_LIMIT_MS,
    spans,
    spansPerRequest: checkInteger('--spans-per-request', input.spansPerRequest ?? DEFAULTS.spansPerRequest, 1, LIMITS.maxSpansPerRequest),
    gzip: input.gzip ?? false,
    allowRemote,
    requestTimeoutMs: checkInteger('requestTimeoutMs', input.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs, 1, LIMITS.maxRequestTimeoutMs),
    poolSize: checkInteger('poolSize', input.poolSize ?? DEFAULTS.poolSize, 1, LIMITS.maxPoolSize),
    seed: input.seed === undefined ? undefined : checkInteger('seed', input.seed, 0, 0xffff_ffff),
  };
}

function isProtocol(value: string): value is LoadProtocol {
  return (PROTOCOLS as readonly string[]).includes(value);
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** OTLP/HTTP: POST <target>/v1/traces, unless the target names its own path. */
function httpUrl(target: string): URL {
  const url = parseTarget(target);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/traces';
  return url;
}

/** gRPC: only the origin matters; the method path is fixed by the OTLP service definition. */
function grpcUrl(target: string): URL {
  const url = parseTarget(target);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '') {
    throw new LoadOptionsError(`a gRPC target is host:port or http(s)://host:port, without a path; got "${target}"`);
  }
  // Without a port an OTLP/gRPC client means the OTLP default, not the scheme's 80/443.
  if (url.port === '' && !/:\d+\/?$/.test(target)) url.port = String(DEFAULTS.grpcPort);
  return url;
}

function parseTarget(target: string): URL {
  const withScheme = SCHEME.test(target) ? target : `http://${target}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new LoadOptionsError(`--target is not a valid address: "${target}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new LoadOptionsError(`--target must use http:// or https://; got "${url.protocol}//"`);
  }
  if (url.hostname === '') throw new LoadOptionsError(`--target has no host: "${target}"`);
  return url;
}

/**
 * Loopback by address, never by a DNS answer: 127.0.0.0/8, ::1 and the name localhost.
 * `hostname` is as URL gives it (IPv6 in brackets, IPv4 already normalized, e.g. 127.1 → 127.0.0.1).
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  if (host === 'localhost' || host === '::1') return true;
  return isIPv4(host) && host.startsWith('127.');
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "10s", "500ms", "1.5m", "1h"; a bare number of seconds as text; a number is milliseconds. */
export function parseDurationMs(value: string | number): number {
  if (typeof value === 'number') return value;
  const match = DURATION.exec(value.trim());
  if (match === null) throw new LoadOptionsError(`--duration must look like 10s, 500ms, 2m or 1h; got "${value}"`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 's']!);
}

function checkDuration(value: string | number): number {
  const ms = parseDurationMs(value);
  if (!Number.isFinite(ms) || ms < 1 || ms > LIMITS.maxDurationMs) {
    throw new LoadOptionsError(`--duration must be from 1ms to 24h; got "${value}"`);
  }
  return ms;
}

function checkRate(value: number): number {
  if (!Number.isFinite(value) || value <= 0 || value > LIMITS.maxRate) {
    throw new LoadOptionsError(`--rate must be a number of requests per second above 0 and at most ${LIMITS.maxRate}; got ${value}`);
  }
  return value;
}

function checkInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new LoadOptionsError(`${name} must be an integer from ${min} to ${max}; got ${value}`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// The command line

export type CliCommand =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'run'; readonly options: LoadOptions; readonly json: boolean };

const CLI_OPTIONS = {
  target: { type: 'string' },
  protocol: { type: 'string' },
  concurrency: { type: 'string' },
  rate: { type: 'string' },
  duration: { type: 'string' },
  spans: { type: 'string' },
  'spans-per-request': { type: 'string' },
  gzip: { type: 'boolean' },
  json: { type: 'boolean' },
  'allow-remote': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `argv` without node and the script. Throws LoadOptionsError for anything it cannot use. */
export function parseLoadArgs(argv: readonly string[]): CliCommand {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: CLI_OPTIONS, allowPositionals: false, strict: true }));
  } catch (error) {
    throw new LoadOptionsError(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) return { kind: 'help', text: HELP_TEXT };
  const bounded = values.duration !== undefined || values.spans !== undefined;
  const options = resolveLoadOptions({
    target: values.target,
    protocol: values.protocol,
    concurrency: numberArg('--concurrency', values.concurrency),
    rate: numberArg('--rate', values.rate),
    // The command line's default bound; the programmatic API asks for one explicitly.
    duration: bounded ? values.duration : `${DEFAULTS.durationMs}ms`,
    spans: numberArg('--spans', values.spans),
    spansPerRequest: numberArg('--spans-per-request', values['spans-per-request']),
    gzip: values.gzip,
    allowRemote: values['allow-remote'],
  });
  return { kind: 'run', options, json: values.json === true };
}

function numberArg(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  // Number('') is 0 and Number(' 1') is 1: require a plain decimal number.
  if (!/^\d+(\.\d+)?$/.test(text.trim())) throw new LoadOptionsError(`${name} needs a number; got "${text}"`);
  return Number(text);
}

export const HELP_TEXT = `usage: npm run load -- [options]

Sends OTLP trace requests to a collector and reports what it answered.

Requests are built before the run with a realistic shape (resources and spans of ~10
attributes, some events and links, traces of 1-50 spans that may continue into the next
request) and encoded once (gzipped once with --gzip), so sending only cycles through buffers.

Options:
  --target <url>              OTLP/HTTP: http://host:port (POST <url>/v1/traces unless the URL
                              has a path). gRPC: host:port or http://host:port.
                              Default: ${DEFAULTS.httpTarget} (gRPC: ${DEFAULTS.grpcTarget})
  --protocol <p>              ${PROTOCOLS.join(' | ')} (default ${DEFAULTS.protocol})
  --concurrency <n>           requests in flight at once (default ${DEFAULTS.concurrency})
  --rate <r>                  at most r requests per second in total (default: each of the
                              concurrent senders sends again as soon as it has its answer)
  --duration <d>              stop sending after d: 10s, 500ms, 2m, 1h (default 10s when
                              --spans is not given either)
  --spans <n>                 stop after sending n spans; with --duration too, whichever comes
                              first; alone, the run still ends after 1h
  --spans-per-request <n>     spans in each request (default ${DEFAULTS.spansPerRequest})
  --gzip                      gzip request bodies (compressed once, before the run)
  --json                      print exactly one JSON object on stdout, and no progress line
  --allow-remote              allow targets other than 127.0.0.0/8, ::1 and localhost
  -h, --help                  this text

Answers are counted, never retried: a load generator measures what the target does, and
retrying would hide it. 429/503 (gRPC UNAVAILABLE/RESOURCE_EXHAUSTED) count as refused, with
the Retry-After / RetryInfo delay they carried; a partial success counts its rejected spans.
Requests in flight when the time is up are awaited (each has a 10s deadline).

Output: live progress on stderr when it is a terminal, then a summary on stdout: spans sent,
acknowledged, refused, rejected; requests/s; spans/s (acknowledged); latency p50/p90/p99/max.
Exit status: 0 when the run completed, 1 when every request failed (none was acknowledged
or refused), 2 for bad options.
`;
