/**
 * The receivers' protobuf decoder: validates an ExportTraceServiceRequest exactly as
 * decodeTraceRequest does, but turns each span into a WireSpan (a pointer into the request)
 * instead of a tree of decoded objects. Resources and scopes, one per request part, are
 * decoded as usual.
 *
 * The walk below checks every rule the decoder enforces (Invariant C22) without building a
 * value or an error path. When it finds a problem it hands the request to decodeTraceRequest,
 * which reports the problem with its full field path; so a bad request costs a second pass,
 * and a good one costs no path bookkeeping at all.
 */
import { OtlpDecodeError } from './errors.ts';
import { MAX_ANY_VALUE_DEPTH, NO_ITEMS } from './model.ts';
import type { InstrumentationScope, Resource, Span } from './model.ts';
import { decodeResourceInto, decodeScopeInto, decodeTraceRequest, SPAN_ID_BYTES, TRACE_ID_BYTES } from './proto-decode.ts';
import {
  AnyValueTag,
  EventTag,
  KeyValueTag,
  LinkTag,
  ListTag,
  RequestTag,
  ResourceSpansTag,
  ScopeSpansTag,
  SpanTag,
  StatusTag,
} from './schema.ts';
import { ProtoReader } from './wire.ts';
import { WireSpan } from './wire-span.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Decodes an ExportTraceServiceRequest into WireSpans that point into `bytes`: the caller must
 * not modify `bytes` afterwards (Invariant C21). Throws the same OtlpDecodeError, with the same
 * message, as decodeTraceRequest would.
 */
export function scanTraceRequest(bytes: Uint8Array): Span[] {
  try {
    scanRequest(new ProtoReader(bytes), scanSpan, scanned);
    return scanned.take();
  } catch (error) {
    scanned.clear();
    if (!(error instanceof OtlpDecodeError)) throw error;
    // Invariant C22: the decoder rejects this input too and names the field; should it ever
    // accept what the scan refused, its result is still a correct decoding of the request.
    return decodeTraceRequest(bytes);
  }
}

/**
 * Validates an ExportTraceServiceRequest exactly as scanTraceRequest does (Invariant C22:
 * same accepted inputs, same OtlpDecodeError message) and returns how many spans it holds,
 * building no span at all: for a receiver worker that forwards the valid bytes as they are.
 */
export function validateTraceRequest(bytes: Uint8Array): number {
  try {
    return scanRequest(new ProtoReader(bytes), checkSpan, undefined);
  } catch (error) {
    if (!(error instanceof OtlpDecodeError)) throw error;
    return decodeTraceRequest(bytes).length;
  }
}

/**
 * Counts the spans of an ExportTraceServiceRequest from its structure alone (request →
 * resource spans → scope spans → span fields), without looking inside the spans: for a
 * receiver answering a request it refuses anyway, so refusing costs no validation. Equal to
 * decodeTraceRequest(bytes).length whenever the decoder accepts the bytes; throws
 * OtlpDecodeError (without the decoder's path) when even that structure is broken.
 */
export function countTraceRequestSpans(bytes: Uint8Array): number {
  return scanRequest(new ProtoReader(bytes), skipSpan, undefined);
}

/**
 * scanTraceRequest for bytes that already passed it (or were encoded by encodeTraceRequest),
 * when no span index came with them (scanIndexedTraceRequest is cheaper when one did, and is
 * held to this function's result, C24). Resources and scopes are decoded as usual, but a
 * span's fields are skipped by wire type, unchecked, apart from finding its trace id.
 * Invariant C22 holds only because the bytes were validated before: do not use it on input.
 */
export function scanValidatedTraceRequest(bytes: Uint8Array): Span[] {
  try {
    scanRequest(new ProtoReader(bytes), scanValidatedSpan, scanned);
    return scanned.take();
  } finally {
    scanned.clear();
  }
}

/**
 * validateTraceRequest that also returns its span index: where each span's trace id starts in
 * `bytes`, in span order (one entry per span, so its length is the span count). A receiver
 * worker sends it along with the bytes, and scanIndexedTraceRequest then builds the spans
 * without walking their fields again. Throws the decoder's OtlpDecodeError for invalid input;
 * should the decoder ever accept what the walk refused (Invariant C22 says it does not), the
 * walk's own error, since there is no index to give.
 */
export function indexTraceRequest(bytes: Uint8Array): Uint32Array {
  try {
    scanRequest(new ProtoReader(bytes), indexSpan, undefined);
    return spanIndex.take();
  } catch (error) {
    spanIndex.clear();
    if (!(error instanceof OtlpDecodeError)) throw error;
    decodeTraceRequest(bytes);
    throw error;
  }
}

/**
 * scanValidatedTraceRequest for validated bytes that come with their span index
 * (indexTraceRequest's, or one made the same way): each span is located by its length alone
 * and takes its trace id offset from the index, so no span field is read. Invariant C24: the
 * same spans as scanValidatedTraceRequest gives, for the index indexTraceRequest gives; an
 * index that does not fit the request (wrong count, an offset outside its span) is an
 * OtlpDecodeError, never a span pointing elsewhere.
 */
export function scanIndexedTraceRequest(bytes: Uint8Array, traceIdAt: Uint32Array): Span[] {
  indexed = traceIdAt;
  indexedNext = 0;
  try {
    scanRequest(new ProtoReader(bytes), scanIndexedSpan, scanned);
    if (indexedNext !== traceIdAt.length) {
      throw new OtlpDecodeError('', `the span index lists ${traceIdAt.length} spans but the request holds ${indexedNext}`);
    }
    return scanned.take();
  } finally {
    scanned.clear();
    indexed = NO_INDEX;
  }
}

/**
 * Where a scan puts the spans it builds: one array reused from request to request, so its
 * storage grows once instead of by doubling for every request (about 16 B per span of garbage,
 * measured with a sampling heap profile), and copied out exactly sized by take().
 */
class SpanList {
  private readonly items: (Span | undefined)[] = [];
  private size = 0;

  add(span: Span): void {
    if (this.size === this.items.length) this.items.push(span);
    else this.items[this.size] = span;
    this.size++;
  }

  /** The spans added since the last take() or clear(), in order; then forgets them. */
  take(): Span[] {
    const spans = this.items.slice(0, this.size) as Span[];
    this.clear();
    return spans;
  }

  /** Forgets the spans added (drops the references, keeps the storage). */
  clear(): void {
    this.items.fill(undefined, 0, this.size);
    this.size = 0;
  }
}

/** Scans run to completion on one thread and never nest, so one list serves them all. */
const scanned = new SpanList();

/** The trace id offsets indexTraceRequest collects: storage grown once, copied out exactly sized. */
class SpanIndex {
  private offsets = new Uint32Array(1024);
  private size = 0;

  add(traceIdAt: number): void {
    if (this.size === this.offsets.length) {
      const grown = new Uint32Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.offsets[this.size++] = traceIdAt;
  }

  take(): Uint32Array {
    const taken = this.offsets.slice(0, this.size);
    this.size = 0;
    return taken;
  }

  clear(): void {
    this.size = 0;
  }
}

const spanIndex = new SpanIndex();
const NO_INDEX = new Uint32Array(0);
/** The index scanIndexedTraceRequest reads, and its next entry (scans never nest). */
let indexed: Uint32Array = NO_INDEX;
let indexedNext = 0;

/** Reads one span message; returns the span, or undefined when only checking. */
type SpanScanner = (reader: ProtoReader, resource: Resource, scope: InstrumentationScope) => WireSpan | undefined;

/** Walks a request, handing each span to scanOne and what it returns to `out`; returns the span count. */
function scanRequest(reader: ProtoReader, scanOne: SpanScanner, out: SpanList | undefined): number {
  let count = 0;
  while (reader.more()) {
    const tag = reader.tag();
    if (tag === RequestTag.resourceSpans) count += scanResourceSpans(reader, out, scanOne);
    else reader.skipUnknown(tag, RequestTag);
  }
  return count;
}

function scanResourceSpans(reader: ProtoReader, out: SpanList | undefined, scanOne: SpanScanner): number {
  const outer = reader.enter();
  let count = 0;
  const resource: Mutable<Resource> = { attributes: NO_ITEMS, droppedAttributesCount: 0, entityRefs: NO_ITEMS, schemaUrl: '' };
  while (reader.more()) {
    const tag = reader.tag();
    if (tag === ResourceSpansTag.resource) decodeResourceInto(reader, resource);
    else if (tag === ResourceSpansTag.scopeSpans) count += scanScopeSpans(reader, resource, out, scanOne);
    else if (tag === ResourceSpansTag.schemaUrl) resource.schemaUrl = reader.string();
    else reader.skipUnknown(tag, ResourceSpansTag);
  }
  reader.leave(outer);
  return count;
}

function scanScopeSpans(reader: ProtoReader, resource: Resource, out: SpanList | undefined, scanOne: SpanScanner): number {
  const outer = reader.enter();
  let count = 0;
  // Invariant C2: spans may precede the scope field, so they point at a holder filled in as it comes.
  const scope: Mutable<InstrumentationScope> = { name: '', version: '', attributes: NO_ITEMS, droppedAttributesCount: 0, schemaUrl: '' };
  while (reader.more()) {
    const tag = reader.tag();
    if (tag === ScopeSpansTag.spans) {
      const span = scanOne(reader, resource, scope);
      if (span !== undefined) out!.add(span);
      count++;
    } else if (tag === ScopeSpansTag.scope) decodeScopeInto(reader, scope);
    else if (tag === ScopeSpansTag.schemaUrl) scope.schemaUrl = reader.string();
    else reader.skipUnknown(tag, ScopeSpansTag);
  }
  reader.leave(outer);
  return count;
}

/** Any failure of the walk: the caller re-decodes for the precise message. */
function invalid(): OtlpDecodeError {
  return new OtlpDecodeError('', 'invalid span');
}

function scanSpan(reader: ProtoReader, resource: Resource, scope: InstrumentationScope): WireSpan {
  const outer = reader.enter();
  const start = reader.offset;
  const end = reader.messageEnd;
  const traceIdAt = checkSpanFields(reader);
  reader.leave(outer);
  return new WireSpan(resource, scope, reader.input, start, end, traceIdAt);
}

function skipSpan(reader: ProtoReader): undefined {
  reader.skipBytes();
  return undefined;
}

function checkSpan(reader: ProtoReader): undefined {
  const outer = reader.enter();
  checkSpanFields(reader);
  reader.leave(outer);
  return undefined;
}

function indexSpan(reader: ProtoReader): undefined {
  const outer = reader.enter();
  spanIndex.add(checkSpanFields(reader));
  reader.leave(outer);
  return undefined;
}

function scanIndexedSpan(reader: ProtoReader, resource: Resource, scope: InstrumentationScope): WireSpan {
  const length = reader.skipBytes();
  const end = reader.offset;
  const start = end - length;
  const traceIdAt = indexed[indexedNext];
  // Invariant C24: a span only ever points at a trace id inside its own bytes.
  if (traceIdAt === undefined || traceIdAt < start || traceIdAt + TRACE_ID_BYTES > end) {
    throw new OtlpDecodeError('', `span ${indexedNext} of the request: its indexed trace id offset is outside the span`);
  }
  indexedNext++;
  return new WireSpan(resource, scope, reader.input, start, end, traceIdAt);
}

/** Checks the fields of the span message the reader is in; returns where its trace id starts. */
function checkSpanFields(reader: ProtoReader): number {
  let traceIdAt = -1;
  let traceIdLength = 0;
  let spanIdLength = 0;
  while (reader.more()) {
    const tag = reader.tag();
    switch (tag) {
      case SpanTag.traceId:
        // Invariant C20: a repeated field keeps its last value, as the decoder does.
        traceIdLength = reader.skipBytes();
        traceIdAt = reader.offset - traceIdLength;
        break;
      case SpanTag.spanId:
        spanIdLength = reader.skipBytes();
        break;
      case SpanTag.parentSpanId: {
        const length = reader.skipBytes();
        if (length !== 0 && length !== SPAN_ID_BYTES) throw invalid();
        break;
      }
      case SpanTag.traceState:
      case SpanTag.name:
        reader.skipString();
        break;
      case SpanTag.kind:
      case SpanTag.droppedAttributesCount:
      case SpanTag.droppedEventsCount:
      case SpanTag.droppedLinksCount:
        reader.skipVarint();
        break;
      case SpanTag.startTimeUnixNano:
      case SpanTag.endTimeUnixNano:
        reader.skipFixed64();
        break;
      case SpanTag.flags:
        reader.skipFixed32();
        break;
      case SpanTag.attributes:
        checkKeyValue(reader, 1);
        break;
      case SpanTag.events:
        checkEvent(reader);
        break;
      case SpanTag.links:
        checkLink(reader);
        break;
      case SpanTag.status:
        checkStatus(reader);
        break;
      default:
        reader.skipUnknown(tag, SpanTag);
    }
  }
  // Invariant C3, as the decoder checks it: ids have exactly their length.
  if (traceIdLength !== TRACE_ID_BYTES || spanIdLength !== SPAN_ID_BYTES) throw invalid();
  return traceIdAt;
}

function scanValidatedSpan(reader: ProtoReader, resource: Resource, scope: InstrumentationScope): WireSpan {
  const outer = reader.enter();
  const start = reader.offset;
  const end = reader.messageEnd;
  let traceIdAt = -1;
  while (reader.more()) {
    const tag = reader.tag();
    if (tag !== SpanTag.traceId) {
      reader.skipField(tag);
      continue;
    }
    const length = reader.skipBytes();
    traceIdAt = reader.offset - length;
  }
  reader.leave(outer);
  if (traceIdAt < 0) throw new OtlpDecodeError('', 'a span of a request validated before has no trace id');
  return new WireSpan(resource, scope, reader.input, start, end, traceIdAt);
}

function checkStatus(reader: ProtoReader): void {
  const outer = reader.enter();
  while (reader.more()) {
    const tag = reader.tag();
    if (tag === StatusTag.message) reader.skipString();
    else if (tag === StatusTag.code) reader.skipVarint();
    else reader.skipUnknown(tag, StatusTag);
  }
  reader.leave(outer);
}

function checkEvent(reader: ProtoReader): void {
  const outer = reader.enter();
  while (reader.more()) {
    const tag = reader.tag();
    if (tag === EventTag.attributes) checkKeyValue(reader, 1);
    else if (tag === EventTag.name) reader.skipString();
    else if (tag === EventTag.timeUnixNano) reader.skipFixed64();
    else if (tag === EventTag.droppedAttributesCount) reader.skipVarint();
    else reader.skipUnknown(tag, EventTag);
  }
  reader.leave(outer);
}

function checkLink(reader: ProtoReader): void {
  const outer = reader.enter();
  let traceIdLength = 0;
  let spanIdLength = 0;
  while (reader.more()) {
    const tag = reader.tag();
    switch (tag) {
      case LinkTag.traceId:
        traceIdLength = reader.skipBytes();
        break;
      case LinkTag.spanId:
        spanIdLength = reader.skipBytes();
        break;
      case LinkTag.traceState:
        reader.skipString();
        break;
      case LinkTag.attributes:
        checkKeyValue(reader, 1);
        break;
      case LinkTag.droppedAttributesCount:
        reader.skipVarint();
        break;
      case LinkTag.flags:
        reader.skipFixed32();
        break;
      default:
        reader.skipUnknown(tag, LinkTag);
    }
  }
  reader.leave(outer);
  if (traceIdLength !== TRACE_ID_BYTES || spanIdLength !== SPAN_ID_BYTES) throw invalid();
}

/** `depth` is the nesting depth of this pair's value (Invariant C9). */
function checkKeyValue(reader: ProtoReader, depth: number): void {
  // Invariant C9: the fast path has no depth check of its own, so it runs only within the cap.
  if (depth <= MAX_ANY_VALUE_DEPTH && reader.skipSimpleKeyValue()) return;
  const outer = reader.enter();
  while (reader.more()) {
    const tag = reader.tag();
    if (tag === KeyValueTag.key) reader.skipString();
    else if (tag === KeyValueTag.value) checkAnyValue(reader, depth);
    else reader.skipUnknown(tag, KeyValueTag);
  }
  reader.leave(outer);
}

function checkAnyValue(reader: ProtoReader, depth: number): void {
  if (depth > MAX_ANY_VALUE_DEPTH) throw invalid();
  const outer = reader.enter();
  while (reader.more()) {
    const tag = reader.tag();
    switch (tag) {
      case AnyValueTag.stringValue:
        reader.skipString();
        break;
      case AnyValueTag.boolValue:
      case AnyValueTag.intValue:
        reader.skipVarint();
        break;
      case AnyValueTag.doubleValue:
        reader.skipFixed64();
        break;
      case AnyValueTag.bytesValue:
        reader.skipBytes();
        break;
      case AnyValueTag.arrayValue:
        checkList(reader, depth, false);
        break;
      case AnyValueTag.kvlistValue:
        checkList(reader, depth, true);
        break;
      default:
        reader.skipUnknown(tag, AnyValueTag);
    }
  }
  reader.leave(outer);
}

/** ArrayValue (AnyValue items) and KeyValueList (KeyValue items) share `repeated values = 1`. */
function checkList(reader: ProtoReader, depth: number, keyValues: boolean): void {
  const outer = reader.enter();
  while (reader.more()) {
    const tag = reader.tag();
    if (tag !== ListTag.values) reader.skipUnknown(tag, ListTag);
    else if (keyValues) checkKeyValue(reader, depth + 1);
    else checkAnyValue(reader, depth + 1);
  }
  reader.leave(outer);
}
