// The collector as a user runs it: the built `spanring` binary as a child process.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { decodeTraceRequestJson, decodeTraceResponse, encodeTraceRequest, encodeTraceRequestJson, type Span } from '#spanring/otlp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSpan } from '../../libs/pipeline/src/test-support.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const MAIN = join(ROOT, 'dist/apps/collector/src/main.js');

interface ReadyLine {
  otlpGrpcPort: number;
  otlpHttpPort: number;
  metricsPort: number;
  healthPort: number;
}

let dir: string;
let child: ChildProcess | undefined;

beforeAll(() => {
  // Build exactly what users run (incremental, so a fresh tree costs one full tsc).
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], {
    cwd: ROOT,
    stdio: 'pipe',
  });
  dir = mkdtempSync(join(tmpdir(), 'spanring-bin-'));
}, 180_000);

afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function startBinary(configPath: string): Promise<{ ready: ReadyLine; exit: Promise<number | null>; output: () => string }> {
  const proc = spawn(process.execPath, [MAIN, '--config', configPath], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  let output = '';
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const ready = new Promise<ReadyLine>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`spanring did not get ready:\n${output}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      for (const line of output.split('\n')) {
        if (!line.includes('"spanring is ready"')) continue;
        clearTimeout(timer);
        resolve(JSON.parse(line) as ReadyLine);
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exit.then((code) => reject(new Error(`spanring exited early with ${code}:\n${output}`)));
  });
  return ready.then((line) => ({ ready: line, exit, output: () => output }));
}

function grpcExport(port: number, body: Uint8Array): Promise<void> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise<void>((resolve, reject) => {
    client.makeUnaryRequest(
      '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      (value: Buffer) => value,
      (value: Buffer) => value,
      Buffer.from(body),
      (error) => {
        client.close();
        if (error) reject(error);
        else resolve();
      },
    );
  });
}

function spanKey(span: Span): string {
  return `${Buffer.from(span.traceId).toString('hex')}/${Buffer.from(span.spanId).toString('hex')}`;
}

async function acceptedSpans(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('otelcol_receiver_accepted_spans_total{'))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/**
 * Sends requests from `lanes` concurrent clients until stopped or refused at the door, and
 * collects every span the service acknowledged (200, minus any partial-success rejections).
 */
function loadUntilStopped(port: number, lanes: number): { stop: () => Promise<Span[]>; answered: () => number } {
  const acknowledged: Span[] = [];
  const state = { stopped: false };
  let answered = 0;
  let sequence = 1_000;
  const lane = async (): Promise<void> => {
    // Bounded: a safety cap whatever happens.
    for (let i = 0; i < 5_000 && !state.stopped; i++) {
      const request = sequence++;
      const spans = Array.from({ length: 20 }, (_, j) => makeSpan(request, j));
      let response: Response;
      try {
        response = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf' },
          body: Buffer.from(encodeTraceRequest(spans)),
        });
      } catch {
        return; // the listener closed: the service is draining
      }
      const body = Buffer.from(await response.arrayBuffer());
      answered++;
      if (response.status !== 200) continue;
      const rejected = Number(decodeTraceResponse(body).partialSuccess?.rejectedSpans ?? 0n);
      acknowledged.push(...spans.slice(0, spans.length - rejected));
    }
  };
  const running = Promise.all(Array.from({ length: lanes }, lane));
  return {
    answered: () => answered,
    stop: async () => {
      state.stopped = true;
      await running;
      return acknowledged;
    },
  };
}

describe('spanring binary', () => {
  it.each([
    { workers: 0, label: 'receiving on the main thread' },
    { workers: 2, label: 'with 2 receiver workers' },
  ])('serves OTLP on free ports, drains on SIGTERM under load with exit 0, and every acknowledged span is in the file ($label)', async ({ workers }) => {
    const outFile = join(dir, `spans-${workers}.jsonl`);
    const configPath = join(dir, `config-${workers}.yaml`);
    writeFileSync(
      configPath,
      [
        'receivers:',
        '  otlp:',
        '    protocols:',
        '      grpc: { endpoint: "127.0.0.1:0" }',
        '      http: { endpoint: "127.0.0.1:0" }',
        'processors:',
        '  batch: { timeout: 60s }', // only the drain on SIGTERM can flush these spans
        'exporters:',
        `  file: { path: ${JSON.stringify(outFile)} }`,
        'extensions:',
        '  health_check: { endpoint: "127.0.0.1:0" }',
        'service:',
        '  extensions: [health_check]',
        '  telemetry:',
        '    metrics:',
        '      readers:',
        '        - pull: { exporter: { prometheus: { host: "127.0.0.1", port: 0 } } }',
        '  pipelines:',
        '    traces: { receivers: [otlp], processors: [batch], exporters: [file] }',
        `spanring: { workers: ${workers} }`,
        '',
      ].join('\n'),
    );
    const { ready, exit, output } = await startBinary(configPath);
    expect((await fetch(`http://127.0.0.1:${ready.healthPort}/`)).status).toBe(200);

    const acknowledged: Span[] = [];
    for (let request = 0; request < 6; request++) {
      const spans = Array.from({ length: 50 }, (_, i) => makeSpan(request, i));
      const viaJson = request % 3 === 0;
      if (request % 3 === 2) {
        await grpcExport(ready.otlpGrpcPort, encodeTraceRequest(spans));
      } else {
        const response = await fetch(`http://127.0.0.1:${ready.otlpHttpPort}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': viaJson ? 'application/json' : 'application/x-protobuf' },
          body: viaJson ? encodeTraceRequestJson(spans) : Buffer.from(encodeTraceRequest(spans)),
        });
        expect(response.status).toBe(200);
      }
      acknowledged.push(...spans);
    }

    const deadline = Date.now() + 30_000;
    let accepted = 0;
    while (accepted < acknowledged.length && Date.now() < deadline) {
      accepted = await acceptedSpans(ready.metricsPort);
      if (accepted < acknowledged.length) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(accepted).toBe(acknowledged.length);

    // SIGTERM while clients keep sending: what is acknowledged until the door closes is kept.
    const load = loadUntilStopped(ready.otlpHttpPort, 8);
    for (let i = 0; i < 2_000 && load.answered() < 20; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    child!.kill('SIGTERM');
    expect(await exit).toBe(0);
    child = undefined;
    acknowledged.push(...(await load.stop()));

    const written = readFileSync(outFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .flatMap((line) => decodeTraceRequestJson(line));
    const writtenKeys = new Set(written.map(spanKey));
    const missing = acknowledged.filter((span) => !writtenKeys.has(spanKey(span)));
    expect(missing.length, output()).toBe(0);
    expect(written.length).toBe(acknowledged.length);
    expect(output()).toContain('"msg":"stopped"');
  }, 120_000);

  it('validate lists every problem and exits 1; --print-config prints the effective config and exits 0', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'receivers:\n  jaeger: {}\nprocessors:\n  batch: { timeout: 5x }\n');
    let failure: { status: number; stderr: Buffer } | undefined;
    try {
      execFileSync(process.execPath, [MAIN, 'validate', '--config', bad], { stdio: 'pipe' });
    } catch (error) {
      failure = error as { status: number; stderr: Buffer };
    }
    expect(failure?.status).toBe(1);
    const problems = failure!.stderr.toString();
    expect(problems).toContain('receivers.jaeger');
    expect(problems).toContain('processors.batch.timeout');
    const printed = execFileSync(process.execPath, [MAIN, '--print-config', '--set', 'exporters.debug.verbosity=detailed']).toString();
    expect(printed).toContain('verbosity: detailed');
    expect(printed).toContain('0.0.0.0:4317');
  });
});
