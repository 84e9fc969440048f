import { Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { SpanCollectorService } from '#spanring/nest';
import type { Registry } from 'prom-client';
import type { TelemetrySettings } from '../config/runtime-config.ts';
import { createCollectorRegistry } from './collector-metrics.ts';
import { EndpointServer } from './endpoint-server.ts';
import { OTLP_PUSH_SETTINGS, OtlpMetricsPush } from './otlp-metrics-push.ts';
import { ReceiverStats } from './receiver-stats.ts';

export const TELEMETRY_SETTINGS = Symbol('spanring.TelemetrySettings');

/** Serves /metrics (Prometheus text) on the telemetry endpoint until the app has shut down. */
@Injectable()
export class TelemetryServer implements OnModuleInit, OnApplicationShutdown {
  readonly registry: Registry;
  private readonly server: EndpointServer | undefined;

  constructor(
    @Inject(TELEMETRY_SETTINGS) settings: TelemetrySettings,
    @Inject(SpanCollectorService) service: SpanCollectorService,
    @Inject(ReceiverStats) receivers: ReceiverStats,
  ) {
    this.registry = createCollectorRegistry(service, receivers);
    const endpoint = settings.prometheus;
    this.server =
      endpoint === undefined
        ? undefined
        : new EndpointServer(endpoint, async (req, res) => {
            if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
              res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
              return;
            }
            const text = await this.registry.metrics();
            res.writeHead(200, { 'content-type': this.registry.contentType }).end(text);
          });
  }

  /** The bound metrics port, or undefined when Prometheus is off. */
  get port(): number | undefined {
    return this.server?.port;
  }

  async onModuleInit(): Promise<void> {
    await this.server?.listen();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server?.close();
  }
}

/**
 * Self-telemetry: receiver counters, the Prometheus endpoint and the optional OTLP push
 * (global: receivers record into it).
 */
@Module({})
export class TelemetryModule {
  static forRoot(settings: TelemetrySettings): DynamicModule {
    return {
      module: TelemetryModule,
      global: true,
      providers: [
        { provide: TELEMETRY_SETTINGS, useValue: settings },
        { provide: OTLP_PUSH_SETTINGS, useValue: settings.otlpPush },
        ReceiverStats,
        TelemetryServer,
        OtlpMetricsPush,
      ],
      exports: [ReceiverStats, TelemetryServer],
    };
  }
}
