import { Injectable } from '@nestjs/common';

export interface TransportCounts {
  accepted: number;
  refused: number;
}

/** Per-transport counts kept elsewhere (the receiver workers' shared counters). */
export type ReceiverCountsSource = () => ReadonlyMap<string, Readonly<TransportCounts>>;

/** One receiver worker's ring, for spanring_worker_ring_* metrics. */
export interface WorkerRingOccupancy {
  readonly worker: number;
  readonly usedBytes: number;
  readonly capacityBytes: number;
}

/**
 * Spans each receiver transport accepted or refused, for otelcol_receiver_* metrics: counted
 * here by main-thread receivers, and read at scrape time from added sources (receiver workers).
 */
@Injectable()
export class ReceiverStats {
  private readonly byTransport = new Map<string, TransportCounts>();
  private readonly sources: ReceiverCountsSource[] = [];
  private workerRings: () => readonly WorkerRingOccupancy[] = () => [];

  record(transport: 'http' | 'grpc', accepted: number, refused: number): void {
    let counts = this.byTransport.get(transport);
    if (counts === undefined) {
      counts = { accepted: 0, refused: 0 };
      this.byTransport.set(transport, counts);
    }
    counts.accepted += accepted;
    counts.refused += refused;
  }

  /** Adds counts kept outside this object to every snapshot. */
  addSource(source: ReceiverCountsSource): void {
    this.sources.push(source);
  }

  /** Where the receiver workers' ring occupancy is read from (worker mode only). */
  setWorkerRings(read: () => readonly WorkerRingOccupancy[]): void {
    this.workerRings = read;
  }

  snapshot(): ReadonlyMap<string, Readonly<TransportCounts>> {
    if (this.sources.length === 0) return this.byTransport;
    const merged = new Map<string, TransportCounts>();
    for (const counts of [this.byTransport, ...this.sources.map((source) => source())]) {
      for (const [transport, { accepted, refused }] of counts) {
        const total = merged.get(transport) ?? { accepted: 0, refused: 0 };
        total.accepted += accepted;
        total.refused += refused;
        merged.set(transport, total);
      }
    }
    return merged;
  }

  workerRingOccupancy(): readonly WorkerRingOccupancy[] {
    return this.workerRings();
  }
}
