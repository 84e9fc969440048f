/**
 * The main thread's side of the receiver workers: creates one SharedRing per worker (in one
 * SharedChannel), starts the workers on shared ports, reads their counters, and drains them.
 * Spans are taken out of the rings by WorkerIntake; this class only runs the threads.
 */
import { Worker } from 'node:worker_threads';
import { SharedChannel } from '#spanring/ringmpsc';
import type { GrpcReceiverSettings, HttpReceiverSettings } from '../../config/runtime-config.ts';
import type { TransportCounts } from '../../telemetry/receiver-stats.ts';
import { COUNTER_INDEX, createCounters, type MainMessage, type ReceiverSettings, type ReceiverWorkerData, type WorkerMessage } from './protocol.ts';

/**
 * Each worker's ring: 2^22 bytes = 4 MiB of shared memory per worker. It holds about sixteen
 * typical requests (a 512-span request is ~250 KiB) so workers keep receiving while the main
 * thread is busy, and a protobuf request up to 4 MiB is one record; larger ones are split.
 * (16 MiB rings measured no faster and cost ~15 MB more resident memory per worker.)
 */
export const WORKER_RING_BITS = 22;

/**
 * A worker's young generation, smaller than the main thread's (COLLECTOR_NODE_FLAGS): a
 * worker's objects die within a request, so a large young generation only holds garbage.
 * 8 MB against 24 MB, 1 worker, saturation then 2× overload (two pairs of throwaway runs):
 * ~15–20% more spans per CPU-s and ~25 MB less peak RSS.
 */
const WORKER_YOUNG_GENERATION_MB = 8;

/**
 * Under Vitest the worker runs from its TypeScript source through Node's type stripping, with
 * the condition that resolves #spanring/* to sources; from dist/ it runs the built .js.
 */
function workerScript(): { url: URL; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  return {
    url: new URL(fromSource ? './receiver-worker.ts' : './receiver-worker.js', import.meta.url),
    execArgv: fromSource ? ['--conditions=spanring-source', '--disable-warning=ExperimentalWarning'] : [],
  };
}

/** The settings with the port worker 1 actually bound (configured port 0 → the real one). */
function onBoundPort<T extends HttpReceiverSettings | GrpcReceiverSettings>(settings: T | undefined, bound: number | undefined): T | undefined {
  return settings === undefined ? undefined : { ...settings, port: bound ?? settings.port };
}

export interface ReceiverPoolOptions extends ReceiverSettings {
  readonly workers: number;
  readonly ringBits?: number;
  readonly log: (level: 'error' | 'warn' | 'info', message: string) => void;
  /** A worker exited without being asked to (a crash): the service must not pretend to be healthy. */
  readonly onWorkerDied: (index: number, reason: string) => void;
}

/** A worker failed to start (e.g. the port is taken); startup fails with this. */
export class ReceiverWorkerStartError extends Error {
  constructor(index: number, reason: string) {
    super(`receiver worker ${index} failed to start: ${reason}`);
    this.name = 'ReceiverWorkerStartError';
  }
}

interface WorkerSlot {
  readonly index: number;
  readonly worker: Worker;
  readonly counters: BigInt64Array;
  readonly exited: Promise<number>;
  hasExited: boolean;
}

export class ReceiverPool {
  readonly channel: SharedChannel;
  private readonly options: ReceiverPoolOptions;
  private readonly slots: WorkerSlot[] = [];
  private draining = false;
  /** Set once start() settled: before that, workers may still join. */
  private startSettled = false;
  private ports: { http: number | undefined; grpc: number | undefined } = { http: undefined, grpc: undefined };

  constructor(options: ReceiverPoolOptions) {
    if (!Number.isSafeInteger(options.workers) || options.workers < 1) {
      throw new Error(`ReceiverPool needs at least one worker, got ${options.workers}`);
    }
    this.options = options;
    this.channel = new SharedChannel({ ringBits: options.ringBits ?? WORKER_RING_BITS, maxProducers: options.workers, maxConsumePerRing: 1 });
  }

  get httpPort(): number | undefined {
    return this.ports.http;
  }

  get grpcPort(): number | undefined {
    return this.ports.grpc;
  }

  get size(): number {
    return this.slots.length;
  }

  /**
   * Starts every worker and resolves once all listen. Worker 1 starts first: with port 0 its
   * bound ports are the ones the others share.
   */
  async start(): Promise<void> {
    try {
      await this.startAll();
    } finally {
      this.startSettled = true;
    }
  }

  private async startAll(): Promise<void> {
    const { http, grpc } = this.options;
    this.ports = await this.startWorker(0, http, grpc);
    const rest = [];
    for (let index = 1; index < this.options.workers; index++) {
      rest.push(this.startWorker(index, onBoundPort(http, this.ports.http), onBoundPort(grpc, this.ports.grpc)));
    }
    // allSettled: a failed worker must not leave its siblings' startup unobserved.
    const outcomes = await Promise.allSettled(rest);
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /** Spans accepted/refused by all workers, per transport (exact for every answered request). */
  counts(): Map<string, TransportCounts> {
    const totals = new Map<string, TransportCounts>();
    for (const [transport, index] of Object.entries(COUNTER_INDEX)) {
      let accepted = 0;
      let refused = 0;
      for (const slot of this.slots) {
        accepted += Number(Atomics.load(slot.counters, index.accepted));
        refused += Number(Atomics.load(slot.counters, index.refused));
      }
      if (accepted > 0 || refused > 0) totals.set(transport, { accepted, refused });
    }
    return totals;
  }

  /** Published, unconsumed bytes in each worker's ring, and the ring size. */
  occupancy(): { worker: number; usedBytes: number; capacityBytes: number }[] {
    const capacityBytes = 2 ** (this.options.ringBits ?? WORKER_RING_BITS);
    return this.channel.occupancy().map((usedBytes, worker) => ({ worker, usedBytes, capacityBytes }));
  }

  /**
   * Every worker is gone: it closed its ring producer, or exited. Read before checking the
   * rings for data (ring-buffer S6: the closed flag is set after the last publish).
   */
  allWorkersDone(): boolean {
    if (!this.startSettled) return false;
    return this.slots.every((slot, index) => slot.hasExited || this.channel.isProducerClosed(index));
  }

  /**
   * Asks every worker to drain (stop accepting, finish in-flight requests, publish, exit) and
   * resolves once all exited; a worker still running after the grace period (plus its longest
   * backpressure wait) is terminated.
   */
  async drain(): Promise<void> {
    this.draining = true;
    const drainMessage: MainMessage = { type: 'drain' };
    for (const slot of this.slots) if (!slot.hasExited) slot.worker.postMessage(drainMessage);
    const limitMs = this.options.shutdownGraceMs + this.options.backpressureTimeoutMs + 5_000;
    await Promise.all(this.slots.map((slot) => this.exitWithin(slot, limitMs)));
  }

  private async exitWithin(slot: WorkerSlot, limitMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), limitMs)));
    const outcome = await Promise.race([slot.exited, late]);
    clearTimeout(timer);
    if (outcome !== 'late') return;
    this.options.log('error', `receiver worker ${slot.index} did not exit within ${limitMs} ms of the drain; terminating it`);
    await slot.worker.terminate();
  }

  private startWorker(
    index: number,
    http: HttpReceiverSettings | undefined,
    grpc: GrpcReceiverSettings | undefined,
  ): Promise<{ http: number | undefined; grpc: number | undefined }> {
    const counters = createCounters();
    const workerData: ReceiverWorkerData = {
      index,
      ring: this.channel.register(),
      counters,
      http,
      grpc,
      backpressureTimeoutMs: this.options.backpressureTimeoutMs,
      retryAfterSeconds: this.options.retryAfterSeconds,
      shutdownGraceMs: this.options.shutdownGraceMs,
    };
    const script = workerScript();
    const worker = new Worker(script.url, {
      workerData,
      execArgv: script.execArgv,
      name: `spanring-receiver-${index}`,
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    let lastError: string | undefined;
    const slot: WorkerSlot = {
      index,
      worker,
      counters: new BigInt64Array(counters),
      hasExited: false,
      exited: new Promise<number>((resolve) => worker.once('exit', resolve)),
    };
    this.slots.push(slot);
    return new Promise((resolve, reject) => {
      let listening = false;
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'listening') {
          listening = true;
          resolve({ http: message.httpPort, grpc: message.grpcPort });
        } else if (message.type === 'startup-failed') {
          lastError = message.message;
        } else {
          this.options.log(message.level, message.message);
        }
      });
      worker.on('error', (error) => {
        lastError = error.stack ?? error.message;
      });
      void slot.exited.then((code) => {
        slot.hasExited = true;
        if (!listening) {
          reject(new ReceiverWorkerStartError(index, lastError ?? `exited with code ${code} before listening`));
          return;
        }
        if (!this.draining || code !== 0) {
          this.options.onWorkerDied(index, lastError ?? `exited with code ${code}`);
        }
      });
    });
  }
}
