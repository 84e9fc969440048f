/**
 * The loop every producer worker runs: take one ProduceRequest at a time from the main thread,
 * produce, and answer with ProduceDone or ProduceFailed (a worker never dies silently, so the
 * main thread can fail the bench with the reason instead of waiting for its timeout).
 */
import { parentPort } from 'node:worker_threads';
import type { ProduceDone, ProduceRequest, ProducerReply } from '../ring-protocol.ts';

export function serveProduceRequests<R extends ProduceRequest>(produce: (request: R) => Promise<ProduceDone>): void {
  const port = parentPort;
  if (port === null) throw new Error('this module must run as a worker thread');
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (request: R) => {
    // Serialised: a request starts only after the previous one answered.
    chain = chain.then(async () => {
      let reply: ProducerReply;
      try {
        reply = await produce(request);
      } catch (error) {
        reply = { kind: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) };
      }
      port.postMessage(reply);
    });
  });
}

/** Milliseconds left before `deadline` (a performance.now() value), never negative. */
export function remainingMs(deadline: number): number {
  return Math.max(0, deadline - performance.now());
}
