/**
 * The main-thread receivers' step for the persistent sending queue (specs/durable-queue.md):
 * a request is numbered and its spans tagged before they enter a ring, and it is answered
 * only once it is in the log (acknowledge_after: durable). Without a persistent queue the
 * receivers never call these.
 */
import { encodeTraceRequest, scanTraceRequest } from '#spanring/otlp';
import type { Durability } from '#spanring/pipeline';
import { decodeSpans, type AdmitOutcome, type DecodedRequest, type ReceivedRequest } from './span-sink.ts';

/**
 * Decodes like decodeSpans, but always into WireSpans over protobuf bytes, which is what the
 * log stores and what can carry the record's tag (Invariant D4): a JSON request is encoded to
 * protobuf once here.
 */
export function decodeForLog(format: 'protobuf' | 'json', body: Uint8Array): DecodedRequest {
  const decoded = decodeSpans(format, body);
  if (decoded.protobuf !== undefined || decoded.spans === undefined || decoded.spans.length === 0) return decoded;
  const protobuf = encodeTraceRequest(decoded.spans);
  return { spanCount: decoded.spanCount, bytes: decoded.bytes, spans: scanTraceRequest(protobuf), protobuf };
}

/** Admits `request` through `admit`, logging it first-come in the persistent queue. */
export async function admitDurably(
  durability: Durability,
  request: ReceivedRequest,
  admit: () => Promise<AdmitOutcome>,
): Promise<AdmitOutcome> {
  const { spans, protobuf, spanCount } = request;
  if (spans === undefined || protobuf === undefined) throw new Error('a durable receiver decodes requests with decodeForLog');
  const full = durability.refusalFor(protobuf.byteLength, spanCount);
  if (full !== undefined) return { accepted: 0, refusal: full };
  const seq = durability.reserve(spans);
  let outcome: AdmitOutcome;
  try {
    outcome = await admit();
  } catch (error) {
    await durability.finish(seq, spans, 0, protobuf);
    throw error;
  }
  const failure = await durability.finish(seq, spans, outcome.accepted, protobuf);
  return failure === undefined ? outcome : { accepted: outcome.accepted, refusal: failure };
}
