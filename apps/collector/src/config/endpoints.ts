import type { Endpoint } from './runtime-config.ts';

/** The Collector's own defaults when a listener's `endpoint` is omitted (localhost since v0.104). */
export const DEFAULT_GRPC_ENDPOINT = 'localhost:4317';
export const DEFAULT_HTTP_ENDPOINT = 'localhost:4318';
export const DEFAULT_HEALTH_ENDPOINT = 'localhost:13133';
export const DEFAULT_METRICS_HOST = 'localhost';
export const DEFAULT_METRICS_PORT = 8888;

/**
 * A listen address as Go writes it: "host:port", "[v6]:port", or ":port" for every interface
 * (which Go binds on all addresses; we use 0.0.0.0, IPv4, as Spanring's default config does).
 * Port 0 is allowed: the OS picks a free port (tests use it). Returns a message when invalid.
 */
export function parseEndpoint(value: string): Endpoint | string {
  const text = value.trim();
  const bracketed = /^\[([^\]]*)\]:(\d+)$/.exec(text);
  const match = bracketed ?? /^([^:[\]]*):(\d+)$/.exec(text);
  const hint = `invalid endpoint ${JSON.stringify(value)}: expected host:port, e.g. 0.0.0.0:4317, localhost:4318 or [::1]:4317`;
  if (match === null) return hint;
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port > 65_535) return `${hint} (port must be 0 to 65535)`;
  const host = match[1]!;
  if (bracketed !== null && host === '') return hint;
  return { host: host === '' ? '0.0.0.0' : host, port };
}
