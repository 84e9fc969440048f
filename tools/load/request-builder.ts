/**
 * The request pool: spans of a realistic shape, encoded (and gzipped) once before the run, so
 * sending costs the generator a buffer write and the measurement is of the target, not of us.
 *
 * Shape: a few services, each a resource of ~10 attributes; spans of ~10 attributes whose
 * scope and kind follow what they stand for (HTTP server, database client, internal work);
 * some events (logs, exceptions), some links to earlier traces, some errors. Spans come from
 * one stream of traces of 1-50 spans (mostly short), cut into requests in order, so a trace
 * may continue in the next request, and one request carries several resources, as an agent
 * or a gateway collector forwards them.
 */
import { randomInt } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { encodeTraceRequest, encodeTraceRequestJson, spanExtra, SpanKind, StatusCode } from '#spanring/otlp';
import type { InstrumentationScope, KeyValue, Resource, Span, SpanEvent, SpanLink } from '#spanring/otlp';
import type { LoadProtocol } from './options.ts';

/** One request as it goes on the wire: the body (framed for gRPC) and the spans it carries. */
export interface PreparedRequest {
  readonly body: Buffer;
  readonly spans: number;
}

export interface RequestPool {
  /** Full requests of `spansPerRequest` spans, cycled through. */
  readonly requests: readonly PreparedRequest[];
  /** The last, shorter request when the span bound is not a multiple of spansPerRequest. */
  readonly tail: PreparedRequest | undefined;
  /** How many full requests the run may send (Infinity without a span bound). */
  readonly fullRequestBudget: number;
}

export interface PoolOptions {
  readonly protocol: LoadProtocol;
  readonly spansPerRequest: number;
  readonly poolSize: number;
  /** The span bound of the run, if any: no more requests are built than it lets be sent. */
  readonly spans: number | undefined;
  readonly gzip: boolean;
  readonly seed: number | undefined;
  /** Start time of the first trace (default: now). */
  readonly startTimeUnixNano?: bigint;
}

export const MAX_TRACE_SPANS = 50;

export function buildRequestPool(options: PoolOptions): RequestPool {
  const { spansPerRequest } = options;
  const fullRequestBudget = options.spans === undefined ? Infinity : Math.floor(options.spans / spansPerRequest);
  const remainder = options.spans === undefined ? 0 : options.spans % spansPerRequest;
  const generator = new SpanGenerator(options.seed ?? randomInt(0, 0xffff_ffff), options.startTimeUnixNano);
  const poolSize = Math.min(options.poolSize, fullRequestBudget);
  const requests: PreparedRequest[] = [];
  for (let i = 0; i < poolSize; i++) requests.push(prepare(generator.next(spansPerRequest), options));
  const tail = remainder > 0 ? prepare(generator.next(remainder), options) : undefined;
  return { requests, tail, fullRequestBudget };
}

function prepare(spans: readonly Span[], options: PoolOptions): PreparedRequest {
  return { body: encodeBody(spans, options.protocol, options.gzip), spans: spans.length };
}

/** The request body exactly as sent: protobuf or OTLP/JSON, gzipped or not, gRPC-framed for gRPC. */
export function encodeBody(spans: readonly Span[], protocol: LoadProtocol, gzip: boolean): Buffer {
  const encoded = protocol === 'http/json' ? Buffer.from(encodeTraceRequestJson(spans), 'utf8') : toBuffer(encodeTraceRequest(spans));
  const payload = gzip ? gzipSync(encoded) : encoded;
  return protocol === 'grpc' ? grpcFrame(payload, gzip) : payload;
}

/** A gRPC length-prefixed message: compressed flag (1 byte), length (4 bytes, big-endian), message. */
export function grpcFrame(message: Buffer, compressed: boolean): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = compressed ? 1 : 0;
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return frame;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ---------------------------------------------------------------------------------------------
// The span stream

/** mulberry32: small, fast and seedable; the pool need not be unpredictable, only varied. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  randomize(bytes: Uint8Array, from: number, to: number): void {
    for (let i = from; i < to; i++) bytes[i] = this.int(256);
  }
}

interface Service {
  readonly resource: Resource;
  readonly name: string;
  readonly routes: readonly string[];
  readonly tables: readonly string[];
}

const SERVICE_SHAPES = [
  { name: 'checkout', namespace: 'shop', routes: ['/api/cart', '/api/checkout', '/api/orders/:id'], tables: ['orders', 'carts'] },
  { name: 'catalog', namespace: 'shop', routes: ['/api/products', '/api/products/:id', '/api/search'], tables: ['products', 'prices'] },
  { name: 'accounts', namespace: 'identity', routes: ['/api/login', '/api/users/:id', '/api/sessions'], tables: ['users', 'sessions'] },
  { name: 'payments', namespace: 'billing', routes: ['/api/charge', '/api/refund'], tables: ['payments', 'ledger'] },
] as const;

const SCOPE_HTTP = scope('@opentelemetry/instrumentation-http', '0.57.0');
const SCOPE_DB = scope('@opentelemetry/instrumentation-pg', '0.50.0');
const SCOPE_APP = scope('app', '2.4.1');

function scope(name: string, version: string): InstrumentationScope {
  return { name, version, attributes: [], droppedAttributesCount: 0, schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' };
}

function makeServices(rng: Rng): Service[] {
  return SERVICE_SHAPES.map((shape, index) => ({
    name: shape.name,
    routes: shape.routes,
    tables: shape.tables,
    resource: {
      attributes: [
        kv('service.name', shape.name),
        kv('service.namespace', shape.namespace),
        kv('service.version', `1.${index + 3}.${rng.int(20)}`),
        kv('service.instance.id', hex(rng, 16)),
        kv('deployment.environment.name', 'load-test'),
        kv('host.name', `node-${shape.name}-${rng.int(100)}`),
        kv('host.arch', 'amd64'),
        kv('os.type', 'linux'),
        kv('process.pid', BigInt(1000 + rng.int(60_000))),
        kv('process.runtime.name', 'nodejs'),
        kv('telemetry.sdk.language', 'nodejs'),
      ],
      droppedAttributesCount: 0,
      entityRefs: [],
      schemaUrl: 'https://opentelemetry.io/schemas/1.30.0',
    },
  }));
}

function kv(key: string, value: KeyValue['value']): KeyValue {
  return { key, value };
}

function hex(rng: Rng, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += rng.int(16).toString(16);
  return out;
}

interface TraceState {
  readonly traceId: Uint8Array;
  readonly service: Service;
  readonly length: number;
  readonly startNs: bigint;
  readonly spanIds: Uint8Array[];
}

/**
 * An endless stream of spans, trace after trace. Ids are random from the seed plus a counter,
 * so every trace id and span id of one generator is distinct.
 */
export class SpanGenerator {
  private readonly rng: Rng;
  private readonly services: Service[];
  private readonly baseNs: bigint;
  private traceCount = 0;
  private spanCount = 0;
  private trace: TraceState | undefined;
  /** A few earlier (trace id, span id) pairs, what links point at. */
  private readonly recent: { traceId: Uint8Array; spanId: Uint8Array }[] = [];

  constructor(seed: number, startTimeUnixNano?: bigint) {
    this.rng = new Rng(seed);
    this.services = makeServices(this.rng);
    this.baseNs = startTimeUnixNano ?? BigInt(Date.now()) * 1_000_000n;
  }

  /** The next `count` spans of the stream. */
  next(count: number): Span[] {
    const spans: Span[] = [];
    for (let i = 0; i < count; i++) spans.push(this.nextSpan());
    return spans;
  }

  private nextSpan(): Span {
    if (this.trace === undefined || this.trace.spanIds.length >= this.trace.length) this.trace = this.newTrace();
    const trace = this.trace;
    const rng = this.rng;
    const index = trace.spanIds.length;
    const spanId = this.id(8, ++this.spanCount);
    trace.spanIds.push(spanId);
    const parentSpanId = index === 0 ? undefined : trace.spanIds[rng.int(index)];
    const kind = index === 0 ? SpanKind.Server : rng.chance(0.4) ? SpanKind.Client : SpanKind.Internal;
    const startNs = trace.startNs + BigInt(index) * 150_000n + BigInt(rng.int(100_000));
    const durationNs = BigInt(50_000 + rng.int(kind === SpanKind.Server ? 80_000_000 : 10_000_000));
    const failed = rng.chance(0.03);
    const events = this.events(startNs, failed);
    const links = this.links();
    if (index === 0) this.remember(trace.traceId, spanId);
    const shape = kind === SpanKind.Server ? this.serverSpan(trace.service, failed) : kind === SpanKind.Client ? this.dbSpan(trace.service) : this.internalSpan();
    return {
      resource: trace.service.resource,
      scope: shape.scope,
      traceId: trace.traceId,
      spanId,
      parentSpanId,
      name: shape.name,
      kind,
      startTimeUnixNano: startNs,
      endTimeUnixNano: startNs + durationNs,
      flags: 1,
      statusCode: failed ? StatusCode.Error : StatusCode.Unset,
      attributes: shape.attributes,
      extra: spanExtra({
        traceState: '',
        statusMessage: failed ? 'request failed' : '',
        droppedAttributesCount: 0,
        events,
        droppedEventsCount: 0,
        links,
        droppedLinksCount: 0,
      }),
    };
  }

  private newTrace(): TraceState {
    const rng = this.rng;
    this.traceCount++;
    // Mostly short traces, a few long ones: the square skews 1..50 towards the low end.
    const length = 1 + Math.floor(rng.next() ** 2 * MAX_TRACE_SPANS);
    return {
      traceId: this.id(16, this.traceCount),
      service: rng.pick(this.services),
      length: Math.min(length, MAX_TRACE_SPANS),
      startNs: this.baseNs + BigInt(this.traceCount) * 1_000_000n,
      spanIds: [],
    };
  }

  /** Random bytes with `counter` in the last 4, so ids are distinct and never all zero. */
  private id(length: number, counter: number): Uint8Array {
    const bytes = new Uint8Array(length);
    this.rng.randomize(bytes, 0, length - 4);
    new DataView(bytes.buffer).setUint32(length - 4, counter);
    return bytes;
  }

  private remember(traceId: Uint8Array, spanId: Uint8Array): void {
    this.recent.push({ traceId, spanId });
    if (this.recent.length > 16) this.recent.shift();
  }

  private serverSpan(service: Service, failed: boolean): { scope: InstrumentationScope; name: string; attributes: KeyValue[] } {
    const rng = this.rng;
    const route = rng.pick(service.routes);
    const method = rng.chance(0.7) ? 'GET' : 'POST';
    return {
      scope: SCOPE_HTTP,
      name: `${method} ${route}`,
      attributes: [
        kv('http.request.method', method),
        kv('http.route', route),
        kv('url.path', route.replace(':id', String(rng.int(100_000)))),
        kv('url.scheme', 'http'),
        kv('http.response.status_code', failed ? 500n : 200n),
        kv('server.address', `${service.name}.internal`),
        kv('server.port', 8080n),
        kv('client.address', `10.0.${rng.int(256)}.${rng.int(256)}`),
        kv('user_agent.original', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'),
        kv('network.protocol.version', '1.1'),
      ],
    };
  }

  private dbSpan(service: Service): { scope: InstrumentationScope; name: string; attributes: KeyValue[] } {
    const rng = this.rng;
    const table = rng.pick(service.tables);
    const operation = rng.chance(0.8) ? 'SELECT' : 'UPDATE';
    return {
      scope: SCOPE_DB,
      name: `${operation} ${table}`,
      attributes: [
        kv('db.system.name', 'postgresql'),
        kv('db.namespace', service.name),
        kv('db.operation.name', operation),
        kv('db.collection.name', table),
        kv('db.query.text', `${operation} * FROM ${table} WHERE id = $1`),
        kv('server.address', 'db.internal'),
        kv('server.port', 5432n),
        kv('network.peer.address', `10.1.0.${rng.int(256)}`),
        kv('db.response.returned_rows', BigInt(rng.int(50))),
        kv('thread.name', 'main'),
      ],
    };
  }

  private internalSpan(): { scope: InstrumentationScope; name: string; attributes: KeyValue[] } {
    const rng = this.rng;
    const fn = rng.pick(['render', 'validate', 'computePrice', 'loadProfile', 'serialize']);
    return {
      scope: SCOPE_APP,
      name: fn,
      attributes: [
        kv('code.function.name', fn),
        kv('code.file.path', `/app/src/${fn}.ts`),
        kv('code.line.number', BigInt(1 + rng.int(400))),
        kv('thread.id', BigInt(1 + rng.int(8))),
        kv('app.cache.hit', rng.chance(0.6)),
        kv('app.items', BigInt(rng.int(100))),
        kv('app.ratio', Math.round(rng.next() * 1000) / 1000),
        kv('app.tenant', `tenant-${rng.int(40)}`),
        kv('app.feature_flags', ['new-checkout', 'fast-path']),
        kv('app.region', rng.pick(['eu-west-1', 'us-east-1', 'ap-south-1'])),
      ],
    };
  }

  private events(startNs: bigint, failed: boolean): SpanEvent[] {
    const rng = this.rng;
    const events: SpanEvent[] = [];
    if (rng.chance(0.2)) {
      events.push({
        timeUnixNano: startNs + 10_000n,
        name: 'log',
        attributes: [kv('log.severity', 'info'), kv('log.message', 'cache lookup done')],
        droppedAttributesCount: 0,
      });
    }
    if (failed) {
      events.push({
        timeUnixNano: startNs + 20_000n,
        name: 'exception',
        attributes: [
          kv('exception.type', 'Error'),
          kv('exception.message', 'upstream timed out'),
          kv('exception.stacktrace', 'Error: upstream timed out\n    at handler (/app/src/handler.ts:42:11)\n    at process (node:internal/process/task_queues:95:5)'),
        ],
        droppedAttributesCount: 0,
      });
    }
    return events;
  }

  private links(): SpanLink[] {
    if (this.recent.length === 0 || !this.rng.chance(0.05)) return [];
    const target = this.rng.pick(this.recent);
    return [{ traceId: target.traceId, spanId: target.spanId, traceState: '', attributes: [kv('link.kind', 'follows_from')], droppedAttributesCount: 0, flags: 1 }];
  }
}
