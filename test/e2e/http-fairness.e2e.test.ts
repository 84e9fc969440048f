import 'reflect-metadata';
import { Agent } from 'node:http';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { encodeTraceRequest } from '#spanring/otlp';
import type { PipelineOptionsInput } from '#spanring/pipeline';
import { startWorkerApp } from '../integration/receiver-workers.support.ts';
import { makeSpans, parseTraceResponse, rawBody, SlowExporter, startReceiverApp } from './http-receiver.support.ts';

const FLOOD_CONNECTIONS = 24;
const FLOOD_SPANS = 512;
/** Safety bound on the flood, whatever happens to the quiet client. */
const MAX_FLOOD_REQUESTS = 2_000;
const QUIET_REQUESTS = 24;
const QUIET_SPANS = 128;

/** The receiver on the main thread (one ring per client) or in receiver workers (round-robin per client). */
async function startReceiving(workers: number, exporter: SlowExporter, pipeline: PipelineOptionsInput): Promise<{ url: string; close: () => Promise<void> }> {
  const settings = { queue: { queueSize: 1, numConsumers: 1 } };
  if (workers > 0) {
    // 64 KiB worker rings: about one flood request each, so the flood waits in the workers' queues.
    const app = await startWorkerApp({ exporter, exporterSettings: settings, workers, pipeline, workerRingBits: 16 });
    return { url: app.httpUrl, close: () => app.close() };
  }
  const receiver = await startReceiverApp({ exporters: [{ exporter, settings }], pipeline, listen: true });
  return { url: receiver.url, close: () => receiver.app.close() };
}

describe.each([
  { workers: 0, label: 'on the main thread' },
  { workers: 2, label: 'in 2 receiver workers' },
])('OTLP/HTTP receiver fairness (issue §5), $label', ({ workers }) => {
  it('a tenant flooding over many connections is pushed back while a quiet client on its own connection gets every span in', async () => {
    // A backend slower than the flood: 512 spans per 25 ms, one at a time.
    const exporter = new SlowExporter(25);
    const receiver = await startReceiving(workers, exporter, {
      // Rings of 1024 spans: the flood's one ring holds two of its 24 concurrent requests.
      collector: { ringBits: 10, backpressureTimeoutMs: 300 },
      batch: { sendBatchSize: 512, sendBatchMaxSize: 512, timeoutMs: 5 },
    });
    // One sequence over every answer, so "during" is an ordering, not a time measurement.
    let sequence = 0;
    const floodAnswers: { status: number; at: number }[] = [];
    const quietAnswers: { status: number; partial: boolean; at: number }[] = [];
    // An object, not a let: the flood workers read it while the quiet client's loop sets it.
    const quiet = { done: false };
    let floodSent = 0;
    const floodAgent = new Agent({ keepAlive: true, maxSockets: FLOOD_CONNECTIONS });
    const quietAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (agent: Agent, body: Buffer, headers: Record<string, string>) =>
      request(receiver.url)
        .post('/v1/traces')
        .agent(agent)
        .timeout(30_000)
        .set('Content-Type', 'application/x-protobuf')
        .set(headers)
        .send(body)
        .buffer(true)
        .parse(rawBody)
        .ok(() => true);

    try {
      // The flood: one tenant, so its 24 connections share one ring (see client-producers.ts).
      const floodBody = Buffer.from(encodeTraceRequest(makeSpans('flood', FLOOD_SPANS)));
      const floodWorker = async (): Promise<void> => {
        while (!quiet.done && floodSent < MAX_FLOOD_REQUESTS) {
          floodSent++;
          const res = await send(floodAgent, floodBody, { 'X-Scope-OrgID': 'noisy' });
          floodAnswers.push({ status: res.status, at: ++sequence });
        }
      };
      const flood = Promise.all(Array.from({ length: FLOOD_CONNECTIONS }, floodWorker));

      // Let the flood saturate its ring first: wait (bounded) for its first 429.
      for (let i = 0; i < 2_000 && !floodAnswers.some((a) => a.status === 429); i++) await new Promise((r) => setTimeout(r, 5));
      expect(floodAnswers.some((a) => a.status === 429), 'the flood is pushed back').toBe(true);

      // The quiet client: its own connection, no tenant header → its own ring. 3× its ring in total.
      const quietStart = ++sequence;
      for (let i = 0; i < QUIET_REQUESTS; i++) {
        const body = Buffer.from(encodeTraceRequest(makeSpans(`quiet${i}`, QUIET_SPANS)));
        const res = await send(quietAgent, body, {});
        const partial = res.status === 200 && parseTraceResponse(res.headers['content-type'], res.body as Buffer).partialSuccess !== undefined;
        quietAnswers.push({ status: res.status, partial, at: ++sequence });
      }
      const quietEnd = sequence;
      quiet.done = true;
      await flood;

      // Every quiet request was admitted within the backpressure bound (otherwise it would be a 429).
      expect(quietAnswers.map((a) => a.status)).toEqual(Array(QUIET_REQUESTS).fill(200));
      expect(quietAnswers.filter((a) => a.partial)).toEqual([]);
      // …while the flood kept being pushed back in the same window.
      const floodRefusedDuring = floodAnswers.filter((a) => a.status === 429 && a.at > quietStart && a.at < quietEnd).length;
      expect(floodRefusedDuring).toBeGreaterThan(0);
      expect(floodAnswers.every((a) => a.status === 200 || a.status === 429)).toBe(true);

      const floodAccepted = floodAnswers.filter((a) => a.status === 200).length;
      await receiver.close();
      // Conservation: every quiet span and every acknowledged flood span was exported, nothing else.
      const quietExported = exporter.spans.filter((s) => s.name.startsWith('quiet')).length;
      expect(quietExported).toBe(QUIET_REQUESTS * QUIET_SPANS);
      expect(exporter.spans.length).toBe(QUIET_REQUESTS * QUIET_SPANS + floodAccepted * FLOOD_SPANS);
    } finally {
      quiet.done = true;
      floodAgent.destroy();
      quietAgent.destroy();
      await receiver.close();
    }
  });
});
