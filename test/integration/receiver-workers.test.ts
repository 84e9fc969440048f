// The service with receiver worker threads (spanring.workers): conservation under pushback,
// malformed input, oversize requests split into several ring records, per-worker metrics.
// SDK conformance runs in sdk-*.test.ts, fairness in http-fairness.e2e.test.ts, the SIGTERM
// drain in binary.e2e.test.ts, each parameterised over worker mode.
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { decodeTraceRequest, decodeTraceResponse, encodeTraceRequest, encodeTraceRequestJson, TRACE_EXPORT_PATH, type Span } from '#spanring/otlp';
import type { EncodingSpanExporter } from '#spanring/pipeline';
import { afterEach, describe, expect, it } from 'vitest';
import { makeSpans, MemoryExporter, parseStatus, parseTraceResponse, SlowExporter, until } from '../e2e/http-receiver.support.ts';
import { startWorkerApp, type WorkerApp } from './receiver-workers.support.ts';
import { WORKER_RING_BITS } from '../../apps/collector/src/receiver/workers/index.ts';

let service: WorkerApp | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

interface Answer {
  readonly ok: boolean;
  /** Spans the answer says got in (all on success, minus rejected on partial success). */
  readonly accepted: number;
  readonly code: number | string;
  readonly retryAfter?: string | null;
}

async function postHttp(url: string, spans: readonly Span[], format: 'protobuf' | 'json', tenant?: string): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': format === 'json' ? 'application/json' : 'application/x-protobuf' };
  if (tenant !== undefined) headers['x-scope-orgid'] = tenant;
  const body = format === 'json' ? encodeTraceRequestJson(spans) : Buffer.from(encodeTraceRequest(spans));
  const response = await fetch(`${url}/v1/traces`, { method: 'POST', headers, body });
  const bytes = Buffer.from(await response.arrayBuffer());
  if (response.status !== 200) return { ok: false, accepted: 0, code: response.status, retryAfter: response.headers.get('retry-after') };
  const rejected = Number(parseTraceResponse(response.headers.get('content-type') ?? undefined, bytes).partialSuccess?.rejectedSpans ?? 0n);
  return { ok: true, accepted: spans.length - rejected, code: 200 };
}

function exportGrpc(client: Client, body: Uint8Array, metadata = new Metadata()): Promise<{ error: ServiceError | null; response?: Buffer }> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      TRACE_EXPORT_PATH,
      (value: Buffer) => value,
      (value: Buffer) => value,
      Buffer.from(body),
      metadata,
      { deadline: Date.now() + 30_000 },
      (error, response) => resolve({ error, response }),
    );
  });
}

async function postGrpc(client: Client, spans: readonly Span[]): Promise<Answer> {
  const { error, response } = await exportGrpc(client, encodeTraceRequest(spans));
  if (error !== null) return { ok: false, accepted: 0, code: error.code };
  const rejected = Number(decodeTraceResponse(response!).partialSuccess?.rejectedSpans ?? 0n);
  return { ok: true, accepted: spans.length - rejected, code: 0 };
}

function byName(a: Span, b: Span): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function spanKey(span: Span): string {
  return Buffer.from(span.spanId).toString('hex') + Buffer.from(span.traceId).toString('hex') + span.name;
}

describe('receiver worker threads', () => {
  it('conserves spans under pushback: every acknowledged span is exported exactly once, refusals carry Retry-After, counters are exact', async () => {
    // A backend slower than the clients, small span rings and small worker rings: 429s and UNAVAILABLEs.
    const exporter = new SlowExporter(5);
    service = await startWorkerApp({
      exporter,
      workers: 2,
      workerRingBits: 15,
      pipeline: { collector: { ringBits: 8, backpressureTimeoutMs: 50 }, batch: { sendBatchSize: 200, sendBatchMaxSize: 200, timeoutMs: 5 } },
    });
    const grpcClient = new Client(service.grpcTarget, credentials.createInsecure());
    const acknowledged: Span[] = [];
    const refusals: Answer[] = [];
    let sent = 0;
    let next = 0;
    const REQUESTS = 240;
    const sender = async (lane: number): Promise<void> => {
      while (next < REQUESTS) {
        const request = next++;
        const spans = makeSpans(`r${request}`, 60);
        sent += spans.length;
        const answer =
          lane % 3 === 0
            ? await postGrpc(grpcClient, spans)
            : await postHttp(service!.httpUrl, spans, lane % 3 === 1 ? 'protobuf' : 'json', lane % 2 === 0 ? `tenant-${lane}` : undefined);
        if (answer.ok) acknowledged.push(...spans.slice(0, answer.accepted));
        else refusals.push(answer);
      }
    };
    try {
      await Promise.all(Array.from({ length: 18 }, (_, lane) => sender(lane)));
    } finally {
      grpcClient.close();
    }
    expect(refusals.length, 'the pipeline pushed back').toBeGreaterThan(0);
    for (const refusal of refusals) {
      expect([429, status.UNAVAILABLE]).toContain(refusal.code);
      if (refusal.code === 429) expect(refusal.retryAfter).toBe('2');
    }
    // Counted by the workers before they answered: exact now, before the drain.
    const counts = [...service.stats.snapshot().values()];
    expect(counts.reduce((sum, c) => sum + c.accepted, 0)).toBe(acknowledged.length);
    expect(counts.reduce((sum, c) => sum + c.refused, 0)).toBe(sent - acknowledged.length);

    await service.close();
    const exported = exporter.spans.map(spanKey);
    expect(new Set(exported).size, 'no span exported twice').toBe(exported.length);
    expect(exported.toSorted()).toEqual(acknowledged.map(spanKey).toSorted());
    expect(service.receivers.lostSpans).toBe(0);
  });

  it('answers malformed requests 400 / INVALID_ARGUMENT and keeps every worker serving', async () => {
    const exporter = new MemoryExporter();
    service = await startWorkerApp({ exporter, workers: 2, pipeline: { batch: { timeoutMs: 5 } } });
    const grpcClient = new Client(service.grpcTarget, credentials.createInsecure());
    try {
      // Many connections, so both workers (the kernel spreads connections) see bad input.
      for (let i = 0; i < 12; i++) {
        const garbage = await fetch(`${service.httpUrl}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf', connection: 'close' },
          body: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]),
        });
        expect(garbage.status).toBe(400);
        const statusBody = parseStatus('application/x-protobuf', Buffer.from(await garbage.arrayBuffer()));
        expect(statusBody.code).toBe(3);
        const badJson = await fetch(`${service.httpUrl}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', connection: 'close' },
          body: '{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
        });
        expect(badJson.status).toBe(400);
        const { error } = await exportGrpc(grpcClient, Uint8Array.from([0x0a, 0x05, 0x12]));
        expect(error?.code).toBe(status.INVALID_ARGUMENT);
      }
      const notFound = await fetch(`${service.httpUrl}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(notFound.status).toBe(404);
      const wrongMethod = await fetch(`${service.httpUrl}/v1/traces`);
      expect(wrongMethod.status).toBe(405);
      expect(wrongMethod.headers.get('allow')).toBe('POST');
      // Every worker is still there and serving.
      expect((await fetch(service.healthUrl)).status).toBe(200);
      for (let i = 0; i < 12; i++) {
        const answer = await fetch(`${service.httpUrl}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf', connection: 'close' },
          body: Buffer.from(encodeTraceRequest(makeSpans(`ok${i}`, 3))),
        });
        expect(answer.status).toBe(200);
        expect((await postGrpc(grpcClient, makeSpans(`grpc-ok${i}`, 2))).ok).toBe(true);
      }
    } finally {
      grpcClient.close();
    }
    await service.close();
    expect(exporter.spans).toHaveLength(12 * 5);
  });

  it('splits a request larger than a ring record into several records at span boundaries, losing nothing', async () => {
    const exporter = new MemoryExporter();
    // 64 KiB worker rings: a 2,000-span request (~200 KB) cannot be one record.
    service = await startWorkerApp({ exporter, workers: 2, workerRingBits: 16, pipeline: { batch: { timeoutMs: 5 } } });
    const grpcClient = new Client(service.grpcTarget, credentials.createInsecure());
    const sent: Span[] = [];
    try {
      for (const [index, transport] of (['protobuf', 'json', 'grpc'] as const).entries()) {
        const spans = makeSpans(`big${index}`, 2_000);
        expect(encodeTraceRequest(spans).byteLength).toBeGreaterThan(2 ** 16);
        const answer = transport === 'grpc' ? await postGrpc(grpcClient, spans) : await postHttp(service.httpUrl, spans, transport);
        expect(answer).toMatchObject({ ok: true, accepted: spans.length });
        sent.push(...spans);
      }
    } finally {
      grpcClient.close();
    }
    await service.close();
    expect(service.receivers.recordsTaken).toBeGreaterThan(3 * 3);
    expect(exporter.spans.map(spanKey).toSorted()).toEqual(sent.map(spanKey).toSorted());
    // The spans themselves survive the re-encoding unchanged.
    expect(exporter.spans.find((span) => span.name === 'big1-1234')).toEqual(makeSpans('big1', 1, 1234)[0]);
  });

  it('exposes each worker\'s ring occupancy and the workers\' span counts on /metrics', async () => {
    service = await startWorkerApp({ exporter: new MemoryExporter(), workers: 2 });
    expect((await postHttp(service.httpUrl, makeSpans('m', 7), 'protobuf')).ok).toBe(true);
    const text = await (await fetch(service.metricsUrl)).text();
    for (const worker of [0, 1]) {
      expect(text).toMatch(new RegExp(`^spanring_worker_ring_bytes\\{worker="${worker}"\\} \\d+$`, 'm'));
      expect(text).toContain(`spanring_worker_ring_capacity_bytes{worker="${worker}"} ${2 ** WORKER_RING_BITS}`);
    }
    expect(text).toContain('otelcol_receiver_accepted_spans_total{receiver="otlp",transport="http"} 7');
  });

  it('runs with workers: "auto" resolved to the machine', async () => {
    const { receiverWorkers } = await import('../../apps/collector/src/config/to-runtime-config.ts');
    const workers = Math.max(1, receiverWorkers('auto'));
    const exporter = new MemoryExporter();
    service = await startWorkerApp({ exporter, workers });
    expect((await postHttp(service.httpUrl, makeSpans('auto', 4), 'json')).ok).toBe(true);
    await service.close();
    expect(exporter.spans).toHaveLength(4);
  });

  it('reuses record copies only after an encoding exporter encoded their spans: every span arrives byte for byte', async () => {
    // Encodes at enqueue like otlp_grpc / otlp_http (isEncodingExporter), so the collector
    // releases spans and the intake reuses record storage (W12). Were storage reused before its
    // spans were encoded, spans would arrive with another record's bytes.
    class EncodingMemoryExporter implements EncodingSpanExporter {
      readonly name = 'encoding-memory';
      readonly spans: Span[] = [];
      encode(spans: readonly Span[]): Uint8Array {
        return encodeTraceRequest(spans);
      }
      async exportEncoded(request: Uint8Array): Promise<void> {
        await new Promise((resolve) => setTimeout(resolve, 1));
        this.spans.push(...decodeTraceRequest(request));
      }
      export(spans: readonly Span[]): Promise<void> {
        return this.exportEncoded(this.encode(spans));
      }
      async shutdown(): Promise<void> {}
    }
    const exporter = new EncodingMemoryExporter();
    // Small batches, one queued at a time and short consumer turns: the consumer often stops
    // half-way through a record, with the rest of its spans still in the rings, while the
    // intake copies further records.
    service = await startWorkerApp({
      exporter,
      workers: 2,
      pipeline: { batch: { sendBatchSize: 64, sendBatchMaxSize: 64, timeoutMs: 5 }, collector: { maxSpansPerTurn: 32 } },
      exporterSettings: { queue: { queueSize: 1, numConsumers: 1 } },
    });
    const sent: Span[] = [];
    const clients = Array.from({ length: 6 }, async (_, client) => {
      for (let request = 0; request < 12; request++) {
        const spans = makeSpans(`reuse${client}`, 300, request * 300);
        expect(await postHttp(service!.httpUrl, spans, 'protobuf')).toMatchObject({ ok: true, accepted: 300 });
        sent.push(...spans);
      }
    });
    await Promise.all(clients);
    await service.close();
    expect(service.receivers.recordCopiesReused).toBeGreaterThan(0);
    expect(exporter.spans.toSorted(byName)).toEqual(decodeTraceRequest(encodeTraceRequest(sent)).toSorted(byName));
  });

  it('a worker dying at runtime turns readiness to failed, tells onFailure, and loses nothing already acknowledged', async () => {
    const exporter = new MemoryExporter();
    service = await startWorkerApp({ exporter, workers: 2, pipeline: { batch: { timeoutMs: 5 } } });
    const failures: string[] = [];
    service.receivers.onFailure((reason) => failures.push(reason));
    const before = makeSpans('before', 200);
    expect(await postHttp(service.httpUrl, before, 'protobuf')).toMatchObject({ ok: true, accepted: 200 });
    expect((await fetch(service.healthUrl)).status).toBe(200);

    // A crash from outside the worker's code (no test hook in the product): end its thread.
    const { pool } = service.receivers as unknown as { pool: { slots: { worker: { terminate(): Promise<number> } }[] } };
    await pool.slots[0]!.worker.terminate();
    await until(() => failures.length > 0, 10_000, 'onFailure');
    expect(failures).toEqual([expect.stringMatching(/^receiver worker 0 died: exited with code 1/)]);
    const health = await fetch(service.healthUrl);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'Server not available', state: 'failed' });

    // What the binary then does (main.ts): drain and exit 1. Nothing acknowledged is lost.
    await service.close();
    expect(exporter.spans.map(spanKey).toSorted()).toEqual(before.map(spanKey).toSorted());
  });

  it('gRPC fairness: a client flooding 32 streams on one connection is pushed back while a quiet client on another gets every span in', async () => {
    // A backend slower than the flood: 256 spans per 20 ms, one batch at a time.
    const exporter = new SlowExporter(20);
    service = await startWorkerApp({
      exporter,
      workers: 1,
      // 64 KiB worker ring: a few flood requests at a time, so the flood waits in the worker's queue.
      workerRingBits: 16,
      exporterSettings: { queue: { queueSize: 1, numConsumers: 1 } },
      pipeline: { collector: { ringBits: 10, backpressureTimeoutMs: 300 }, batch: { sendBatchSize: 256, sendBatchMaxSize: 256, timeoutMs: 5 } },
    });
    // A local subchannel pool each: two connections, so two clients to the worker's round-robin.
    const options = { 'grpc.use_local_subchannel_pool': 1, 'grpc.enable_retries': 0 };
    const flooder = new Client(service.grpcTarget, credentials.createInsecure(), options);
    const quietClient = new Client(service.grpcTarget, credentials.createInsecure(), options);
    const quiet = { done: false };
    const flood = { ok: 0, unavailable: 0, other: [] as (number | string)[] };
    let floodSeq = 0;
    const floodLoop = async (): Promise<void> => {
      for (let i = 0; i < 200 && !quiet.done; i++) {
        const answer = await postGrpc(flooder, makeSpans('flood', 128, floodSeq++ * 128));
        if (answer.ok) flood.ok++;
        else if (answer.code === status.UNAVAILABLE) flood.unavailable++;
        else flood.other.push(answer.code);
      }
    };
    const floodDone = Promise.all(Array.from({ length: 32 }, floodLoop));
    try {
      await until(() => flood.unavailable > 0, 20_000, 'the flood to be pushed back');
      const unavailableBefore = flood.unavailable;
      const quietAnswers: Answer[] = [];
      for (let i = 0; i < 100 && (i < 40 || flood.unavailable === unavailableBefore); i++) {
        quietAnswers.push(await postGrpc(quietClient, makeSpans('quiet', 16, i * 16)));
      }
      quiet.done = true;
      await floodDone;
      // Every quiet request got in while the flood kept being refused around it.
      expect(quietAnswers.filter((answer) => !answer.ok)).toEqual([]);
      expect(flood.unavailable).toBeGreaterThan(unavailableBefore);
      expect(flood.other).toEqual([]);
      await service.close();
      const names = exporter.spans.map((span) => span.name);
      expect(names.filter((name) => name.startsWith('quiet')).toSorted()).toEqual(
        makeSpans('quiet', quietAnswers.length * 16)
          .map((span) => span.name)
          .toSorted(),
      );
      expect(names.filter((name) => name.startsWith('flood'))).toHaveLength(flood.ok * 128);
    } finally {
      quiet.done = true;
      await floodDone;
      flooder.close();
      quietClient.close();
    }
  });
});
