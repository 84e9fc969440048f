/**
 * Main-thread receivers admit a request through a producer leased for its client (HTTP:
 * client-producers.ts, gRPC: client-leases.ts). The lease rules are the same for both: a
 * draining collector refuses without admitting, and the lease is returned whatever happens.
 */
import type { ProducerLease } from '#spanring/nest';
import { CollectorClosedError } from '#spanring/pipeline/errors';
import type { AdmitOutcome, ReceivedRequest } from './span-sink.ts';

export async function admitThroughLease(request: ReceivedRequest, lease: () => ProducerLease, timeoutMs: number): Promise<AdmitOutcome> {
  const spans = request.spans;
  if (spans === undefined) throw new Error('a main-thread sink decodes requests into spans (decodeSpans)');
  let held: ProducerLease;
  try {
    held = lease();
  } catch (error) {
    if (error instanceof CollectorClosedError) return { accepted: 0, refusal: error };
    throw error;
  }
  try {
    return await held.producer.admit(spans, { timeoutMs, signal: request.signal });
  } finally {
    held.release();
  }
}
