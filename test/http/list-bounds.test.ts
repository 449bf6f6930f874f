/**
 * `GET /jobs` bounded by bytes as well as by count, and without payloads on request: a list of large payloads
 * must not make bodies of tens of megabytes.
 */
import { expect } from 'chai';
import type { ListQuery } from '../../src/engine/job-queue.types.js';
import { iso, startService, T0, testConfig, view, type Service } from './support.js';

/** A view's JSON is about 1 KB with this payload; the budget holds two of them, not three. */
const PAYLOAD = 'x'.repeat(700);
const BUDGET = 2600;

describe('GET /jobs bounds', () => {
  let service: Service;
  beforeEach(async () => {
    service = await startService({
      config: { workers: 1, queueSize: 10, maxBodyBytes: 4096, http: { ...testConfig().http, listMaxBytes: BUDGET } },
    });
    for (let i = 0; i < 5; i++) {
      expect((await service.post('/jobs', { id: `j${i}`, payload: PAYLOAD })).status).to.equal(202);
      service.clock.advance(1);
    }
  });
  afterEach(() => service.stop());

  it('ends a page early once its jobs would pass LIST_MAX_BYTES, with the cursor to the rest: nothing skipped or repeated', async () => {
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const reply = await service.get(`/jobs?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(reply.status).to.equal(200);
      expect(reply.text.length).to.be.lessThan(BUDGET + 100);
      const body = reply.body as { jobs: { id: string }[]; next_cursor: string | null };
      pages.push(body.jobs.map((job) => job.id));
      cursor = body.next_cursor;
    } while (cursor !== null);
    expect(pages).to.deep.equal([['j4', 'j3'], ['j2', 'j1'], ['j0']]);
  });

  it('still sends one job that alone passes the budget, so that a page always moves on', async () => {
    await service.stop();
    service = await startService({
      config: { workers: 1, queueSize: 10, maxBodyBytes: 4096, http: { ...testConfig().http, listMaxBytes: 100 } },
    });
    await service.post('/jobs', { id: 'a', payload: PAYLOAD });
    await service.post('/jobs', { id: 'b', payload: PAYLOAD });
    const reply = await service.get('/jobs');
    const body = reply.body as { jobs: { id: string }[]; next_cursor: string | null };
    expect(body.jobs.map((job) => job.id)).to.deep.equal(['b']);
    expect(body.next_cursor).to.be.a('string');
  });

  it('bounds a search page the same way: only matching jobs, nothing skipped or repeated across its cursors', async () => {
    // k jobs between the j jobs: a search page's cursor must step over jobs that do not match.
    await service.stop();
    service = await startService({
      config: { workers: 1, queueSize: 10, maxBodyBytes: 4096, http: { ...testConfig().http, listMaxBytes: BUDGET } },
    });
    for (let i = 0; i < 5; i++) {
      for (const id of [`j${i}`, `k${i}`]) {
        expect((await service.post('/jobs', { id, payload: PAYLOAD })).status).to.equal(202);
        service.clock.advance(1);
      }
    }
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const reply = await service.get(`/jobs?id_prefix=J&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(reply.status).to.equal(200);
      const body = reply.body as { jobs: { id: string }[]; next_cursor: string | null };
      pages.push(body.jobs.map((job) => job.id));
      cursor = body.next_cursor;
    } while (cursor !== null);
    expect(pages).to.deep.equal([['j4', 'j3'], ['j2', 'j1'], ['j0']]);
    const small = await service.get('/jobs?id_prefix=k&include_payload=false');
    const ids = (small.body as { jobs: { id: string; payload?: unknown }[] }).jobs.map((job) => [job.id, 'payload' in job]);
    expect(ids).to.deep.equal([['k4', false], ['k3', false], ['k2', false], ['k1', false], ['k0', false]]);
  });

  it('goes on after a search page cut by bytes from where the cut is, without searching from the start again', async () => {
    await service.stop();
    const lists: Pick<ListQuery, 'limit' | 'cursor'>[] = [];
    service = await startService({
      config: { workers: 1, queueSize: 10, maxBodyBytes: 4096, http: { ...testConfig().http, listMaxBytes: BUDGET } },
      wrapQueue: (queue) => ({ ...queue, list: (query) => (lists.push({ limit: query.limit, cursor: query.cursor }), queue.list(query)) }),
    });
    // Newest first: k4 j4 k3 j3 k2 j2 k1 j1 k0 j0.
    for (let i = 0; i < 5; i++) {
      for (const id of [`j${i}`, `k${i}`]) expect((await service.post('/jobs', { id, payload: PAYLOAD })).status).to.equal(202);
    }
    const first = await service.get('/jobs?id_prefix=j');
    const { jobs, next_cursor } = first.body as { jobs: { id: string }[]; next_cursor: string };
    expect(jobs.map((job) => job.id)).to.deep.equal(['j4', 'j3']);
    // One scan of the store, then the cursor before j2 (the 6th record) from the page it was found in.
    expect(lists).to.deep.equal([{ limit: 1000, cursor: undefined }, { limit: 5, cursor: undefined }]);
    lists.length = 0;
    const second = await service.get(`/jobs?id_prefix=j&cursor=${encodeURIComponent(next_cursor)}`);
    expect((second.body as { jobs: { id: string }[] }).jobs.map((job) => job.id)).to.deep.equal(['j2', 'j1']);
    // From j2: j0 is the 5th record.
    expect(lists).to.deep.equal([{ limit: 1000, cursor: next_cursor }, { limit: 4, cursor: next_cursor }]);
  });

  it('leaves payloads out with include_payload=false, and more jobs then fit the budget', async () => {
    const reply = await service.get('/jobs?include_payload=false&limit=2');
    const { payload: _4, ...j4 } = view({ id: 'j4', created_at: iso(T0 + 4), updated_at: iso(T0 + 4) });
    const { payload: _3, ...j3 } = view({ id: 'j3', created_at: iso(T0 + 3), updated_at: iso(T0 + 3) });
    const { next_cursor } = reply.body as { next_cursor: string };
    expect(reply.body).to.deep.equal({ jobs: [j4, j3], next_cursor });
    const all = await service.get('/jobs?include_payload=false');
    expect((all.body as { jobs: unknown[] }).jobs).to.have.length(5);
  });

  it('refuses include_payload other than true or false', async () => {
    const reply = await service.get('/jobs?include_payload=no');
    expect(reply.status).to.equal(400);
    expect(reply.body).to.deep.equal({
      error: {
        code: 'validation_failed',
        message: 'The request does not match the expected shape; see details.',
        details: { include_payload: ['Must be true or false.'] },
      },
    });
  });
});
