import type { Metadata } from '@grpc/grpc-js';
import { checkTenant, InvalidTenantError, TENANT_KEY } from '../tenant.ts';

export { InvalidTenantError };

/**
 * The tenant metadata key: `X-Scope-OrgID`, the same one the OTLP/HTTP receiver reads (gRPC
 * metadata keys are lower case).
 */
export const TENANT_METADATA_KEY = TENANT_KEY;

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
  if (values.length > 1) throw new InvalidTenantError('metadata', 'sent more than once');
  const value = values[0];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidTenantError('metadata', 'must be text');
  return checkTenant(value, 'metadata');
}
