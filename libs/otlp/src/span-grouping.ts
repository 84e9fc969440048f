/**
 * The protobuf encoder's grouping of a batch: span indexes ordered as groupSpans orders the
 * spans (by resource object, then scope object, in order of first appearance, span order kept
 * within a group: Invariant C13), held in typed arrays reused from batch to batch.
 *
 * Why not groupSpans: it copies every span into an array per scope, and for exported batches
 * those arrays were a sixth of the consumer thread's allocation (sampling heap profile). This
 * allocates per resource and per scope of a batch, nothing per span.
 */
import type { InstrumentationScope, Resource, Span } from './model.ts';

/** A resource of the batch and its scope groups, both in order of first appearance. */
export interface ResourceEntry {
  readonly resource: Resource;
  /** Group numbers (see SpanGrouping.scopeOf / start / end). */
  readonly groups: number[];
  readonly groupOfScope: Map<InstrumentationScope, number>;
}

export class SpanGrouping {
  /** Resources in order of first appearance; rebuilt by group(). */
  resources: ResourceEntry[] = [];
  private scopes: InstrumentationScope[] = [];
  /** The group of span i. */
  private groupOfSpan = new Int32Array(1024);
  /** Span indexes, group after group; group g is order[start(g), end(g)). */
  private order = new Int32Array(1024);
  private groupStart = new Int32Array(64);
  private groupSize = new Int32Array(64);

  /** Groups `spans`; what an earlier call grouped is forgotten. */
  group(spans: readonly Span[]): void {
    const count = spans.length;
    if (this.order.length < count) {
      this.order = new Int32Array(count);
      this.groupOfSpan = new Int32Array(count);
    }
    this.resources = [];
    this.scopes = [];
    this.numberSpans(spans);
    this.placeGroups();
    // Invariant: stable placement, so every group keeps its spans' order.
    const next = this.groupStart.slice(0, this.scopes.length);
    for (let i = 0; i < count; i++) this.order[next[this.groupOfSpan[i]!]!++] = i;
  }

  /** The scope of group g. */
  scopeOf(group: number): InstrumentationScope {
    return this.scopes[group]!;
  }

  start(group: number): number {
    return this.groupStart[group]!;
  }

  end(group: number): number {
    return this.groupStart[group]! + this.groupSize[group]!;
  }

  /** The index (into the grouped spans) of the k-th span in grouped order. */
  spanAt(k: number): number {
    return this.order[k]!;
  }

  /** Gives each span its group number, counting the spans of each group. */
  private numberSpans(spans: readonly Span[]): void {
    const byResource = new Map<Resource, ResourceEntry>();
    let lastResource: Resource | undefined;
    let lastScope: InstrumentationScope | undefined;
    let lastGroup = -1;
    for (let i = 0; i < spans.length; i++) {
      const { resource, scope } = spans[i]!;
      // Spans of one request arrive already grouped, so the previous group is nearly always the one.
      if (resource !== lastResource || scope !== lastScope) {
        lastGroup = this.groupFor(byResource, resource, scope);
        lastResource = resource;
        lastScope = scope;
      }
      this.groupOfSpan[i] = lastGroup;
      this.groupSize[lastGroup]!++;
    }
  }

  private groupFor(byResource: Map<Resource, ResourceEntry>, resource: Resource, scope: InstrumentationScope): number {
    let entry = byResource.get(resource);
    if (entry === undefined) {
      entry = { resource, groups: [], groupOfScope: new Map() };
      byResource.set(resource, entry);
      this.resources.push(entry);
    }
    let group = entry.groupOfScope.get(scope);
    if (group === undefined) {
      group = this.scopes.length;
      this.scopes.push(scope);
      entry.groupOfScope.set(scope, group);
      entry.groups.push(group);
      if (group === this.groupSize.length) {
        this.groupSize = doubled(this.groupSize);
        this.groupStart = doubled(this.groupStart);
      }
      this.groupSize[group] = 0;
    }
    return group;
  }

  /** Lays the groups out resource after resource, each resource's scopes in their order. */
  private placeGroups(): void {
    let at = 0;
    for (const entry of this.resources) {
      for (const group of entry.groups) {
        this.groupStart[group] = at;
        at += this.groupSize[group]!;
      }
    }
  }
}

function doubled(table: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const next = new Int32Array(table.length * 2);
  next.set(table);
  return next;
}
