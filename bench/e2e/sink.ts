/**
 * The in-bench OTLP/gRPC backend (sink-server.ts says what it serves and how it counts),
 * run in a worker thread of the bench process.
 *
 * Why a thread of its own: the load generator times every request on this thread's event loop,
 * and the sink's work per export (grpc-js reassembling a ~3.5 MB message from its frames, the
 * count, the garbage) ran on that same loop and showed up in the measured latencies: at half of
 * saturation this process spent ~15% of its time in GC. In its own thread the sink still
 * shares the machine's cores and this process's CPU figure, but no longer stalls the clock.
 */
import { Worker } from 'node:worker_threads';
import { SINK_COUNTER, SINK_COUNTER_WORDS, type SinkMessage, type SinkThreadData } from './sink-protocol.ts';

export class GrpcSink {
  readonly port: number;
  /** Counting mismatches or undecodable messages: the bench fails when any is present. */
  readonly problems: string[];
  private readonly worker: Worker;
  private readonly counters: BigInt64Array;
  private readonly closed: Promise<void>;

  private constructor(worker: Worker, port: number, counters: BigInt64Array, problems: string[], closed: Promise<void>) {
    this.worker = worker;
    this.port = port;
    this.counters = counters;
    this.problems = problems;
    this.closed = closed;
  }

  /** Spans received so far (every call is answered with success). */
  get spans(): number {
    return Number(Atomics.load(this.counters, SINK_COUNTER.spans));
  }

  get requests(): number {
    return Number(Atomics.load(this.counters, SINK_COUNTER.requests));
  }

  get bytes(): number {
    return Number(Atomics.load(this.counters, SINK_COUNTER.bytes));
  }

  static async start(): Promise<GrpcSink> {
    const fromSource = import.meta.url.endsWith('.ts');
    const shared = new SharedArrayBuffer(SINK_COUNTER_WORDS * BigInt64Array.BYTES_PER_ELEMENT);
    const data: SinkThreadData = { counters: shared };
    const worker = new Worker(new URL(fromSource ? './sink-server.ts' : './sink-server.js', import.meta.url), {
      workerData: data,
      execArgv: fromSource ? ['--conditions=spanring-source', '--disable-warning=ExperimentalWarning'] : [],
    });
    const problems: string[] = [];
    let listening!: (port: number) => void;
    const bound = new Promise<number>((resolve) => (listening = resolve));
    const closed = new Promise<void>((resolve) => {
      worker.on('message', (message: SinkMessage) => {
        if (message.type === 'listening') listening(message.port);
        else if (message.type === 'problem') problems.push(message.text);
        else resolve();
      });
      // A failed sink thread is a problem the bench fails on, like a miscount.
      worker.on('error', (error) => {
        problems.push(`sink thread failed: ${error.message}`);
        resolve();
      });
      worker.on('exit', () => resolve());
    });
    // A sink that fails to start rejects here instead of leaving start() waiting.
    const exitedEarly = closed.then(() => Promise.reject(new Error(`the sink thread ended before listening: ${problems.join('; ') || 'no reason given'}`)));
    const port = await Promise.race([bound, exitedEarly]);
    exitedEarly.catch(() => {});
    return new GrpcSink(worker, port, new BigInt64Array(shared), problems, closed);
  }

  /** Stops the server (in-flight calls get 2 s) and the thread; problems are complete after. */
  async close(): Promise<void> {
    this.worker.postMessage('close');
    await this.closed;
    await this.worker.terminate();
  }
}
