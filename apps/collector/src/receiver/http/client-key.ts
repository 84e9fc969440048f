/**
 * The client of an OTLP/HTTP request, i.e. its fairness key (see client-producers.ts):
 * the tenant named by `X-Scope-OrgID` when present, otherwise the TCP connection.
 * Framework-free: the Nest controller and the receiver worker threads both use it.
 */
import type { Socket } from 'node:net';
import { checkTenant, InvalidTenantError, MAX_TENANT_LENGTH, TENANT_KEY } from '../tenant.ts';

export { InvalidTenantError, MAX_TENANT_LENGTH };

/** The tenant header (lower case, as Node exposes header names). */
export const TENANT_HEADER = TENANT_KEY;

/** The tenant named by the header value, undefined when absent or blank. */
export function parseTenant(header: string | string[] | undefined): string | undefined {
  if (Array.isArray(header)) {
    if (header.length > 1) throw new InvalidTenantError('header', 'sent more than once');
    header = header[0];
  }
  return header === undefined ? undefined : checkTenant(header, 'header');
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
