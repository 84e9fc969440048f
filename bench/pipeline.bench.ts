/**
 * Pipeline benchmark (`npm run bench:pipeline [-- --quick] [-- --json] [-- --reps N]`).
 *
 * All on the main thread (one core):
 * - Spanring: FEEDERS async producers (collector.registerAsync()) each `await submit(request)`
 *   of one 512-span request, then yield to the event loop (setImmediate) as a server does
 *   between requests → rings → consumer task → trace batcher → sending queue → a no-op
 *   exporter, or the file exporter (OTLP JSON lines). Timed from the first submit until
 *   `await collector.shutdown()` resolved, i.e. every span was exported. Every run checks
 *   exported == submitted (Spanring drops must be 0).
 * - Baseline: the OpenTelemetry JS SDK's BatchSpanProcessor (@opentelemetry/sdk-trace, its
 *   defaults) with a no-op exporter, fed the same number of pre-built ReadableSpan-shaped
 *   spans by the same feeders: `bsp.onEnd(span)` for each span of a 512-span request, then the
 *   same yield. Timed from the first onEnd until `await bsp.shutdown()` (its final flush)
 *   resolved; dropped = fed − exported. An info variant whose exporter completes on the next
 *   event-loop turn (like real I/O) shows how its bounded queue drops under load.
 * - Codec: protobuf and JSON decode/encode of the realistic 512-span request.
 *
 * Spans are built once (bench/fixtures/realistic-spans.ts), encoded, and decoded up front:
 * VARIANTS requests that differ only in their trace/span ids, cycled, so the batcher sees
 * distinct traces in every flush window. The same Span objects are submitted again on every
 * cycle (the pipeline never mutates spans). An info case cycles through more requests than the
 * CPU caches hold, which shows how much of the per-span cost is memory latency.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Attributes, HrTime, Link, SpanContext, SpanKind as OtelSpanKind, SpanStatusCode } from '@opentelemetry/api';
import { resourceFromAttributes, type Resource as OtelResource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter as OtelSpanExporter, type TimedEvent } from '@opentelemetry/sdk-trace';
import type { ExportResult } from '@opentelemetry/core';
import {
  decodeTraceRequest,
  scanTraceRequest,
  decodeTraceRequestJson,
  encodeTraceRequest,
  encodeTraceRequestJson,
  type AnyValue,
  type KeyValue,
  type Span,
} from '#spanring/otlp';
import { FileExporter, SILENT_LOGGER, SpanCollector, type SpanExporter } from '#spanring/pipeline';
import { buildRealisticSpans, SPANS_PER_REQUEST } from './fixtures/realistic-spans.ts';
import {
  BenchFailure,
  checkEqual,
  log,
  measureRoundRobin,
  resultLookup,
  median,
  nowNs,
  parseBenchArgs,
  printReport,
  ratio,
  runBench,
  secondsSince,
  type BenchCase,
  type BenchCheck,
  type TableRow,
} from './harness.ts';

/** Concurrent producers (Spanring) and feeders (BatchSpanProcessor). */
const FEEDERS = 4;
/**
 * Distinct requests cycled through: 16 × 512 = 8,192 spans, one default flush window
 * (sendBatchSize), so every batch holds distinct traces, and few enough that the spans stay
 * in the CPU caches, as freshly decoded spans in a server would.
 */
const VARIANTS = 16;
/** The info case cycles through 64 requests (32,768 spans): spans are cold in the caches. */
const COLD_VARIANTS = 64;
const PIPELINE_TARGET = 1_000_000;
const BSP_RATIO_TARGET = 3;

// ---------------------------------------------------------------------------------------------
// Fixtures, built once, outside every timed region.

const REQUEST: readonly Span[] = buildRealisticSpans(0);
const REQUEST_PROTO = encodeTraceRequest(REQUEST);
const REQUEST_JSON = Buffer.from(encodeTraceRequestJson(REQUEST));
/** The same request as a receiver holds it: WireSpans pointing into the protobuf bytes. */
const REQUEST_WIRE: readonly Span[] = scanTraceRequest(REQUEST_PROTO);

/** The decoded requests the pipelines are fed (decoded once, reused on every cycle). */
const COLD_POOL: readonly (readonly Span[])[] = Array.from({ length: COLD_VARIANTS }, (_, v) =>
  decodeTraceRequest(v === 0 ? REQUEST_PROTO : encodeTraceRequest(buildRealisticSpans(v))),
);
const POOL = COLD_POOL.slice(0, VARIANTS);

function checkFixtures(): void {
  const decoded = decodeTraceRequest(REQUEST_PROTO);
  checkEqual('fixture: spans decoded from protobuf', decoded.length, SPANS_PER_REQUEST);
  const again = encodeTraceRequest(decoded);
  if (Buffer.compare(again, REQUEST_PROTO) !== 0) throw new BenchFailure('fixture: protobuf round trip changed the bytes');
  checkEqual('fixture: spans decoded from JSON', decodeTraceRequestJson(REQUEST_JSON).length, SPANS_PER_REQUEST);
  for (const request of COLD_POOL) checkEqual('fixture: spans per pooled request', request.length, SPANS_PER_REQUEST);
  if (POOL[0]![0]!.resource !== POOL[0]![SPANS_PER_REQUEST - 1]!.resource) {
    throw new BenchFailure('fixture: decoded spans do not share their resource object');
  }
}

// ---------------------------------------------------------------------------------------------
// The same spans as the OpenTelemetry SDK's ReadableSpan (what BatchSpanProcessor.onEnd takes).

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

function hrTime(ns: bigint): HrTime {
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

function attributeValue(value: AnyValue): string | number | boolean {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  throw new BenchFailure(`fixture: attribute value ${String(value)} has no SDK equivalent here`);
}

function toAttributes(pairs: readonly KeyValue[]): Attributes {
  const out: Attributes = {};
  for (const { key, value } of pairs) out[key] = attributeValue(value);
  return out;
}

function toReadableSpans(spans: readonly Span[]): ReadableSpan[] {
  const first = spans[0]!;
  const resource: OtelResource = resourceFromAttributes(toAttributes(first.resource.attributes));
  const scope = { name: first.scope.name, version: first.scope.version };
  return spans.map((span): ReadableSpan => {
    const traceId = hex(span.traceId);
    const context: SpanContext = { traceId, spanId: hex(span.spanId), traceFlags: span.flags & 0xff };
    const extra = span.extra;
    const events = (extra?.events ?? []).map(
      (e): TimedEvent => ({ name: e.name, time: hrTime(e.timeUnixNano), attributes: toAttributes(e.attributes) }),
    );
    const links = (extra?.links ?? []).map(
      (l): Link => ({
        context: { traceId: hex(l.traceId), spanId: hex(l.spanId), traceFlags: l.flags & 0xff },
        attributes: toAttributes(l.attributes),
      }),
    );
    return {
      name: span.name,
      // OTLP kinds are the API's + 1 (OTLP has UNSPECIFIED = 0).
      kind: Math.max(0, span.kind - 1) as OtelSpanKind,
      spanContext: () => context,
      parentSpanContext:
        span.parentSpanId === undefined ? undefined : { traceId, spanId: hex(span.parentSpanId), traceFlags: 1 },
      startTime: hrTime(span.startTimeUnixNano),
      endTime: hrTime(span.endTimeUnixNano),
      duration: hrTime(span.endTimeUnixNano - span.startTimeUnixNano),
      status: { code: span.statusCode as SpanStatusCode, message: extra?.statusMessage ?? '' },
      attributes: toAttributes(span.attributes),
      links,
      events,
      ended: true,
      resource,
      instrumentationScope: scope,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
  });
}

const BSP_POOL: readonly (readonly ReadableSpan[])[] = POOL.map(toReadableSpans);

// ---------------------------------------------------------------------------------------------
// Feeding: FEEDERS concurrent loops take the next request number, submit that request, and
// yield to the event loop, until `requests` were submitted. Same driver for both pipelines.

type Submit = (feeder: number, request: number) => Promise<void> | void;

async function feed(what: string, requests: number, deadline: number, submit: Submit): Promise<void> {
  let next = 0;
  const loop = async (feeder: number): Promise<void> => {
    while (next < requests) {
      const request = next++;
      const pending = submit(feeder, request);
      if (pending !== undefined) await pending;
      if (performance.now() > deadline) {
        throw new BenchFailure(`${what}: timed out after submitting ${next} of ${requests} requests`);
      }
      await yieldToEventLoop();
    }
  };
  await Promise.all(Array.from({ length: FEEDERS }, (_, feeder) => loop(feeder)));
}

// ---------------------------------------------------------------------------------------------
// Spanring.

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A no-op exporter that counts what it got. `nextTurn` false: resolves at once; true: on the
 * next event-loop turn, as an exporter waiting for I/O does (pairs with the BSP variant).
 */
class CountingExporter implements SpanExporter {
  readonly name = 'noop';
  spans = 0;
  private readonly nextTurn: boolean;

  constructor(nextTurn: boolean) {
    this.nextTurn = nextTurn;
  }

  export(spans: readonly Span[]): Promise<void> {
    this.spans += spans.length;
    return this.nextTurn ? yieldToEventLoop() : RESOLVED;
  }

  shutdown(): Promise<void> {
    return RESOLVED;
  }
}

/** Per case: spans lost (submitted − exported) summed over every run, warm-up included. */
const lost = new Map<string, number>();
/** Per case: the drops of each run (BatchSpanProcessor), warm-up excluded by taking the last reps. */
const dropsPerRun = new Map<string, number[]>();

function recordDrops(name: string, dropped: number): void {
  lost.set(name, (lost.get(name) ?? 0) + dropped);
  dropsPerRun.set(name, [...(dropsPerRun.get(name) ?? []), dropped]);
}

interface SpanringRun {
  readonly collector: SpanCollector;
  readonly seconds: number;
}

async function runSpanring(
  what: string,
  count: number,
  exporter: SpanExporter,
  timeoutMs: number,
  pool: readonly (readonly Span[])[] = POOL,
): Promise<SpanringRun> {
  const requests = count / SPANS_PER_REQUEST;
  const collector = new SpanCollector({ exporters: [{ exporter }], logger: SILENT_LOGGER });
  const producers = Array.from({ length: FEEDERS }, () => collector.registerAsync());
  const deadline = performance.now() + timeoutMs;
  const start = nowNs();
  await feed(what, requests, deadline, (feeder, request) => producers[feeder]!.submit(pool[request % pool.length]!));
  const report = await collector.shutdown({ deadlineMs: Math.max(1, deadline - performance.now()) });
  const seconds = secondsSince(start);
  const sent = report.exporters[0]?.sentSpans ?? 0;
  recordDrops(what, count - sent);
  checkEqual(`${what}: spans accepted`, report.acceptedSpans, count);
  checkEqual(`${what}: spans consumed`, report.consumedSpans, count);
  checkEqual(`${what}: spans exported`, sent, count);
  checkEqual(`${what}: spans failed`, report.exporters[0]?.failedSpans ?? -1, 0);
  if (!report.delivered || report.deadlineExceeded) throw new BenchFailure(`${what}: not delivered: ${JSON.stringify(report)}`);
  const m = collector.metrics;
  log(
    `  ${what}: ${m.batches} batches (mean ${(m.batchedSpans / m.batches).toFixed(0)} spans), ` +
      `${m.backpressureWaits} producer waits for ring space`,
  );
  return { collector, seconds };
}

async function runSpanringNoop(
  what: string,
  count: number,
  nextTurn: boolean,
  timeoutMs: number,
  pool: readonly (readonly Span[])[] = POOL,
): Promise<number> {
  const exporter = new CountingExporter(nextTurn);
  const { seconds } = await runSpanring(what, count, exporter, timeoutMs, pool);
  checkEqual(`${what}: spans the exporter got`, exporter.spans, count);
  return seconds;
}

let fileRun = 0;

async function runSpanringFile(count: number, dir: string, timeoutMs: number): Promise<number> {
  const what = 'spanring-file';
  const path = join(dir, `spans-${fileRun++}.jsonl`);
  try {
    const exporter = new FileExporter({ name: 'file', path });
    const { collector, seconds } = await runSpanring(what, count, exporter, timeoutMs);
    const { lines, spans, bytes } = await countJsonLines(path);
    checkEqual(`${what}: lines in the file`, lines, collector.metrics.batches);
    checkEqual(`${what}: spans in the file`, spans, count);
    log(`  ${what}: ${lines} lines, ${(bytes / 2 ** 20).toFixed(0)} MiB (${(bytes / count).toFixed(0)} B/span)`);
    return seconds;
  } finally {
    await unlink(path).catch(() => undefined);
  }
}

/** Every span object in OTLP JSON has exactly one startTimeUnixNano key (events have timeUnixNano). */
const SPAN_MARKER = Buffer.from('"startTimeUnixNano":');

async function countJsonLines(path: string): Promise<{ lines: number; spans: number; bytes: number }> {
  let lines = 0;
  let spans = 0;
  let bytes = 0;
  let tail = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
    // The marker may straddle two chunks: search the previous chunk's tail together with this one.
    const text = tail.length === 0 ? chunk : Buffer.concat([tail, chunk]);
    for (let at = text.indexOf(SPAN_MARKER); at !== -1; at = text.indexOf(SPAN_MARKER, at + SPAN_MARKER.length)) spans++;
    tail = Buffer.from(text.subarray(Math.max(0, text.length - (SPAN_MARKER.length - 1))));
  }
  return { lines, spans, bytes };
}

// ---------------------------------------------------------------------------------------------
// OpenTelemetry SDK BatchSpanProcessor.

const SUCCESS: ExportResult = { code: 0 };

/**
 * A no-op SDK exporter. `nextTurn` false: it reports success synchronously (the best case
 * for the processor); true: on the next event-loop turn, as an exporter waiting for I/O does.
 */
class CountingOtelExporter implements OtelSpanExporter {
  spans = 0;
  private readonly nextTurn: boolean;

  constructor(nextTurn: boolean) {
    this.nextTurn = nextTurn;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.spans += spans.length;
    if (this.nextTurn) setImmediate(resultCallback, SUCCESS);
    else resultCallback(SUCCESS);
  }

  shutdown(): Promise<void> {
    return RESOLVED;
  }
}

async function runBsp(what: string, count: number, nextTurn: boolean, timeoutMs: number): Promise<number> {
  const requests = count / SPANS_PER_REQUEST;
  const exporter = new CountingOtelExporter(nextTurn);
  const bsp = new BatchSpanProcessor({ exporter });
  const deadline = performance.now() + timeoutMs;
  const start = nowNs();
  await feed(what, requests, deadline, (_feeder, request) => {
    const spans = BSP_POOL[request % VARIANTS]!;
    for (let i = 0; i < spans.length; i++) bsp.onEnd(spans[i]!);
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      bsp.shutdown(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new BenchFailure(`${what}: shutdown timed out`)), Math.max(1, deadline - performance.now()));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
  const seconds = secondsSince(start);
  if (exporter.spans > count) throw new BenchFailure(`${what}: exported ${exporter.spans} of ${count} spans fed`);
  recordDrops(what, count - exporter.spans);
  log(`  ${what}: exported ${exporter.spans}, dropped ${count - exporter.spans} of ${count}`);
  return seconds;
}

// ---------------------------------------------------------------------------------------------
// Codec: `count` spans = count / 512 requests, each decoded or encoded whole.

function runCodec(what: string, count: number, once: () => number, expectedPerRequest: number): Promise<number> {
  const requests = count / SPANS_PER_REQUEST;
  let total = 0;
  const start = nowNs();
  for (let i = 0; i < requests; i++) total += once();
  const seconds = secondsSince(start);
  checkEqual(`${what}: output size`, total, requests * expectedPerRequest);
  return Promise.resolve(seconds);
}

// ---------------------------------------------------------------------------------------------

interface Counts {
  /** Spans per timed run; all multiples of 512. */
  readonly pipeline: number;
  readonly file: number;
  readonly bsp: number;
  readonly proto: number;
  readonly json: number;
}

const requestsOf = (requests: number): number => requests * SPANS_PER_REQUEST;

// Scaled so a full run of each case takes about 0.5–3 s on the reference 2-core machine.
const FULL: Counts = {
  pipeline: requestsOf(20_480), // 10,485,760
  file: requestsOf(2_048), // 1,048,576 (~1 GiB of JSON lines on disk, deleted after each run)
  bsp: requestsOf(20_480),
  proto: requestsOf(2_000),
  json: requestsOf(400),
};
const QUICK: Counts = {
  pipeline: requestsOf(4_096), // 2,097,152
  file: requestsOf(256), // 131,072 (~120 MiB on disk)
  bsp: requestsOf(4_096),
  proto: requestsOf(300),
  json: requestsOf(80),
};

function warmup(count: number): number {
  return Math.max(SPANS_PER_REQUEST, Math.floor(count / 10 / SPANS_PER_REQUEST) * SPANS_PER_REQUEST);
}

async function main(): Promise<void> {
  const options = parseBenchArgs(process.argv.slice(2), { full: 5, quick: 5 });
  const counts = options.quick ? QUICK : FULL;
  const timeoutMs = options.quick ? 20_000 : 60_000;
  checkFixtures();
  log(
    `fixture: ${SPANS_PER_REQUEST} spans/request, ${REQUEST_PROTO.length} B protobuf, ${REQUEST_JSON.length} B JSON; ` +
      `${COLD_VARIANTS} id variants decoded up front`,
  );
  const dir = await mkdtemp(join(os.tmpdir(), 'spanring-bench-'));
  try {
    const cases: BenchCase[] = [
      {
        name: 'spanring-noop',
        label: 'Spanring: producers -> ring -> batcher -> no-op exporter',
        unit: 'spans/s',
        count: counts.pipeline,
        warmupCount: warmup(counts.pipeline),
        run: (n) => runSpanringNoop('spanring-noop', n, false, timeoutMs),
      },
      {
        name: 'spanring-noop-cold',
        label: `Spanring, no-op exporter, ${COLD_VARIANTS} requests cycled (spans cold in cache)`,
        unit: 'spans/s',
        count: counts.pipeline,
        warmupCount: warmup(counts.pipeline),
        run: (n) => runSpanringNoop('spanring-noop-cold', n, false, timeoutMs, COLD_POOL),
      },
      {
        name: 'spanring-next-turn',
        label: 'Spanring, exporter done next event-loop turn',
        unit: 'spans/s',
        count: counts.pipeline,
        warmupCount: warmup(counts.pipeline),
        run: (n) => runSpanringNoop('spanring-next-turn', n, true, timeoutMs),
      },
      {
        name: 'spanring-file',
        label: 'Spanring: ... -> file exporter (OTLP JSON lines)',
        unit: 'spans/s',
        count: counts.file,
        warmupCount: warmup(counts.file),
        run: (n) => runSpanringFile(n, dir, timeoutMs),
      },
      {
        name: 'otel-bsp',
        label: 'OTel SDK BatchSpanProcessor (defaults), no-op exporter',
        unit: 'spans/s',
        count: counts.bsp,
        warmupCount: warmup(counts.bsp),
        run: (n) => runBsp('otel-bsp', n, false, timeoutMs),
      },
      {
        name: 'otel-bsp-next-turn',
        label: 'OTel SDK BatchSpanProcessor, exporter done next event-loop turn (fed/s)',
        unit: 'spans/s',
        count: counts.bsp,
        warmupCount: warmup(counts.bsp),
        run: (n) => runBsp('otel-bsp-next-turn', n, true, timeoutMs),
      },
      {
        name: 'proto-decode',
        label: 'protobuf decode, 512-span request',
        unit: 'spans/s',
        count: counts.proto,
        warmupCount: warmup(counts.proto),
        run: (n) => runCodec('proto-decode', n, () => decodeTraceRequest(REQUEST_PROTO).length, SPANS_PER_REQUEST),
      },
      {
        name: 'proto-scan',
        label: 'protobuf scan to WireSpans (what receivers run), 512-span request',
        unit: 'spans/s',
        count: counts.proto,
        warmupCount: warmup(counts.proto),
        run: (n) => runCodec('proto-scan', n, () => scanTraceRequest(REQUEST_PROTO).length, SPANS_PER_REQUEST),
      },
      {
        name: 'proto-encode-wire',
        label: 'protobuf encode of received WireSpans (what exporters run), 512-span request',
        unit: 'spans/s',
        count: counts.proto,
        warmupCount: warmup(counts.proto),
        run: (n) => runCodec('proto-encode-wire', n, () => encodeTraceRequest(REQUEST_WIRE).length, REQUEST_PROTO.length),
      },
      {
        name: 'proto-encode',
        label: 'protobuf encode, 512-span request',
        unit: 'spans/s',
        count: counts.proto,
        warmupCount: warmup(counts.proto),
        run: (n) => runCodec('proto-encode', n, () => encodeTraceRequest(REQUEST).length, REQUEST_PROTO.length),
      },
      {
        name: 'json-decode',
        label: 'JSON decode (from bytes), 512-span request',
        unit: 'spans/s',
        count: counts.json,
        warmupCount: warmup(counts.json),
        run: (n) => runCodec('json-decode', n, () => decodeTraceRequestJson(REQUEST_JSON).length, SPANS_PER_REQUEST),
      },
      {
        name: 'json-encode',
        label: 'JSON encode (to string), 512-span request',
        unit: 'spans/s',
        count: counts.json,
        warmupCount: warmup(counts.json),
        run: (n) => runCodec('json-encode', n, () => encodeTraceRequestJson(REQUEST).length, REQUEST_JSON.length),
      },
    ];
    const results = await measureRoundRobin(cases, options.reps);
    const get = resultLookup(results);
    const pipeline = get('spanring-noop');
    const bsp = get('otel-bsp');
    // The next-turn BSP rate counts spans fed, most of which it drops: no ratio against it.
    const ratios = [ratio('spanring-noop/otel-bsp', pipeline, bsp, BSP_RATIO_TARGET)];
    const rows: TableRow[] = [
      { result: pipeline },
      { result: bsp, ratio: ratios[0]!, indent: true },
      ...['spanring-noop-cold', 'spanring-next-turn', 'otel-bsp-next-turn', 'spanring-file', 'proto-decode', 'proto-scan', 'proto-encode', 'proto-encode-wire', 'json-decode', 'json-encode'].map(
        (name) => ({ result: get(name) }),
      ),
    ];
    // Drops of the timed runs only: the first entry of each list is the warm-up.
    const timedDrops = (name: string): number[] => (dropsPerRun.get(name) ?? []).slice(1);
    const checks: BenchCheck[] = [
      {
        name: 'spanring-noop-rate',
        label: 'Spanring pipeline-only rate (median)',
        value: pipeline.opsPerSec,
        unit: 'spans/s',
        target: `>= ${PIPELINE_TARGET}`,
        met: pipeline.opsPerSec >= PIPELINE_TARGET,
      },
      ...['spanring-noop', 'spanring-noop-cold', 'spanring-next-turn', 'spanring-file'].map(
        (name): BenchCheck => ({
          name: `${name}-dropped`,
          label: `${name}: spans dropped, all runs`,
          value: lost.get(name) ?? 0,
          unit: 'spans',
          target: '== 0',
          met: (lost.get(name) ?? 0) === 0,
        }),
      ),
      ...['otel-bsp', 'otel-bsp-next-turn'].map(
        (name): BenchCheck => ({
          name: `${name}-dropped`,
          label: `${name}: spans dropped per run (median of ${options.reps}, of ${counts.bsp} fed)`,
          value: median(timedDrops(name)),
          unit: 'spans',
          target: null,
          met: null,
        }),
      ),
    ];
    printReport({
      bench: 'pipeline',
      options,
      results,
      ratios,
      rows,
      checks,
      notes: [
        'ratio = subject rate / baseline rate (higher is better for the subject); info = no target.',
        `Pipelines: ${FEEDERS} concurrent feeders submit 512-span requests and yield (setImmediate) after each; ` +
          `${VARIANTS} pre-decoded requests with distinct ids are cycled (same Span objects reused; ` +
          `${COLD_VARIANTS} for the cold case). ` +
          `Spanring: collector defaults, timed until shutdown() resolved; ` +
          `BSP: defaults (queue 2048, batch 512, 5 s delay), pre-built ReadableSpans via onEnd(), timed until shutdown() resolved.`,
        `Spans per timed run: ${counts.pipeline} (no-op), ${counts.file} (file), ${counts.bsp} (BSP), ` +
          `${counts.proto} (protobuf), ${counts.json} (JSON). Request: ${REQUEST_PROTO.length} B protobuf, ` +
          `${REQUEST_JSON.length} B JSON.`,
      ],
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

log('bench pipeline: building fixtures and warming up (progress on stderr)');
runBench(main);
