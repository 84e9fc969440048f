/**
 * The client of an OTLP/HTTP request, i.e. its fairness key (see client-producers.ts):
 * the tenant named by `X-Scope-OrgID` when present, otherwise the TCP connection.
 * Framework-free: the Nest controller and the receiver worker threads both use it.
 */
import type { Socket } from 'node:net';

/** The tenant header (lower case, as Node exposes header names). */
export const TENANT_HEADER = 'x-scope-orgid';
/** Longest tenant id accepted; anything longer is a client error, not a key to keep. */
export const MAX_TENANT_LENGTH = 256;
/** Printable ASCII without spaces: ids in logs and metrics stay readable. */
const TENANT_PATTERN = /^[\x21-\x7e]+$/;

export class InvalidTenantError extends Error {
  constructor(reason: string) {
    super(`invalid ${TENANT_HEADER} header: ${reason}`);
    this.name = 'InvalidTenantError';
  }
}

/** The tenant named by the header value, undefined when absent or blank. */
export function parseTenant(header: string | string[] | undefined): string | undefined {
  if (Array.isArray(header)) {
    if (header.length > 1) throw new InvalidTenantError('sent more than once');
    header = header[0];
  }
  const tenant = header?.trim();
  if (tenant === undefined || tenant === '') return undefined;
  if (tenant.length > MAX_TENANT_LENGTH) throw new InvalidTenantError(`longer than ${MAX_TENANT_LENGTH} characters`);
  if (!TENANT_PATTERN.test(tenant)) throw new InvalidTenantError('only printable ASCII without spaces is accepted');
  return tenant;
}

/** Connection ids, per thread; the socket is the WeakMap key, so nothing outlives it. */
const connectionIds = new WeakMap<Socket, number>();
let nextConnectionId = 0;

/** The key of a request's client: its tenant, else its connection. */
export function httpClientKey(socket: Socket, tenant: string | undefined): string {
  if (tenant !== undefined) return `tenant:${tenant}`;
  let id = connectionIds.get(socket);
  if (id === undefined) {
    id = ++nextConnectionId;
    connectionIds.set(socket, id);
  }
  return `http-connection:${id}`;
}
