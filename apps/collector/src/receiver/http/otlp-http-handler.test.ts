import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeRpcStatus } from '#spanring/otlp';
import type { AdmitOutcome, DecodedRequest, SpanSink, Transport } from '../span-sink.ts';
import { decodeSpans } from '../span-sink.ts';
import { handleOtlpHttpRequest } from './otlp-http-handler.ts';

/** A sink that says whether it would refuse, and records what the handler asked of it. */
class ScriptedSink implements SpanSink {
  readonly retryAfterSeconds = 3;
  readonly counted: [Transport, number, number][] = [];
  decoded = 0;
  admitted = 0;
  private readonly refuse: boolean;

  constructor(refuse: boolean) {
    this.refuse = refuse;
  }

  accepting(): boolean {
    return true;
  }
  wouldRefuse(): boolean {
    return this.refuse;
  }
  decode(format: 'protobuf' | 'json', body: Uint8Array): DecodedRequest {
    this.decoded++;
    return decodeSpans(format, body);
  }
  async admit(request: DecodedRequest): Promise<AdmitOutcome> {
    this.admitted++;
    return { accepted: request.spanCount, refusal: undefined };
  }
  count(transport: Transport, accepted: number, refused: number): void {
    this.counted.push([transport, accepted, refused]);
  }
}

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve()))));

async function post(sink: SpanSink, body: Uint8Array): Promise<Response> {
  server = createServer((req, res) => void handleOtlpHttpRequest(req, res, { maxRequestBodyBytes: 1 << 20, sink, logger: { error() {}, warn() {} } }));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
}

// ExportTraceServiceRequest { resource_spans { scope_spans { spans { trace_id: 3 bytes } } x2 } }:
// well-formed down to the spans, whose trace ids are invalid (not 16 bytes).
const TWO_BAD_SPANS = new Uint8Array([0x0a, 0x10, 0x12, 0x0e, 0x12, 0x05, 0x0a, 0x03, 1, 2, 3, 0x12, 0x05, 0x0a, 0x03, 4, 5, 6]);

describe('OTLP/HTTP handler under the waiting limits (W13)', () => {
  it('answers a request the sink would refuse 429 + Retry-After without validating it, counting its spans as refused', async () => {
    const sink = new ScriptedSink(true);
    const response = await post(sink, TWO_BAD_SPANS);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('3');
    expect(decodeRpcStatus(new Uint8Array(await response.arrayBuffer())).message).toMatch(/2 span\(s\) refused at once/);
    expect(sink.counted).toEqual([['http', 0, 2]]);
    expect([sink.decoded, sink.admitted]).toEqual([0, 0]);
  });

  it('validates the same request when the sink would take it: 400 naming the bad field', async () => {
    const sink = new ScriptedSink(false);
    const response = await post(sink, TWO_BAD_SPANS);
    expect(response.status).toBe(400);
    expect(decodeRpcStatus(new Uint8Array(await response.arrayBuffer())).message).toMatch(/trace_?[iI]d/);
    expect([sink.decoded, sink.admitted]).toEqual([1, 0]);
  });
});
