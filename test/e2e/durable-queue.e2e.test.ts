// The persistent sending queue as a user runs it: the built binary with file_storage, a real
// OTLP/gRPC backend the test switches between refusing and accepting, kill -9 and restarts
// (specs/durable-queue.md D1, D2, D10–D12).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { decodeTraceRequest, encodeTraceRequest, TRACE_SERVICE_DEFINITION, type Span } from '#spanring/otlp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeSpan } from '../../libs/pipeline/src/test-support.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const MAIN = join(ROOT, 'dist/apps/collector/src/main.js');

let dir: string;
const children = new Set<ChildProcess>();

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'pipe' });
  dir = mkdtempSync(join(tmpdir(), 'spanring-durable-'));
}, 180_000);

afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A backend that refuses (UNAVAILABLE) or accepts, recording span ids it accepted. */
class Backend {
  readonly received = new Map<string, number>();
  accepting = false;
  private server: grpc.Server | undefined;
  port = 0;

  async start(): Promise<void> {
    const server = new grpc.Server();
    server.addService(TRACE_SERVICE_DEFINITION as unknown as grpc.ServiceDefinition, {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        if (!this.accepting) {
          callback({ code: grpc.status.UNAVAILABLE, details: 'backend down (test)' });
          return;
        }
        for (const span of decodeTraceRequest(call.request)) {
          const key = spanKey(span);
          this.received.set(key, (this.received.get(key) ?? 0) + 1);
        }
        callback(null, Buffer.alloc(0));
      },
    });
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
    );
    this.server = server;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server === undefined ? resolve() : this.server.tryShutdown(() => resolve())));
  }
}

function spanKey(span: Span): string {
  return Buffer.from(span.spanId).toString('hex') + Buffer.from(span.traceId).toString('hex');
}

function writeConfig(name: string, backendPort: number, storage: string): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    `receivers:
  otlp: { protocols: { http: { endpoint: "127.0.0.1:0" } } }
processors:
  batch: { timeout: 20ms }
exporters:
  otlp_grpc:
    endpoint: "127.0.0.1:${backendPort}"
    tls: { insecure: true }
    retry_on_failure: { initial_interval: 50ms, max_interval: 100ms, max_elapsed_time: 0 }
    sending_queue: { storage: file_storage }
extensions:
  ${storage}
service:
  extensions: [file_storage]
  telemetry: { metrics: { readers: [{ pull: { exporter: { prometheus: { host: 127.0.0.1, port: 0 } } } }] } }
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [otlp_grpc] }
spanring: { shutdown_timeout: 2s }
`,
  );
  return path;
}

interface Running {
  readonly httpPort: number;
  readonly metricsPort: number;
  readonly exit: Promise<number | null>;
  readonly output: () => string;
  readonly child: ChildProcess;
}

function start(configPath: string): Promise<Running> {
  const child = spawn(process.execPath, [MAIN, '--config', configPath], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise<Running>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`spanring did not get ready:\n${output}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const line = output.split('\n').find((candidate) => candidate.includes('"spanring is ready"'));
      if (line === undefined) return;
      clearTimeout(timer);
      const ready = JSON.parse(line) as { otlpHttpPort: number; metricsPort: number };
      resolve({ httpPort: ready.otlpHttpPort, metricsPort: ready.metricsPort, exit, output: () => output, child });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`spanring exited early with ${code}:\n${output}`));
    });
  });
}

/** Sends `requests` requests of 20 spans; returns the spans of those answered 200, and the statuses. */
async function send(port: number, first: number, requests: number): Promise<{ acknowledged: Span[]; statuses: number[] }> {
  const acknowledged: Span[] = [];
  const statuses: number[] = [];
  for (let r = first; r < first + requests; r++) {
    const spans = Array.from({ length: 20 }, (_, i) => makeSpan(r, i));
    const response = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: Buffer.from(encodeTraceRequest(spans)),
    });
    await response.arrayBuffer();
    statuses.push(response.status);
    if (response.status === 200) acknowledged.push(...spans);
  }
  return { acknowledged, statuses };
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `) || candidate.startsWith(`${name}{`));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting until ${what}`);
}

describe('persistent sending queue (file_storage)', () => {
  it('delivers what it acknowledged before a kill -9, once the backend is back (D1, D2, D11)', async () => {
    const backend = new Backend();
    await backend.start();
    const queueDir = join(dir, 'queue-kill');
    mkdirSync(queueDir);
    const config = writeConfig('kill', backend.port, `file_storage: { directory: ${JSON.stringify(queueDir)}, fsync: true }`);
    const first = await start(config);
    const { acknowledged, statuses } = await send(first.httpPort, 1, 30);
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(backend.received.size).toBe(0); // the backend refused everything so far
    first.child.kill('SIGKILL');
    await first.exit;

    backend.accepting = true;
    const second = await start(config);
    await until(() => acknowledged.every((span) => backend.received.has(spanKey(span))), 'every acknowledged span reached the backend');
    expect(await metric(second.metricsPort, 'spanring_queue_replayed_spans_total')).toBe(acknowledged.length);
    expect(await metric(second.metricsPort, 'spanring_queue_corrupt_records_total')).toBe(0);
    // Once sent, the log moves past them: a third start replays nothing.
    second.child.kill('SIGTERM');
    expect(await second.exit).toBe(0);
    const third = await start(config);
    expect(await metric(third.metricsPort, 'spanring_queue_replayed_spans_total')).toBe(0);
    await backend.stop();
  });

  it('recovers around a corrupt segment, counting what it skipped, and serves (D10)', async () => {
    const backend = new Backend();
    await backend.start();
    const queueDir = join(dir, 'queue-corrupt');
    mkdirSync(queueDir);
    const config = writeConfig('corrupt', backend.port, `file_storage: { directory: ${JSON.stringify(queueDir)}, fsync: true }`);
    const first = await start(config);
    const { acknowledged } = await send(first.httpPort, 100, 10);
    first.child.kill('SIGKILL');
    await first.exit;
    // Flip bytes in the middle of the largest file the log wrote.
    const files = readdirSync(queueDir).map((name) => join(queueDir, name));
    const largest = files.toSorted((a, b) => statSync(b).size - statSync(a).size)[0]!;
    const fd = openSync(largest, 'r+');
    writeSync(fd, Buffer.alloc(64, 0xee), 0, 64, Math.floor(statSync(largest).size / 2));
    closeSync(fd);

    backend.accepting = true;
    const second = await start(config);
    await until(async () => (await metric(second.metricsPort, 'spanring_queue_replayed_spans_total')) > 0, 'the rest was replayed');
    expect(await metric(second.metricsPort, 'spanring_queue_corrupt_records_total')).toBeGreaterThan(0);
    const replayed = await metric(second.metricsPort, 'spanring_queue_replayed_spans_total');
    expect(replayed).toBeLessThan(acknowledged.length);
    await until(() => backend.received.size >= replayed, 'the replayed spans reached the backend');
    // It still serves: new requests are acknowledged and delivered.
    const fresh = await send(second.httpPort, 500, 2);
    await until(() => fresh.acknowledged.every((span) => backend.received.has(spanKey(span))), 'new spans reached the backend');
    await backend.stop();
  });

  it('answers 429 once the queue holds its size cap, and never drops (D12)', async () => {
    const backend = new Backend();
    await backend.start();
    const queueDir = join(dir, 'queue-full');
    mkdirSync(queueDir);
    const config = writeConfig('full', backend.port, `file_storage: { directory: ${JSON.stringify(queueDir)}, max_size_mib: 1 }`);
    const running = await start(config);
    // ~1.5 KB per request: 1 MiB is reached well within 2,000 requests.
    let refused = 0;
    for (let batch = 0; batch < 40 && refused === 0; batch++) {
      const { statuses } = await send(running.httpPort, 1_000 + batch * 50, 50);
      refused = statuses.filter((status) => status === 429).length;
    }
    expect(refused).toBeGreaterThan(0);
    expect(await metric(running.metricsPort, 'spanring_queue_full_refused_spans_total')).toBeGreaterThan(0);
    await backend.stop();
  });

  it('refuses to start on a directory it cannot use, naming the key (D10)', async () => {
    const backend = new Backend();
    await backend.start();
    const missing = writeConfig('missing', backend.port, `file_storage: { directory: ${JSON.stringify(join(dir, 'does-not-exist'))} }`);
    const child = spawn(process.execPath, [MAIN, '--config', missing], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(/extensions\.file_storage\.directory: .*does-not-exist/);

    const file = join(dir, 'not-a-directory');
    writeFileSync(file, 'x');
    const notDirectory = writeConfig('not-a-directory', backend.port, `file_storage: { directory: ${JSON.stringify(file)} }`);
    const validate = spawn(process.execPath, [MAIN, 'validate', '--config', notDirectory], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    validate.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    validate.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    expect(await new Promise<number | null>((resolve) => validate.once('exit', resolve))).toBe(1);
    expect(text).toMatch(/extensions\.file_storage\.directory: .*not-a-directory" is not a directory/);
    await backend.stop();
  });
});
