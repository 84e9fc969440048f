/**
 * A growable FIFO on a power-of-two circular array: O(1) push and shift without Array.shift's
 * element moves. Hand-written because the sending queue needs exactly this and nothing more.
 */
export class BatchFifo<T> {
  private items: (T | undefined)[] = Array.from({ length: 16 }, () => undefined);
  private head = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & (this.items.length - 1)] = item;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.count--;
    return item;
  }

  private grow(): void {
    const bigger: (T | undefined)[] = Array.from({ length: this.items.length * 2 }, () => undefined);
    for (let i = 0; i < this.count; i++) bigger[i] = this.items[(this.head + i) & (this.items.length - 1)];
    this.items = bigger;
    this.head = 0;
  }
}
