/**
 * A receiver worker thread (spanring.workers > 0): serves OTLP/HTTP and OTLP/gRPC on the
 * shared ports (SO_REUSEPORT) with the same handlers as the main thread, and writes every
 * accepted request into its own SharedRing for the main thread's intake
 * (specs/receiver-workers.md). Erasable TypeScript with no Nest import: under Vitest it runs
 * from source through Node's type stripping.
 *
 * Lifecycle: started with ReceiverWorkerData; posts `listening` with its bound ports (or
 * `startup-failed`); on `drain` it stops accepting, lets in-flight requests finish (503 /
 * UNAVAILABLE for new ones), publishes, closes its ring producer and exits.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { Server as GrpcServer, ServerCredentials } from '@grpc/grpc-js';
import { TRACE_SERVICE_DEFINITION } from '#spanring/otlp';
import { SharedRingProducer } from '#spanring/ringmpsc';
import { createTraceExportHandler, describeError } from '../grpc/otlp-grpc-handler.ts';
import { handleOtlpHttpRequest, OTLP_TRACES_PATH, sendOtlpNotFound } from '../http/otlp-http-handler.ts';
import type { ReceiverLogger } from '../span-sink.ts';
import { FairRingWriter } from './fair-ring-writer.ts';
import type { MainMessage, ReceiverWorkerData, WorkerMessage } from './protocol.ts';
import { RingSink } from './ring-sink.ts';
import { YoungGarbageNudge } from './young-garbage-nudge.ts';

const port = parentPort;
if (port === null) throw new Error('receiver-worker.ts runs only as a worker thread (see receiver-pool.ts)');
const data = workerData as ReceiverWorkerData;

function post(message: WorkerMessage): void {
  port!.postMessage(message);
}

const logger: ReceiverLogger = {
  error: (message) => post({ type: 'log', level: 'error', message }),
  warn: (message) => post({ type: 'log', level: 'warn', message }),
};

// Invariant W2: this thread is the ring's only producer.
const producer = new SharedRingProducer(data.ring);
// Invariant W13: past 2 rings' worth of waiting bytes only clients with nothing waiting may wait; past 4, none.
const ringBytes = producer.maxRecordBytes;
const writer = new FairRingWriter(producer, data.backpressureTimeoutMs, { clientBytes: 2 * ringBytes, totalBytes: 4 * ringBytes });
const sink = new RingSink(writer, data.counters, producer.maxRecordBytes, data.retryAfterSeconds);

const nudge = new YoungGarbageNudge();

/** Requests being handled now (HTTP), so a drain can wait for them. */
const httpRequests = { inFlight: 0 };

function startHttp(settings: NonNullable<ReceiverWorkerData['http']>): Promise<HttpServer> {
  const options = { maxRequestBodyBytes: settings.maxRequestBodyBytes, sink, logger };
  const server = createHttpServer((req, res) => {
    if ((req.url ?? '/').split('?')[0] !== OTLP_TRACES_PATH) return sendOtlpNotFound(req, res);
    httpRequests.inFlight++;
    nudge.received(Number(req.headers['content-length'] ?? 0) || 0);
    void handleOtlpHttpRequest(req, res, options).finally(() => httpRequests.inFlight--);
  });
  return listen(server, settings.host, settings.port);
}

interface GrpcReceiver {
  readonly server: GrpcServer;
  readonly listener: NetServer;
}

/**
 * grpc-js cannot share a port (no SO_REUSEPORT), so a net.Server with reusePort accepts the
 * connections and hands them to grpc-js through a connection injector.
 */
async function startGrpc(settings: NonNullable<ReceiverWorkerData['grpc']>): Promise<GrpcReceiver> {
  const server = new GrpcServer({ 'grpc.max_receive_message_length': settings.maxRecvMsgSizeBytes });
  server.addService(TRACE_SERVICE_DEFINITION, { Export: createTraceExportHandler({ sink, logger }) });
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const listener = createNetServer((socket) => injector.injectConnection(socket));
  return { server, listener: await listen(listener, settings.host, settings.port) };
}

function listen<T extends NetServer>(server: T, host: string, portNumber: number): Promise<T> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: portNumber, host, reusePort: true }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function boundPort(server: NetServer | undefined): number | undefined {
  return server === undefined ? undefined : (server.address() as AddressInfo).port;
}

async function start(): Promise<{ http: HttpServer | undefined; grpc: GrpcReceiver | undefined }> {
  const http = data.http === undefined ? undefined : await startHttp(data.http);
  const grpc = data.grpc === undefined ? undefined : await startGrpc(data.grpc);
  post({ type: 'listening', httpPort: boundPort(http), grpcPort: boundPort(grpc?.listener) });
  return { http, grpc };
}

async function drain(http: HttpServer | undefined, grpc: GrpcReceiver | undefined): Promise<void> {
  sink.startDraining();
  await Promise.all([closeHttp(http), closeGrpc(grpc)]);
  // Requests still waiting for ring space end by their deadline at the latest.
  await writer.whenIdle();
  // Invariant W4: everything written is published before the producer's closed flag is set.
  producer.close();
}

async function closeHttp(server: HttpServer | undefined): Promise<void> {
  if (server === undefined) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // Keep-alive connections that finish a request become idle; close them as they do.
  const deadline = performance.now() + data.shutdownGraceMs;
  while (httpRequests.inFlight > 0 && performance.now() < deadline) await sleep(10);
  server.closeAllConnections();
  await closed;
}

async function closeGrpc(grpc: GrpcReceiver | undefined): Promise<void> {
  if (grpc === undefined) return;
  const listenerClosed = new Promise<void>((resolve) => grpc.listener.close(() => resolve()));
  let timer: NodeJS.Timeout | undefined;
  const graceful = new Promise<'drained'>((resolve) => grpc.server.tryShutdown(() => resolve('drained')));
  const bound = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), data.shutdownGraceMs);
  });
  const outcome = await Promise.race([graceful, bound]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    logger.warn(`receiver worker ${data.index}: in-flight OTLP/gRPC calls did not finish within ${data.shutdownGraceMs} ms; cancelling them`);
    grpc.server.forceShutdown();
  }
  await listenerClosed;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

try {
  const { http, grpc } = await start();
  port.on('message', (message: MainMessage) => {
    if (message.type !== 'drain') return;
    drain(http, grpc).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(`receiver worker ${data.index}: drain failed: ${describeError(error)}`);
        producer.close();
        process.exit(1);
      },
    );
  });
} catch (error) {
  post({ type: 'startup-failed', message: describeError(error) });
  producer.close();
  process.exit(1);
}
