import 'reflect-metadata';
import { Test, type TestingModule } from '@nestjs/testing';
import { CollectorModule, SpanCollectorService } from '#spanring/nest';
import type { Span } from '#spanring/otlp';
import { SILENT_LOGGER, type SpanExporter } from '#spanring/pipeline';
import { afterEach, describe, expect, it } from 'vitest';
import { HealthModule, HealthServer, ServiceStatus } from '../../apps/collector/src/health/health.module.ts';
import { ReceiverStats } from '../../apps/collector/src/telemetry/receiver-stats.ts';
import { TelemetryModule, TelemetryServer } from '../../apps/collector/src/telemetry/telemetry.module.ts';
import { makeSpan } from '../../libs/pipeline/src/test-support.ts';

class GatedExporter implements SpanExporter {
  readonly name = 'otlp_grpc/backend';
  exported = 0;
  private open!: () => void;
  readonly gate = new Promise<void>((resolve) => (this.open = resolve));
  release(): void {
    this.open();
  }
  async export(spans: readonly Span[]): Promise<void> {
    await this.gate;
    this.exported += spans.length;
  }
  async shutdown(): Promise<void> {}
}

let moduleRef: TestingModule | undefined;
afterEach(async () => {
  await moduleRef?.close();
  moduleRef = undefined;
});

async function start(exporter: GatedExporter) {
  moduleRef = await Test.createTestingModule({
    imports: [
      CollectorModule.forRoot({ exporters: [{ exporter }], logger: SILENT_LOGGER, pipeline: { batch: { timeoutMs: 1 } } }),
      TelemetryModule.forRoot({ prometheus: { host: '127.0.0.1', port: 0 }, logLevel: 'info' }),
      HealthModule.forRoot({ host: '127.0.0.1', port: 0, path: '/' }),
    ],
  }).compile();
  await moduleRef.init();
  return {
    metricsUrl: `http://127.0.0.1:${moduleRef.get(TelemetryServer).port}/metrics`,
    healthUrl: `http://127.0.0.1:${moduleRef.get(HealthServer).port}`,
  };
}

function sample(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe('self-telemetry', () => {
  it('exposes the Collector metric names (with _total) and Spanring\'s own on /metrics', async () => {
    const exporter = new GatedExporter();
    exporter.release();
    const { metricsUrl } = await start(exporter);
    const service = moduleRef!.get(SpanCollectorService);
    moduleRef!.get(ReceiverStats).record('http', 40, 2);
    await service.submit(Array.from({ length: 40 }, (_, i) => makeSpan(0, i)));
    await service.collector.flush();
    const response = await fetch(metricsUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await response.text();
    expect(sample(text, 'otelcol_receiver_accepted_spans_total{receiver="otlp",transport="http"}')).toBe(40);
    expect(sample(text, 'otelcol_receiver_refused_spans_total{receiver="otlp",transport="http"}')).toBe(2);
    expect(sample(text, 'otelcol_exporter_sent_spans_total{exporter="otlp_grpc/backend"}')).toBe(40);
    expect(sample(text, 'otelcol_exporter_send_failed_spans_total{exporter="otlp_grpc/backend"}')).toBe(0);
    expect(sample(text, 'otelcol_exporter_queue_capacity{exporter="otlp_grpc/backend"}')).toBe(1000);
    expect(sample(text, 'otelcol_exporter_queue_size{exporter="otlp_grpc/backend"}')).toBe(0);
    expect(sample(text, 'spanring_batch_size_spans_count')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'spanring_batch_size_spans_bucket{le="+Inf"}')).toBe(sample(text, 'spanring_batch_size_spans_count'));
    expect(sample(text, 'spanring_export_latency_seconds_count{exporter="otlp_grpc/backend"}')).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^spanring_ring_spans\{producer="\d+"\} 0$/m);
    expect(text).toMatch(/^# TYPE otelcol_exporter_sent_spans_total counter$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect((await fetch(metricsUrl.replace('/metrics', '/nope'))).status).toBe(404);
  });

  it('gives every app its own registry: two apps in one process do not collide', async () => {
    const first = new GatedExporter();
    first.release();
    await start(first);
    const other = await Test.createTestingModule({
      imports: [
        CollectorModule.forRoot({ exporters: [{ exporter: new GatedExporter() }], logger: SILENT_LOGGER }),
        TelemetryModule.forRoot({ prometheus: { host: '127.0.0.1', port: 0 }, logLevel: 'info' }),
      ],
    }).compile();
    await other.init();
    expect(other.get(TelemetryServer).registry).not.toBe(moduleRef!.get(TelemetryServer).registry);
    await other.close();
  });
});

describe('health_check', () => {
  it('is 503 while starting, 200 when ready, 503 while draining; /livez is 200 throughout', async () => {
    const exporter = new GatedExporter();
    const { healthUrl } = await start(exporter);
    const starting = await fetch(`${healthUrl}/`);
    expect(starting.status).toBe(503);
    expect(await starting.json()).toMatchObject({ status: 'Server not available', state: 'starting' });

    moduleRef!.get(ServiceStatus).markReady();
    const ready = await fetch(`${healthUrl}/`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'Server available', state: 'ready' });

    // A span stuck behind the gated exporter keeps the drain going while we look.
    await moduleRef!.get(SpanCollectorService).submit([makeSpan(0, 0)]);
    const draining = moduleRef!.get(SpanCollectorService).shutdown();
    const during = await fetch(`${healthUrl}/`);
    expect(during.status).toBe(503);
    expect(await during.json()).toMatchObject({ state: 'draining' });
    expect((await fetch(`${healthUrl}/livez`)).status).toBe(200);
    exporter.release();
    expect((await draining).delivered).toBe(true);
    expect((await fetch(`${healthUrl}/elsewhere`)).status).toBe(404);
  });
});

describe('OTLP metrics push', () => {
  it('pushes the self-metrics periodically to an OTLP/HTTP metrics endpoint, and once more on shutdown', async () => {
    const { createServer } = await import('node:http');
    const requests: { path: string; type: string; body: Buffer }[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        requests.push({ path: req.url ?? '', type: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const exporter = new GatedExporter();
    exporter.release();
    moduleRef = await Test.createTestingModule({
      imports: [
        CollectorModule.forRoot({ exporters: [{ exporter }], logger: SILENT_LOGGER }),
        TelemetryModule.forRoot({
          logLevel: 'info',
          otlpPush: { endpoint: `http://127.0.0.1:${port}/v1/metrics`, protocol: 'http/protobuf', intervalMs: 100 },
        }),
      ],
    }).compile();
    await moduleRef.init();
    await moduleRef.get(SpanCollectorService).submit([makeSpan(0, 0)]);
    const deadline = Date.now() + 10_000;
    while (requests.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const beforeClose = requests.length;
    await moduleRef.close();
    moduleRef = undefined;
    server.close();
    expect(beforeClose).toBeGreaterThanOrEqual(2);
    expect(requests.length).toBeGreaterThan(beforeClose);
    expect(requests[0]!.path).toBe('/v1/metrics');
    expect(requests[0]!.type).toBe('application/x-protobuf');
    const last = requests.at(-1)!.body;
    for (const name of ['otelcol_exporter_sent_spans', 'otelcol_exporter_queue_capacity', 'spanring_backpressure_waits']) {
      expect(last.includes(name)).toBe(true);
    }
  });
});
