/**
 * Plain counters, allocated only when a ring is built with enableMetrics. Numbers, not
 * bigints: at 100M events/s a double stays exact for about 2.8 years.
 */
export class RingMetrics {
  pushes = 0;
  consumed = 0;
  fullEvents = 0;
  waits = 0;

  addTo(total: RingMetrics): void {
    total.pushes += this.pushes;
    total.consumed += this.consumed;
    total.fullEvents += this.fullEvents;
    total.waits += this.waits;
  }

  snapshot(): RingMetricsSnapshot {
    return { pushes: this.pushes, consumed: this.consumed, fullEvents: this.fullEvents, waits: this.waits };
  }
}

export interface RingMetricsSnapshot {
  readonly pushes: number;
  readonly consumed: number;
  readonly fullEvents: number;
  readonly waits: number;
}
