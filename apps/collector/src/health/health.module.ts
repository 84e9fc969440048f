import { Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { SpanCollectorService } from '#spanring/nest';
import type { HealthSettings } from '../config/runtime-config.ts';
import { EndpointServer } from '../telemetry/endpoint-server.ts';

export const HEALTH_SETTINGS = Symbol('spanring.HealthSettings');

export type ServiceState = 'starting' | 'ready' | 'draining' | 'failed';

/** Readiness as the process sees it: main marks it ready once every listener is up. */
@Injectable()
export class ServiceStatus {
  private current: ServiceState = 'starting';
  readonly startedAt = new Date();

  get state(): ServiceState {
    return this.current;
  }

  markReady(): void {
    if (this.current === 'starting') this.current = 'ready';
  }

  markDraining(): void {
    if (this.current !== 'failed') this.current = 'draining';
  }

  /** A part of the service broke (e.g. a receiver worker died): not ready, for good. */
  markFailed(): void {
    this.current = 'failed';
  }
}

/**
 * The health_check extension: GET <path> answers 200 with a small JSON status when ready and
 * 503 while starting or draining (readiness); GET /livez answers 200 while the process runs
 * (liveness). Both keep answering during a drain.
 */
@Injectable()
export class HealthServer implements OnModuleInit, OnApplicationShutdown {
  private readonly server: EndpointServer | undefined;

  constructor(
    @Inject(HEALTH_SETTINGS) settings: HealthSettings | undefined,
    @Inject(ServiceStatus) status: ServiceStatus,
    @Inject(SpanCollectorService) service: SpanCollectorService,
  ) {
    this.server =
      settings === undefined
        ? undefined
        : new EndpointServer(settings, (req, res) => {
            const path = (req.url ?? '/').split('?')[0];
            const uptimeSeconds = (Date.now() - status.startedAt.getTime()) / 1000;
            if (path === '/livez') {
              res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'alive', uptimeSeconds }));
              return;
            }
            if (path !== settings.path) {
              res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: health is at ${settings.path}\n`);
              return;
            }
            const ready = status.state === 'ready' && service.accepting;
            const state = service.accepting ? status.state : 'draining';
            res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(
              JSON.stringify({
                status: ready ? 'Server available' : 'Server not available',
                state,
                upSince: status.startedAt.toISOString(),
                uptimeSeconds,
              }),
            );
          });
  }

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

@Module({})
export class HealthModule {
  static forRoot(settings: HealthSettings | undefined): DynamicModule {
    return {
      module: HealthModule,
      global: true,
      providers: [{ provide: HEALTH_SETTINGS, useValue: settings }, ServiceStatus, HealthServer],
      exports: [ServiceStatus, HealthServer],
    };
  }
}
