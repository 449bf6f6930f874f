/**
 * An allowance of work per turn of the event loop, so that no turn grows with a backlog: Node fires a due
 * timer (a scheduled job's, a retry's) only between two turns, so the longest turn is how late it can fire.
 *
 * A turn here ends at the event loop's next check phase (`setImmediate`): work deferred with `nextTurn` runs
 * there, after the timers phase of the loop's next iteration, and the allowance is whole again by then.
 */
export interface TurnBudget {
  /** Spends up to `wanted` of what this turn has left; returns how much was granted (0 once it is spent). */
  take(wanted: number): number;
}

export function createTurnBudget(perTurn: number): TurnBudget {
  let left = perTurn;
  let refillQueued = false;
  return {
    take(wanted) {
      if (!refillQueued) {
        refillQueued = true;
        // Queued before any work a spent turn defers (`nextTurn`), so that work finds the allowance whole.
        setImmediate(() => {
          left = perTurn;
          refillQueued = false;
        });
      }
      const granted = Math.min(wanted, left);
      left -= granted;
      return granted;
    },
  };
}

/** Runs `work` at the next turn (see `createTurnBudget`), once the timers due meanwhile have fired. */
export function nextTurn(work: () => void): void {
  setImmediate(work);
}
