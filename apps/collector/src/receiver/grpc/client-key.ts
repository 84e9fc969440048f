import type { Metadata } from '@grpc/grpc-js';

/**
 * The tenant metadata key: `X-Scope-OrgID`, the multi-tenancy header of Tempo, Loki and Mimir,
 * the same one the OTLP/HTTP receiver reads (gRPC metadata keys are lower case).
 */
export const TENANT_METADATA_KEY = 'x-scope-orgid';
/** Longest tenant id accepted; anything longer is a client error, not a key to keep. */
export const MAX_TENANT_LENGTH = 256;
/** Printable ASCII without spaces: ids in logs and metrics stay readable. */
const TENANT_PATTERN = /^[\x21-\x7e]+$/;

export class InvalidTenantError extends Error {
  constructor(reason: string) {
    super(`invalid ${TENANT_METADATA_KEY} metadata: ${reason}`);
    this.name = 'InvalidTenantError';
  }
}

/**
 * The key of a call's client, i.e. which producer ring it writes through:
 * - a call carrying the tenant metadata belongs to that tenant: all its connections share one
 *   ring, so a tenant cannot escape its share by opening more connections;
 * - otherwise the client is the HTTP/2 connection, named by its peer address: grpc-js reports
 *   the connection's remote address and port ("127.0.0.1:51234", "::1:51234"), the same for
 *   every call multiplexed on it.
 * Keys are prefixed with the transport, so gRPC clients never share a ring with HTTP ones.
 * The tenant is a fairness key, not an identity: it is not authenticated.
 */
export function clientKeyOf(metadata: Metadata, peer: string): string {
  const tenant = parseTenant(metadata.get(TENANT_METADATA_KEY));
  return tenant === undefined ? `grpc-connection:${peer}` : `grpc-tenant:${tenant}`;
}

function parseTenant(values: readonly (string | Buffer)[]): string | undefined {
  if (values.length > 1) throw new InvalidTenantError('sent more than once');
  const value = values[0];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidTenantError('must be text');
  const tenant = value.trim();
  if (tenant === '') return undefined;
  if (tenant.length > MAX_TENANT_LENGTH) throw new InvalidTenantError(`longer than ${MAX_TENANT_LENGTH} characters`);
  if (!TENANT_PATTERN.test(tenant)) throw new InvalidTenantError('only printable ASCII without spaces is accepted');
  return tenant;
}
