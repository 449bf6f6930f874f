/**
 * Search over the job list: the filters the store's `list` has no index for (an id prefix, a time range, an
 * error message), applied to its pages as they are read. The store still filters by state and type, and
 * keeps the order (newest submission first) and the cursors, so a search page continues where the last one
 * stopped like any other page.
 *
 * A search reads at most SEARCH_SCAN_LIMIT records per request. When it stops there, the page it answers may
 * hold fewer than `limit` jobs (none, even) with a `next_cursor` that is not null: the client follows it for
 * more. The list is in submission order and `created_at` is the submission's time, so a `created_after` bound
 * ends the scan at the first older job.
 */
import type { JobRecord } from '../engine/job-record.js';
import type { ListPage, ListQuery } from '../engine/job-queue.types.js';
import { NO_MESSAGE } from './failure-groups.js';
import { storePages, type ListFn } from './store-pages.js';

/** The most records one search request reads from the store. */
export const SEARCH_SCAN_LIMIT = 20_000;

export interface SearchFilters {
  /** The id starts with this, compared without regard to case. */
  id_prefix?: string;
  /** Submitted at or after this time (epoch ms). */
  created_after?: number;
  /** Submitted at or before this time (epoch ms). */
  created_before?: number;
  /** The latest error is exactly this message; NO_MESSAGE matches a job with none (as failure groups name it). */
  last_error?: string;
}

export type SearchQuery = ListQuery & SearchFilters;

/** A page of a search, and where a shorter page of the same search would end. */
export interface SearchPage extends ListPage {
  /**
   * The cursor just before the page's `n`-th job (0-based; 0 < n < jobs.length): the `next_cursor` of the page
   * cut to its first `n` jobs, found without searching again (one store read of at most a page).
   */
  cursorBefore(n: number): Promise<string | null>;
}

/** Whether a query has any filter the store's `list` cannot apply itself. */
export function hasSearchFilters(query: SearchFilters): boolean {
  return (
    query.id_prefix !== undefined ||
    query.created_after !== undefined ||
    query.created_before !== undefined ||
    query.last_error !== undefined
  );
}

/** A predicate for one record, from the filters of a search. */
function matcherOf(filters: SearchFilters): (record: JobRecord) => boolean {
  const prefix = filters.id_prefix?.toLowerCase();
  return (record) =>
    (prefix === undefined || record.id.toLowerCase().startsWith(prefix)) &&
    (filters.created_after === undefined || record.created_at >= filters.created_after) &&
    (filters.created_before === undefined || record.created_at <= filters.created_before) &&
    (filters.last_error === undefined || (record.last_error ?? NO_MESSAGE) === filters.last_error);
}

/** One page of the jobs that match `query`, newest first; see the module's header for a short page. */
export async function searchJobs(list: ListFn, query: SearchQuery, scanLimit = SEARCH_SCAN_LIMIT): Promise<SearchPage> {
  const { state, type, limit } = query;
  if (!hasSearchFilters(query)) {
    const page = await list({ state, type, limit, cursor: query.cursor });
    return { ...page, cursorBefore: (n) => cursorAt(list, query, query.cursor, n) };
  }
  const matches = matcherOf(query);
  const found: JobRecord[] = [];
  /** Where each match is in the store's listing (its page's cursor, its index there), the one past `limit` included. */
  const places: { from: string | undefined; index: number }[] = [];
  const cursorBefore = (n: number) => cursorAt(list, query, places[n]!.from, places[n]!.index);
  // Where the scan goes on: null once the store has no more, the last page's cursor when the scan limit stopped it.
  let next_cursor: string | null = null;
  for await (const page of storePages(list, { state, type, cursor: query.cursor }, scanLimit)) {
    for (const [index, record] of page.jobs.entries()) {
      // Older than the range: every job after it is older still.
      if (query.created_after !== undefined && record.created_at < query.created_after) {
        return { jobs: found, next_cursor: null, cursorBefore };
      }
      if (!matches(record)) continue;
      places.push({ from: page.from, index });
      if (found.length === limit) return { jobs: found, next_cursor: await cursorBefore(limit), cursorBefore };
      found.push(record);
    }
    next_cursor = page.next_cursor;
  }
  return { jobs: found, next_cursor, cursorBefore };
}

/**
 * The cursor of the `index`-th record of the page that starts at `pageCursor`: the store's own, from a page
 * that ends just before that record (cursors are the store's to make).
 */
async function cursorAt(list: ListFn, query: ListQuery, pageCursor: string | undefined, index: number): Promise<string | null> {
  if (index === 0) return pageCursor ?? null;
  const cut = await list({ state: query.state, type: query.type, limit: index, cursor: pageCursor });
  return cut.next_cursor;
}
