/**
 * An operator's actions on many jobs at once, through the facade's one-job operations, so that each job is
 * decided by its chart exactly as a single retry or cancel would be:
 * - `retryAll`: every failed (or cancelled) job, of one type or all, back to the queue, until the capacity
 *   is reached: the first `queue_full` stops it, and the jobs left keep their state.
 * - `cancelAll`: every queued (or backoff) job, of one type or all.
 * A job that moved on meanwhile (retried, cancelled or claimed by someone else) is skipped. The answer says
 * how many were acted on, skipped, and are still in the state, and what stopped the action early, if anything.
 */
import { errors, ServiceError } from '../errors.js';
import type { JobState } from '../engine/job-record.js';
import type { JobQueue } from '../engine/job-queue.types.js';
import { storePages } from './store-pages.js';

export interface BulkFilter<S extends JobState> {
  state: S;
  type?: string;
}

export interface BulkResult {
  /** Jobs the action applied to. */
  acted: number;
  /** Jobs found in the state that had moved on by the time the action reached them. */
  skipped: number;
  /** Jobs still in the state (of the type) afterwards. */
  remaining: number;
  /** Why the action stopped before the end of the list (`queue_full`, `shutting_down`), or null. */
  stopped_by: 'queue_full' | 'shutting_down' | null;
}

/** A job that moved on between the listing and the action: not an error of the bulk action. */
const MOVED_ON = new Set(['not_found', 'not_retryable', 'not_cancellable']);

/** Runs `act` on every job in the filter's state (and type), page by page, newest first. */
async function forEachJob(
  queue: JobQueue,
  filter: BulkFilter<JobState>,
  act: (id: string) => Promise<unknown>,
): Promise<BulkResult> {
  let acted = 0;
  let skipped = 0;
  let stopped_by: BulkResult['stopped_by'] = null;
  pages: for await (const page of storePages((query) => queue.list(query), { state: filter.state, type: filter.type })) {
    for (const job of page.jobs) {
      try {
        await act(job.id);
        acted++;
      } catch (error) {
        if (!(error instanceof ServiceError)) throw error;
        if (MOVED_ON.has(error.code)) skipped++;
        else if (error.code === 'queue_full' || error.code === 'shutting_down') {
          stopped_by = error.code;
          break pages;
        } else throw error;
      }
    }
  }
  return { acted, skipped, remaining: await countIn(queue, filter), stopped_by };
}

/** How many jobs are in the filter's state, of its type when it names one. */
async function countIn(queue: JobQueue, { state, type }: BulkFilter<JobState>): Promise<number> {
  const stats = await queue.stats();
  return type === undefined ? stats.states[state] : (stats.types[type]?.[state] ?? 0);
}

/** Retries every failed or cancelled job of the filter, within the capacity. Throws `shutting_down` at once. */
export function retryAll(queue: JobQueue, filter: BulkFilter<'failed' | 'cancelled'>): Promise<BulkResult> {
  if (queue.lifecycle() !== 'accepting') throw errors.shuttingDown();
  return forEachJob(queue, filter, (id) => queue.retry(id));
}

/** Cancels every queued or backoff job of the filter. */
export function cancelAll(queue: JobQueue, filter: BulkFilter<'queued' | 'backoff'>): Promise<BulkResult> {
  return forEachJob(queue, filter, (id) => queue.cancel(id));
}
