/**
 * The load generator as a library, for in-process callers (bench:e2e):
 *   const summary = await runLoad({ target, protocol: 'grpc', spans: 100_000 }, { signal });
 */
export { main } from './cli.ts';
export type { CliIo } from './cli.ts';
export { DEFAULTS, isLoopbackHost, LoadOptionsError, parseLoadArgs, PROTOCOLS, resolveLoadOptions } from './options.ts';
export type { LoadOptions, LoadOptionsInput, LoadProtocol } from './options.ts';
export { buildRequestPool, SpanGenerator } from './request-builder.ts';
export type { PreparedRequest, RequestPool } from './request-builder.ts';
export { runLoad, runResolvedLoad } from './run.ts';
export type { RunHooks } from './run.ts';
export { formatSummary, LatencyHistogram } from './stats.ts';
export type { LoadSummary } from './stats.ts';
