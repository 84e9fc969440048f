/**
 * How many request bytes may wait for room in the pipeline (specs/receiver-workers.md W13, for
 * receiver workers and the main-thread receivers alike). A request that would wait is refused
 * at once (ReceiverOverloadedError → 429 / UNAVAILABLE) when more than `clientBytes` already
 * wait and its client is among those waiting, or when more than `totalBytes` wait; a request
 * arriving when nothing waits may always wait. So the memory held by waiting bodies does not
 * grow with the number of connections, and a quiet client still gets its turn while a
 * flooding one is refused. Framework-free: receiver workers load it.
 */

export interface WaitingLimits {
  /** Above this, a request whose client already has one waiting is refused at once. */
  readonly clientBytes: number;
  /** Above this, every request that would wait is refused at once. */
  readonly totalBytes: number;
}

/** The main-thread receivers' limits, per receiver (HTTP, gRPC). */
export const MAIN_THREAD_WAITING_LIMITS: WaitingLimits = { clientBytes: 8 * 1024 * 1024, totalBytes: 16 * 1024 * 1024 };

/** Whether a request of `bytes` must be refused instead of joining `waitingBytes` already waiting. */
export function mustRefuseWaiting(limits: WaitingLimits, waitingBytes: number, bytes: number, clientWaits: boolean): boolean {
  if (waitingBytes === 0) return false;
  const after = waitingBytes + bytes;
  return after > limits.totalBytes || (after > limits.clientBytes && clientWaits);
}

/** Book-keeping of the requests waiting in a main-thread receiver, by client. */
export class WaitingRequests {
  readonly limits: WaitingLimits;
  private readonly byClient = new Map<string, number>();
  private total = 0;

  constructor(limits: WaitingLimits = MAIN_THREAD_WAITING_LIMITS) {
    this.limits = limits;
  }

  /** Bytes of the requests waiting now. */
  get waitingBytes(): number {
    return this.total;
  }

  /** Whether a request of `bytes` from this client must be refused at once. */
  wouldRefuse(clientKey: string, bytes: number): boolean {
    return mustRefuseWaiting(this.limits, this.total, bytes, this.byClient.has(clientKey));
  }

  /** Registers the request as waiting, or returns false when it must be refused at once. */
  enter(clientKey: string, bytes: number): boolean {
    if (this.wouldRefuse(clientKey, bytes)) return false;
    this.byClient.set(clientKey, (this.byClient.get(clientKey) ?? 0) + 1);
    this.total += bytes;
    return true;
  }

  /** The request entered before no longer waits (admitted, refused or abandoned). */
  leave(clientKey: string, bytes: number): void {
    this.total -= bytes;
    const waiting = (this.byClient.get(clientKey) ?? 1) - 1;
    if (waiting > 0) this.byClient.set(clientKey, waiting);
    else this.byClient.delete(clientKey);
  }
}
