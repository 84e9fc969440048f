/**
 * Which producer ring a request writes through (issue §5: one ring per client, so a flooding
 * client fills only its own ring and is pushed back while the others keep flowing).
 *
 * The client key:
 * - a request carrying the tenant header (`X-Scope-OrgID`, the multi-tenancy header of
 *   Tempo, Loki and Mimir) belongs to that tenant: every connection of the tenant writes
 *   through one ring, so a tenant cannot escape its share by opening more connections;
 * - otherwise the client is the TCP connection (HTTP/1.1 keep-alive): one ring per socket.
 * The header is a fairness key, not an identity: it is not authenticated (put an
 * authenticating proxy in front if tenants must not impersonate each other).
 *
 * Leases: each connection holds a lease on every key it used (at most
 * MAX_KEYS_PER_CONNECTION; past that, requests still get a lease of their own), kept until the
 * socket closes so the ring is not re-registered per request. Each request additionally holds
 * a lease while it submits, so a ring is never closed under a waiting submit even if its
 * connection closes meanwhile. The socket is the WeakMap key, so nothing outlives it.
 */
import type { Socket } from 'node:net';
import { Inject, Injectable } from '@nestjs/common';
import { SpanCollectorService, type ProducerLease } from '#spanring/nest';

/** The tenant header (lower case, as Node exposes header names). */
export const TENANT_HEADER = 'x-scope-orgid';
/** Longest tenant id accepted; anything longer is a client error, not a key to keep. */
export const MAX_TENANT_LENGTH = 256;
/** Keys one connection may pin; a proxy multiplexing many tenants over one socket stays bounded. */
const MAX_KEYS_PER_CONNECTION = 16;
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

@Injectable()
export class ClientProducers {
  private readonly service: SpanCollectorService;
  private readonly pinned = new WeakMap<Socket, Map<string, ProducerLease>>();
  private readonly connectionIds = new WeakMap<Socket, number>();
  private nextConnectionId = 0;

  constructor(@Inject(SpanCollectorService) service: SpanCollectorService) {
    this.service = service;
  }

  /** The key of a request's client (see the file comment). */
  clientKey(socket: Socket, tenant: string | undefined): string {
    if (tenant !== undefined) return `tenant:${tenant}`;
    let id = this.connectionIds.get(socket);
    if (id === undefined) {
      id = ++this.nextConnectionId;
      this.connectionIds.set(socket, id);
    }
    return `http-connection:${id}`;
  }

  /** A lease for one request; release it once the submit settled. */
  acquire(socket: Socket, key: string): ProducerLease {
    this.pin(socket, key);
    return this.service.acquire(key);
  }

  private pin(socket: Socket, key: string): void {
    let leases = this.pinned.get(socket);
    if (leases === undefined) {
      if (socket.destroyed) return;
      leases = new Map();
      this.pinned.set(socket, leases);
      const owned = leases;
      socket.once('close', () => {
        for (const lease of owned.values()) lease.release();
        owned.clear();
      });
    }
    if (leases.has(key) || leases.size >= MAX_KEYS_PER_CONNECTION) return;
    leases.set(key, this.service.acquire(key));
  }
}
