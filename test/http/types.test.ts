/** The routes of job types: `type` on submissions, `GET /types`, `GET /jobs?type=`, per-type counts in /stats. */
import { expect } from 'chai';
import type { Processor } from '../../src/processors/processor.js';
import { startTypedService } from './typed-service.js';

const pending: Processor = () => new Promise(() => {});

describe('routes: job types', () => {
  let service: Awaited<ReturnType<typeof startTypedService>>;
  beforeEach(async () => {
    service = await startTypedService([
      { name: 'simulated', kind: 'simulated', options: {}, processor: pending, source: 'built-in' },
      { name: 'email', kind: 'module', options: { max_retries: 5, concurrency: 2 }, processor: pending, source: 'tasks/email.ts' },
    ]);
  });
  afterEach(() => service.stop());

  const post = (path: string, body: unknown) => service.post(path, body);
  const get = (path: string) => service.get(path);

  it('refuses an unknown type with 400 unknown_job_type, naming it and listing the known types', async () => {
    expect(await post('/jobs', { type: 'sms', payload: {} })).to.deep.equal({
      status: 400,
      body: {
        error: {
          code: 'unknown_job_type',
          message: 'No job type "sms"; known types: email, simulated.',
          details: { type: 'sms', known_types: ['email', 'simulated'] },
        },
      },
    });
    expect((await get('/stats')).body.queue).to.deep.equal({ used: 0, capacity: 11 });
  });

  it("takes the seed's POST /enqueue without a type: the same answer, the default type", async () => {
    const response = await fetch(service.url('/enqueue'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'seed-1', payload: 'hello', max_retries: 2 }),
    });
    expect([response.status, response.headers.get('location'), await response.json()]).to.deep.equal([
      202, '/jobs/seed-1', { status: 'queued', id: 'seed-1' },
    ]);
    const job = (await get('/jobs/seed-1')).body;
    expect([job.type, job.state, job.max_retries, job.payload]).to.deep.equal(['simulated', 'running', 2, 'hello']);
  });

  it('counts an unknown type among the rejected submissions, as validation', async () => {
    await post('/jobs', { type: 'sms', payload: null });
    const metrics = await (await fetch(service.url('/metrics'))).text();
    expect(metrics.split('\n').filter((line) => line.startsWith('jobsvc_jobs_rejected_total{'))).to.deep.equal([
      'jobsvc_jobs_rejected_total{reason="queue_full"} 0',
      'jobsvc_jobs_rejected_total{reason="scheduled_full"} 0',
      'jobsvc_jobs_rejected_total{reason="duplicate"} 0',
      'jobsvc_jobs_rejected_total{reason="validation"} 1',
      'jobsvc_jobs_rejected_total{reason="shutting_down"} 0',
    ]);
  });

  it('refuses a malformed type name with validation_failed', async () => {
    expect(await post('/enqueue', { type: 'Email!', payload: {} })).to.deep.equal({
      status: 400,
      body: {
        error: {
          code: 'validation_failed',
          message: 'The request does not match the expected shape; see details.',
          details: {
            type: ['Must start with a lowercase letter or digit, followed by lowercase letters, digits, ".", "_" or "-".'],
          },
        },
      },
    });
  });

  it('decides the type per item of a batch', async () => {
    const reply = await post('/jobs/batch', {
      jobs: [
        { id: 'a', type: 'email', payload: 1 },
        { id: 'b', type: 'fax', payload: 2 },
        { id: 'c', payload: 3 },
      ],
    });
    expect(reply).to.deep.equal({
      status: 200,
      body: {
        results: [
          { id: 'a', status: 202 },
          {
            id: 'b',
            status: 400,
            error: {
              code: 'unknown_job_type',
              message: 'No job type "fax"; known types: email, simulated.',
              details: { type: 'fax', known_types: ['email', 'simulated'] },
            },
          },
          { id: 'c', status: 202 },
        ],
      },
    });
    const jobs = (await get('/jobs')).body.jobs as Array<{ id: string; type: string; max_retries: number }>;
    expect(jobs.map(({ id, type, max_retries }) => ({ id, type, max_retries }))).to.deep.equal([
      { id: 'c', type: 'simulated', max_retries: 3 },
      { id: 'a', type: 'email', max_retries: 5 },
    ]);
  });

  it('answers 409 to a resubmit of a known id with another type, 200 to the same one', async () => {
    expect((await post('/jobs', { id: 'x', type: 'email', payload: null })).status).to.equal(202);
    expect((await post('/jobs', { id: 'x', type: 'email', payload: null })).status).to.equal(200);
    // Only the type differs: the default type, with the max_retries email gave it.
    const conflict = (await post('/jobs', { id: 'x', payload: null, max_retries: 5 })) as { status: number; body: { error: { code: string } } };
    expect([conflict.status, conflict.body.error.code]).to.deep.equal([409, 'duplicate_job']);
  });

  it('lists only the jobs of a type with GET /jobs?type=, and counts per type in /stats', async () => {
    await post('/jobs', { id: 'e1', type: 'email', payload: null });
    await post('/jobs', { id: 's1', payload: null });
    await post('/jobs', { id: 'e2', type: 'email', payload: null });

    const page = (await get('/jobs?type=email')).body as { jobs: Array<{ id: string }>; next_cursor: null };
    expect(page.jobs.map((job) => job.id)).to.deep.equal(['e2', 'e1']);
    const ids = async (query: string) => ((await get(`/jobs?${query}`)).body.jobs as Array<{ id: string }>).map((j) => j.id);
    expect(await ids('type=email&state=queued')).to.deep.equal(['e2']);
    expect(await ids('type=simulated&state=queued')).to.deep.equal(['s1']);
    expect(await ids('type=fax')).to.deep.equal([]);
    expect((await get('/stats')).body.types).to.deep.equal({
      email: { scheduled: 0, queued: 1, running: 1, backoff: 0, done: 0, failed: 0, cancelled: 0 },
      simulated: { scheduled: 0, queued: 1, running: 0, backoff: 0, done: 0, failed: 0, cancelled: 0 },
    });
  });

  it('GET /types shows each type, its effective options and its live counts', async () => {
    await post('/jobs', { type: 'email', payload: null });
    expect(await get('/types')).to.deep.equal({
      status: 200,
      body: {
        types: [
          {
            name: 'email',
            kind: 'module',
            source: 'tasks/email.ts',
            options: { max_retries: 5, timeout_ms: 0, backoff: { base_ms: 100, max_ms: 30_000, jitter_ms: 100 }, concurrency: 2, isolation: 'none' },
            counts: { scheduled: 0, queued: 0, running: 1, backoff: 0, done: 0, failed: 0, cancelled: 0 },
          },
          {
            name: 'simulated',
            kind: 'simulated',
            source: 'built-in',
            options: { max_retries: 3, timeout_ms: 0, backoff: { base_ms: 100, max_ms: 30_000, jitter_ms: 100 }, concurrency: null, isolation: 'none' },
            counts: { scheduled: 0, queued: 0, running: 0, backoff: 0, done: 0, failed: 0, cancelled: 0 },
          },
        ],
        default_type: 'simulated',
      },
    });
  });
});
