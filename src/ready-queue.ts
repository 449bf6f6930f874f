/**
 * The supervisor's ready queue, in two lanes: retries whose backoff has ended go before jobs that have not
 * started yet. A retry's only intended wait is its backoff, so it starts at `next_retry_at` (give or take a
 * worker freeing up) however long the backlog of new jobs is; retries are bounded by `max_retries`, so they
 * cannot starve new jobs. Within a lane, first in, first out, with O(1) removal of a job cancelled while it
 * waits: a Set iterates in insertion order, which is exactly the FIFO order.
 */
export class ReadyQueue<T> {
  private readonly retries = new Set<T>();
  private readonly others = new Set<T>();

  get length(): number {
    return this.retries.size + this.others.size;
  }

  push(item: T, retry = false): void {
    (retry ? this.retries : this.others).add(item);
  }

  shift(): T | undefined {
    return takeFirst(this.retries) ?? takeFirst(this.others);
  }

  delete(item: T): void {
    if (!this.retries.delete(item)) this.others.delete(item);
  }
}

function takeFirst<T>(items: Set<T>): T | undefined {
  const first = items.values().next();
  if (first.done) return undefined;
  items.delete(first.value);
  return first.value;
}
