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
import { httpClientKey } from './client-key.ts';

/** Keys one connection may pin; a proxy multiplexing many tenants over one socket stays bounded. */
const MAX_KEYS_PER_CONNECTION = 16;

@Injectable()
export class ClientProducers {
  private readonly service: SpanCollectorService;
  private readonly pinned = new WeakMap<Socket, Map<string, ProducerLease>>();

  constructor(@Inject(SpanCollectorService) service: SpanCollectorService) {
    this.service = service;
  }

  /** The key of a request's client (see the file comment). */
  clientKey(socket: Socket, tenant: string | undefined): string {
    return httpClientKey(socket, tenant);
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
