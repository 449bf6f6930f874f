/** A cron schedule's fields, defined once: the schedule actor's context, the stored row and the API view. */

/** `skip`: no new job while the previous one of the schedule is unfinished. `allow`: one per fire regardless. */
export type Overlap = 'skip' | 'allow';
/** Fires missed while the service was down: `none` skips them, `latest` fires once, `all` each (up to 100). */
export type CatchUp = 'none' | 'latest' | 'all';

/** The most missed fires `catch_up: all` submits after a restart. */
export const CATCH_UP_LIMIT = 100;

/** What `PUT /schedules/:name` gives. */
export interface ScheduleSpec {
  /** 5 fields, or 6 with seconds first. */
  cron: string;
  /** IANA time zone the expression is read in. Default UTC. */
  timezone: string;
  /** The job type of each fire's job; default: the queue's default type. */
  type?: string;
  payload: unknown;
  max_retries?: number;
  priority: number;
  overlap: Overlap;
  catch_up: CatchUp;
}

export interface ScheduleContext {
  name: string;
  spec: ScheduleSpec;
  /** Epoch ms of the next fire; null while paused (or when the expression has no more). */
  next_fire_at: number | null;
  /** Epoch ms of the latest fire time reached (submitted, or skipped by `overlap`). */
  last_fire_at: number | null;
  /** The job of the latest fire that submitted one. */
  last_job_id: string | null;
}

/** A schedule as a store keeps it. */
export interface ScheduleRow {
  name: string;
  spec: ScheduleSpec;
  paused: boolean;
  last_fire_at: number | null;
  last_job_id: string | null;
}

/** What a fire changes in its schedule's row, and all that its write may change (never `spec` nor `paused`). */
export interface ScheduleFire {
  name: string;
  last_fire_at: number;
  last_job_id: string | null;
}

/** The id of the job a schedule submits for the fire at `fireAt`: the same fire, the same id, once. */
export const fireJobId = (name: string, fireAt: number) => `sched:${name}:${new Date(fireAt).toISOString()}`;
