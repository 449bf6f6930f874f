/**
 * The engine's one timer for scheduled jobs. A scheduled job is a stored row only: no actor and no timer of its
 * own. This timer waits for the earliest due time in the store, then has the due jobs moved to `queued` in
 * batches of DUE_BATCH, in due order, and waits for the next earliest.
 *
 * Modes:
 * - idle     nothing armed: no job is scheduled, or the queue stopped taking them in (`stop`);
 * - armed    one `setTimeout` for `armedAt`; a job scheduled earlier re-arms it, a later one changes nothing;
 * - firing   moving the due jobs; a job scheduled meanwhile is remembered and armed for once the run ends.
 * A run that fails (the store out of reach) tries again after DUE_RETRY_MS: the due jobs wait in the store.
 */
import { MAX_DELAY_MS } from '../../machines/job.machine.js';

/** How many due jobs move to `queued` per store round trip. */
export const DUE_BATCH = 500;

/** After a run the store could not answer, the wait before the next, in ms. */
export const DUE_RETRY_MS = 250;

export interface DueTimerDeps {
  /** The earliest due time of a scheduled job in the store (epoch ms), or null when none is scheduled. */
  nextDueAt(): Promise<number | null>;
  /** Moves up to `limit` jobs due by `now` to `queued`, in due order; resolves with how many it moved. */
  moveDue(now: number, limit: number): Promise<number>;
  /** Epoch ms. */
  now(): number;
  /** A run failed; it is tried again after DUE_RETRY_MS. */
  onError(error: unknown): void;
}

export interface DueTimer {
  /** A job is due at `at` (epoch ms): fires then, unless the timer fires sooner already. */
  arm(at: number): void;
  /** Stops for good: nothing more fires (the scheduled jobs wait in the store). */
  stop(): void;
}

export function createDueTimer(deps: DueTimerDeps): DueTimer {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let armedAt: number | null = null;
  let firing = false;
  /** The earliest time armed while a run was under way: its job may have been saved after the run's last read. */
  let armedWhileFiring: number | null = null;
  let stopped = false;

  function arm(at: number) {
    if (stopped) return;
    if (firing) {
      armedWhileFiring = Math.min(armedWhileFiring ?? at, at);
      return;
    }
    if (armedAt !== null && armedAt <= at) return;
    clearTimeout(timer);
    armedAt = at;
    // A later time than a timer can wait is reached in steps: the run finds nothing due, and arms again.
    timer = setTimeout(fire, Math.min(Math.max(0, at - deps.now()), MAX_DELAY_MS));
  }

  async function fire() {
    timer = undefined;
    armedAt = null;
    firing = true;
    let next: number | null;
    try {
      while ((await deps.moveDue(deps.now(), DUE_BATCH)) === DUE_BATCH && !stopped);
      next = await deps.nextDueAt();
    } catch (error) {
      deps.onError(error);
      next = deps.now() + DUE_RETRY_MS;
    }
    firing = false;
    const alsoArmed = armedWhileFiring;
    armedWhileFiring = null;
    if (next !== null) arm(next);
    if (alsoArmed !== null) arm(alsoArmed);
  }

  return {
    arm,
    stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      armedAt = null;
    },
  };
}
