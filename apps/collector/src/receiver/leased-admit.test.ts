import { describe, expect, it } from 'vitest';
import type { ProducerLease } from '#spanring/nest';
import type { AdmitResult, AsyncSpanProducer } from '#spanring/pipeline';
import { makeSpan } from '../../../../libs/pipeline/src/test-support.ts';
import { admitThroughLease } from './leased-admit.ts';
import { ReceiverOverloadedError, type ReceivedRequest } from './span-sink.ts';
import { WaitingRequests } from './waiting-limits.ts';

const MiB = 1024 * 1024;

/** A producer whose admit() waits until the test lets it through, as when its ring is full. */
function blockedLease() {
  const gates: (() => void)[] = [];
  let releases = 0;
  const producer = {
    admit: (spans: readonly unknown[]) => new Promise<AdmitResult>((resolve) => gates.push(() => resolve({ accepted: spans.length, refusal: undefined }))),
  } as unknown as AsyncSpanProducer;
  const lease = (): ProducerLease => ({ producer, release: () => releases++ });
  return { lease, openAll: () => gates.splice(0).forEach((open) => open()), releases: () => releases };
}

function request(clientKey: string, bytes: number): ReceivedRequest {
  const spans = [makeSpan(0, bytes)];
  return { transport: 'http', clientKey, socket: undefined, spanCount: 1, bytes, spans, protobuf: undefined, signal: new AbortController().signal };
}

describe('admitThroughLease waiting limits (W13, main-thread receivers)', () => {
  it('refuses at once past the waiting limits, counts a request until admit settles', async () => {
    const waiting = new WaitingRequests({ clientBytes: 8 * MiB, totalBytes: 16 * MiB });
    const { lease, openAll, releases } = blockedLease();
    const admit = (clientKey: string, bytes: number) => admitThroughLease(request(clientKey, bytes), lease, 60_000, waiting);

    const pending = [admit('flood', 6 * MiB)];
    // Past 8 MiB: the flooding client, already waiting, is refused at once; a quiet one waits.
    const refused = await admit('flood', 4 * MiB);
    expect(refused.accepted).toBe(0);
    expect(refused.refusal).toBeInstanceOf(ReceiverOverloadedError);
    pending.push(admit('quiet', 4 * MiB));
    expect(waiting.waitingBytes).toBe(10 * MiB);
    // Past 16 MiB: everyone is refused at once.
    expect((await admit('newcomer', 8 * MiB)).refusal).toBeInstanceOf(ReceiverOverloadedError);

    openAll();
    await expect(Promise.all(pending)).resolves.toEqual([
      { accepted: 1, refusal: undefined },
      { accepted: 1, refusal: undefined },
    ]);
    expect(waiting.waitingBytes).toBe(0);
    expect(releases()).toBe(2);
    // Nothing waits now: even a request larger than every limit may wait.
    const big = admit('flood', 64 * MiB);
    openAll();
    await expect(big).resolves.toEqual({ accepted: 1, refusal: undefined });
  });
});
