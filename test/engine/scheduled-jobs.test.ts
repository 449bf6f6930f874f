import { expect } from 'chai';
import sinon from 'sinon';
import type { ServiceError } from '../../src/errors.js';
import type { JobRecord, Transition } from '../../src/engine/job-record.js';
import type { JobQueue } from '../../src/engine/job-queue.types.js';
import { DUE_BATCH } from '../../src/engine/due-timer.js';
import { manualProcessor } from '../helpers/processors.js';
import { makeQueue, rejection, states, storeOf } from '../helpers/queue.js';
import { createMemoryStore } from '../../src/store/memory-store.js';

/** A transition as the history and the event stream carry it, with the fields of a move without an attempt. */
const step = (id: string, from: Transition['from'], to: Transition['to'], event: string, at: number, attempt = 0): Transition => ({
  id, type: 'simulated', from, to, event, at, attempt, error: null, delay_ms: null, delay_source: null,
});

/** [workers busy, queue places used]. */
const usage = async (queue: JobQueue) => {
  const { workers, queue: places } = await queue.stats();
  return [workers.busy, places.used];
};

describe('job queue: scheduled jobs', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => sinon.restore());

  describe('scheduled', () => {
    it('waits in scheduled until its exact due time, then is queued and runs', async () => {
      const work = manualProcessor();
      const { queue, transitions, unhandled } = makeQueue(work.processor);
      const record = await queue.submit({ id: 'd', payload: 1, delay_ms: 5000 });
      expect([record.state, record.next_run_at]).to.deep.equal(['scheduled', 5000]);
      await clock.tickAsync(4999);
      expect(await states(queue, ['d'])).to.deep.equal(['scheduled']);
      expect(work.calls).to.deep.equal([]);
      await clock.tickAsync(1);
      expect(work.calls.map((call) => call.job.id)).to.deep.equal(['d']);
      expect(transitions).to.deep.equal([
        step('d', null, 'scheduled', 'SUBMIT', 0),
        step('d', 'scheduled', 'queued', 'DUE', 5000),
        step('d', 'queued', 'running', 'SLOT_GRANTED', 5000, 1),
      ]);
      const running = (await queue.get('d'))!;
      expect({ ...running, history: undefined }).to.deep.equal({
        id: 'd', type: 'simulated', state: 'running', payload: 1, max_retries: 3, priority: 0, next_run_at: null,
        attempts: 1, attempts_at_retry: 0, last_error: null, created_at: 0, updated_at: 5000, started_at: 5000,
        finished_at: null, next_retry_at: null, last_delay_ms: null, last_delay_source: null, result: null,
        result_error: null, result_bytes: null, cancel_requested: false, progress: null, history: undefined,
      });
      expect(running.history).to.deep.equal(transitions);
      expect(unhandled).to.deep.equal([]);
    });

    it('takes a run_at as the absolute due time, and one not in the future as now', async () => {
      const work = manualProcessor();
      const { queue } = makeQueue(work.processor, { workers: 1 });
      await clock.tickAsync(1000);
      const submitted = [
        await queue.submit({ id: 'later', payload: null, run_at: 1250 }),
        await queue.submit({ id: 'past', payload: null, run_at: 10 }),
        await queue.submit({ id: 'zero', payload: null, delay_ms: 0 }),
      ];
      expect(submitted.map((record) => [record.history[0]!.to, record.next_run_at])).to.deep.equal([
        ['scheduled', 1250], ['queued', null], ['queued', null],
      ]);
      await clock.tickAsync(249);
      expect(await states(queue, ['later', 'past', 'zero'])).to.deep.equal(['scheduled', 'running', 'queued']);
      await clock.tickAsync(1);
      expect(await states(queue, ['later', 'past', 'zero'])).to.deep.equal(['queued', 'running', 'queued']);
    });

    it('fires jobs due at once in due order, then submission order', async () => {
      const work = manualProcessor();
      const { queue } = makeQueue(work.processor, { workers: 1, queueSize: 10 });
      await queue.submit({ id: 'c', payload: null, delay_ms: 300 });
      await queue.submit({ id: 'a', payload: null, delay_ms: 100 });
      await queue.submit({ id: 'b2', payload: null, delay_ms: 200 });
      await queue.submit({ id: 'b1', payload: null, run_at: 200 });
      await queue.submit({ id: 'blocker', payload: null }); // holds the one worker
      await clock.tickAsync(300);
      for (const _ of ['a', 'b2', 'b1', 'c']) {
        work.calls.at(-1)!.resolve();
        await clock.tickAsync(0);
      }
      expect(work.calls.map((call) => call.job.id)).to.deep.equal(['blocker', 'a', 'b2', 'b1', 'c']);
    });

    it('runs a job come due before the jobs queued earlier: it waits in the retry lane', async () => {
      const work = manualProcessor();
      const { queue, unhandled } = makeQueue(work.processor, { workers: 1, queueSize: 10 });
      await queue.submit({ id: 'blocker', payload: null }); // holds the one worker
      await queue.submit({ id: 'due', payload: null, delay_ms: 100 });
      await queue.submit({ id: 'q1', payload: null });
      await queue.submit({ id: 'q2', payload: null });
      await clock.tickAsync(100);
      expect(await states(queue, ['due', 'q1', 'q2'])).to.deep.equal(['queued', 'queued', 'queued']);
      for (const _ of ['due', 'q1', 'q2']) {
        work.calls.at(-1)!.resolve();
        await clock.tickAsync(0);
      }
      expect(work.calls.map((call) => call.job.id)).to.deep.equal(['blocker', 'due', 'q1', 'q2']);
      expect(unhandled).to.deep.equal([]);
    });

    it('keeps one timer however many jobs are scheduled, armed for the earliest', async () => {
      const { queue } = makeQueue(manualProcessor().processor, { queueSize: 10_000 });
      for (let i = 0; i < 1000; i++) await queue.submit({ id: `j${i}`, payload: null, delay_ms: 60_000 - i });
      expect(clock.countTimers()).to.equal(1);
      await queue.submit({ id: 'sooner', payload: null, delay_ms: 5 });
      expect(clock.countTimers()).to.equal(1);
      await clock.tickAsync(5);
      expect(await states(queue, ['sooner', 'j999'])).to.deep.equal(['running', 'scheduled']);
      await clock.tickAsync(60_000 - 999 - 5 - 1);
      expect(await states(queue, ['j999'])).to.deep.equal(['scheduled']);
      await clock.tickAsync(1);
      expect(await states(queue, ['j999', 'j998'])).to.deep.equal(['running', 'scheduled']);
      expect(clock.countTimers()).to.equal(1);
    });

    it('moves more due jobs than a batch in several batches, all of them', async () => {
      const { queue } = makeQueue(manualProcessor().processor, { workers: 1, queueSize: 0 });
      const count = DUE_BATCH * 2 + 3;
      for (let i = 0; i < count; i++) await queue.submit({ id: `j${i}`, payload: null, delay_ms: 10 });
      await clock.tickAsync(10);
      const { states: counts } = await queue.stats();
      expect([counts.scheduled, counts.queued, counts.running]).to.deep.equal([0, count - 1, 1]);
    });

    it('is cancelled at once, holding no place, and its time then passes without effect', async () => {
      const work = manualProcessor();
      const { queue, transitions, unhandled } = makeQueue(work.processor);
      await queue.submit({ id: 'd', payload: null, delay_ms: 500 });
      expect(await usage(queue)).to.deep.equal([0, 0]);
      await clock.tickAsync(100);
      const cancelled = await queue.cancel('d');
      expect([cancelled.state, cancelled.finished_at, cancelled.next_run_at]).to.deep.equal(['cancelled', 100, 500]);
      expect(await usage(queue)).to.deep.equal([0, 0]);
      await clock.tickAsync(1000);
      expect(work.calls).to.deep.equal([]);
      expect(transitions).to.deep.equal([step('d', null, 'scheduled', 'SUBMIT', 0), step('d', 'scheduled', 'cancelled', 'CANCEL', 100)]);
      expect(unhandled).to.deep.equal([]);
    });

    it('runs now when a job cancelled while scheduled is retried', async () => {
      const work = manualProcessor();
      const { queue } = makeQueue(work.processor);
      await queue.submit({ id: 'd', payload: null, delay_ms: 500 });
      await queue.cancel('d');
      const retried = await queue.retry('d');
      expect([retried.state, retried.next_run_at]).to.deep.equal(['running', null]);
      expect(await usage(queue)).to.deep.equal([1, 1]);
    });

    it('does not count toward QUEUE_SIZE, and enters queued when due even if the queue is full', async () => {
      const { queue } = makeQueue(manualProcessor().processor, { workers: 1, queueSize: 1 });
      await queue.submit({ id: 'later', payload: null, delay_ms: 50 });
      await queue.submit({ id: 'a', payload: null });
      await queue.submit({ id: 'b', payload: null });
      expect((await rejection<ServiceError>(queue.submit({ id: 'c', payload: null }))).code).to.equal('queue_full');
      await clock.tickAsync(50);
      expect(await states(queue, ['later', 'a', 'b'])).to.deep.equal(['queued', 'running', 'queued']);
      expect(await usage(queue)).to.deep.equal([1, 3]);
    });
  });

  describe('refusals', () => {
    it('is 429 scheduled_full beyond SCHEDULED_LIMIT, and a job to run now is still admitted', async () => {
      const { queue } = makeQueue(manualProcessor().processor, { scheduledLimit: 2 });
      await queue.submit({ id: 'a', payload: null, delay_ms: 10 });
      await queue.submit({ id: 'b', payload: null, delay_ms: 10 });
      const error = await rejection<ServiceError>(queue.submit({ id: 'c', payload: null, delay_ms: 10 }));
      expect([error.status, error.code, error.message, error.details]).to.deep.equal([
        429,
        'scheduled_full',
        '2 jobs are scheduled for later already (SCHEDULED_LIMIT); submit this one when more have come due (the ' +
          'next in about 1 s), or without run_at and delay_ms to run it now.',
        { scheduled_limit: 2, retry_after_seconds: 1 },
      ]);
      expect(error.headers).to.deep.equal({ 'Retry-After': '1' });
      expect((await queue.submit({ id: 'now', payload: null })).state).to.equal('running');
      await clock.tickAsync(10);
      expect((await queue.submit({ id: 'c', payload: null, delay_ms: 10 })).state).to.equal('scheduled');
    });

    it('is 400 validation_failed for run_at and delay_ms together, and for a delay beyond MAX_DELAY_MS', async () => {
      const { queue } = makeQueue(manualProcessor().processor, { maxDelayMs: 1000 });
      const both = await rejection<ServiceError>(queue.submit({ id: 'x', payload: null, run_at: 5, delay_ms: 5 }));
      expect([both.code, both.details]).to.deep.equal([
        'validation_failed',
        { run_at: ['Give run_at or delay_ms, not both.'], delay_ms: ['Give run_at or delay_ms, not both.'] },
      ]);
      const far = await rejection<ServiceError>(queue.submit({ id: 'x', payload: null, delay_ms: 1001 }));
      const tooFar = ['Must be at most 1000 ms (MAX_DELAY_MS) from now; schedule it later, or raise MAX_DELAY_MS.'];
      expect([far.code, far.details]).to.deep.equal(['validation_failed', { delay_ms: tooFar }]);
      const farAt = await rejection<ServiceError>(queue.submit({ id: 'x', payload: null, run_at: 1001 }));
      expect([farAt.code, farAt.details]).to.deep.equal(['validation_failed', { run_at: tooFar }]);
      expect((await queue.submit({ id: 'x', payload: null, delay_ms: 1000 })).next_run_at).to.equal(1000);
    });
  });

  describe('a restart', () => {
    /** Scheduled records as a first process left them: two due while it was down (in reverse), one later. */
    function scheduledRecords(): JobRecord[] {
      const scheduled = (id: string, at: number): JobRecord => ({
        id, type: 'simulated', state: 'scheduled', payload: null, max_retries: 0, priority: 0, next_run_at: at,
        attempts: 0, attempts_at_retry: 0, last_error: null, created_at: 0, updated_at: 0, started_at: null,
        finished_at: null, next_retry_at: null, last_delay_ms: null, last_delay_source: null, result: null,
        result_error: null, result_bytes: null, cancel_requested: false, progress: null,
        history: [step(id, null, 'scheduled', 'SUBMIT', 0)],
      });
      return [scheduled('past-late', 400), scheduled('future', 2000), scheduled('past-early', 300)];
    }

    it('fires what came due while it was down at once, in due order, and the rest at its time', async () => {
      await clock.tickAsync(1000); // the restart happens at 1000
      const work = manualProcessor();
      const { queue, transitions, unhandled } = makeQueue(work.processor, { workers: 1 }, () => 0.5, storeOf(scheduledRecords()));
      expect(await queue.recover()).to.equal(0);
      await clock.tickAsync(0);
      expect(transitions.map(({ id, to, at }) => [id, to, at])).to.deep.equal([
        ['past-early', 'queued', 1000],
        ['past-late', 'queued', 1000],
        ['past-early', 'running', 1000],
      ]);
      expect(await states(queue, ['past-early', 'past-late', 'future'])).to.deep.equal(['running', 'queued', 'scheduled']);
      await clock.tickAsync(999);
      expect(await states(queue, ['future'])).to.deep.equal(['scheduled']);
      await clock.tickAsync(1);
      expect(await states(queue, ['future'])).to.deep.equal(['queued']);
      expect(unhandled).to.deep.equal([]);
    });

    it('moves nothing that comes due while a pause begins: the job waits in the store, scheduled', async () => {
      const store = createMemoryStore({ retention: 100 });
      let release = () => {};
      const blocked = new Promise<void>((resolve) => (release = resolve));
      const claim = store.claim.bind(store);
      // The first claim holds the queue's one-at-a-time section while the due timer fires.
      store.claim = async (request) => {
        await blocked;
        return claim(request);
      };
      const { queue, unhandled } = makeQueue(manualProcessor().processor, {}, () => 0.5, store);
      await queue.submit({ id: 'd', payload: null, delay_ms: 10 });
      await queue.submit({ id: 'now', payload: null });
      await clock.tickAsync(10); // the timer fires; its move waits behind the claim
      queue.pause();
      release();
      await clock.tickAsync(0);
      expect(await states(queue, ['d', 'now'])).to.deep.equal(['scheduled', 'running']);
      expect(unhandled).to.deep.equal([]);
    });

    it('moves nothing once the queue stops accepting: the scheduled jobs wait in the store', async () => {
      const { queue } = makeQueue(manualProcessor().processor);
      await queue.submit({ id: 'd', payload: null, delay_ms: 100 });
      queue.pause();
      await clock.tickAsync(1000);
      expect(await states(queue, ['d'])).to.deep.equal(['scheduled']);
      expect(clock.countTimers()).to.equal(0);
    });
  });
});
