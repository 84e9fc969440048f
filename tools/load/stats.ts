/**
 * What a run counts, and its summary. Latency goes into a log-bucket histogram (the HDR idea,
 * two significant binary digits' worth of sub-buckets), so memory is fixed however long the run
 * and every percentile is within 1/64 (~1.6%) of the true value.
 */
import type { LoadProtocol } from './options.ts';

/** Sub-buckets per power of two: values below this are exact; above, relative error ≤ 1/(SUB/2). */
const SUB_BUCKETS = 128;
const SUB_BITS = 7;
const HALF = SUB_BUCKETS / 2;
/** Microseconds up to 2^32 (~71 minutes) are distinct; longer ones land in the last bucket. */
const MAX_EXPONENT = 32 - SUB_BITS;
const BUCKETS = SUB_BUCKETS + MAX_EXPONENT * HALF;
const MAX_MICROS = 0xffff_ffff;

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private maxMicros = 0;

  get count(): number {
    return this.total;
  }

  /** Records one latency in nanoseconds (hrtime difference). */
  recordNs(ns: bigint): void {
    const micros = Math.min(Number(ns / 1000n), MAX_MICROS);
    this.counts[bucketOf(micros)]!++;
    this.total++;
    if (micros > this.maxMicros) this.maxMicros = micros;
  }

  /** The latency (ms) at percentile `p` (0-100): the upper edge of its bucket, never above the max. */
  percentileMs(p: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(upperEdgeOf(i), this.maxMicros) / 1000;
    }
    return this.maxMicros / 1000;
  }

  maxMs(): number | null {
    return this.total === 0 ? null : this.maxMicros / 1000;
  }
}

function bucketOf(micros: number): number {
  if (micros < SUB_BUCKETS) return micros;
  // Bits above the top SUB_BITS: the exponent; the top SUB_BITS themselves (64..127): the sub-bucket.
  const exponent = 32 - Math.clz32(micros) - SUB_BITS;
  const sub = micros >>> exponent;
  return SUB_BUCKETS + (exponent - 1) * HALF + (sub - HALF);
}

function upperEdgeOf(bucket: number): number {
  if (bucket < SUB_BUCKETS) return bucket;
  const exponent = Math.floor((bucket - SUB_BUCKETS) / HALF) + 1;
  const sub = ((bucket - SUB_BUCKETS) % HALF) + HALF;
  return (sub + 1) * 2 ** exponent - 1;
}

/** How one request ended. */
export type RequestOutcome =
  /** Accepted; `rejected` spans of it were refused by a partial success. */
  | { readonly kind: 'ok'; readonly rejected: number }
  /** 429/503, gRPC UNAVAILABLE/RESOURCE_EXHAUSTED; `retryAfter` as the answer said it (seconds). */
  | { readonly kind: 'refused'; readonly retryAfter: string | undefined }
  /**
   * Any other answer, or none: `status` is the HTTP status, the gRPC code name, or a transport
   * failure (ECONNREFUSED, timeout, aborted); `answered` says whether the target answered.
   */
  | { readonly kind: 'error'; readonly status: string; readonly answered: boolean; readonly message?: string };

export interface LoadSummary {
  readonly target: string;
  readonly protocol: LoadProtocol;
  readonly durationSeconds: number;
  readonly requests: { readonly sent: number; readonly ok: number; readonly refused: number; readonly errors: number };
  /**
   * sent = acknowledged + refused + rejected + failed, where failed are the spans of requests
   * that ended in an error (those of an error answer or of no answer at all).
   */
  readonly spans: { readonly sent: number; readonly acknowledged: number; readonly refused: number; readonly rejected: number; readonly failed: number };
  /** Requests answered or failed per second of the run. */
  readonly requestsPerSecond: number;
  /** Acknowledged spans per second of the run: the throughput the target accepted. */
  readonly spansPerSecond: number;
  /** Of requests the target answered (any status); null when none was. */
  readonly latencyMs: { readonly p50: number | null; readonly p90: number | null; readonly p99: number | null; readonly max: number | null };
  /** Retry-After values (HTTP) / RetryInfo delays (gRPC), in seconds as text, by how often they were seen. */
  readonly retryAfter: Record<string, number>;
  readonly errorsByStatus: Record<string, number>;
  /** The first message seen for each error status, to say why without a packet capture. */
  readonly errorSamples: Record<string, string>;
}

/** The running counts of one load run. */
export class LoadStats {
  readonly latency = new LatencyHistogram();
  requestsSent = 0;
  requestsOk = 0;
  requestsRefused = 0;
  requestsErrors = 0;
  spansSent = 0;
  spansAcknowledged = 0;
  spansRefused = 0;
  spansRejected = 0;
  spansFailed = 0;
  readonly retryAfter = new Map<string, number>();
  readonly errorsByStatus = new Map<string, number>();
  readonly errorSamples = new Map<string, string>();

  /** Called when a request goes out. */
  sent(spans: number): void {
    this.requestsSent++;
    this.spansSent += spans;
  }

  /** Called when it has ended; `latencyNs` for an answered request. */
  ended(spans: number, outcome: RequestOutcome, latencyNs: bigint | undefined): void {
    if (latencyNs !== undefined) this.latency.recordNs(latencyNs);
    switch (outcome.kind) {
      case 'ok': {
        // A partial success cannot reject more than was sent, whatever the answer says.
        const rejected = Math.min(Math.max(outcome.rejected, 0), spans);
        this.requestsOk++;
        this.spansAcknowledged += spans - rejected;
        this.spansRejected += rejected;
        break;
      }
      case 'refused':
        this.requestsRefused++;
        this.spansRefused += spans;
        if (outcome.retryAfter !== undefined) increment(this.retryAfter, outcome.retryAfter);
        break;
      case 'error':
        this.requestsErrors++;
        this.spansFailed += spans;
        increment(this.errorsByStatus, outcome.status);
        if (outcome.message !== undefined && !this.errorSamples.has(outcome.status)) {
          this.errorSamples.set(outcome.status, outcome.message.slice(0, 300));
        }
        break;
    }
  }

  summary(target: string, protocol: LoadProtocol, durationSeconds: number): LoadSummary {
    const seconds = durationSeconds > 0 ? durationSeconds : Number.EPSILON;
    const ended = this.requestsOk + this.requestsRefused + this.requestsErrors;
    return {
      target,
      protocol,
      durationSeconds: round(durationSeconds, 6),
      requests: { sent: this.requestsSent, ok: this.requestsOk, refused: this.requestsRefused, errors: this.requestsErrors },
      spans: {
        sent: this.spansSent,
        acknowledged: this.spansAcknowledged,
        refused: this.spansRefused,
        rejected: this.spansRejected,
        failed: this.spansFailed,
      },
      requestsPerSecond: round(ended / seconds, 1),
      spansPerSecond: round(this.spansAcknowledged / seconds, 1),
      latencyMs: {
        p50: this.latency.percentileMs(50),
        p90: this.latency.percentileMs(90),
        p99: this.latency.percentileMs(99),
        max: this.latency.maxMs(),
      },
      retryAfter: Object.fromEntries(this.retryAfter),
      errorsByStatus: Object.fromEntries(this.errorsByStatus),
      errorSamples: Object.fromEntries(this.errorSamples),
    };
  }
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

// ---------------------------------------------------------------------------------------------
// The human summary

export function formatSummary(summary: LoadSummary): string {
  const { requests, spans, latencyMs } = summary;
  const lines = [
    `target        ${summary.target} (${summary.protocol})`,
    `duration      ${summary.durationSeconds.toFixed(2)} s`,
    '',
    `requests      ${num(requests.sent)} sent   ${num(requests.ok)} ok   ${num(requests.refused)} refused   ${num(requests.errors)} errors`,
    `spans         ${num(spans.sent)} sent   ${num(spans.acknowledged)} acknowledged   ${num(spans.refused)} refused   ${num(spans.rejected)} rejected   ${num(spans.failed)} failed`,
    `throughput    ${num(summary.requestsPerSecond)} requests/s   ${num(summary.spansPerSecond)} spans/s acknowledged`,
    `latency (ms)  p50 ${ms(latencyMs.p50)}   p90 ${ms(latencyMs.p90)}   p99 ${ms(latencyMs.p99)}   max ${ms(latencyMs.max)}`,
  ];
  const retryAfter = Object.entries(summary.retryAfter);
  if (retryAfter.length > 0) lines.push(`retry-after   ${retryAfter.map(([value, count]) => `${value}s ×${num(count)}`).join('   ')}`);
  for (const [status, count] of Object.entries(summary.errorsByStatus)) {
    const sample = summary.errorSamples[status];
    lines.push(`error         ${status} ×${num(count)}${sample === undefined ? '' : `: ${sample}`}`);
  }
  return `${lines.join('\n')}\n`;
}

function num(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

function ms(value: number | null): string {
  return value === null ? '-' : value.toFixed(value < 10 ? 2 : 1);
}
