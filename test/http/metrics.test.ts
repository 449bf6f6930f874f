import { expect } from 'chai';
import sinon from 'sinon';
import { createMetrics, type RejectionReason } from '../../src/metrics.js';
import { createJobQueue } from '../../src/engine/job-queue.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import type { JobState } from '../../src/engine/job-record.js';
import { manualProcessor } from '../helpers/processors.js';
import { makeQueue } from '../helpers/queue.js';
import { startService, type Service } from './support.js';

/** The samples of a Prometheus text exposition, `name{labels}` → value, of the metrics whose name `keep` accepts. */
function samples(text: string, keep: (name: string) => boolean): Record<string, number> {
  const found: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const series = line.slice(0, space);
    const name = series.split('{')[0]!;
    if (keep(name)) found[series] = Number(line.slice(space + 1));
  }
  return found;
}

/** The job metrics (counters, gauges and the two job histograms). */
const JOB_METRICS = /^jobsvc_(jobs|workers|queue)(_|$)/;
const jobSamples = (text: string) => samples(text, (name) => JOB_METRICS.test(name));
/** The request counts of `jobsvc_http_request_duration_seconds` (its sums and buckets are real time). */
const requestCounts = (text: string) => samples(text, (name) => name === 'jobsvc_http_request_duration_seconds_count');

const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800];
const ATTEMPT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];

/** The job type of every job in these tests: the default one. Each job metric but jobsvc_jobs_rejected_total has its label. */
const TYPE = 'simulated';

/** The samples of a histogram's series of job type TYPE that observed `values` (seconds), in that order. */
function histogram(name: string, bounds: number[], values: number[]): Record<string, number> {
  const result: Record<string, number> = {};
  for (const bound of bounds) {
    result[`${name}_bucket{le="${bound}",type="${TYPE}"}`] = values.filter((v) => v <= bound).length;
  }
  result[`${name}_bucket{le="+Inf",type="${TYPE}"}`] = values.length;
  result[`${name}_sum{type="${TYPE}"}`] = values.reduce((sum, v) => sum + v, 0);
  result[`${name}_count{type="${TYPE}"}`] = values.length;
  return result;
}

interface Expected {
  submitted: number;
  rejected: Record<RejectionReason, number>;
  finished: Record<'done' | 'failed' | 'cancelled', number>;
  attempts: Record<'success' | 'failure' | 'timeout' | 'cancelled' | 'interrupted', number>;
  durations: number[];
  waits: number[];
  manualRetries: number;
  states: Record<JobState, number>;
  busy: number;
  workers: number;
  capacity: number;
}

/** Every job-metric sample, as the exposition prints them. */
function expectedJobSamples(e: Expected): Record<string, number> {
  const labelled = (name: string, label: string, values: Record<string, number>, typed = true) =>
    Object.fromEntries(
      Object.entries(values).map(([value, n]) => [`${name}{${label}="${value}"${typed ? `,type="${TYPE}"` : ''}}`, n]),
    );
  return {
    [`jobsvc_jobs_submitted_total{type="${TYPE}"}`]: e.submitted,
    ...labelled('jobsvc_jobs_rejected_total', 'reason', e.rejected, false),
    ...labelled('jobsvc_jobs_finished_total', 'state', e.finished),
    ...labelled('jobsvc_jobs_attempts_total', 'outcome', e.attempts),
    ...histogram('jobsvc_jobs_attempt_duration_seconds', ATTEMPT_BUCKETS, e.durations),
    ...histogram('jobsvc_jobs_wait_seconds', WAIT_BUCKETS, e.waits),
    [`jobsvc_jobs_manual_retries_total{type="${TYPE}"}`]: e.manualRetries,
    ...labelled('jobsvc_jobs', 'state', e.states),
    jobsvc_workers_busy: e.busy,
    jobsvc_workers: e.workers,
    jobsvc_queue_capacity: e.capacity,
    jobsvc_jobs_fenced_writes_total: 0,
  };
}

const none = { queue_full: 0, scheduled_full: 0, duplicate: 0, validation: 0, shutting_down: 0 };
const noAttempts = { success: 0, failure: 0, timeout: 0, cancelled: 0, interrupted: 0 };
const noStates = { scheduled: 0, queued: 0, running: 0, backoff: 0, done: 0, failed: 0, cancelled: 0 };

describe('GET /metrics', () => {
  let service: Service;
  beforeEach(async () => {
    service = await startService({ config: { workers: 2, queueSize: 2 } });
  });
  afterEach(() => service.stop());

  it('serves the Prometheus text format, with the process metrics and every job series at 0', async () => {
    const reply = await service.get('/metrics');
    expect(reply.status).to.equal(200);
    expect(reply.headers.get('content-type')).to.equal('text/plain; version=0.0.4; charset=utf-8');
    for (const processMetric of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(reply.text).to.match(new RegExp(`^${processMetric} `, 'm'));
    }
    for (const [name, type] of [
      ['jobsvc_jobs_submitted_total', 'counter'],
      ['jobsvc_jobs_rejected_total', 'counter'],
      ['jobsvc_jobs_finished_total', 'counter'],
      ['jobsvc_jobs_attempts_total', 'counter'],
      ['jobsvc_jobs_attempt_duration_seconds', 'histogram'],
      ['jobsvc_jobs_wait_seconds', 'histogram'],
      ['jobsvc_jobs', 'gauge'],
      ['jobsvc_workers_busy', 'gauge'],
      ['jobsvc_workers', 'gauge'],
      ['jobsvc_queue_capacity', 'gauge'],
      ['jobsvc_jobs_manual_retries_total', 'counter'],
      ['jobsvc_jobs_fenced_writes_total', 'counter'],
      ['jobsvc_http_request_duration_seconds', 'histogram'],
    ]) {
      expect(reply.text).to.include(`\n# TYPE ${name} ${type}\n`);
    }
    expect(jobSamples(reply.text)).to.deep.equal(
      expectedJobSamples({
        submitted: 0,
        rejected: none,
        finished: { done: 0, failed: 0, cancelled: 0 },
        attempts: noAttempts,
        durations: [],
        waits: [],
        manualRetries: 0,
        states: noStates,
        busy: 0,
        workers: 2,
        capacity: 4,
      }),
    );
    expect(requestCounts(reply.text)).to.deep.equal({});
  });

  it('counts a scripted run of known outcomes exactly', async () => {
    const { clock, work } = service;
    const post = async (body: unknown, status: number) => expect((await service.post('/jobs', body)).status).to.equal(status);
    const operate = async (path: string, status: number) =>
      expect((await service.request('POST', path)).status).to.equal(status);

    // T0: two jobs take both workers.
    await post({ id: 'ok1' }, 202);
    await post({ id: 'ok2' }, 202);
    clock.advance(100); // T0+100
    work.succeed('ok1'); // success after 0.1 s
    await service.reach('ok1', 'done');
    await post({ id: 'bad', max_retries: 0 }, 202);
    clock.advance(50); // T0+150
    work.fail('bad', 'no'); // failure after 0.05 s; failed
    await service.reach('bad', 'failed');
    await post({ id: 'flaky', max_retries: 2 }, 202);
    clock.advance(50); // T0+200
    work.fail('flaky', 'later'); // failure after 0.05 s; backoff
    await service.reach('flaky', 'backoff');
    await post({ id: 'q1' }, 202); // runs at once
    await post({ id: 'q2' }, 202); // waits: the queue is now full (ok2, flaky, q1, q2)

    await post({ id: 'extra' }, 429); // queue_full
    await post({ id: 'ok2', payload: 'other' }, 409); // duplicate
    await post({ id: 'ok2' }, 200); // an identical resubmit: no rejection
    await post({ id: 'x', max_retries: -1 }, 400); // validation
    await post('{not json', 400); // validation too
    expect((await service.get('/nope')).status).to.equal(404);

    clock.advance(300); // T0+500
    await operate('/jobs/q1/cancel', 200); // cancelled after 0.3 s; q2 gets the worker after waiting 0.3 s
    await operate('/jobs/flaky/cancel', 200); // from backoff: no attempt ends
    await operate('/jobs/flaky/retry', 202); // a manual retry; waits, both workers busy
    clock.advance(100); // T0+600
    work.succeed('q2'); // success after 0.1 s; flaky runs after waiting 0.1 s
    await service.reach('flaky', 'running');
    clock.advance(250); // T0+850
    work.succeed('flaky'); // success after 0.25 s
    work.succeed('ok2'); // success after 0.85 s
    await service.reach('ok2', 'done');

    await post({ id: 'w1' }, 202);
    await post({ id: 'w2' }, 202);
    await post({ id: 'w3' }, 202);
    await operate('/jobs/w3/cancel', 200); // from queued: no attempt ends
    void service.queue.drain(60_000);
    await post({ id: 'late' }, 503); // shutting_down

    const reply = await service.get('/metrics');
    expect(jobSamples(reply.text)).to.deep.equal(
      expectedJobSamples({
        submitted: 9, // ok1 ok2 bad flaky q1 q2 w1 w2 w3, and not the retry
        rejected: { queue_full: 1, scheduled_full: 0, duplicate: 1, validation: 2, shutting_down: 1 },
        finished: { done: 4, failed: 1, cancelled: 3 },
        attempts: { success: 4, failure: 2, timeout: 0, cancelled: 1, interrupted: 0 },
        // In the order they ended: ok1, bad, flaky, q1, q2, flaky, ok2.
        durations: [0.1, 0.05, 0.05, 0.3, 0.1, 0.25, 0.85],
        // In the order they started: ok1, ok2, bad, flaky, q1, q2, flaky (retried), w1, w2.
        waits: [0, 0, 0, 0, 0, 0.3, 0.1, 0, 0],
        manualRetries: 1,
        states: { scheduled: 0, queued: 0, running: 2, backoff: 0, done: 4, failed: 1, cancelled: 2 },
        busy: 2,
        workers: 2,
        capacity: 4,
      }),
    );
    expect(requestCounts(reply.text)).to.deep.equal({
      'jobsvc_http_request_duration_seconds_count{method="POST",route="/jobs",status="202"}': 9,
      'jobsvc_http_request_duration_seconds_count{method="POST",route="/jobs",status="429"}': 1,
      'jobsvc_http_request_duration_seconds_count{method="POST",route="/jobs",status="409"}': 1,
      'jobsvc_http_request_duration_seconds_count{method="POST",route="/jobs",status="200"}': 1,
      'jobsvc_http_request_duration_seconds_count{method="POST",route="/jobs",status="400"}': 2,
      'jobsvc_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}': 1,
      'jobsvc_http_request_duration_seconds_count{method="POST",route="/jobs/:id/cancel",status="200"}': 3,
      'jobsvc_http_request_duration_seconds_count{method="POST",route="/jobs/:id/retry",status="202"}': 1,
      'jobsvc_http_request_duration_seconds_count{method="POST",route="/jobs",status="503"}': 1,
    });
    // The engine's own totals agree.
    expect((await service.queue.stats()).totals).to.deep.equal({
      submitted: 9, done: 4, failed: 1, cancelled: 3, retries: 1, manual_retries: 1, rejected: 1,
    });
  });

  it('counts a manual retry refused for capacity or a shutdown as a rejection, and not_retryable not', async () => {
    await service.post('/jobs', { id: 'f', max_retries: 0 });
    service.work.fail('f', 'no');
    await service.reach('f', 'failed');
    for (const id of ['a', 'b', 'c', 'd']) await service.post('/jobs', { id });
    expect((await service.request('POST', '/jobs/f/retry')).status).to.equal(429);
    expect((await service.request('POST', '/jobs/a/retry')).status).to.equal(409);
    void service.queue.drain(60_000);
    expect((await service.request('POST', '/jobs/f/retry')).status).to.equal(503);
    const rejected = samples((await service.get('/metrics')).text, (name) => name === 'jobsvc_jobs_rejected_total');
    expect(rejected).to.deep.equal({
      'jobsvc_jobs_rejected_total{reason="queue_full"}': 1,
      'jobsvc_jobs_rejected_total{reason="scheduled_full"}': 0,
      'jobsvc_jobs_rejected_total{reason="duplicate"}': 0,
      'jobsvc_jobs_rejected_total{reason="validation"}': 0,
      'jobsvc_jobs_rejected_total{reason="shutting_down"}': 1,
    });
  });

  it('counts the refused items of a batch by reason', async () => {
    await service.post('/jobs', { id: 'known', payload: 1 });
    const reply = await service.post('/jobs/batch', {
      jobs: [{ id: 'known', payload: 2 }, { max_retries: 'x' }, { id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }],
    });
    const { results } = reply.body as { results: { status: number }[] };
    expect(results.map((r) => r.status)).to.deep.equal([409, 400, 202, 202, 202, 429]);
    const rejected = samples((await service.get('/metrics')).text, (name) => name === 'jobsvc_jobs_rejected_total');
    expect(rejected).to.deep.equal({
      'jobsvc_jobs_rejected_total{reason="queue_full"}': 1,
      'jobsvc_jobs_rejected_total{reason="scheduled_full"}': 0,
      'jobsvc_jobs_rejected_total{reason="duplicate"}': 1,
      'jobsvc_jobs_rejected_total{reason="validation"}': 1,
      'jobsvc_jobs_rejected_total{reason="shutting_down"}': 0,
    });
  });

  it('keeps each app in its own registry', async () => {
    const other = await startService();
    try {
      await service.post('/jobs', { id: 'a' });
      const mine = samples((await service.get('/metrics')).text, (name) => name === 'jobsvc_jobs_submitted_total');
      const theirs = samples((await other.get('/metrics')).text, (name) => name === 'jobsvc_jobs_submitted_total');
      expect([mine, theirs]).to.deep.equal([
        { [`jobsvc_jobs_submitted_total{type="${TYPE}"}`]: 1 },
        { [`jobsvc_jobs_submitted_total{type="${TYPE}"}`]: 0 },
      ]);
    } finally {
      await other.stop();
    }
  });
});

describe('createMetrics on fake time: timeouts, waits out of backoff, interrupted attempts', () => {
  beforeEach(() => {
    sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => sinon.restore());

  it('counts a timed-out attempt as timeout, and a retry waits from its next_retry_at', async () => {
    const clock = sinon.clock;
    const work = manualProcessor();
    const { queue, unhandled } = makeQueue(work.processor, {
      workers: 1,
      queueSize: 2,
      jobTimeoutMs: 500,
      backoff: { baseMs: 200, maxMs: 200, jitterMs: 0 },
    });
    const metrics = createMetrics(queue);
    await queue.submit({ id: 't', payload: null, max_retries: 1 }); // runs at 0
    await queue.submit({ id: 'blocker', payload: null, max_retries: 0 }); // waits
    await clock.tickAsync(500); // t times out: backoff until 700; blocker runs after waiting 0.5 s
    expect((await queue.get('t'))).to.include({ state: 'backoff', next_retry_at: 700, last_error: 'timeout' });
    await clock.tickAsync(200); // 700: t is ready, but the worker is busy
    expect((await queue.get('t'))!.state).to.equal('backoff');
    await clock.tickAsync(100); // 800
    work.latest('blocker').resolve(); // success after 0.3 s; t runs after waiting 0.1 s
    await clock.tickAsync(0);
    await clock.tickAsync(50); // 850
    work.latest('t').resolve(); // success after 0.05 s
    await clock.tickAsync(0);
    expect((await queue.get('t'))!.state).to.equal('done');

    expect(jobSamples(await metrics.registry.metrics())).to.deep.equal(
      expectedJobSamples({
        submitted: 2,
        rejected: none,
        finished: { done: 2, failed: 0, cancelled: 0 },
        attempts: { ...noAttempts, timeout: 1, success: 2 },
        durations: [0.5, 0.3, 0.05],
        waits: [0, 0.5, 0.1],
        manualRetries: 0,
        states: { ...noStates, done: 2 },
        busy: 0,
        workers: 1,
        capacity: 3,
      }),
    );
    expect(unhandled).to.deep.equal([]);
    metrics.close();
  });

  it("counts an attempt a restart interrupted, its duration from the record's started_at", async () => {
    const store = createMemoryStore({ retention: 100 });
    const options = { workers: 1, queueSize: 1, backoff: { baseMs: 1, maxMs: 1, jitterMs: 0 }, jobTimeoutMs: 0, jobRetention: 100 };
    const now = () => Date.now();
    const before = createJobQueue(options, { processor: manualProcessor().processor, store, now });
    await before.submit({ id: 'ghost', payload: null, max_retries: 0 }); // running at 0
    await sinon.clock.tickAsync(50);
    // The "restarted process": a new queue over the same store. The first one is simply abandoned.
    const after = createJobQueue(options, { processor: manualProcessor().processor, store, now });
    const metrics = createMetrics(after);
    await after.recover();
    expect(await after.get('ghost')).to.include({ state: 'failed', last_error: 'interrupted' });
    expect(jobSamples(await metrics.registry.metrics())).to.deep.equal(
      expectedJobSamples({
        submitted: 0,
        rejected: none,
        finished: { done: 0, failed: 1, cancelled: 0 },
        attempts: { ...noAttempts, interrupted: 1 },
        durations: [0.05],
        waits: [],
        manualRetries: 0,
        states: { ...noStates, failed: 1 },
        busy: 0,
        workers: 1,
        capacity: 2,
      }),
    );
  });
});
