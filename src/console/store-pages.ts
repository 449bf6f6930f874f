/**
 * The store's listing read page after page: what the console's scans (search, failure groups, bulk actions)
 * walk through, each from a cursor, until the store has no more or the scan has read its fill.
 */
import type { ListPage, ListQuery } from '../engine/job-queue.types.js';

export type ListFn = (query: ListQuery) => Promise<ListPage>;

/** The largest page the store is asked for (its limit, MAX_LIST_LIMIT). */
export const STORE_PAGE = 1000;

/** A page of the store's listing, with the cursor it was read from (undefined: the first page). */
export interface ScannedPage extends ListPage {
  from: string | undefined;
}

/**
 * The pages of `list` for the query's state and type, newest first, from its cursor on. The first page is
 * always read; the pages stop after the one whose `next_cursor` is null, or once `scanLimit` records have
 * been read (no page asks for more than are left). The last page's `next_cursor` says where a scan that
 * stopped would go on.
 */
export async function* storePages(
  list: ListFn,
  { state, type, cursor }: Omit<ListQuery, 'limit'>,
  scanLimit = Infinity,
): AsyncGenerator<ScannedPage> {
  let scanned = 0;
  let from = cursor;
  do {
    const page = await list({ state, type, limit: Math.min(STORE_PAGE, scanLimit - scanned), cursor: from });
    yield { ...page, from };
    scanned += page.jobs.length;
    from = page.next_cursor ?? undefined;
  } while (from !== undefined && scanned < scanLimit);
}
