import { expect } from 'chai';
import { BATCH_RUN } from '../../src/http/routes/jobs.js';
import { iso, startService, T0, view, type Service } from './support.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/; // v7

const validationFailed = (details: Record<string, string[]>) => ({
  code: 'validation_failed',
  message: 'The request does not match the expected shape; see details.',
  details,
});

const queueFull = {
  code: 'queue_full',
  message: 'The queue is full (3 unfinished jobs); retry in about 4 s.',
  details: { capacity: 3, retry_after_seconds: 4 },
};

describe('POST /jobs/batch', () => {
  let service: Service;
  beforeEach(async () => {
    // Room for three jobs (one running, two waiting), as in the POST /jobs tests.
    service = await startService({ config: { workers: 1, queueSize: 2, maxBodyBytes: 65_536 } });
  });
  afterEach(() => service.stop());

  describe('200 with one result per item, in request order', () => {
    it('admits every item, generating the ids that are missing', async () => {
      const reply = await service.post('/jobs/batch', {
        jobs: [{ id: 'a', payload: { n: 1 }, max_retries: 5 }, {}, { id: 'c' }],
      });
      expect(reply.status).to.equal(200);
      const generated = (reply.body as { results: { id: string }[] }).results[1]!.id;
      expect(generated).to.match(UUID);
      expect(reply.body).to.deep.equal({
        results: [
          { id: 'a', status: 202 },
          { id: generated, status: 202 },
          { id: 'c', status: 202 },
        ],
      });
      // Admitted in order: the first took the one worker, the others wait.
      expect((await service.get('/jobs/a')).body).to.deep.equal(
        view({ id: 'a', state: 'running', payload: { n: 1 }, max_retries: 5, attempts: 1, started_at: iso(T0) }),
      );
      expect((await service.get(`/jobs/${generated}`)).body).to.deep.equal(view({ id: generated }));
      expect((await service.queue.stats()).totals.submitted).to.equal(3);
    });

    it('answers an empty batch with no results', async () => {
      const reply = await service.post('/jobs/batch', { jobs: [] });
      expect(reply.status).to.equal(200);
      expect(reply.body).to.deep.equal({ results: [] });
    });

    it('decides each item as POST /jobs would: 202, 400, 200, 409 and 429 side by side', async () => {
      expect((await service.post('/jobs', { id: 'known', payload: 1 })).status).to.equal(202);
      const reply = await service.post('/jobs/batch', {
        jobs: [
          { id: 'new-1' },
          [1, 2],
          { id: 'bad', max_retries: 21, extra: true },
          { id: 7 },
          { id: 'known', payload: 1 },
          { id: 'known', payload: 2 },
          { id: 'new-2' },
          { id: 'over' },
          { payload: 'no id, no room' },
        ],
      });
      expect(reply.status).to.equal(200);
      const known = view({ id: 'known', state: 'running', payload: 1, attempts: 1, started_at: iso(T0) });
      expect(reply.body).to.deep.equal({
        results: [
          { id: 'new-1', status: 202 },
          { id: null, status: 400, error: validationFailed({ body: ['Must be a JSON object.'] }) },
          {
            id: 'bad',
            status: 400,
            error: validationFailed({
              max_retries: ['Must be an integer from 0 to 20.'],
              extra: ['Unknown field; allowed: id, type, payload, max_retries, priority, run_at, delay_ms.'],
            }),
          },
          { id: null, status: 400, error: validationFailed({ id: ['Must be a string.'] }) },
          { id: 'known', status: 200 },
          {
            id: 'known',
            status: 409,
            error: {
              code: 'duplicate_job',
              message: 'A job with id "known" already exists with a different type, payload, max_retries or priority.',
              details: known,
            },
          },
          { id: 'new-2', status: 202 },
          { id: 'over', status: 429, error: queueFull },
          { id: null, status: 429, error: queueFull },
        ],
      });
      expect((await service.queue.stats()).totals).to.deep.equal({
        submitted: 3, done: 0, failed: 0, cancelled: 0, retries: 0, manual_retries: 0, rejected: 2,
      });
    });

    it('treats a repeated id within the batch as a resubmit of the earlier item', async () => {
      const reply = await service.post('/jobs/batch', {
        jobs: [{ id: 'x', payload: [1] }, { id: 'x', payload: [1], max_retries: 3 }, { id: 'x', payload: [2] }],
      });
      expect(reply.status).to.equal(200);
      expect(reply.body).to.deep.equal({
        results: [
          { id: 'x', status: 202 },
          { id: 'x', status: 200 },
          {
            id: 'x',
            status: 409,
            error: {
              code: 'duplicate_job',
              message: 'A job with id "x" already exists with a different type, payload, max_retries or priority.',
              details: view({ id: 'x', state: 'running', payload: [1], attempts: 1, started_at: iso(T0) }),
            },
          },
        ],
      });
    });

    it('keeps request order across the runs it admits between yields (BATCH_RUN items each)', async () => {
      await service.stop();
      service = await startService({ config: { workers: 1, queueSize: BATCH_RUN + 2, maxBodyBytes: 65_536 } });
      // Capacity BATCH_RUN + 3. The first item's id comes back in the second run, and the last item finds the
      // queue full: the second run saw everything the first admitted.
      const count = BATCH_RUN + 5;
      const jobs = Array.from({ length: count }, (_, i) => ({ id: i === BATCH_RUN + 1 ? 'j0' : `j${i}` }));
      const reply = await service.post('/jobs/batch', { jobs });
      const capacity = BATCH_RUN + 3;
      expect(reply.body).to.deep.equal({
        results: jobs.map(({ id }, i) => {
          if (i === BATCH_RUN + 1) return { id, status: 200 };
          if (i < count - 1) return { id, status: 202 };
          return {
            id,
            status: 429,
            error: {
              ...queueFull,
              message: `The queue is full (${capacity} unfinished jobs); retry in about 4 s.`,
              details: { capacity, retry_after_seconds: 4 },
            },
          };
        }),
      });
    });

    it('accepts exactly 1000 items', async () => {
      await service.stop();
      service = await startService({ config: { workers: 1, queueSize: 1000, maxBodyBytes: 65_536 } });
      const jobs = Array.from({ length: 1000 }, (_, i) => ({ id: `j${i}` }));
      const reply = await service.post('/jobs/batch', { jobs });
      expect(reply.status).to.equal(200);
      expect(reply.body).to.deep.equal({ results: jobs.map(({ id }) => ({ id, status: 202 })) });
    });
  });

  describe('400 validation_failed for the whole batch', () => {
    const cases: [string, unknown, Record<string, string[]>][] = [
      ['1001 items', { jobs: Array.from({ length: 1001 }, () => ({})) }, { jobs: ['Must be an array of at most 1000 jobs.'] }],
      ['jobs that is an object', { jobs: { id: 'a' } }, { jobs: ['Must be an array of at most 1000 jobs.'] }],
      ['jobs that is null', { jobs: null }, { jobs: ['Must be an array of at most 1000 jobs.'] }],
      ['a missing jobs', {}, { jobs: ['Must be an array of at most 1000 jobs.'] }],
      ['an unknown field', { jobs: [], job: [] }, { job: ['Unknown field; allowed: jobs.'] }],
      ['a body that is an array', [{ id: 'a' }], { body: ['Must be a JSON object.'] }],
    ];
    for (const [name, body, details] of cases) {
      it(`refuses ${name}, admitting nothing`, async () => {
        const reply = await service.post('/jobs/batch', body);
        expect(reply.status).to.equal(400);
        expect(reply.body).to.deep.equal({ error: validationFailed(details) });
        expect((await service.queue.stats()).totals.submitted).to.equal(0);
      });
    }

    it('comes before shutting_down', async () => {
      await service.queue.drain(0);
      const reply = await service.post('/jobs/batch', { jobs: 'nope' });
      expect(reply.status).to.equal(400);
      expect(reply.body).to.deep.equal({ error: validationFailed({ jobs: ['Must be an array of at most 1000 jobs.'] }) });
    });
  });

  describe('the body as a whole', () => {
    it('refuses a body over MAX_BODY_BYTES with 413, like POST /jobs', async () => {
      const reply = await service.post('/jobs/batch', { jobs: [{ payload: 'x'.repeat(70_000) }] });
      expect(reply.status).to.equal(413);
      expect(reply.body).to.deep.equal({
        error: { code: 'payload_too_large', message: 'The request body is larger than the limit of 65536 bytes.' },
      });
    });

    it('refuses invalid JSON with 400 invalid_json', async () => {
      const reply = await service.post('/jobs/batch', '{"jobs": [');
      expect(reply.status).to.equal(400);
      expect(reply.body).to.have.nested.property('error.code', 'invalid_json');
    });

    it('answers 503 shutting_down for the whole batch once a drain has started', async () => {
      await service.post('/jobs', { id: 'running' });
      void service.queue.drain(60_000);
      const reply = await service.post('/jobs/batch', { jobs: [{ id: 'late' }, { id: 'running' }] });
      expect(reply.status).to.equal(503);
      expect(reply.body).to.deep.equal({
        error: {
          code: 'shutting_down',
          message: 'The service is shutting down and accepts no new jobs; retry on another instance.',
        },
      });
    });
  });
});
