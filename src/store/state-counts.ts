import { JOB_STATES, type JobState } from '../engine/job-record.js';

/** Every state at 0. */
export const zeroCounts = () => Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;

/** A store's records per state, in all and per job type, kept in memory as records are saved and removed. */
export class StateCounts {
  /** Every type together; read directly by retention (`finishedCount`). */
  readonly total = zeroCounts();
  private readonly byType = new Map<string, Record<JobState, number>>();

  /** `n` more records of `type` in `state` (negative for fewer). */
  add(type: string, state: JobState, n = 1): void {
    this.total[state] += n;
    let ofType = this.byType.get(type);
    if (!ofType) this.byType.set(type, (ofType = zeroCounts()));
    ofType[state] += n;
  }

  /** A record of `type` moved from `from` (null: a new record) to `to`. */
  move(type: string, from: JobState | null, to: JobState): void {
    if (from !== null) this.add(type, from, -1);
    this.add(type, to);
  }

  totals(): Record<JobState, number> {
    return { ...this.total };
  }

  perType(): Record<string, Record<JobState, number>> {
    return Object.fromEntries([...this.byType].map(([type, ofType]) => [type, { ...ofType }]));
  }
}
