import 'reflect-metadata';
import { Agent } from 'node:http';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { decodeRetryInfo, encodeTraceRequest, encodeTraceRequestJson, RETRY_INFO_TYPE_URL } from '#spanring/otlp';
import type { Span } from '#spanring/otlp';
import type { ExporterRegistration, PipelineOptionsInput } from '#spanring/pipeline';
import { MemoryExporter, makeSpans, parseStatus, parseTraceResponse, rawBody, SlowExporter, startReceiverApp } from './http-receiver.support.ts';

const SPANS_PER_REQUEST = 512;

interface Answer {
  readonly index: number;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Request i's encoding: protobuf, JSON, gzip protobuf, gzip JSON in turn. */
function requestBody(index: number, spans: readonly Span[]): { type: string; body: Buffer; gzip: boolean } {
  const json = index % 2 === 1;
  const gzip = index % 4 >= 2;
  const plain = json ? Buffer.from(encodeTraceRequestJson(spans)) : Buffer.from(encodeTraceRequest(spans));
  return { type: json ? 'application/json' : 'application/x-protobuf', body: gzip ? gzipSync(plain) : plain, gzip };
}

/**
 * Sends `total` requests of 512 spans over `connections` keep-alive connections, each
 * connection one request at a time (bounded in count; each request has a time cap).
 */
async function load(url: string, total: number, connections: number, tenantOf: (index: number) => string | undefined): Promise<Answer[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const answers: Answer[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < total; index = next++) {
      const { type, body, gzip } = requestBody(index, makeSpans(`load${index}`, SPANS_PER_REQUEST));
      let test = request(url).post('/v1/traces').agent(agent).timeout(30_000).set('Content-Type', type);
      if (gzip) test = test.set('Content-Encoding', 'gzip');
      const tenant = tenantOf(index);
      if (tenant !== undefined) test = test.set('X-Scope-OrgID', tenant);
      const res = await test
        .serialize((data: unknown) => data as string)
        .send(body)
        .buffer(true)
        .parse(rawBody)
        .ok(() => true);
      answers.push({ index, status: res.status, headers: res.headers as Record<string, string>, body: res.body as Buffer });
    }
  };
  try {
    await Promise.all(Array.from({ length: connections }, worker));
  } finally {
    agent.destroy();
  }
  return answers;
}

/** Checks every answer is a well-formed OTLP/HTTP response; returns the indexes acknowledged. */
function checkAnswers(answers: readonly Answer[], retryAfter: string): { acked: number[]; pushedBack: number } {
  const acked: number[] = [];
  let pushedBack = 0;
  for (const answer of answers) {
    const type = answer.headers['content-type'];
    expect(type).toBe(answer.index % 2 === 1 ? 'application/json' : 'application/x-protobuf');
    if (answer.status === 200) {
      // 512 spans fit in every ring here, so admission is all-or-nothing: no partial success.
      expect(parseTraceResponse(type, answer.body)).toEqual({ partialSuccess: undefined });
      acked.push(answer.index);
      continue;
    }
    expect(answer.status, `request ${answer.index}`).toBe(429);
    expect(answer.headers['retry-after']).toBe(retryAfter);
    const status = parseStatus(type, answer.body);
    expect(status.code).toBe(8);
    expect(status.message).toMatch(/saturated/);
    expect(status.details.map((d) => d.typeUrl)).toEqual([RETRY_INFO_TYPE_URL]);
    expect(decodeRetryInfo(status.details[0]!.value).retryDelay?.seconds).toBe(BigInt(retryAfter));
    pushedBack++;
  }
  return { acked, pushedBack };
}

/** Conservation: the exporter got exactly the acknowledged requests' spans, each once. */
function checkConservation(exported: readonly Span[], acked: readonly number[]): void {
  const perRequest = new Map<string, number>();
  for (const span of exported) {
    const prefix = span.name.slice(0, span.name.indexOf('-'));
    perRequest.set(prefix, (perRequest.get(prefix) ?? 0) + 1);
  }
  const expected = new Map(acked.map((index) => [`load${index}`, SPANS_PER_REQUEST]));
  expect(new Map([...perRequest].toSorted())).toEqual(new Map([...expected].toSorted()));
  expect(new Set(exported.map((s) => s.name)).size).toBe(exported.length);
}

async function run(options: {
  exporter: MemoryExporter;
  registration: ExporterRegistration;
  pipeline: PipelineOptionsInput;
  total: number;
  connections: number;
  tenantOf: (index: number) => string | undefined;
}) {
  const receiver = await startReceiverApp({ exporters: [options.registration], pipeline: options.pipeline, retryAfterSeconds: 4, listen: true, maxRequestBodyBytes: 8 * 1024 * 1024 });
  try {
    const answers = await load(receiver.url, options.total, options.connections, options.tenantOf);
    expect(answers).toHaveLength(options.total);
    const { acked, pushedBack } = checkAnswers(answers, '4');
    const metrics = receiver.service.collector.metrics;
    await receiver.app.close();
    checkConservation(options.exporter.spans, acked);
    // The pipeline's own books agree: accepted = exported, refused = what 429s turned away.
    expect(metrics.accepted).toBe(acked.length * SPANS_PER_REQUEST);
    expect(metrics.refused).toBe(pushedBack * SPANS_PER_REQUEST);
    expect(options.exporter.spans).toHaveLength(metrics.accepted);
    // …and so do the receiver's otelcol_receiver_* counters.
    expect(receiver.stats.snapshot().get('http')).toEqual({ accepted: metrics.accepted, refused: metrics.refused });
    return { acked: acked.length, pushedBack };
  } finally {
    await receiver.app.close();
  }
}

describe('OTLP/HTTP receiver under load (supertest, 512-span requests)', () => {
  it('192 requests over 32 connections, mixed encodings: every one acknowledged and exported once', async () => {
    const exporter = new MemoryExporter();
    const { acked, pushedBack } = await run({
      exporter,
      registration: { exporter },
      pipeline: { batch: { timeoutMs: 5 } },
      total: 192,
      connections: 32,
      tenantOf: () => undefined,
    });
    // A fast backend and 5 s of backpressure wait: nothing needs to be pushed back.
    expect(pushedBack).toBe(0);
    expect(acked).toBe(192);
  });

  it('192 requests from 4 tenants against a slow backend: pushed back with well-formed 429s, conservation holds', async () => {
    const exporter = new SlowExporter(20);
    const { acked, pushedBack } = await run({
      exporter,
      registration: { exporter, settings: { queue: { queueSize: 1, numConsumers: 1 } } },
      // Each tenant's 8 connections share one 1024-span ring (two requests' worth).
      pipeline: {
        collector: { ringBits: 10, backpressureTimeoutMs: 100 },
        batch: { sendBatchSize: 512, sendBatchMaxSize: 512, timeoutMs: 5 },
      },
      total: 192,
      connections: 32,
      tenantOf: (index) => `tenant-${index % 4}`,
    });
    expect(pushedBack).toBeGreaterThan(0);
    expect(acked).toBeGreaterThan(0);
  });
});
