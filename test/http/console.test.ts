/**
 * The console's routes, over a real queue: dispatch pause and resume, the bulk retry and cancel, search by id
 * prefix, time range and error, and the failures grouped by message. Whole bodies are compared.
 */
import { expect } from 'chai';
import { errors } from '../../src/errors.js';
import {
  cancelAllReplySchema,
  dispatchReplySchema,
  failuresSchema,
  retryAllReplySchema,
  seriesSchema,
} from '../../src/http/console-schemas.js';
import { debugStatusSchema } from '../../src/http/response-schemas.js';
import { iso, startService, T0, view, type Service } from './support.js';

const validationFailed = (details: Record<string, string[]>) => ({
  error: { code: 'validation_failed', message: 'The request does not match the expected shape; see details.', details },
});

describe('console routes', () => {
  let service: Service;
  afterEach(() => service.stop());

  /** Submits `id` with no retries, lets it start, and fails it with `message`. */
  async function failed(id: string, message: string) {
    expect((await service.post('/jobs', { id, payload: null, max_retries: 0 })).status).to.equal(202);
    await service.reach(id, 'running');
    service.work.fail(id, message);
    await service.reach(id, 'failed');
  }

  describe('POST /admin/pause and /admin/resume', () => {
    it('holds dispatch while still admitting, shows it in /debug/status, and lets go on resume', async () => {
      service = await startService({ config: { workers: 1, queueSize: 2 } });
      const paused = await service.post('/admin/pause', {});
      expect([paused.status, paused.body]).to.deep.equal([200, { lifecycle: 'accepting', dispatch: 'paused' }]);
      expect((await service.post('/jobs', { id: 'a', payload: null })).status).to.equal(202);
      expect((await service.get('/jobs/a')).body).to.deep.equal(view({ id: 'a' }));
      const status = (await service.get('/debug/status')).body as Record<string, unknown>;
      expect([status.lifecycle, status.dispatch]).to.deep.equal(['accepting', 'paused']);

      const resumed = await service.post('/admin/resume', {});
      expect([resumed.status, resumed.body]).to.deep.equal([200, { lifecycle: 'accepting', dispatch: 'running' }]);
      await service.reach('a', 'running');
      expect(((await service.get('/debug/status')).body as Record<string, unknown>).dispatch).to.equal('running');
    });

    it('refuses to pause once a shutdown began', async () => {
      service = await startService();
      void service.queue.drain(10_000);
      const reply = await service.post('/admin/pause', {});
      expect([reply.status, reply.body]).to.deep.equal([
        503,
        { error: { code: 'shutting_down', message: 'The service is shutting down and accepts no new jobs; retry on another instance.' } },
      ]);
    });
  });

  describe('POST /jobs/retry-all', () => {
    it('retries the failed jobs newest first until the capacity is reached, and counts what is left', async () => {
      service = await startService({ config: { workers: 1, queueSize: 1 } });
      for (const id of ['f0', 'f1', 'f2', 'f3']) await failed(id, 'boom');
      const reply = await service.post('/jobs/retry-all', {});
      expect([reply.status, reply.body]).to.deep.equal([200, { retried: 2, skipped: 0, remaining: 2, stopped_by: 'queue_full' }]);
      // It stopped at the first refusal rather than asking again for every job left.
      expect(((await service.get('/stats')).body as { totals: { rejected: number } }).totals.rejected).to.equal(1);
      expect(((await service.get('/jobs/f3')).body as { state: string }).state).to.equal('running');
      expect(((await service.get('/jobs/f2')).body as { state: string }).state).to.equal('queued');
      expect(((await service.get('/jobs/f1')).body as { state: string }).state).to.equal('failed');
    });

    it('skips a job that moved on between the listing and its retry', async () => {
      service = await startService({
        config: { workers: 1, queueSize: 3 },
        wrapQueue: (queue) => ({
          ...queue,
          retry: (id) => (id === 'f2' ? Promise.reject(errors.notRetryable(id, 'queued')) : queue.retry(id)),
        }),
      });
      for (const id of ['f1', 'f2', 'f3']) await failed(id, 'boom');
      const reply = await service.post('/jobs/retry-all', { state: 'failed' });
      expect(reply.body).to.deep.equal({ retried: 2, skipped: 1, remaining: 1, stopped_by: null });
    });

    it('retries only the type asked for, and answers 400 for a state it cannot retry', async () => {
      service = await startService({ config: { workers: 1, queueSize: 3 } });
      await failed('f1', 'boom');
      const other = await service.post('/jobs/retry-all', { state: 'failed', type: 'no-such-type' });
      expect(other.body).to.deep.equal({ retried: 0, skipped: 0, remaining: 0, stopped_by: null });
      const all = await service.post('/jobs/retry-all', { type: 'simulated' });
      expect(all.body).to.deep.equal({ retried: 1, skipped: 0, remaining: 0, stopped_by: null });
      const bad = await service.post('/jobs/retry-all', { state: 'done' });
      expect([bad.status, bad.body]).to.deep.equal([400, validationFailed({ state: ['Must be failed or cancelled.'] })]);
    });
  });

  describe('POST /jobs/cancel-all', () => {
    it('cancels every queued job and says none remain', async () => {
      service = await startService({ config: { workers: 1, queueSize: 3 } });
      await service.post('/admin/pause', {});
      for (const id of ['q1', 'q2', 'q3']) expect((await service.post('/jobs', { id, payload: null })).status).to.equal(202);
      const reply = await service.post('/jobs/cancel-all', { state: 'queued' });
      expect([reply.status, reply.body]).to.deep.equal([200, { cancelled: 3, skipped: 0, remaining: 0, stopped_by: null }]);
      const page = (await service.get('/jobs?state=cancelled')).body as { jobs: { id: string }[] };
      expect(page.jobs.map((job) => job.id)).to.deep.equal(['q3', 'q2', 'q1']);
      const bad = await service.post('/jobs/cancel-all', { state: 'running', extra: 1 });
      expect([bad.status, bad.body]).to.deep.equal([
        400,
        validationFailed({ state: ['Must be queued or backoff.'], extra: ['Unknown field; allowed: state, type.'] }),
      ]);
    });
  });

  describe('GET /jobs search', () => {
    beforeEach(async () => {
      service = await startService({ config: { workers: 1, queueSize: 10 } });
      await service.post('/admin/pause', {});
      for (const id of ['Alpha-1', 'beta-1', 'alpha-2', 'alpha-3']) {
        expect((await service.post('/jobs', { id, payload: null })).status).to.equal(202);
        service.clock.advance(1000);
      }
    });
    const at = (id: string, seconds: number) => view({ id, created_at: iso(T0 + seconds * 1000), updated_at: iso(T0 + seconds * 1000) });

    it('finds ids by prefix without regard to case, newest first, a page at a time', async () => {
      const first = await service.get('/jobs?id_prefix=ALPHA&limit=2');
      expect(first.body).to.deep.equal({ jobs: [at('alpha-3', 3), at('alpha-2', 2)], next_cursor: (first.body as { next_cursor: string }).next_cursor });
      const cursor = (first.body as { next_cursor: string }).next_cursor;
      expect(cursor).to.be.a('string');
      const second = await service.get(`/jobs?id_prefix=alpha&limit=2&cursor=${encodeURIComponent(cursor)}`);
      expect(second.body).to.deep.equal({ jobs: [at('Alpha-1', 0)], next_cursor: null });
    });

    it('finds jobs submitted within a time range', async () => {
      const reply = await service.get(`/jobs?created_after=${iso(T0 + 1000)}&created_before=${iso(T0 + 2000)}`);
      expect(reply.body).to.deep.equal({ jobs: [at('alpha-2', 2), at('beta-1', 1)], next_cursor: null });
      const bad = await service.get('/jobs?created_after=yesterday');
      expect([bad.status, bad.body]).to.deep.equal([
        400,
        validationFailed({ created_after: ['Must be an ISO-8601 date-time, e.g. 2026-01-02T03:04:05Z.'] }),
      ]);
    });
  });

  describe('GET /stats/failures and GET /jobs?last_error=', () => {
    it('groups the failed jobs by message, most first, and lists one group', async () => {
      service = await startService({ config: { workers: 1, queueSize: 5 } });
      await failed('a', 'timeout');
      service.clock.advance(1000);
      await failed('b', 'boom');
      service.clock.advance(1000);
      await failed('c', 'timeout');
      const reply = await service.get('/stats/failures?top=5');
      expect([reply.status, reply.body]).to.deep.equal([
        200,
        {
          scanned: 3,
          complete: true,
          groups: [
            { message: 'timeout', count: 2, latest_id: 'c', latest_at: iso(T0 + 2000) },
            { message: 'boom', count: 1, latest_id: 'b', latest_at: iso(T0 + 1000) },
          ],
        },
      ]);
      const listed = (await service.get('/jobs?state=failed&last_error=timeout')).body as { jobs: { id: string }[] };
      expect(listed.jobs.map((job) => job.id)).to.deep.equal(['c', 'a']);
      const bad = await service.get('/stats/failures?top=0');
      expect([bad.status, bad.body]).to.deep.equal([400, validationFailed({ top: ['Must be an integer from 1 to 100.'] })]);
    });
  });

  describe('GET /stats/series', () => {
    it('counts the submissions and outcomes of the current second', async () => {
      service = await startService({ config: { workers: 1, queueSize: 5 } });
      await failed('a', 'boom');
      expect((await service.post('/jobs', { id: 'b', payload: null })).status).to.equal(202);
      await service.reach('b', 'running');
      service.work.succeed('b');
      await service.reach('b', 'done');
      const reply = await service.get('/stats/series');
      const body = reply.body as Record<string, unknown[]>;
      expect([reply.status, body.seconds, body.submitted, body.done, body.failed]).to.deep.equal([
        200,
        [Math.floor(T0 / 1000)],
        [2],
        [1],
        [1],
      ]);
    });
  });

  it('answers with the shapes the OpenAPI document publishes', async () => {
    service = await startService({ config: { workers: 1, queueSize: 3 } });
    await failed('f1', 'boom');
    dispatchReplySchema.parse((await service.post('/admin/pause', {})).body);
    debugStatusSchema.parse((await service.get('/debug/status')).body);
    dispatchReplySchema.parse((await service.post('/admin/resume', {})).body);
    retryAllReplySchema.parse((await service.post('/jobs/retry-all', {})).body);
    cancelAllReplySchema.parse((await service.post('/jobs/cancel-all', {})).body);
    seriesSchema.parse((await service.get('/stats/series')).body);
    failuresSchema.parse((await service.get('/stats/failures')).body);
  });
});
