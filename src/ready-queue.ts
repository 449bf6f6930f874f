/**
 * The supervisor's ready queue: first in, first out, with O(1) removal of a job cancelled while it waits.
 * A Set iterates in insertion order, which is exactly the FIFO order.
 */
export class ReadyQueue<T> {
  private readonly items = new Set<T>();

  get length(): number {
    return this.items.size;
  }

  push(item: T): void {
    this.items.add(item);
  }

  shift(): T | undefined {
    const first = this.items.values().next();
    if (first.done) return undefined;
    this.items.delete(first.value);
    return first.value;
  }

  delete(item: T): void {
    this.items.delete(item);
  }
}
