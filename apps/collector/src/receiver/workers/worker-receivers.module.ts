/**
 * Receiving in worker threads (spanring.workers > 0), as a Nest module used by AppModule
 * instead of HttpReceiverModule and GrpcReceiverModule. WorkerReceivers starts the pool in
 * onModuleInit (after the global CollectorModule, Telemetry and Health are up) and drains it
 * in beforeApplicationShutdown, which Nest runs before the global CollectorModule's: workers
 * stop, the intake moves every record they accepted into the collector, and only then does
 * the collector drain (specs/receiver-workers.md W4).
 */
import {
  Inject,
  Injectable,
  Logger,
  Module,
  Optional,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnModuleInit,
} from '@nestjs/common';
import { SpanCollectorService, type ProducerLease } from '#spanring/nest';
import type { GrpcReceiverSettings, HttpReceiverSettings } from '../../config/runtime-config.ts';
import { ServiceStatus } from '../../health/health.module.ts';
import { ReceiverStats } from '../../telemetry/receiver-stats.ts';
import { ReceiverPool } from './receiver-pool.ts';
import { RecordArena } from './record-arena.ts';
import { WorkerIntake } from './worker-intake.ts';

export interface WorkerReceiverSettings {
  readonly workers: number;
  readonly http: HttpReceiverSettings | undefined;
  readonly grpc: GrpcReceiverSettings | undefined;
  /** In-flight requests get this long to finish when draining; default 10 s. */
  readonly shutdownGraceMs?: number;
  /** Each worker's ring is 2^ringBits bytes; default WORKER_RING_BITS (4 MiB). */
  readonly ringBits?: number;
}

export const WORKER_RECEIVER_SETTINGS = Symbol('spanring.WorkerReceiverSettings');

const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

@Injectable()
export class WorkerReceivers implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('ReceiverWorkers');
  private readonly settings: WorkerReceiverSettings;
  private readonly service: SpanCollectorService;
  private readonly stats: ReceiverStats | undefined;
  private readonly status: ServiceStatus | undefined;
  private pool: ReceiverPool | undefined;
  private intake: WorkerIntake | undefined;
  private arena: RecordArena | undefined;
  private intakeDone: Promise<void> | undefined;
  private leases: ProducerLease[] = [];
  private stopped: Promise<void> | undefined;
  private failureListeners: ((reason: string) => void)[] = [];

  constructor(
    @Inject(WORKER_RECEIVER_SETTINGS) settings: WorkerReceiverSettings,
    @Inject(SpanCollectorService) service: SpanCollectorService,
    // Provided by the global TelemetryModule and HealthModule; the receivers work without them.
    @Optional() @Inject(ReceiverStats) stats?: ReceiverStats,
    @Optional() @Inject(ServiceStatus) status?: ServiceStatus,
  ) {
    this.settings = settings;
    this.service = service;
    this.stats = stats;
    this.status = status;
  }

  /** The OTLP/HTTP port every worker listens on (the real one when configured with 0). */
  get httpPort(): number | undefined {
    return this.pool?.httpPort;
  }

  get grpcPort(): number | undefined {
    return this.pool?.grpcPort;
  }

  /** Spans the collector refused after a worker had acknowledged them (0 unless misordered shutdown). */
  get lostSpans(): number {
    return this.intake?.lostSpans ?? 0;
  }

  /** Records the intake took from the workers' rings (diagnostics, tests). */
  get recordsTaken(): number {
    return this.intake?.records ?? 0;
  }

  /**
   * Record copies made into storage an earlier record had used (W12): 0 when the collector
   * does not release spans (an exporter keeps them until it exports) and every copy is fresh.
   */
  get recordCopiesReused(): number {
    return this.arena?.reusedCopies ?? 0;
  }

  /** Called once if a worker dies unexpectedly; the service should drain and exit non-zero. */
  onFailure(listener: (reason: string) => void): void {
    this.failureListeners.push(listener);
  }

  async onModuleInit(): Promise<void> {
    const { workers, http, grpc } = this.settings;
    const pool = new ReceiverPool({
      workers,
      http,
      grpc,
      backpressureTimeoutMs: this.service.collector.options.collector.backpressureTimeoutMs,
      retryAfterSeconds: this.service.retryAfterSeconds,
      shutdownGraceMs: this.settings.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS,
      ringBits: this.settings.ringBits,
      log: (level, message) => this.log(level, message),
      onWorkerDied: (index, reason) => this.workerDied(index, reason),
    });
    this.pool = pool;
    this.stats?.addSource(() => pool.counts());
    this.stats?.setWorkerRings(() => pool.occupancy());
    // One producer (span ring) per worker ring, held until the intake finished.
    this.leases = Array.from({ length: workers }, (_, index) => this.service.acquire(`receiver-worker:${index}`));
    const collector = this.service.collector;
    const arena = collector.releasesSpans ? new RecordArena() : undefined;
    if (arena !== undefined) collector.onSpansReleased(arena.release);
    this.arena = arena;
    this.intake = new WorkerIntake({
      arena,
      channel: pool.channel,
      producers: this.leases.map((lease) => lease.producer),
      workersDone: () => pool.allWorkersDone(),
      logError: (message) => this.logger.error(message),
    });
    this.intakeDone = this.intake.run().catch((error: unknown) => {
      this.logger.error(`the receiver workers' intake failed: ${error instanceof Error ? error.stack : String(error)}`);
      this.fail('the intake from the receiver workers failed');
    });
    try {
      await pool.start();
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.logger.log(
      `${workers} receiver worker(s) listening` +
        (http === undefined ? '' : `, OTLP/HTTP on ${http.host}:${pool.httpPort}`) +
        (grpc === undefined ? '' : `, OTLP/gRPC on ${grpc.host}:${pool.grpcPort}`),
    );
  }

  /**
   * Stops receiving and moves everything the workers accepted into the collector (idempotent).
   * Runs before the collector drains: call it first when shutting down by hand.
   */
  stop(): Promise<void> {
    this.stopped ??= this.drain();
    return this.stopped;
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.stop();
  }

  private async drain(): Promise<void> {
    this.status?.markDraining();
    await this.pool?.drain();
    // Every worker exited: the intake ends once their rings are empty.
    await this.intakeDone;
    for (const lease of this.leases) lease.release();
    this.leases = [];
  }

  private workerDied(index: number, reason: string): void {
    this.logger.error(`receiver worker ${index} died unexpectedly: ${reason}`);
    this.fail(`receiver worker ${index} died: ${reason}`);
  }

  private fail(reason: string): void {
    this.status?.markFailed();
    for (const listener of this.failureListeners.splice(0)) listener(reason);
  }

  private log(level: 'error' | 'warn' | 'info', message: string): void {
    if (level === 'error') this.logger.error(message);
    else if (level === 'warn') this.logger.warn(message);
    else this.logger.log(message);
  }
}

@Module({})
export class WorkerReceiversModule {
  static forRoot(settings: WorkerReceiverSettings): DynamicModule {
    return {
      module: WorkerReceiversModule,
      providers: [{ provide: WORKER_RECEIVER_SETTINGS, useValue: settings }, WorkerReceivers],
      exports: [WorkerReceivers],
    };
  }
}
