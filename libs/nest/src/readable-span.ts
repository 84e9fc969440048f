import { spanExtra, type AnyValue, type InstrumentationScope, type KeyValue, type Resource, type Span, type SpanEvent, type SpanLink } from '#spanring/otlp';

/**
 * The parts of an OpenTelemetry SDK ReadableSpan we read. Written structurally (not imported
 * from the SDK) so hosts on @opentelemetry/sdk-trace 3.x and on sdk-trace-base 2.x both fit.
 */
export interface SdkReadableSpan {
  readonly name: string;
  readonly kind: number;
  spanContext(): SdkSpanContext;
  readonly parentSpanContext?: SdkSpanContext;
  readonly startTime: readonly [number, number];
  readonly endTime: readonly [number, number];
  readonly status: { readonly code: number; readonly message?: string };
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly links: readonly {
    readonly context: SdkSpanContext;
    readonly attributes?: Readonly<Record<string, unknown>>;
    readonly droppedAttributesCount?: number;
  }[];
  readonly events: readonly {
    readonly name: string;
    readonly time: readonly [number, number];
    readonly attributes?: Readonly<Record<string, unknown>>;
    readonly droppedAttributesCount?: number;
  }[];
  readonly resource: { readonly attributes: Readonly<Record<string, unknown>>; readonly schemaUrl?: string };
  readonly instrumentationScope: {
    readonly name: string;
    readonly version?: string;
    readonly schemaUrl?: string;
    readonly attributes?: Readonly<Record<string, unknown>>;
  };
  readonly droppedAttributesCount: number;
  readonly droppedEventsCount: number;
  readonly droppedLinksCount: number;
}

export interface SdkSpanContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly isRemote?: boolean;
  readonly traceState?: { serialize(): string };
}

// OTLP span flags: bit 8 says whether the is-remote bit (9) is known.
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

/**
 * Converts SDK spans to our model, sharing one Resource / InstrumentationScope object per SDK
 * resource / scope object, as the OTLP encoder expects.
 */
export class ReadableSpanConverter {
  private readonly resources = new WeakMap<object, Resource>();
  private readonly scopes = new WeakMap<object, InstrumentationScope>();

  convert(span: SdkReadableSpan): Span {
    const context = span.spanContext();
    const parent = span.parentSpanContext;
    const events = span.events.map(toEvent);
    const links = span.links.map(toLink);
    const traceState = context.traceState?.serialize() ?? '';
    const statusMessage = span.status.message ?? '';
    return {
      resource: this.resourceOf(span.resource),
      scope: this.scopeOf(span.instrumentationScope),
      traceId: hexToBytes(context.traceId),
      spanId: hexToBytes(context.spanId),
      parentSpanId: parent === undefined ? undefined : hexToBytes(parent.spanId),
      name: span.name,
      // API SpanKind counts from INTERNAL = 0; OTLP from UNSPECIFIED = 0, INTERNAL = 1.
      kind: span.kind + 1,
      startTimeUnixNano: hrTimeToNanos(span.startTime),
      endTimeUnixNano: hrTimeToNanos(span.endTime),
      flags: (context.traceFlags & 0xff) | HAS_IS_REMOTE | (parent?.isRemote ? IS_REMOTE : 0),
      statusCode: span.status.code,
      attributes: toKeyValues(span.attributes),
      extra: spanExtra({
        traceState,
        statusMessage,
        droppedAttributesCount: span.droppedAttributesCount,
        events,
        droppedEventsCount: span.droppedEventsCount,
        links,
        droppedLinksCount: span.droppedLinksCount,
      }),
    };
  }

  private resourceOf(resource: SdkReadableSpan['resource']): Resource {
    let converted = this.resources.get(resource);
    if (converted === undefined) {
      converted = {
        attributes: toKeyValues(resource.attributes),
        droppedAttributesCount: 0,
        entityRefs: [],
        schemaUrl: resource.schemaUrl ?? '',
      };
      this.resources.set(resource, converted);
    }
    return converted;
  }

  private scopeOf(scope: SdkReadableSpan['instrumentationScope']): InstrumentationScope {
    let converted = this.scopes.get(scope);
    if (converted === undefined) {
      converted = {
        name: scope.name,
        version: scope.version ?? '',
        attributes: toKeyValues(scope.attributes ?? {}),
        droppedAttributesCount: 0,
        schemaUrl: scope.schemaUrl ?? '',
      };
      this.scopes.set(scope, converted);
    }
    return converted;
  }
}

function toEvent(event: SdkReadableSpan['events'][number]): SpanEvent {
  return {
    timeUnixNano: hrTimeToNanos(event.time),
    name: event.name,
    attributes: toKeyValues(event.attributes ?? {}),
    droppedAttributesCount: event.droppedAttributesCount ?? 0,
  };
}

function toLink(link: SdkReadableSpan['links'][number]): SpanLink {
  return {
    traceId: hexToBytes(link.context.traceId),
    spanId: hexToBytes(link.context.spanId),
    traceState: link.context.traceState?.serialize() ?? '',
    attributes: toKeyValues(link.attributes ?? {}),
    droppedAttributesCount: link.droppedAttributesCount ?? 0,
    flags: (link.context.traceFlags & 0xff) | HAS_IS_REMOTE | (link.context.isRemote ? IS_REMOTE : 0),
  };
}

function toKeyValues(attributes: Readonly<Record<string, unknown>>): KeyValue[] {
  const out: KeyValue[] = [];
  for (const key in attributes) {
    const value = attributes[key];
    if (value !== undefined) out.push({ key, value: toAnyValue(value) });
  }
  return out;
}

/** As the SDK's own OTLP transformer: integral numbers are int64, others double. */
function toAnyValue(value: unknown): AnyValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'bigint':
      return value;
    case 'number':
      return Number.isSafeInteger(value) ? BigInt(value) : value;
    default:
      if (value === null) return null;
      if (value instanceof Uint8Array) return value;
      if (Array.isArray(value)) return value.map(toAnyValue);
      return String(value);
  }
}

function hrTimeToNanos([seconds, nanos]: readonly [number, number]): bigint {
  return BigInt(seconds) * 1_000_000_000n + BigInt(nanos);
}

function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
