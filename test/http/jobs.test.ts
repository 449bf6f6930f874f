import { expect } from 'chai';
import { iso, startService, T0, view, type Service } from './support.js';

const validationFailed = (details: Record<string, string[]>) => ({
  error: {
    code: 'validation_failed',
    message: 'The request does not match the expected shape; see details.',
    details,
  },
});

describe('GET /jobs/:id', () => {
  let service: Service;
  beforeEach(async () => {
    service = await startService({ config: { workers: 1, queueSize: 10 } });
  });
  afterEach(() => service.stop());

  it('is 404 not_found for an unknown job', async () => {
    const reply = await service.get('/jobs/nobody%20here');
    expect(reply.status).to.equal(404);
    expect(reply.body).to.deep.equal({ error: { code: 'not_found', message: 'No job with id "nobody here".' } });
  });

  it('shows a queued job, waiting behind a running one', async () => {
    await service.post('/jobs', { id: 'first' });
    await service.post('/jobs', { id: 'second', payload: [1] });
    const reply = await service.get('/jobs/second');
    expect(reply.status).to.equal(200);
    expect(reply.body).to.deep.equal(view({ id: 'second', payload: [1] }));
  });

  it('shows a running job, with the start of its attempt', async () => {
    service.clock.advance(1);
    await service.post('/jobs', { id: 'r', payload: { x: 1 }, max_retries: 2 });
    expect((await service.get('/jobs/r')).body).to.deep.equal(
      view({
        id: 'r',
        state: 'running',
        payload: { x: 1 },
        max_retries: 2,
        attempts: 1,
        created_at: iso(T0 + 1),
        updated_at: iso(T0 + 1),
        started_at: iso(T0 + 1),
      }),
    );
  });

  it('shows a done job, with its finish time', async () => {
    await service.post('/jobs', { id: 'd' });
    service.clock.advance(250);
    service.work.succeed('d');
    await service.reach('d', 'done');
    expect((await service.get('/jobs/d')).body).to.deep.equal(
      view({
        id: 'd',
        state: 'done',
        attempts: 1,
        started_at: iso(T0),
        updated_at: iso(T0 + 250),
        finished_at: iso(T0 + 250),
      }),
    );
  });

  it('shows a job in backoff, with its error and the absolute time of its retry', async () => {
    await service.post('/jobs', { id: 'b' });
    service.clock.advance(100);
    service.work.fail('b', 'upstream timed out');
    await service.reach('b', 'backoff');
    // BACKOFF_BASE_MS is 60 s here and the jitter 0.
    expect((await service.get('/jobs/b')).body).to.deep.equal(
      view({
        id: 'b',
        state: 'backoff',
        attempts: 1,
        last_error: 'upstream timed out',
        started_at: iso(T0),
        updated_at: iso(T0 + 100),
        next_retry_at: iso(T0 + 100 + 60_000),
      }),
    );
  });

  it('shows a failed job, with its last error', async () => {
    await service.post('/jobs', { id: 'f', max_retries: 0 });
    service.clock.advance(5);
    service.work.fail('f', 'bad input');
    await service.reach('f', 'failed');
    expect((await service.get('/jobs/f')).body).to.deep.equal(
      view({
        id: 'f',
        state: 'failed',
        max_retries: 0,
        attempts: 1,
        last_error: 'bad input',
        started_at: iso(T0),
        updated_at: iso(T0 + 5),
        finished_at: iso(T0 + 5),
      }),
    );
  });
});

describe('GET /jobs', () => {
  let service: Service;
  /** Jobs j0…j4, submitted 1 ms apart; j0 runs, the rest wait. */
  beforeEach(async () => {
    service = await startService({ config: { workers: 1, queueSize: 10 } });
    for (let i = 0; i < 5; i++) {
      expect((await service.post('/jobs', { id: `j${i}`, payload: i })).status).to.equal(202);
      service.clock.advance(1);
    }
  });
  afterEach(() => service.stop());

  const queued = (i: number) => view({ id: `j${i}`, payload: i, created_at: iso(T0 + i), updated_at: iso(T0 + i) });
  const j0 = view({ id: 'j0', payload: 0, state: 'running', attempts: 1, started_at: iso(T0) });

  it('lists every job, newest first, with a null next_cursor when nothing is left', async () => {
    const reply = await service.get('/jobs');
    expect(reply.status).to.equal(200);
    expect(reply.body).to.deep.equal({ jobs: [queued(4), queued(3), queued(2), queued(1), j0], next_cursor: null });
  });

  it('pages with limit and cursor', async () => {
    const first = await service.get('/jobs?limit=2');
    expect(first.status).to.equal(200);
    const { next_cursor: cursor1 } = first.body as { next_cursor: string };
    expect(first.body).to.deep.equal({ jobs: [queued(4), queued(3)], next_cursor: cursor1 });
    expect(cursor1).to.be.a('string');

    const second = await service.get(`/jobs?limit=2&cursor=${encodeURIComponent(cursor1)}`);
    const { next_cursor: cursor2 } = second.body as { next_cursor: string };
    expect(second.body).to.deep.equal({ jobs: [queued(2), queued(1)], next_cursor: cursor2 });
    expect(cursor2).to.be.a('string');

    const third = await service.get(`/jobs?limit=2&cursor=${encodeURIComponent(cursor2)}`);
    expect(third.body).to.deep.equal({ jobs: [j0], next_cursor: null });
  });

  it('filters by state, and pages within the filter', async () => {
    const running = await service.get('/jobs?state=running');
    expect(running.body).to.deep.equal({ jobs: [j0], next_cursor: null });

    const page = await service.get('/jobs?state=queued&limit=3');
    const { next_cursor: cursor } = page.body as { next_cursor: string };
    expect(page.body).to.deep.equal({ jobs: [queued(4), queued(3), queued(2)], next_cursor: cursor });
    const rest = await service.get(`/jobs?state=queued&limit=3&cursor=${encodeURIComponent(cursor)}`);
    expect(rest.body).to.deep.equal({ jobs: [queued(1)], next_cursor: null });

    expect((await service.get('/jobs?state=failed')).body).to.deep.equal({ jobs: [], next_cursor: null });
  });

  it('accepts limit 1000', async () => {
    const reply = await service.get('/jobs?limit=1000');
    expect(reply.status).to.equal(200);
    expect((reply.body as { jobs: unknown[] }).jobs).to.have.length(5);
  });

  const limitMessage = ['Must be an integer from 1 to 1000.'];
  const cases: [string, Record<string, string[]>][] = [
    ['limit=0', { limit: limitMessage }],
    ['limit=1001', { limit: limitMessage }],
    ['limit=abc', { limit: limitMessage }],
    ['limit=1.5', { limit: limitMessage }],
    ['limit=-1', { limit: limitMessage }],
    ['limit=', { limit: limitMessage }],
    ['limit=1&limit=2', { limit: limitMessage }],
    ['state=paused', { state: ['Must be one of scheduled, queued, running, backoff, done, failed, cancelled.'] }],
    ['state=DONE', { state: ['Must be one of scheduled, queued, running, backoff, done, failed, cancelled.'] }],
    ['cursor=abc', { cursor: ['Not a cursor this server issued.'] }],
    ['cursor=1&cursor=2', { cursor: ['Must be a single cursor string.'] }],
    [
      'page=2',
      { page: ['Unknown field; allowed: state, type, limit, cursor, include_payload, id_prefix, created_after, created_before, last_error.'] },
    ],
    [
      'state=x&limit=0',
      { state: ['Must be one of scheduled, queued, running, backoff, done, failed, cancelled.'], limit: limitMessage },
    ],
  ];
  for (const [query, details] of cases) {
    it(`is 400 validation_failed for ?${query}`, async () => {
      const reply = await service.get(`/jobs?${query}`);
      expect(reply.status).to.equal(400);
      expect(reply.body).to.deep.equal(validationFailed(details));
    });
  }
});
