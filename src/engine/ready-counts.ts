/**
 * What the supervisor knows of the jobs that wait for a worker slot: how many wait, and how many run, per job
 * type with a `concurrency` limit, and for every other type together. The jobs themselves wait in the store's
 * ready lanes; the store picks which ones a claim takes (the oldest due retry first, then the oldest new job,
 * of a type under its limit), so a type at its limit never holds back a ready job of another type.
 *
 * Every operation is O(1) with no limits, and O(number of limited types) with some.
 */
const SHARED = '';

interface TypeCounts {
  /** The type's limit (Infinity for the shared counts). */
  limit: number;
  waiting: number;
  running: number;
}

export class ReadyCounts {
  private readonly byType = new Map<string, TypeCounts>();
  private waitingInAll = 0;
  private announcedInAll = 0;

  /** @param limits the `concurrency` of each type that has one; other types are bound only by WORKERS. */
  constructor(limits: Readonly<Record<string, number>> = {}) {
    this.byType.set(SHARED, { limit: Infinity, waiting: 0, running: 0 });
    for (const [type, limit] of Object.entries(limits)) this.byType.set(type, { limit, waiting: 0, running: 0 });
  }

  /** Jobs waiting for a slot, every type together. */
  get waiting(): number {
    return this.waitingInAll;
  }

  /**
   * How many jobs were ever announced as waiting (`add` with n > 0): a claim that comes back short compares it
   * with what it was when the claim began, to learn whether jobs became ready while it was on its way.
   */
  get announced(): number {
    return this.announcedInAll;
  }

  /**
   * Whether any type has a limit. Without one, slots are counted off the waiting jobs as they are granted
   * (`reserve`), and claims need not wait for each other; with one, only the store knows which types a claim
   * takes, so the counts change when it answers (`started`).
   */
  get limited(): boolean {
    return this.byType.size > 1;
  }

  /** `n` slots were granted with no limits in force: that many waiting jobs are spoken for. */
  reserve(n: number): void {
    this.add(SHARED, -n);
  }

  /** `n` more jobs of `type` wait for a slot (negative: fewer, e.g. cancelled while they waited). */
  add(type: string, n = 1): void {
    if (n > 0) this.announcedInAll += n;
    const counts = this.countsOf(type);
    const added = Math.max(n, -counts.waiting);
    counts.waiting += added;
    this.waitingInAll += added;
  }

  /** How many waiting jobs could start now if `free` slots were given out, per-type limits respected. */
  startable(free: number): number {
    if (this.byType.size === 1) return Math.min(free, this.waitingInAll);
    let count = 0;
    for (const counts of this.byType.values()) {
      count += Math.min(counts.limit - counts.running, counts.waiting);
      if (count >= free) return free;
    }
    return count;
  }

  /**
   * How many more jobs of each limited type may start now: the `allowances` of a claim. Undefined with no
   * limits at all.
   */
  allowances(): Map<string, number> | undefined {
    if (this.byType.size === 1) return undefined;
    const allowances = new Map<string, number>();
    for (const [type, counts] of this.byType) {
      if (type !== SHARED) allowances.set(type, Math.max(0, counts.limit - counts.running));
    }
    return allowances;
  }

  /** A claimed job of `type` left the waiting jobs and holds a slot. */
  started(type: string): void {
    const counts = this.countsOf(type);
    if (counts.waiting > 0) {
      counts.waiting--;
      this.waitingInAll--;
    }
    counts.running++;
  }

  /** A job of `type` that held a slot let it go. */
  release(type: string): void {
    const counts = this.countsOf(type);
    if (counts.running > 0) counts.running--;
  }

  private countsOf(type: string): TypeCounts {
    return this.byType.get(type) ?? this.byType.get(SHARED)!;
  }
}
