// The collector service (AppModule) with receiver worker threads, for the worker-mode tests.
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SpanCollectorService } from '#spanring/nest';
import type { ExporterSettingsInput, PipelineOptionsInput, SpanExporter } from '#spanring/pipeline';
import { pino } from 'pino';
import { AppModule } from '../../apps/collector/src/app.module.ts';
import type { RuntimeConfig } from '../../apps/collector/src/config/runtime-config.ts';
import { HealthServer, ServiceStatus } from '../../apps/collector/src/health/health.module.ts';
import { HTTP_RECEIVER_APP_OPTIONS } from '../../apps/collector/src/receiver/index.ts';
import { WorkerReceivers } from '../../apps/collector/src/receiver/workers/index.ts';
import { ReceiverStats } from '../../apps/collector/src/telemetry/receiver-stats.ts';
import { TelemetryServer } from '../../apps/collector/src/telemetry/telemetry.module.ts';

export interface WorkerAppOptions {
  readonly exporter: SpanExporter;
  readonly workers?: number;
  readonly pipeline?: PipelineOptionsInput;
  readonly maxRequestBodyBytes?: number;
  readonly retryAfterSeconds?: number;
  readonly exporterSettings?: ExporterSettingsInput;
  /** Each worker's ring is 2^bits bytes (default 16 MiB). */
  readonly workerRingBits?: number;
}

export interface WorkerApp {
  readonly app: INestApplication;
  readonly service: SpanCollectorService;
  readonly stats: ReceiverStats;
  readonly receivers: WorkerReceivers;
  /** http://127.0.0.1:port of the workers' OTLP/HTTP receiver. */
  readonly httpUrl: string;
  /** 127.0.0.1:port of the workers' OTLP/gRPC receiver. */
  readonly grpcTarget: string;
  readonly metricsUrl: string;
  readonly healthUrl: string;
  /** Drains as the binary does on SIGTERM (workers, then the collector) and closes the app. */
  close(): Promise<void>;
}

/** AppModule.forConfig with `workers` receiver threads (default 2), everything on 127.0.0.1:0. */
export async function startWorkerApp(options: WorkerAppOptions): Promise<WorkerApp> {
  const config: RuntimeConfig = {
    receivers: {
      http: { host: '127.0.0.1', port: 0, maxRequestBodyBytes: options.maxRequestBodyBytes ?? 64 * 1024 * 1024 },
      grpc: { host: '127.0.0.1', port: 0, maxRecvMsgSizeBytes: 64 * 1024 * 1024 },
    },
    pipeline: options.pipeline ?? {},
    exporters: [{ id: options.exporter.name, create: () => options.exporter, settings: options.exporterSettings ?? {} }],
    telemetry: { prometheus: { host: '127.0.0.1', port: 0 }, logLevel: 'error' },
    health: { host: '127.0.0.1', port: 0, path: '/' },
    shutdownTimeoutMs: 30_000,
    retryAfterSeconds: options.retryAfterSeconds ?? 2,
    receiverWorkers: options.workers ?? 2,
  };
  const app = await NestFactory.create(AppModule.forConfig(config, pino({ level: 'silent' }), { workerRingBits: options.workerRingBits }), { ...HTTP_RECEIVER_APP_OPTIONS, logger: false });
  await app.init();
  app.get(ServiceStatus).markReady();
  const receivers = app.get(WorkerReceivers);
  let closed: Promise<void> | undefined;
  return {
    app,
    service: app.get(SpanCollectorService),
    stats: app.get(ReceiverStats),
    receivers,
    httpUrl: `http://127.0.0.1:${receivers.httpPort}`,
    grpcTarget: `127.0.0.1:${receivers.grpcPort}`,
    metricsUrl: `http://127.0.0.1:${app.get(TelemetryServer).port}/metrics`,
    healthUrl: `http://127.0.0.1:${app.get(HealthServer).port}/`,
    close: () =>
      (closed ??= (async () => {
        await receivers.stop();
        await app.get(SpanCollectorService).shutdown();
        await app.close();
      })()),
  };
}
