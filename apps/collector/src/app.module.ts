import { Module, type DynamicModule } from '@nestjs/common';
import { CollectorModule } from '#spanring/nest';
import type { DurabilityOptions, DurableStore } from '#spanring/pipeline';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import type { RuntimeConfig } from './config/runtime-config.ts';
import { HealthModule } from './health/health.module.ts';
import { GrpcReceiverModule } from './receiver/grpc/index.ts';
import { HttpReceiverModule } from './receiver/http/index.ts';
import { WorkerReceiversModule } from './receiver/workers/index.ts';
import { TelemetryModule } from './telemetry/telemetry.module.ts';

/**
 * The collector service for one RuntimeConfig: receivers (HTTP in the Nest app itself, gRPC on
 * its own grpc-js server; or both in receiver worker threads when receiverWorkers > 0) →
 * CollectorModule (rings, consumer, batcher, exporters) with self-telemetry and health beside
 * them. Receivers stop before the collector drains.
 */
@Module({})
export class AppModule {
  /** `tuning.workerRingBits`: each receiver worker's ring is 2^bits bytes (default 4 MiB; tests shrink it). */
  /** `durableStore`: the opened log of config.durableQueue (main.ts opens it: that is asynchronous). */
  static forConfig(
    config: RuntimeConfig,
    logger: Logger,
    tuning: { readonly workerRingBits?: number; readonly durableStore?: DurableStore } = {},
  ): DynamicModule {
    const imports: DynamicModule[] = [
      LoggerModule.forRoot({ pinoHttp: { logger, autoLogging: false } }),
      CollectorModule.forRoot({
        exporters: config.exporters.map((spec) => ({ exporter: spec.create(), settings: spec.settings })),
        pipeline: config.pipeline,
        logger,
        shutdownDeadlineMs: config.shutdownTimeoutMs,
        retryAfterSeconds: config.retryAfterSeconds,
        ...durability(config, tuning.durableStore),
      }),
      TelemetryModule.forRoot(config.telemetry),
      HealthModule.forRoot(config.health),
    ];
    const { http, grpc } = config.receivers;
    if (receivesInWorkers(config)) {
      imports.push(WorkerReceiversModule.forRoot({ workers: config.receiverWorkers!, http, grpc, ringBits: tuning.workerRingBits }));
    } else {
      if (http !== undefined) imports.push(HttpReceiverModule.forRoot(http));
      if (grpc !== undefined) imports.push(GrpcReceiverModule.forRoot(grpc));
    }
    return { module: AppModule, imports };
  }
}

function durability(config: RuntimeConfig, store: DurableStore | undefined): { durability?: DurabilityOptions } {
  const queue = config.durableQueue;
  if (queue === undefined) return {};
  if (store === undefined) throw new Error('config.durableQueue is set: open its log (openDurableQueue) and pass it as tuning.durableStore');
  return { durability: { store, exporters: queue.exporters, acknowledgeAfter: queue.acknowledgeAfter } };
}

/** True when the OTLP receivers run in worker threads (WorkerReceivers) instead of the main thread. */
export function receivesInWorkers(config: RuntimeConfig): boolean {
  return (config.receiverWorkers ?? 0) > 0 && (config.receivers.http !== undefined || config.receivers.grpc !== undefined);
}
