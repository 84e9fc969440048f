/**
 * Main-thread receivers admit a request through a producer leased for its client (HTTP:
 * client-producers.ts, gRPC: client-leases.ts). The lease rules are the same for both: a
 * draining collector refuses without admitting, and the lease is returned whatever happens.
 * The bytes of requests inside admit() are bounded by `waiting` (specs/receiver-workers.md W13): a
 * request is counted from when it asks until admit() settles, so past the limits it is refused
 * at once even if its ring had room; that happens only while the receiver is saturated.
 */
import type { ProducerLease } from '#spanring/nest';
import { CollectorClosedError } from '#spanring/pipeline/errors';
import type { Span } from '#spanring/otlp';
import { ReceiverOverloadedError, type AdmitOutcome, type ReceivedRequest } from './span-sink.ts';
import type { WaitingRequests } from './waiting-limits.ts';

export async function admitThroughLease(
  request: ReceivedRequest,
  lease: () => ProducerLease,
  timeoutMs: number,
  waiting: WaitingRequests,
): Promise<AdmitOutcome> {
  const spans = request.spans;
  if (spans === undefined) throw new Error('a main-thread sink decodes requests into spans (decodeSpans)');
  const { clientKey, bytes } = request;
  if (!waiting.enter(clientKey, bytes)) {
    return { accepted: 0, refusal: new ReceiverOverloadedError(request.spanCount) };
  }
  try {
    return await admitLeased(spans, request.signal, lease, timeoutMs);
  } finally {
    waiting.leave(clientKey, bytes);
  }
}

async function admitLeased(spans: readonly Span[], signal: AbortSignal, lease: () => ProducerLease, timeoutMs: number): Promise<AdmitOutcome> {
  let held: ProducerLease;
  try {
    held = lease();
  } catch (error) {
    if (error instanceof CollectorClosedError) return { accepted: 0, refusal: error };
    throw error;
  }
  try {
    return await held.producer.admit(spans, { timeoutMs, signal });
  } finally {
    held.release();
  }
}
