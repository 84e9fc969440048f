import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  SharedChannel,
  SharedRingProducer,
  type RecordHandler,
  type SharedChannelHandle,
  type SharedRingHandle,
} from '#spanring/ringmpsc';
import { FNV_OFFSET, RECORD_HEADER, fnv1a, payloadByte, type ProducerReport } from './fixtures/records.ts';

// Workers run the TypeScript fixtures with Node's type stripping; the condition makes
// #spanring/ringmpsc resolve to the library's sources, as it does for Vitest.
const WORKER_OPTIONS = { execArgv: ['--conditions=spanring-source', '--disable-warning=ExperimentalWarning'] };

function startWorker<T>(file: string, workerData: unknown): { worker: Worker; result: Promise<T> } {
  const worker = new Worker(new URL(`./fixtures/${file}`, import.meta.url), { ...WORKER_OPTIONS, workerData });
  const result = new Promise<T>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`worker ${file} exited with ${code}`));
    });
  });
  return { worker, result };
}

interface ConsumerTally {
  records: number[];
  hashes: number[];
  fifoViolations: number;
  contentErrors: number;
}

function tallyingHandler(producers: number): { tally: ConsumerTally; handler: RecordHandler } {
  const tally: ConsumerTally = {
    records: Array.from({ length: producers }, () => 0),
    hashes: Array.from({ length: producers }, () => FNV_OFFSET),
    fifoViolations: 0,
    contentErrors: 0,
  };
  const handler: RecordHandler = (bytes, offset, length, ringIndex) => {
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, length);
    const seq = view.getUint32(0, true);
    const producerId = view.getUint32(4, true);
    if (producerId !== ringIndex) tally.contentErrors++;
    // Per-producer FIFO: each ring's records arrive in exactly the order they were committed.
    if (seq !== tally.records[ringIndex]) tally.fifoViolations++;
    for (let i = RECORD_HEADER; i < length; i++) {
      if (bytes[offset + i] !== payloadByte(seq, producerId, i)) {
        tally.contentErrors++;
        break;
      }
    }
    tally.hashes[ringIndex] = fnv1a(tally.hashes[ringIndex]!, bytes, offset, length);
    tally.records[ringIndex]!++;
  };
  return { tally, handler };
}

/** Consumes until every producer closed and every ring is empty; counts wait timeouts. */
async function consumeUntilProducersClose(channel: SharedChannel, handler: RecordHandler): Promise<number> {
  let timeouts = 0;
  for (;;) {
    if (channel.consumeAllUpTo(20_000, handler) > 0) continue;
    if (channel.allProducersClosed() && channel.isEmpty()) return timeouts;
    // Producers publish and ring the doorbell; a lost wake-up would surface as a timeout here.
    if (!(await channel.waitForData(10_000))) timeouts++;
  }
}

describe('SharedRing across threads', () => {
  it('3 worker producers × 1,000,000 records of random sizes: per-producer FIFO, every byte checked', async () => {
    const producers = 3;
    const recordsEach = 1_000_000;
    // A small ring (16 KiB) so records wrap, skip and hit the end exactly thousands of times,
    // and producers wait for space constantly.
    const channel = new SharedChannel({ ringBits: 14, maxProducers: producers, maxConsumePerRing: 512 });
    const workers = Array.from({ length: producers }, (_, producerId) =>
      startWorker<ProducerReport>('record-producer.worker.ts', {
        handle: channel.register(),
        producerId,
        records: recordsEach,
        maxPayload: 300,
        seed: 0x9e3779b9 ^ (producerId * 7919),
      }),
    );
    const { tally, handler } = tallyingHandler(producers);
    const timeouts = await consumeUntilProducersClose(channel, handler);
    const reports = await Promise.all(workers.map((w) => w.result));

    expect(timeouts).toBe(0);
    expect(tally.fifoViolations).toBe(0);
    expect(tally.contentErrors).toBe(0);
    for (const report of reports) {
      expect(report.committed).toBe(recordsEach);
      expect(tally.records[report.producerId]).toBe(recordsEach);
      // A checksum of every byte the producer wrote equals the one over every byte consumed.
      expect(tally.hashes[report.producerId]).toBe(report.hash);
    }
    expect(reports.reduce((sum, r) => sum + r.exactWrapHits, 0)).toBeGreaterThan(0);
    // Producers really were pushed back and woken by consumption.
    expect(reports.reduce((sum, r) => sum + r.waits, 0)).toBeGreaterThan(0);
  });

  it('a consumer in another thread attaches from the handle and receives everything in order', async () => {
    const channel = new SharedChannel({ ringBits: 12 });
    const ring: SharedRingHandle = channel.register();
    const consumer = startWorker<{ records: number; hash: number; outOfOrder: number }>(
      'channel-consumer.worker.ts',
      channel.handle satisfies SharedChannelHandle,
    );
    const producer = new SharedRingProducer(ring);
    const records = 200_000;
    let hash = FNV_OFFSET;
    const payload = new Uint8Array(64);
    const view = new DataView(payload.buffer);
    for (let seq = 0; seq < records; seq++) {
      view.setUint32(0, seq, true);
      payload[63] = seq & 0xff;
      while (!producer.write(payload)) await producer.waitForSpace(payload.length);
      hash = fnv1a(hash, payload, 0, payload.length);
    }
    producer.close();
    const result = await consumer.result;
    expect(result).toEqual({ records, hash, outOfOrder: 0 });
  });

  it('close() from the consumer stops producer threads; everything they committed is drained', async () => {
    const producers = 2;
    const channel = new SharedChannel({ ringBits: 12, maxProducers: producers });
    const workers = Array.from({ length: producers }, (_, producerId) =>
      startWorker<ProducerReport>('record-producer.worker.ts', {
        handle: channel.register(),
        producerId,
        records: 50_000_000, // far more than they get to write: close() stops them
        maxPayload: 100,
        seed: 12345 + producerId,
      }),
    );
    const { tally, handler } = tallyingHandler(producers);
    while (tally.records.reduce((a, b) => a + b, 0) < 20_000) {
      if (channel.consumeAll(handler) === 0) await channel.waitForData(10_000);
    }
    channel.close();
    await consumeUntilProducersClose(channel, handler);
    const reports = await Promise.all(workers.map((w) => w.result));
    expect(channel.isFullyDrained()).toBe(true);
    for (const report of reports) {
      expect(report.closedByConsumer).toBe(true);
      expect(tally.records[report.producerId]).toBe(report.committed);
      expect(tally.hashes[report.producerId]).toBe(report.hash);
    }
    expect(tally.fifoViolations).toBe(0);
    expect(tally.contentErrors).toBe(0);
  });
});
