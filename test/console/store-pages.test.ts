import { expect } from 'chai';
import { searchJobs } from '../../src/console/job-search.js';
import { storePages, type ListFn } from '../../src/console/store-pages.js';
import type { ListQuery } from '../../src/engine/job-queue.types.js';
import type { JobRecord } from '../../src/engine/job-record.js';

/** A listing of `total` jobs j0 (newest) … j<total-1>, whose cursor is the index of the next job; it records each query. */
function fakeList(total: number) {
  const queries: ListQuery[] = [];
  const list: ListFn = async (query) => {
    queries.push(query);
    const start = query.cursor === undefined ? 0 : Number(query.cursor);
    const end = Math.min(total, start + query.limit);
    const jobs = Array.from({ length: end - start }, (_, i) => ({ id: `j${start + i}`, created_at: 0, last_error: null }) as unknown as JobRecord);
    return { jobs, next_cursor: end < total ? String(end) : null };
  };
  return { list, queries };
}

async function pagesRead(list: ListFn, cursor?: string, scanLimit?: number) {
  const pages: { from: string | undefined; count: number; next_cursor: string | null }[] = [];
  for await (const page of storePages(list, { state: 'queued', cursor }, scanLimit)) {
    pages.push({ from: page.from, count: page.jobs.length, next_cursor: page.next_cursor });
  }
  return pages;
}

describe('store pages', () => {
  it('reads every page from the cursor on, a thousand at a time, until the store has no more', async () => {
    const { list, queries } = fakeList(2500);
    expect(await pagesRead(list, '100')).to.deep.equal([
      { from: '100', count: 1000, next_cursor: '1100' },
      { from: '1100', count: 1000, next_cursor: '2100' },
      { from: '2100', count: 400, next_cursor: null },
    ]);
    expect(queries).to.deep.equal(
      ['100', '1100', '2100'].map((cursor) => ({ state: 'queued', type: undefined, limit: 1000, cursor })),
    );
  });

  it('asks for no more than the scan limit leaves, and stops there with the cursor to go on from', async () => {
    const { list, queries } = fakeList(2500);
    expect(await pagesRead(list, undefined, 1200)).to.deep.equal([
      { from: undefined, count: 1000, next_cursor: '1000' },
      { from: '1000', count: 200, next_cursor: '1200' },
    ]);
    expect(queries.map((query) => query.limit)).to.deep.equal([1000, 200]);
  });

  it('a search stopped by its scan limit answers the cursor it stopped at', async () => {
    const { list } = fakeList(2500);
    const page = await searchJobs(list, { limit: 10, id_prefix: 'j1' }, 1200);
    // j1, j10–j19, j100–j199, j1000–j1199 match; the limit of 10 is reached in the first store page.
    expect(page.jobs.map((job) => job.id)).to.deep.equal(['j1', ...Array.from({ length: 9 }, (_, i) => `j${10 + i}`)]);
    expect(page.next_cursor).to.equal('19');
    // From j1000, 500 records read (j1000–j1499) and none matches: an empty page that goes on after them.
    const { jobs, next_cursor } = await searchJobs(list, { limit: 1000, id_prefix: 'j2', cursor: '1000' }, 500);
    expect({ jobs, next_cursor }).to.deep.equal({ jobs: [], next_cursor: '1500' });
  });
});
