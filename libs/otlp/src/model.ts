/**
 * The span model: every field of OTLP trace data, flattened to one `Span` per span.
 * A span keeps a small fixed core; data most spans lack lives in the optional `extra` box;
 * resource and scope are holder objects shared by reference by all spans of one
 * ResourceSpans / ScopeSpans. Rules: specs/otlp-codec.md.
 */

/** Span.SpanKind values. Other int32 values are carried unchanged (proto3 enums are open). */
export const SpanKind = {
  Unspecified: 0,
  Internal: 1,
  Server: 2,
  Client: 3,
  Producer: 4,
  Consumer: 5,
} as const;
export type SpanKind = (typeof SpanKind)[keyof typeof SpanKind];

/** Status.StatusCode values. Other int32 values are carried unchanged. */
export const StatusCode = {
  Unset: 0,
  Ok: 1,
  Error: 2,
} as const;
export type StatusCode = (typeof StatusCode)[keyof typeof StatusCode];

/** Deepest AnyValue nesting accepted: an attribute's value is depth 1 (Invariant C9). */
export const MAX_ANY_VALUE_DEPTH = 64;

/**
 * An OTLP AnyValue as a plain JavaScript value:
 * string ⇔ string_value, boolean ⇔ bool_value, bigint ⇔ int_value (int64),
 * number ⇔ double_value, Uint8Array ⇔ bytes_value, array ⇔ array_value,
 * `{ kvlist }` ⇔ kvlist_value, null ⇔ an empty AnyValue (no member set).
 */
export type AnyValue = string | boolean | bigint | number | Uint8Array | readonly AnyValue[] | KeyValueList | null;

/** kvlist_value: a list of key/value pairs nested inside an AnyValue. */
export interface KeyValueList {
  readonly kvlist: readonly KeyValue[];
}

export interface KeyValue {
  readonly key: string;
  readonly value: AnyValue;
}

/** Resource.entity_refs element (OTLP status: development). */
export interface EntityRef {
  readonly schemaUrl: string;
  readonly type: string;
  readonly idKeys: readonly string[];
  readonly descriptionKeys: readonly string[];
}

/** One per ResourceSpans: the Resource message plus ResourceSpans.schema_url. */
export interface Resource {
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: number;
  readonly entityRefs: readonly EntityRef[];
  /** ResourceSpans.schema_url: applies to this resource's data. */
  readonly schemaUrl: string;
}

/** One per ScopeSpans: the InstrumentationScope message plus ScopeSpans.schema_url. */
export interface InstrumentationScope {
  readonly name: string;
  readonly version: string;
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: number;
  /** ScopeSpans.schema_url: applies to the spans and span events of this scope. */
  readonly schemaUrl: string;
}

export interface SpanEvent {
  readonly timeUnixNano: bigint;
  readonly name: string;
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: number;
}

export interface SpanLink {
  /** 16 bytes. */
  readonly traceId: Uint8Array;
  /** 8 bytes. */
  readonly spanId: Uint8Array;
  readonly traceState: string;
  readonly attributes: readonly KeyValue[];
  readonly droppedAttributesCount: number;
  /** fixed32 bit field; low 8 bits are the W3C trace flags. */
  readonly flags: number;
}

/**
 * Span data most spans do not carry. Decoders set `Span.extra` to undefined when every
 * field here would be at its default, so decoded spans are canonical (Invariant C12).
 */
export interface SpanExtra {
  readonly traceState: string;
  readonly statusMessage: string;
  readonly droppedAttributesCount: number;
  readonly events: readonly SpanEvent[];
  readonly droppedEventsCount: number;
  readonly links: readonly SpanLink[];
  readonly droppedLinksCount: number;
}

/**
 * The canonical `Span.extra` for these fields: undefined when every one is at its default
 * (Invariant C12), so equal spans compare equal whichever decoder or converter built them.
 */
export function spanExtra(fields: SpanExtra): SpanExtra | undefined {
  const hasExtra =
    fields.traceState !== '' ||
    fields.statusMessage !== '' ||
    fields.droppedAttributesCount !== 0 ||
    fields.events.length !== 0 ||
    fields.droppedEventsCount !== 0 ||
    fields.links.length !== 0 ||
    fields.droppedLinksCount !== 0;
  return hasExtra ? fields : undefined;
}

export interface Span {
  /** Shared by every span of the same ResourceSpans. */
  readonly resource: Resource;
  /** Shared by every span of the same ScopeSpans. */
  readonly scope: InstrumentationScope;
  /** Exactly 16 bytes. */
  readonly traceId: Uint8Array;
  /** Exactly 8 bytes. */
  readonly spanId: Uint8Array;
  /** 8 bytes, or undefined for a root span. */
  readonly parentSpanId: Uint8Array | undefined;
  readonly name: string;
  /** A SpanKind value (any int32 is carried). */
  readonly kind: number;
  /** Unix epoch nanoseconds, 0 ..= 2^64-1, exact. */
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  /** fixed32 bit field; low 8 bits are the W3C trace flags, bits 8-9 the is-remote state. */
  readonly flags: number;
  /** A StatusCode value (any int32 is carried). */
  readonly statusCode: number;
  readonly attributes: readonly KeyValue[];
  readonly extra: SpanExtra | undefined;
}

/** The spans of one scope inside a ResourceGroup, in their original order. */
export interface ScopeGroup {
  readonly scope: InstrumentationScope;
  readonly spans: Span[];
}

/** The spans of one resource object, split by scope object; the shape of one ResourceSpans. */
export interface ResourceGroup {
  readonly resource: Resource;
  readonly scopes: ScopeGroup[];
}

/**
 * Groups spans by resource object, then by scope object (by reference, not by content),
 * in order of first appearance, keeping span order within each group: the shape an
 * ExportTraceServiceRequest is encoded in (Invariant C13).
 */
export function groupSpans(spans: readonly Span[]): ResourceGroup[] {
  const groups: ResourceGroup[] = [];
  const byResource = new Map<Resource, { group: ResourceGroup; byScope: Map<InstrumentationScope, ScopeGroup> }>();
  let lastResource: Resource | undefined;
  let lastScope: InstrumentationScope | undefined;
  let lastSpans: Span[] = [];
  for (const span of spans) {
    // Spans of one request arrive already grouped, so the previous group is nearly always the one.
    if (span.resource === lastResource && span.scope === lastScope) {
      lastSpans.push(span);
      continue;
    }
    let entry = byResource.get(span.resource);
    if (entry === undefined) {
      entry = { group: { resource: span.resource, scopes: [] }, byScope: new Map() };
      byResource.set(span.resource, entry);
      groups.push(entry.group);
    }
    let scopeGroup = entry.byScope.get(span.scope);
    if (scopeGroup === undefined) {
      scopeGroup = { scope: span.scope, spans: [] };
      entry.byScope.set(span.scope, scopeGroup);
      entry.group.scopes.push(scopeGroup);
    }
    scopeGroup.spans.push(span);
    lastResource = span.resource;
    lastScope = span.scope;
    lastSpans = scopeGroup.spans;
  }
  return groups;
}

/** Shared empty list for absent repeated fields, so decoding allocates nothing for them. */
export const NO_ITEMS: readonly never[] = Object.freeze([]);
