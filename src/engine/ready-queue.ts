/**
 * The supervisor's ready queue: the jobs waiting for a worker slot, and the per-type concurrency limits.
 *
 * Order: retries whose backoff has ended go before jobs that have not started yet. A retry's only intended
 * wait is its backoff, so it starts at `next_retry_at` (give or take a worker freeing up) however long the
 * backlog of new jobs is; retries are bounded by `max_retries`, so they cannot starve new jobs. Within a lane,
 * first in, first out, across types.
 *
 * Per-type limits: a type with a `concurrency` has lanes of its own and a count of its running jobs; every
 * other type shares one pair of lanes. `take` hands out the oldest job whose type is under its limit, so a
 * type at its limit never holds back a ready job of another type (no head-of-line blocking). With no limits
 * at all there is one pair of lanes, and each operation is O(1); with limits, O(number of limited types).
 *
 * Each lane is a Map in insertion order, which is exactly the FIFO order, with O(1) removal of a job cancelled
 * while it waits. The values are arrival numbers, which order the heads of different lanes.
 */
const SHARED = '';

interface Lanes<T> {
  retries: Map<T, number>;
  others: Map<T, number>;
  /** The type's limit (Infinity for the shared lanes), and how many of its jobs hold a slot. */
  limit: number;
  running: number;
}

export class ReadyQueue<T> {
  private readonly lanes = new Map<string, Lanes<T>>();
  private arrivals = 0;
  private waiting = 0;

  /** @param limits the `concurrency` of each type that has one; other types are bound only by WORKERS. */
  constructor(limits: Readonly<Record<string, number>> = {}) {
    this.lanes.set(SHARED, { retries: new Map(), others: new Map(), limit: Infinity, running: 0 });
    for (const [type, limit] of Object.entries(limits)) {
      this.lanes.set(type, { retries: new Map(), others: new Map(), limit, running: 0 });
    }
  }

  get length(): number {
    return this.waiting;
  }

  /** `retry`: a retry whose backoff has ended, which goes before the jobs that have not started yet. */
  push(item: T, type: string, retry = false): void {
    const lanes = this.lanesOf(type);
    const lane = retry ? lanes.retries : lanes.others;
    if (lane.has(item)) return;
    lane.set(item, this.arrivals++);
    this.waiting++;
  }

  delete(item: T, type: string): void {
    const lanes = this.lanesOf(type);
    if (lanes.retries.delete(item) || lanes.others.delete(item)) this.waiting--;
  }

  /** How many ready jobs could start now if `free` slots were given out, per-type limits respected. */
  startable(free: number): number {
    if (this.lanes.size === 1) return Math.min(free, this.waiting);
    let count = 0;
    for (const lanes of this.lanes.values()) {
      count += Math.min(lanes.limit - lanes.running, lanes.retries.size + lanes.others.size);
      if (count >= free) return free;
    }
    return count;
  }

  /** Takes the job that starts next (the oldest due retry, else the oldest new job, of a type under its limit). */
  take(): T | undefined {
    const lanes = this.oldestIn('retries') ?? this.oldestIn('others');
    if (!lanes) return undefined;
    const [lane, item] = lanes;
    lane.delete(item);
    this.waiting--;
    return item;
  }

  /** A job of `type` that held a slot let it go. */
  release(type: string): void {
    const lanes = this.lanesOf(type);
    if (lanes.running > 0) lanes.running--;
  }

  private lanesOf(type: string): Lanes<T> {
    return this.lanes.get(type) ?? this.lanes.get(SHARED)!;
  }

  /** The lane whose head arrived first among types under their limit; counts the head as running. */
  private oldestIn(kind: 'retries' | 'others'): [Map<T, number>, T] | undefined {
    let best: Lanes<T> | undefined;
    let bestItem: T | undefined;
    let bestArrival = Infinity;
    for (const lanes of this.lanes.values()) {
      if (lanes.running >= lanes.limit) continue;
      const head = lanes[kind].entries().next();
      if (head.done || head.value[1] >= bestArrival) continue;
      [bestItem, bestArrival] = head.value;
      best = lanes;
    }
    if (!best) return undefined;
    best.running++;
    return [best[kind], bestItem as T];
  }
}
