/**
 * The `X-Scope-OrgID` tenant (the multi-tenancy key of Tempo, Loki and Mimir), which both
 * receivers read as a fairness key: an HTTP header or gRPC metadata. It is not authenticated.
 */

/** The tenant header / metadata key (lower case, as Node and grpc-js expose them). */
export const TENANT_KEY = 'x-scope-orgid';
/** Longest tenant id accepted; anything longer is a client error, not a key to keep. */
export const MAX_TENANT_LENGTH = 256;
/** Printable ASCII without spaces: ids in logs and metrics stay readable. */
const TENANT_PATTERN = /^[\x21-\x7e]+$/;

export class InvalidTenantError extends Error {
  /** `where`: "header" or "metadata", so the message names what the client sent. */
  constructor(where: string, reason: string) {
    super(`invalid ${TENANT_KEY} ${where}: ${reason}`);
    this.name = 'InvalidTenantError';
  }
}

/** The tenant in one received value, undefined when blank; throws InvalidTenantError. */
export function checkTenant(value: string, where: string): string | undefined {
  const tenant = value.trim();
  if (tenant === '') return undefined;
  if (tenant.length > MAX_TENANT_LENGTH) throw new InvalidTenantError(where, `longer than ${MAX_TENANT_LENGTH} characters`);
  if (!TENANT_PATTERN.test(tenant)) throw new InvalidTenantError(where, 'only printable ASCII without spaces is accepted');
  return tenant;
}
