/**
 * What a task module is: a file in TASKS_DIR whose default export handles the jobs of the type named after the
 * file. These are the types a task module's author writes against.
 */
import type { Logger } from 'pino';
import type { JobTypeOptions } from './job-type.js';

/** The second argument of a task handler. */
export interface TaskContext {
  /** The job's id. */
  id: string;
  /** The job's type: the module's file name without its extension. */
  type: string;
  /** The attempt number, 1 for the first. */
  attempt: number;
  /**
   * Aborted when the attempt times out, the job is cancelled, or a shutdown's deadline passes; stop promptly.
   * In a thread-isolated handler it never aborts: the thread itself is terminated instead.
   */
  signal: AbortSignal;
  /** A logger whose lines carry `job_id`, `type` and `attempt`. */
  log: Logger;
  /**
   * Reports progress: any JSON value of at most 1 KiB, stored as the job's `progress`. In the main thread it
   * throws a `TypeError` for a value too large or not JSON; from a thread such a value is dropped with a warning.
   */
  progress(value: unknown): void;
}

/**
 * A task module's default export. Its resolved value becomes the job's `result` (JSON); a throw fails the
 * attempt. Throw `PermanentError` to skip the remaining retries, `RetryLaterError` to pick the retry's delay.
 */
export type TaskHandler = (payload: unknown, ctx: TaskContext) => unknown;

/** A task module as imported: its handler and its own options (`export const options`), if any. */
export interface TaskModule {
  default: TaskHandler;
  options?: JobTypeOptions;
}
