/**
 * The `otlp_http` exporter (Collector alias `otlphttp`): OTLP/HTTP, protobuf or JSON.
 *
 * Transport: node:http / node:https with a keep-alive Agent, rather than OTel's HTTP
 * transport or fetch. OTel's createOtlpHttpExportDelegate wraps its transport in a
 * RetryingTransport (up to 5 retries of its own, which would compound the pipeline's), takes
 * no AbortSignal and logs partial_success instead of returning it. fetch (undici) would do
 * for plain HTTPS but cannot take the Collector's tls.ca_file / cert_file / key_file without
 * undici's Agent, which Node does not expose; node:https takes them directly.
 */
import { Agent as HttpAgent, request as httpRequest, validateHeaderName, validateHeaderValue } from 'node:http';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import {
  decodeRpcStatus,
  decodeRpcStatusJson,
  decodeTraceResponse,
  decodeTraceResponseJson,
  encodeTraceRequest,
  encodeTraceRequestJson,
  OtlpDecodeError,
} from '#spanring/otlp';
import type { Span, TraceExportResponse } from '#spanring/otlp';
import { ExportError, PipelineConfigError } from '../errors.ts';
import { encodeBuffers } from './encode-buffers.ts';
import { abortedError, describeError, encodeOrFail } from './export-errors.ts';
import { outcomeOf } from './partial-success.ts';
import { classifyHttpFailure } from './retry-policy.ts';
import { exportEncodingOnce, type ExportOutcome, type SpanExporter } from './span-exporter.ts';
import { loadTlsMaterial } from './tls.ts';
import type { TlsOptions } from './tls.ts';

const gzipAsync = promisify(gzip);

/** Collector defaults (otlphttpexporter): protobuf, gzip, a 30 s client timeout. */
const DEFAULT_TIMEOUT_MS = 30_000;
const TRACES_PATH = 'v1/traces';
const CONTENT_TYPES = { proto: 'application/x-protobuf', json: 'application/json' } as const;
/** A response body beyond this is not kept: an OTLP answer is a few bytes, a proxy's error page may not be. */
const MAX_RESPONSE_BYTES = 1 << 20;
/** How much of a body that is not a google.rpc.Status goes into an error message. */
const MAX_DETAIL_CHARS = 300;

/** Options of the otlp_http exporter; each mirrors an otelcol key of the `otlp_http` exporter. */
export interface OtlpHttpExporterOptions {
  /** The component id, i.e. the key under otelcol `exporters:` ("otlp_http/backend"). Default "otlp_http". */
  readonly name?: string;
  /** otelcol `endpoint`: base URL; "/v1/traces" is always appended, as the Collector does. */
  readonly endpoint?: string;
  /** otelcol `traces_endpoint`: the full URL, used as-is; wins over `endpoint`. */
  readonly tracesEndpoint?: string;
  /** otelcol `encoding`: "proto" (default) or "json". */
  readonly encoding?: 'proto' | 'json';
  /** otelcol `compression`: "gzip" (the Collector's default) or "none". */
  readonly compression?: 'gzip' | 'none';
  /** otelcol `headers`: sent with every request (User-Agent may be replaced; the OTLP framing headers may not). */
  readonly headers?: Readonly<Record<string, string>>;
  /** otelcol `timeout`, in ms: the whole request, connect to last response byte. Default 30000. */
  readonly timeoutMs?: number;
  /** otelcol `tls` (ca_file, cert_file, key_file, insecure_skip_verify); https:// URLs only. */
  readonly tls?: TlsOptions;
}

/** What came back: status, the headers that matter, and the body (capped). */
interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export class OtlpHttpExporter implements SpanExporter {
  readonly name: string;
  readonly url: URL;
  readonly encoding: 'proto' | 'json';
  readonly compression: 'gzip' | 'none';
  readonly timeoutMs: number;
  private readonly agent: HttpAgent;
  private readonly headers: OutgoingHttpHeaders;
  private readonly encodeBuffers = encodeBuffers();
  private closed = false;

  constructor(options: OtlpHttpExporterOptions) {
    this.name = options.name ?? 'otlp_http';
    this.url = tracesUrl(options);
    this.encoding = oneOf(options.encoding ?? 'proto', ['proto', 'json'], 'encoding');
    this.compression = oneOf(options.compression ?? 'gzip', ['gzip', 'none'], 'compression');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(Number.isFinite(this.timeoutMs) && this.timeoutMs > 0)) {
      throw new PipelineConfigError('timeoutMs', `must be a positive number of milliseconds, got ${this.timeoutMs}`);
    }
    this.headers = requestHeaders(options.headers, this.encoding, this.compression);
    this.agent = createAgent(this.url, options.tls);
  }

  export(spans: readonly Span[], signal: AbortSignal): Promise<ExportOutcome | void> {
    return exportEncodingOnce(this, spans, signal);
  }

  encode(spans: readonly Span[]): Uint8Array {
    return encodeOrFail(this.name, () =>
      this.encoding === 'json' ? Buffer.from(encodeTraceRequestJson(spans)) : encodeTraceRequest(spans, this.encodeBuffers),
    );
  }

  /**
   * Safety (P15): exportEncoded() settles only after gzip read the body and the request ended
   * (answered, or destroyed on abort), so nothing reads `request` any more. JSON bodies are not
   * pooled; the pool ignores storage it did not lend.
   */
  releaseEncoded(request: Uint8Array): void {
    this.encodeBuffers.give(request.buffer);
  }

  async exportEncoded(encoded: Uint8Array, signal: AbortSignal): Promise<ExportOutcome | void> {
    if (this.closed) throw new ExportError(`${this.name}: the exporter is shut down`, { retryable: false });
    if (signal.aborted) throw abortedError(this.name, signal);
    const body = this.compression === 'gzip' ? await gzipAsync(encoded) : encoded;
    const answer = await this.post(body, signal);
    if (answer.status >= 200 && answer.status < 300) return this.outcome(answer);
    const retryAfter = answer.headers['retry-after'];
    throw classifyHttpFailure(answer.status, retryAfter, `${this.failureDetail(answer)} (${this.name} → ${this.url.href})`);
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    this.agent.destroy();
  }

  /** One POST; the signal and timeoutMs both abort it, and tell which one did. */
  private async post(body: Uint8Array, signal: AbortSignal): Promise<HttpAnswer> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    try {
      return await this.send(body, AbortSignal.any([signal, timeout]));
    } catch (error) {
      if (signal.aborted) throw abortedError(this.name, signal);
      if (timeout.aborted) {
        throw new ExportError(`${this.name}: no answer from ${this.url.href} within ${this.timeoutMs} ms`, { retryable: true, cause: error });
      }
      throw new ExportError(`${this.name}: cannot reach ${this.url.href}: ${describeError(error)}`, { retryable: true, cause: error });
    }
  }

  private send(body: Uint8Array, signal: AbortSignal): Promise<HttpAnswer> {
    const request = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const headers = { ...this.headers, 'content-length': body.byteLength };
      const outgoing = request(this.url, { method: 'POST', agent: this.agent, headers, signal }, (response) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        response.on('data', (chunk: Buffer) => {
          // Read to the end even past the cap, so the keep-alive connection stays usable.
          if (kept + chunk.length > MAX_RESPONSE_BYTES) return;
          chunks.push(chunk);
          kept += chunk.length;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
        response.on('error', reject);
      });
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  private outcome(answer: HttpAnswer): ExportOutcome | undefined {
    if (answer.body.length === 0) return undefined;
    const json = this.isJson(answer.headers);
    try {
      const response: TraceExportResponse = json ? decodeTraceResponseJson(answer.body) : decodeTraceResponse(answer.body);
      return outcomeOf(response);
    } catch (error) {
      // The backend said 2xx, so the spans are delivered; an unreadable answer cannot undo that.
      if (error instanceof OtlpDecodeError) return undefined;
      throw error;
    }
  }

  /** OTLP servers answer failures with a google.rpc.Status; anything else is quoted, shortened. */
  private failureDetail(answer: HttpAnswer): string {
    if (answer.body.length === 0) return 'empty response body';
    const contentType = answer.headers['content-type'] ?? '';
    try {
      if (contentType.includes(CONTENT_TYPES.json)) return decodeRpcStatusJson(answer.body).message;
      if (contentType.includes(CONTENT_TYPES.proto)) return decodeRpcStatus(answer.body).message;
    } catch (error) {
      if (!(error instanceof OtlpDecodeError)) throw error;
    }
    const text = answer.body.toString('utf8').replace(/\s+/g, ' ').trim();
    return text.length > MAX_DETAIL_CHARS ? `${text.slice(0, MAX_DETAIL_CHARS)}…` : text;
  }

  /** The answer's Content-Type decides; without one, assume it speaks what was sent. */
  private isJson(headers: IncomingHttpHeaders): boolean {
    const contentType = headers['content-type'];
    return contentType === undefined ? this.encoding === 'json' : contentType.includes(CONTENT_TYPES.json);
  }
}

/** Collector semantics: traces_endpoint as-is; else endpoint + "/v1/traces" (one slash between). */
function tracesUrl(options: OtlpHttpExporterOptions): URL {
  const [path, raw] =
    options.tracesEndpoint !== undefined
      ? ['tracesEndpoint', options.tracesEndpoint]
      : ['endpoint', options.endpoint === undefined ? undefined : `${options.endpoint.replace(/\/$/, '')}/${TRACES_PATH}`];
  if (raw === undefined) throw new PipelineConfigError('endpoint', 'set endpoint (the base URL, "/v1/traces" is appended) or tracesEndpoint (the full URL)');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PipelineConfigError(path, `"${raw}" is not a URL; write it with its scheme, e.g. "https://otlp.example.com:4318"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PipelineConfigError(path, `"${raw}" must use http:// or https://`);
  }
  return url;
}

function requestHeaders(
  configured: Readonly<Record<string, string>> | undefined,
  encoding: 'proto' | 'json',
  compression: 'gzip' | 'none',
): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { 'user-agent': 'Spanring' };
  for (const [name, value] of Object.entries(configured ?? {})) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch (error) {
      throw new PipelineConfigError(`headers.${name}`, `not a valid HTTP header: ${describeError(error)}`);
    }
    headers[name.toLowerCase()] = value;
  }
  // Set last: a configured header must not be able to mislabel the body.
  headers['content-type'] = CONTENT_TYPES[encoding];
  if (compression === 'gzip') headers['content-encoding'] = 'gzip';
  else delete headers['content-encoding'];
  return headers;
}

function createAgent(url: URL, tls: TlsOptions | undefined): HttpAgent {
  if (url.protocol === 'http:') return new HttpAgent({ keepAlive: true });
  const { ca, cert, key } = loadTlsMaterial(tls, 'tls');
  return new HttpsAgent({ keepAlive: true, ca, cert, key, rejectUnauthorized: tls?.insecureSkipVerify !== true });
}

function oneOf<T extends string>(value: string, allowed: readonly T[], path: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new PipelineConfigError(path, `"${value}" is not supported; use ${allowed.map((a) => `"${a}"`).join(' or ')}`);
}
