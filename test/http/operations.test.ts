import { expect } from 'chai';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createApp } from '../../src/http/app.js';
import { createJobQueue } from '../../src/engine/job-queue.js';
import type { Processor } from '../../src/processors/processor.js';
import { iso, startService, T0, testConfig, view, type Service } from './support.js';

const notFound = (id: string) => ({ error: { code: 'not_found', message: `No job with id ${JSON.stringify(id)}.` } });
const notCancellable = (id: string, state: string) => ({
  error: {
    code: 'not_cancellable',
    message: `Job ${JSON.stringify(id)} is ${state} and can no longer be cancelled.`,
    details: { state },
  },
});
const notRetryable = (id: string, state: string) => ({
  error: {
    code: 'not_retryable',
    message: `Job ${JSON.stringify(id)} is ${state}; only failed or cancelled jobs can be retried.`,
    details: { state },
  },
});

/**
 * A service whose processor ignores its abort signal, as a careless one would: its attempts end only when the
 * test settles them. support.ts's processor always honours the signal, so this one is built here.
 */
async function startStubbornService(options: { cancelWaitMs?: number } = {}) {
  const config = testConfig({ workers: 1, queueSize: 1 });
  const attempts = new Map<string, { signal: AbortSignal; resolve(): void }>();
  const processor: Processor = (job, { signal }) =>
    new Promise((resolve) => attempts.set(job.id, { signal, resolve: () => resolve(undefined) }));
  let time = T0;
  const queue = createJobQueue(
    { workers: 1, queueSize: 1, backoff: config.backoff, jobTimeoutMs: 0, jobRetention: 100 },
    { processor, now: () => time, random: () => 0 },
  );
  const app = createApp({ queue, config, logger: pino({ level: 'silent' }), cancelWaitMs: options.cancelWaitMs });
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(base + path, {
      method,
      // `connection: close`: no idle keep-alive socket outlives the test (see support.ts).
      headers:
        body === undefined
          ? { connection: 'close', 'X-Requested-With': 'test' }
          : { 'Content-Type': 'application/json', connection: 'close' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as unknown };
  };
  return {
    queue,
    attempts,
    call,
    advance: (ms: number) => void (time += ms),
    async stop() {
      await queue.drain(0);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('POST /jobs/:id/cancel', () => {
  let service: Service;
  beforeEach(async () => {
    service = await startService({ config: { workers: 1, queueSize: 2 } });
  });
  afterEach(() => service.stop());

  it('cancels a queued job at once: 200 cancelled, and its place is free again', async () => {
    await service.post('/jobs', { id: 'a' });
    await service.post('/jobs', { id: 'b' });
    service.clock.advance(10);
    const reply = await service.post('/jobs/b/cancel', '');
    expect(reply.status).to.equal(200);
    const cancelled = view({ id: 'b', state: 'cancelled', updated_at: iso(T0 + 10), finished_at: iso(T0 + 10) });
    expect(reply.body).to.deep.equal(cancelled);
    expect((await service.get('/jobs/b')).body).to.deep.equal(cancelled);
    expect((await service.queue.stats()).queue.used).to.equal(1);
  });

  it('cancels a job in backoff: 200 cancelled, its retry no longer pending', async () => {
    await service.post('/jobs', { id: 'b' });
    service.clock.advance(5);
    service.work.fail('b', 'upstream timed out');
    await service.reach('b', 'backoff');
    service.clock.advance(5);
    const reply = await service.request('POST', '/jobs/b/cancel');
    expect(reply.status).to.equal(200);
    expect(reply.body).to.deep.equal(
      view({
        id: 'b',
        state: 'cancelled',
        attempts: 1,
        last_error: 'upstream timed out',
        started_at: iso(T0),
        updated_at: iso(T0 + 10),
        finished_at: iso(T0 + 10),
      }),
    );
    expect((await service.queue.stats()).queue.used).to.equal(0);
  });

  it('cancels a running job whose attempt stops on the abort: 200 cancelled, and its worker goes to the next job', async () => {
    await service.post('/jobs', { id: 'a', payload: 'x' });
    await service.post('/jobs', { id: 'b' });
    service.clock.advance(10);
    const reply = await service.request('POST', '/jobs/a/cancel');
    expect(reply.status).to.equal(200);
    expect(reply.body).to.deep.equal(
      view({
        id: 'a',
        state: 'cancelled',
        payload: 'x',
        attempts: 1,
        started_at: iso(T0),
        updated_at: iso(T0 + 10),
        finished_at: iso(T0 + 10),
      }),
    );
    expect((await service.get('/jobs/b')).body).to.deep.equal(
      view({ id: 'b', state: 'running', attempts: 1, started_at: iso(T0 + 10), updated_at: iso(T0 + 10) }),
    );
  });

  for (const [state, settle] of [
    ['done', (s: Service) => s.work.succeed('d')],
    ['failed', (s: Service) => s.work.fail('d', 'no')],
  ] as const) {
    it(`is 409 not_cancellable, with the state, for a ${state} job`, async () => {
      await service.post('/jobs', { id: 'd', max_retries: 0 });
      settle(service);
      await service.reach('d', state);
      const reply = await service.request('POST', '/jobs/d/cancel');
      expect(reply.status).to.equal(409);
      expect(reply.body).to.deep.equal(notCancellable('d', state));
    });
  }

  it('is 409 not_cancellable for a job cancelled already', async () => {
    await service.post('/jobs', { id: 'a' });
    await service.post('/jobs', { id: 'c' });
    expect((await service.request('POST', '/jobs/c/cancel')).status).to.equal(200);
    const reply = await service.request('POST', '/jobs/c/cancel');
    expect(reply.status).to.equal(409);
    expect(reply.body).to.deep.equal(notCancellable('c', 'cancelled'));
  });

  it('is 404 not_found for an unknown job', async () => {
    const reply = await service.request('POST', '/jobs/nobody%20here/cancel');
    expect(reply.status).to.equal(404);
    expect(reply.body).to.deep.equal(notFound('nobody here'));
  });
});

describe('POST /jobs/:id/cancel of an attempt that ignores its signal', () => {
  let stubborn: Awaited<ReturnType<typeof startStubbornService>>;
  afterEach(() => stubborn.stop());

  it('is 202 running with cancel_requested after the wait; the worker is held until the attempt stops', async () => {
    stubborn = await startStubbornService({ cancelWaitMs: 50 });
    await stubborn.call('POST', '/jobs', { id: 'a' });
    await stubborn.call('POST', '/jobs', { id: 'b' });
    stubborn.advance(10);
    const reply = await stubborn.call('POST', '/jobs/a/cancel');
    expect(reply.status).to.equal(202);
    const cancelling = view({
      id: 'a',
      state: 'running',
      attempts: 1,
      started_at: iso(T0),
      updated_at: iso(T0 + 10),
      cancel_requested: true,
    });
    expect(reply.body).to.deep.equal(cancelling);
    expect(stubborn.attempts.get('a')!.signal.aborted).to.equal(true);
    // GET shows the pending cancel too, and b still waits: the slot is not free before the attempt stops.
    expect((await stubborn.call('GET', '/jobs/a')).body).to.deep.equal(cancelling);
    expect((await stubborn.call('GET', '/jobs/b')).body).to.deep.equal(view({ id: 'b' }));
    expect((await stubborn.queue.stats()).workers.busy).to.equal(1);

    stubborn.advance(5);
    stubborn.attempts.get('a')!.resolve(); // a success after the abort still ends as cancelled
    await new Promise((resolve) => setImmediate(resolve));
    expect((await stubborn.call('GET', '/jobs/a')).body).to.deep.equal(
      view({
        id: 'a',
        state: 'cancelled',
        attempts: 1,
        started_at: iso(T0),
        updated_at: iso(T0 + 15),
        finished_at: iso(T0 + 15),
      }),
    );
    expect((await stubborn.call('GET', '/jobs/b')).body).to.deep.equal(
      view({ id: 'b', state: 'running', attempts: 1, started_at: iso(T0 + 15), updated_at: iso(T0 + 15) }),
    );
  });
});

describe('POST /jobs/:id/retry', () => {
  let service: Service;
  beforeEach(async () => {
    service = await startService({ config: { workers: 1, queueSize: 1 } });
  });
  afterEach(() => service.stop());

  /** Job `f` (max_retries 0) fails at T0 + 5. */
  async function failedJob() {
    await service.post('/jobs', { id: 'f', max_retries: 0 });
    service.clock.advance(5);
    service.work.fail('f', 'bad input');
    await service.reach('f', 'failed');
  }

  it('puts a failed job back in the queue: 202 queued behind a running job, attempts and history kept', async () => {
    await failedJob();
    await service.post('/jobs', { id: 'busy' });
    service.clock.advance(5);
    const reply = await service.request('POST', '/jobs/f/retry');
    expect(reply.status).to.equal(202);
    const queued = view({
      id: 'f',
      max_retries: 0,
      attempts: 1,
      last_error: 'bad input',
      started_at: iso(T0),
      updated_at: iso(T0 + 10),
    });
    expect(reply.body).to.deep.equal(queued);
    expect((await service.get('/jobs/f')).body).to.deep.equal(queued);
    expect((await service.get('/jobs/f/history')).body).to.deep.equal({
      id: 'f',
      transitions: [
        {
          type: 'simulated',
          from: null,
          to: 'queued',
          event: 'SUBMIT',
          at: iso(T0),
          attempt: 0,
          error: null,
          delay_ms: null,
          delay_source: null,
        },
        {
          type: 'simulated',
          from: 'queued',
          to: 'running',
          event: 'SLOT_GRANTED',
          at: iso(T0),
          attempt: 1,
          error: null,
          delay_ms: null,
          delay_source: null,
        },
        {
          type: 'simulated',
          from: 'running',
          to: 'failed',
          event: 'ATTEMPT_FAILED',
          at: iso(T0 + 5),
          attempt: 1,
          error: 'bad input',
          delay_ms: null,
          delay_source: null,
        },
        {
          type: 'simulated',
          from: 'failed',
          to: 'queued',
          event: 'RETRY',
          at: iso(T0 + 10),
          attempt: 1,
          error: null,
          delay_ms: null,
          delay_source: null,
        },
      ],
    });
    // A manual retry is not a submission.
    expect((await service.queue.stats()).totals).to.include({ submitted: 2, manual_retries: 1 });
  });

  it('starts a retried job at once when a worker is free, with its attempts counting on', async () => {
    await failedJob();
    const reply = await service.request('POST', '/jobs/f/retry');
    expect(reply.status).to.equal(202);
    expect(reply.body).to.deep.equal(
      view({
        id: 'f',
        state: 'running',
        max_retries: 0,
        attempts: 2,
        last_error: 'bad input',
        started_at: iso(T0 + 5),
        updated_at: iso(T0 + 5),
      }),
    );
  });

  it('puts a cancelled job back in the queue: 202', async () => {
    await service.post('/jobs', { id: 'busy' });
    await service.post('/jobs', { id: 'c', payload: [1] });
    await service.request('POST', '/jobs/c/cancel');
    service.clock.advance(3);
    const reply = await service.request('POST', '/jobs/c/retry');
    expect(reply.status).to.equal(202);
    expect(reply.body).to.deep.equal(view({ id: 'c', payload: [1], updated_at: iso(T0 + 3) }));
  });

  for (const state of ['queued', 'running', 'done'] as const) {
    it(`is 409 not_retryable, with the state, for a ${state} job`, async () => {
      await service.post('/jobs', { id: 'first' });
      await service.post('/jobs', { id: 'second' });
      const id = state === 'queued' ? 'second' : 'first';
      if (state === 'done') {
        service.work.succeed('first');
        await service.reach('first', 'done');
      }
      const reply = await service.request('POST', `/jobs/${id}/retry`);
      expect(reply.status).to.equal(409);
      expect(reply.body).to.deep.equal(notRetryable(id, state));
    });
  }

  it('is 409 not_retryable for a job in backoff', async () => {
    await service.post('/jobs', { id: 'b' });
    service.work.fail('b', 'later');
    await service.reach('b', 'backoff');
    const reply = await service.request('POST', '/jobs/b/retry');
    expect(reply.status).to.equal(409);
    expect(reply.body).to.deep.equal(notRetryable('b', 'backoff'));
  });

  it('is 429 queue_full, with Retry-After, when the queue is full', async () => {
    await failedJob();
    await service.post('/jobs', { id: 'a' });
    await service.post('/jobs', { id: 'b' });
    const reply = await service.request('POST', '/jobs/f/retry');
    expect(reply.status).to.equal(429);
    // Fewer than two finishes so far: the estimate is expectedWorkMs (4 s here) per worker.
    expect(reply.headers.get('retry-after')).to.equal('4');
    expect(reply.body).to.deep.equal({
      error: {
        code: 'queue_full',
        message: 'The queue is full (2 unfinished jobs); retry in about 4 s.',
        details: { capacity: 2, retry_after_seconds: 4 },
      },
    });
    expect((await service.get('/jobs/f')).body).to.have.property('state', 'failed');
  });

  it('is 503 shutting_down once a drain has started', async () => {
    await failedJob();
    await service.post('/jobs', { id: 'a' });
    void service.queue.drain(60_000);
    const reply = await service.request('POST', '/jobs/f/retry');
    expect(reply.status).to.equal(503);
    expect(reply.body).to.deep.equal({
      error: {
        code: 'shutting_down',
        message: 'The service is shutting down and accepts no new jobs; retry on another instance.',
      },
    });
  });

  it('is 404 not_found for an unknown job', async () => {
    const reply = await service.request('POST', '/jobs/nope/retry');
    expect(reply.status).to.equal(404);
    expect(reply.body).to.deep.equal(notFound('nope'));
  });
});
