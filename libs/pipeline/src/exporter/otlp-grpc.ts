/**
 * The `otlp_grpc` exporter (Collector alias `otlp`): OTLP/gRPC to a backend.
 *
 * What comes from OpenTelemetry JS, and what does not, and why:
 * - Configuration is the OTel gRPC exporter's own: convertLegacyOtlpGrpcOptions (what
 *   OTLPTraceExporter calls) resolves the endpoint, OTEL_EXPORTER_OTLP_(TRACES_)* env
 *   (endpoint, headers, insecure, certificates, compression, timeout), metadata merging and
 *   credentials (createInsecureCredentials / createSslCredentials).
 * - Serialization is ours (encodeTraceRequest): forwarding must be lossless, and the SDK's
 *   ReadableSpan model cannot carry scope attributes, the resource's dropped attribute count
 *   and entity refs, all 32 bits of span and link flags, or kind/status values outside the enums.
 * - To a plaintext host:port endpoint the call goes over node:http2 directly
 *   (grpc-http2-channel.ts), so the ~3.5 MB message is written without grpc-js's per-call
 *   copy into a fresh frame; that file says why and what it implements.
 * - Other endpoints (TLS, unix:) are called with @grpc/grpc-js exactly as OTel's
 *   GrpcExporterTransport calls them (a raw-bytes unary call on the TraceService path, gzip
 *   through grpc.default_compression_algorithm, a per-call deadline), but here rather than through
 *   createOtlpGrpcExportDelegate, because that delegate cannot honour the pipeline's contract:
 *   it takes no AbortSignal and exposes no call to cancel (an aborted RPC would run on until
 *   its deadline, and the delegate's shutdown waits for it), and it hands the response to a logging handler, so
 *   partial_success would be logged instead of returned. Its failure objects do keep the
 *   grpc-status-details-bin trailer; ours read RetryInfo from the same place.
 * - No retries here: the pipeline owns them. OTel's gRPC transport does not retry either;
 *   grpc-js's own (transparent and service-config) retries are switched off below.
 */
import { Client, compressionAlgorithms, credentials as grpcCredentials, Metadata } from '@grpc/grpc-js';
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { OutgoingHttpHeaders } from 'node:http2';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { getSharedConfigurationFromEnvironment } from '@opentelemetry/otlp-exporter-base/node-http';
import {
  convertLegacyOtlpGrpcOptions,
  createInsecureCredentials,
  createSslCredentials,
} from '@opentelemetry/otlp-grpc-exporter-base';
import { decodeTraceResponse, encodeTraceRequest, OtlpDecodeError, TRACE_EXPORT_PATH } from '#spanring/otlp';
import type { Span } from '#spanring/otlp';
import { ExportError, PipelineConfigError } from '../errors.ts';
import { encodeBuffers } from './encode-buffers.ts';
import { GrpcCallAborted, GrpcCallFailure, Http2GrpcChannel } from './grpc-http2-channel.ts';
import { abortedError, encodeOrFail } from './export-errors.ts';
import { retryDelayFromTrailers } from './grpc-retry-info.ts';
import { outcomeOf } from './partial-success.ts';
import { classifyGrpcFailure } from './retry-policy.ts';
import { exportEncodingOnce, type ExportOutcome, type SpanExporter } from './span-exporter.ts';
import { loadTlsMaterial } from './tls.ts';
import type { TlsOptions } from './tls.ts';

/** Collector defaults (otlpexporter): gzip, and exporterhelper's 5 s timeout. */
const DEFAULT_COMPRESSION = 'gzip';
const DEFAULT_TIMEOUT_MS = 5_000;
const USER_AGENT = 'Spanring';

/**
 * Options of the otlp_grpc exporter; each mirrors an otelcol key of the `otlp_grpc` exporter.
 * Unset options fall back to OTEL_EXPORTER_OTLP_TRACES_* / OTEL_EXPORTER_OTLP_* env, then to
 * the Collector's defaults.
 */
export interface OtlpGrpcExporterOptions {
  /** The component id, i.e. the key under otelcol `exporters:` ("otlp_grpc/backend"). Default "otlp_grpc". */
  readonly name?: string;
  /**
   * otelcol `endpoint`: "host:port", or a URL: http:// means plaintext, https:// means TLS;
   * without a scheme `tls.insecure` decides. Env fallback, then "localhost:4317".
   */
  readonly endpoint?: string;
  /** otelcol `tls` (insecure, insecure_skip_verify, ca_file, cert_file, key_file). */
  readonly tls?: TlsOptions;
  /** otelcol `headers`: gRPC metadata sent with every call; wins over OTEL_EXPORTER_OTLP_HEADERS per key. */
  readonly headers?: Readonly<Record<string, string>>;
  /** otelcol `compression`: "gzip" (the Collector's default) or "none". */
  readonly compression?: 'gzip' | 'none';
  /** otelcol `timeout`, in ms: the deadline of each export call. Default 5000. */
  readonly timeoutMs?: number;
}

const passThrough = (bytes: Buffer): Buffer => bytes;

/** host:port or [ipv6]:port, what Http2GrpcChannel connects to; other targets (unix:, dns:///) go to grpc-js. */
const HOST_PORT = /^(?:\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):\d{1,5}$/;

/** A failed call, from either transport: grpc-js's ServiceError or a GrpcCallFailure. */
type CallFailure = Pick<GrpcCallFailure, 'code' | 'details' | 'metadata'>;

export class OtlpGrpcExporter implements SpanExporter {
  readonly name: string;
  /** host:port (or unix:///path) the exporter connects to. */
  readonly address: string;
  readonly compression: 'gzip' | 'none';
  readonly timeoutMs: number;
  /** Plaintext host:port endpoints: calls written without a frame copy. */
  private readonly channel: Http2GrpcChannel | undefined;
  /** Every other endpoint (TLS, unix:). */
  private readonly client: Client | undefined;
  private readonly metadata: Metadata;
  private readonly metadataHeaders: OutgoingHttpHeaders;
  private readonly encodeBuffers = encodeBuffers();
  private closed = false;

  constructor(options: OtlpGrpcExporterOptions = {}) {
    this.name = options.name ?? 'otlp_grpc';
    const env = getSharedConfigurationFromEnvironment('TRACES');
    this.compression = checkCompression(options.compression ?? env.compression ?? DEFAULT_COMPRESSION);
    this.timeoutMs = checkTimeout(options.timeoutMs ?? env.timeoutMillis ?? DEFAULT_TIMEOUT_MS);
    const configuration = resolveOtelConfiguration(options, this.compression, this.timeoutMs);
    this.address = configuration.url;
    this.metadata = configuration.metadata();
    this.metadataHeaders = this.metadata.toHttp2Headers();
    const credentials = configuration.credentials();
    // _isSecure is grpc-js's own test of the credentials OTel resolved (options, then env).
    if (!credentials._isSecure() && HOST_PORT.test(this.address)) this.channel = new Http2GrpcChannel(this.address, USER_AGENT);
    else this.client = grpcJsClient(this.address, credentials, this.compression);
  }

  export(spans: readonly Span[], signal: AbortSignal): Promise<ExportOutcome | void> {
    return exportEncodingOnce(this, spans, signal);
  }

  encode(spans: readonly Span[]): Uint8Array {
    return encodeOrFail(this.name, () => encodeTraceRequest(spans, this.encodeBuffers));
  }

  /**
   * Safety (P15): once the outcome is known nothing reads `request`: grpc-js copies it into its
   * own frame (or compresses it) before the call can end, and Http2GrpcChannel.unary says when
   * it stops reading it.
   */
  releaseEncoded(request: Uint8Array): void {
    this.encodeBuffers.give(request.buffer);
  }

  async exportEncoded(request: Uint8Array, signal: AbortSignal): Promise<ExportOutcome | void> {
    if (this.closed) throw new ExportError(`${this.name}: the exporter is shut down`, { retryable: false });
    if (signal.aborted) throw abortedError(this.name, signal);
    const response = await this.call(Buffer.from(request.buffer, request.byteOffset, request.byteLength), signal);
    return this.outcome(response);
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    this.channel?.close();
    this.client?.close();
  }

  /** One unary call; aborting the signal cancels it (the server sees CANCELLED). */
  private async call(request: Buffer, signal: AbortSignal): Promise<Buffer> {
    if (this.channel === undefined) return this.callWithGrpcJs(this.client!, request, signal);
    try {
      return await this.channel.unary({
        path: TRACE_EXPORT_PATH,
        headers: this.metadataHeaders,
        message: request,
        compress: this.compression === 'gzip',
        timeoutMs: this.timeoutMs,
        signal,
      });
    } catch (error) {
      if (error instanceof GrpcCallAborted) throw abortedError(this.name, signal);
      if (error instanceof GrpcCallFailure) throw this.failure(error);
      throw error;
    }
  }

  private callWithGrpcJs(client: Client, request: Buffer, signal: AbortSignal): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const options = { deadline: Date.now() + this.timeoutMs };
      // Cloned because grpc-js adds its own headers to the metadata object it is given.
      const call = client.makeUnaryRequest(TRACE_EXPORT_PATH, passThrough, passThrough, request, this.metadata.clone(), options, (error, response) => {
        signal.removeEventListener('abort', cancel);
        if (signal.aborted) reject(abortedError(this.name, signal));
        else if (error) reject(this.failure(error));
        else resolve(response ?? Buffer.alloc(0));
      });
      const cancel = (): void => call.cancel();
      signal.addEventListener('abort', cancel, { once: true });
    });
  }

  /** Connection failures arrive as UNAVAILABLE (retryable) and timeouts as DEADLINE_EXCEEDED. */
  private failure(error: CallFailure): ExportError {
    const retryDelayMs = retryDelayFromTrailers(error.metadata);
    return classifyGrpcFailure(error.code, retryDelayMs, `${error.details} (${this.name} → ${this.address})`);
  }

  private outcome(response: Buffer): ExportOutcome | undefined {
    try {
      return outcomeOf(decodeTraceResponse(response));
    } catch (error) {
      // The backend said OK, so the spans are delivered; an unreadable answer cannot undo that.
      if (error instanceof OtlpDecodeError) return undefined;
      throw error;
    }
  }
}

function grpcJsClient(address: string, credentials: ChannelCredentials, compression: 'gzip' | 'none'): Client {
  return new Client(address, credentials, {
    'grpc.default_compression_algorithm': compression === 'gzip' ? compressionAlgorithms.gzip : compressionAlgorithms.identity,
    'grpc.primary_user_agent': USER_AGENT,
    // The pipeline retries with the Collector's backoff; a second retry layer would multiply attempts.
    'grpc.enable_retries': 0,
    // The channel owns its connections, so shutdown() closes them instead of leaving them pooled.
    'grpc.use_local_subchannel_pool': 1,
  });
}

/** OTel's own resolution: explicit options first, then env, then OTel's defaults. */
function resolveOtelConfiguration(options: OtlpGrpcExporterOptions, compression: 'gzip' | 'none', timeoutMs: number) {
  try {
    return convertLegacyOtlpGrpcOptions(
      {
        url: options.endpoint,
        metadata: headersToMetadata(options.headers),
        compression: compression === 'gzip' ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
        timeoutMillis: timeoutMs,
        credentials: explicitCredentials(options),
      },
      'TRACES',
    );
  } catch (error) {
    if (error instanceof PipelineConfigError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new PipelineConfigError('endpoint', `"${options.endpoint}" is not a usable gRPC endpoint: ${reason}`);
  }
}

/**
 * The credentials the options ask for, or undefined to let OTel decide from env
 * (OTEL_EXPORTER_OTLP_INSECURE, certificate files) when neither endpoint nor tls is given.
 */
function explicitCredentials(options: OtlpGrpcExporterOptions): ChannelCredentials | undefined {
  const { endpoint, tls } = options;
  if (endpoint === undefined && tls === undefined) return undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(endpoint?.trim() ?? '')?.[1]?.toLowerCase();
  const plaintext = scheme === 'http' || (scheme !== 'https' && tls?.insecure === true);
  if (plaintext) return createInsecureCredentials();
  const { ca, cert, key } = loadTlsMaterial(tls, 'tls');
  if (tls?.insecureSkipVerify === true) {
    // OTel's createSslCredentials takes no verify options, so this one case goes to grpc-js directly.
    return grpcCredentials.createSsl(ca, key, cert, { rejectUnauthorized: false, checkServerIdentity: () => undefined });
  }
  return createSslCredentials(ca, key, cert);
}

function headersToMetadata(headers: Readonly<Record<string, string>> | undefined): Metadata | undefined {
  if (headers === undefined) return undefined;
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) {
    try {
      metadata.set(key, value);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new PipelineConfigError(`headers.${key}`, `not a valid gRPC metadata entry: ${reason}`);
    }
  }
  return metadata;
}

function checkCompression(value: string): 'gzip' | 'none' {
  if (value === 'gzip' || value === 'none') return value;
  throw new PipelineConfigError('compression', `"${value}" is not supported; use "gzip" or "none"`);
}

function checkTimeout(value: number): number {
  if (Number.isFinite(value) && value > 0) return value;
  throw new PipelineConfigError('timeoutMs', `must be a positive number of milliseconds, got ${value}`);
}
