import { Module, type DynamicModule } from '@nestjs/common';
import { CollectorModule } from '#spanring/nest';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import type { RuntimeConfig } from './config/runtime-config.ts';
import { HealthModule } from './health/health.module.ts';
import { GrpcReceiverModule } from './receiver/grpc/index.ts';
import { HttpReceiverModule } from './receiver/http/index.ts';
import { TelemetryModule } from './telemetry/telemetry.module.ts';

/**
 * The collector service for one RuntimeConfig: receivers (HTTP in the Nest app itself, gRPC on
 * its own grpc-js server) → CollectorModule (rings, consumer, batcher, exporters) with
 * self-telemetry and health beside them. Receivers stop before the collector drains.
 */
@Module({})
export class AppModule {
  static forConfig(config: RuntimeConfig, logger: Logger): DynamicModule {
    const imports: DynamicModule[] = [
      LoggerModule.forRoot({ pinoHttp: { logger, autoLogging: false } }),
      CollectorModule.forRoot({
        exporters: config.exporters.map((spec) => ({ exporter: spec.create(), settings: spec.settings })),
        pipeline: config.pipeline,
        logger,
        shutdownDeadlineMs: config.shutdownTimeoutMs,
        retryAfterSeconds: config.retryAfterSeconds,
      }),
      TelemetryModule.forRoot(config.telemetry),
      HealthModule.forRoot(config.health),
    ];
    if (config.receivers.http !== undefined) imports.push(HttpReceiverModule.forRoot(config.receivers.http));
    if (config.receivers.grpc !== undefined) imports.push(GrpcReceiverModule.forRoot(config.receivers.grpc));
    return { module: AppModule, imports };
  }
}
