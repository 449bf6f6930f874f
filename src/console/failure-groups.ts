/**
 * The failed jobs grouped by their error message (`GET /stats/failures`): the messages that fail the most
 * jobs, with how many each, the latest one's time, and one job's id to look at. The newest FAILURE_SCAN_LIMIT
 * failed jobs are read; `complete` says whether that was all of them.
 */
import type { JobQueue } from '../engine/job-queue.types.js';
import { storePages } from './store-pages.js';

/** The most failed jobs one request reads. */
export const FAILURE_SCAN_LIMIT = 10_000;
/** The message of a failed job that has none. */
export const NO_MESSAGE = '(no error message)';

export interface FailureGroup {
  /** The job's `last_error` (NO_MESSAGE when it has none): what `GET /jobs?last_error=` matches. */
  message: string;
  count: number;
  /** The latest failure's job, and when it was last updated (epoch ms). */
  latest_id: string;
  latest_at: number;
}

export interface FailureGroups {
  /** Failed jobs read. */
  scanned: number;
  /** Whether every failed job (of the type) was read. */
  complete: boolean;
  /** Most jobs first; ties by message. */
  groups: FailureGroup[];
}

export async function failureGroups(
  queue: JobQueue,
  { type, top, scanLimit = FAILURE_SCAN_LIMIT }: { type?: string; top: number; scanLimit?: number },
): Promise<FailureGroups> {
  const byMessage = new Map<string, FailureGroup>();
  let scanned = 0;
  let complete = false;
  for await (const page of storePages((query) => queue.list(query), { state: 'failed', type }, scanLimit)) {
    for (const job of page.jobs) {
      const message = job.last_error ?? NO_MESSAGE;
      const group = byMessage.get(message);
      if (!group) byMessage.set(message, { message, count: 1, latest_id: job.id, latest_at: job.updated_at });
      else {
        group.count++;
        if (job.updated_at > group.latest_at) Object.assign(group, { latest_id: job.id, latest_at: job.updated_at });
      }
    }
    scanned += page.jobs.length;
    complete = page.next_cursor === null;
  }
  const groups = [...byMessage.values()].sort((a, b) => b.count - a.count || (a.message < b.message ? -1 : 1));
  return { scanned, complete, groups: groups.slice(0, top) };
}
