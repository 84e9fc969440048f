import { Injectable } from '@nestjs/common';

export interface TransportCounts {
  accepted: number;
  refused: number;
}

/** Spans each receiver transport accepted or refused, for otelcol_receiver_* metrics. */
@Injectable()
export class ReceiverStats {
  private readonly byTransport = new Map<string, TransportCounts>();

  record(transport: 'http' | 'grpc', accepted: number, refused: number): void {
    let counts = this.byTransport.get(transport);
    if (counts === undefined) {
      counts = { accepted: 0, refused: 0 };
      this.byTransport.set(transport, counts);
    }
    counts.accepted += accepted;
    counts.refused += refused;
  }

  snapshot(): ReadonlyMap<string, Readonly<TransportCounts>> {
    return this.byTransport;
  }
}
