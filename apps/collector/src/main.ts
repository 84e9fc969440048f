#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=2097152 MALLOC_TRIM_THRESHOLD_=33554432 node --max-semi-space-size=8 --expose-gc
// The `spanring` command: parses the CLI, then runs the collector until SIGTERM/SIGINT.
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SpanCollectorService } from '#spanring/nest';
import { Logger as NestPinoLogger } from 'nestjs-pino';
import { pino, type Logger } from 'pino';
import { AppModule, receivesInWorkers } from './app.module.ts';
import { EXIT_INVALID_CONFIG, parseCli } from './cli/cli.ts';
import { ConfigError } from './config/config-error.ts';
import { openDurableQueue } from './storage/durable-queue.ts';
import type { DurableLog } from '#spanring/storage';
import type { RuntimeConfig } from './config/runtime-config.ts';
import { HealthServer, ServiceStatus } from './health/health.module.ts';
import { HTTP_RECEIVER_APP_OPTIONS, OtlpGrpcReceiver } from './receiver/index.ts';
import { WorkerReceivers } from './receiver/workers/index.ts';
import { TelemetryServer } from './telemetry/telemetry.module.ts';

/** The version from the package.json above this file (source or dist/, either works). */
function packageVersion(): string {
  let dir = new URL('.', import.meta.url);
  for (let depth = 0; depth < 8; depth++) {
    try {
      const manifest = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'spanring') return manifest.version ?? '0.0.0';
    } catch {
      // not here: keep walking up
    }
    dir = new URL('..', dir);
  }
  return '0.0.0';
}

async function run(config: RuntimeConfig): Promise<number> {
  const logger = pino({ name: 'spanring', level: config.telemetry.logLevel });
  const durableStore = await openDurableStore(config, logger);
  if (durableStore === 'invalid') return EXIT_INVALID_CONFIG;
  const app = await NestFactory.create(AppModule.forConfig(config, logger, { durableStore }), { ...HTTP_RECEIVER_APP_OPTIONS, bufferLogs: true });
  app.useLogger(app.get(NestPinoLogger));
  // Invariant D11: what the queue held at the last stop enters the pipeline before any receiver opens.
  if (durableStore !== undefined) {
    const replayed = await app.get(SpanCollectorService).collector.replayDurable();
    logger.info(replayed, 'persistent sending queue replayed into the pipeline');
  }
  const http = config.receivers.http;
  // In worker mode the workers serve OTLP/HTTP; the Nest app serves nothing itself.
  if (http !== undefined && !receivesInWorkers(config)) await app.listen(http.port, http.host);
  else await app.init();
  app.get(ServiceStatus).markReady();
  logger.info(listeningOn(app, config), 'spanring is ready');
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (reason: NodeJS.Signals | 'receiver-failure', exitCode: number): void => {
      if (stopping) return;
      stopping = true;
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      void drainAndExit(app, config, logger, reason).then(() => resolve(exitCode));
    };
    const onSignal = (signal: NodeJS.Signals): void => stop(signal, 0);
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // A receiver worker died: readiness is already false; drain what was accepted, exit 1.
    if (receivesInWorkers(config)) app.get(WorkerReceivers).onFailure(() => stop('receiver-failure', 1));
  });
}

/** The persistent queue's log, opened; 'invalid' after printing why its directory cannot be used. */
async function openDurableStore(config: RuntimeConfig, logger: Logger): Promise<DurableLog | undefined | 'invalid'> {
  const queue = config.durableQueue;
  if (queue === undefined) return undefined;
  if (queue.requestedWorkers > 0) {
    logger.info(
      { requestedWorkers: queue.requestedWorkers },
      'receiving on the main thread: a persistent sending queue acknowledges each request after writing it, which the main thread does',
    );
  }
  try {
    return await openDurableQueue(queue, logger);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`spanring: ${error.message}\n`);
    return 'invalid';
  }
}

function listeningOn(app: INestApplication, config: RuntimeConfig): object {
  const workers = receivesInWorkers(config) ? app.get(WorkerReceivers) : undefined;
  const grpc = config.receivers.grpc === undefined ? undefined : (workers?.grpcPort ?? app.get(OtlpGrpcReceiver).port);
  const http =
    config.receivers.http === undefined ? undefined : (workers?.httpPort ?? (app.getHttpServer().address() as { port: number }).port);
  return {
    otlpGrpcPort: grpc,
    otlpHttpPort: http,
    metricsPort: app.get(TelemetryServer).port,
    healthPort: app.get(HealthServer).port,
    exporters: config.exporters.map((e) => e.id),
    receiverWorkers: workers === undefined ? 0 : (config.receiverWorkers ?? 0),
  };
}

/** Readiness goes false, receivers stop, the pipeline drains within shutdown_timeout. */
async function drainAndExit(app: INestApplication, config: RuntimeConfig, logger: Logger, reason: NodeJS.Signals | 'receiver-failure'): Promise<void> {
  logger.info({ reason }, 'shutting down: receivers stop, the pipeline drains');
  app.get(ServiceStatus).markDraining();
  // Worker mode: the workers stop and everything they acknowledged enters the collector before
  // it starts refusing (specs/receiver-workers.md W4). Main-thread receivers need no such step:
  // what they acknowledged is in the collector's rings already, so the collector may begin
  // draining (and answer new requests 503) while close() stops them.
  if (receivesInWorkers(config)) await app.get(WorkerReceivers).stop();
  // The collector logs its drain report itself; close() runs the receivers' and its shutdown hooks.
  const drained = app.get(SpanCollectorService).shutdown();
  await app.close();
  const report = await drained;
  logger.info({ delivered: report.delivered }, 'stopped');
}

async function main(): Promise<number> {
  const command = parseCli(process.argv.slice(2), process.env, packageVersion());
  switch (command.kind) {
    case 'help':
    case 'version':
    case 'print-config':
      process.stdout.write(command.text.endsWith('\n') ? command.text : `${command.text}\n`);
      return 0;
    case 'validate':
      (command.ok ? process.stdout : process.stderr).write(command.text.endsWith('\n') ? command.text : `${command.text}\n`);
      return command.ok ? 0 : 1;
    case 'error':
      process.stderr.write(command.text.endsWith('\n') ? command.text : `${command.text}\n`);
      return command.exitCode;
    case 'run':
      return run(command.config);
  }
}

// A bad request must never take the process down; anything that slips through is logged loudly.
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`spanring: unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}\n`);
});

process.exitCode = await main();
// Everything was closed; if a stray handle still holds the event loop, do not hang a deploy.
setTimeout(() => process.exit(), 2_000).unref();
