/**
 * A span that stays in its protobuf bytes until someone reads more than its routing data.
 *
 * Why: a decoded span is ~1.8 KB of heap in a dozen objects that live through the batching
 * window, so a collector that decodes everything spends most of its CPU in the garbage
 * collector. A WireSpan is one small object pointing into the request buffer; the batcher
 * reads its trace id words, the protobuf encoder copies its bytes (Invariant C21), and any
 * other reader (JSON, file, debug) gets the fully decoded span, decoded once on first use.
 */
import type { InstrumentationScope, KeyValue, Resource, Span, SpanExtra } from './model.ts';
import { decodeSpanAt } from './proto-decode.ts';
import { toHex } from './text.ts';

export class WireSpan implements Span {
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
  /** The buffer holding the Span message; not written to while the span may be read (Invariant C21). */
  readonly wire: Uint8Array;
  /** The Span message body is wire[wireStart, wireEnd) (no tag, no length prefix). */
  readonly wireStart: number;
  readonly wireEnd: number;
  /**
   * The 16-byte trace id as four big-endian int32 words, so grouping by trace compares
   * four small integers and allocates nothing.
   */
  readonly traceWord0: number;
  readonly traceWord1: number;
  readonly traceWord2: number;
  readonly traceWord3: number;
  /**
   * The durable-log record this span was received in (the pipeline's origin tag, set by the
   * receiver before the span enters a ring); 0 when the span is not in any log.
   */
  origin: number;
  /** Filled by decoded(); a plain field, not #private, so proxies and test tools can read getters. */
  private decodedSpan: Span | undefined;

  /**
   * `wire[traceIdAt, traceIdAt + 16)` must be the span's trace id and the body must be a Span
   * message the decoder accepts: scanTraceRequest checks both before building one.
   */
  constructor(resource: Resource, scope: InstrumentationScope, wire: Uint8Array, wireStart: number, wireEnd: number, traceIdAt: number) {
    this.resource = resource;
    this.scope = scope;
    this.wire = wire;
    this.wireStart = wireStart;
    this.wireEnd = wireEnd;
    this.traceWord0 = idWordAt(wire, traceIdAt);
    this.traceWord1 = idWordAt(wire, traceIdAt + 4);
    this.traceWord2 = idWordAt(wire, traceIdAt + 8);
    this.traceWord3 = idWordAt(wire, traceIdAt + 12);
    this.origin = 0;
    this.decodedSpan = undefined;
  }

  /** Encoded size of the Span message body. */
  get wireLength(): number {
    return this.wireEnd - this.wireStart;
  }

  /** The same span as a plain decoded Span (decoded once, then cached). */
  decoded(): Span {
    this.decodedSpan ??= decodeSpanAt(this.wire, this.wireStart, this.wireEnd, this.resource, this.scope);
    return this.decodedSpan;
  }

  get traceId(): Uint8Array {
    return this.decoded().traceId;
  }
  get spanId(): Uint8Array {
    return this.decoded().spanId;
  }
  get parentSpanId(): Uint8Array | undefined {
    return this.decoded().parentSpanId;
  }
  get name(): string {
    return this.decoded().name;
  }
  get kind(): number {
    return this.decoded().kind;
  }
  get startTimeUnixNano(): bigint {
    return this.decoded().startTimeUnixNano;
  }
  get endTimeUnixNano(): bigint {
    return this.decoded().endTimeUnixNano;
  }
  get flags(): number {
    return this.decoded().flags;
  }
  get statusCode(): number {
    return this.decoded().statusCode;
  }
  get attributes(): readonly KeyValue[] {
    return this.decoded().attributes;
  }
  get extra(): SpanExtra | undefined {
    return this.decoded().extra;
  }
}

/** A plain decoded Span for any span: WireSpans are decoded, others returned as they are. */
export function plainSpan(span: Span): Span {
  return span instanceof WireSpan ? span.decoded() : span;
}

/**
 * The trace id as 32 lowercase hex digits, for any span; a WireSpan's comes from its trace-id
 * words, so counting or logging traces does not decode the span.
 */
export function traceIdHex(span: Span): string {
  if (!(span instanceof WireSpan)) return toHex(span.traceId);
  return wordHex(span.traceWord0) + wordHex(span.traceWord1) + wordHex(span.traceWord2) + wordHex(span.traceWord3);
}

function wordHex(word: number): string {
  return (word >>> 0).toString(16).padStart(8, '0');
}

/**
 * The big-endian int32 word of an id at `at` (missing bytes read as 0): how WireSpan stores
 * its trace id, and how the batcher reads a decoded span's, so both compare alike.
 */
export function idWordAt(id: Uint8Array, at: number): number {
  return ((id[at] ?? 0) << 24) | ((id[at + 1] ?? 0) << 16) | ((id[at + 2] ?? 0) << 8) | (id[at + 3] ?? 0);
}
