import { expect } from 'chai';
import sinon from 'sinon';
import { ServiceError } from '../../src/errors.js';
import { CANCEL_WAIT_MS } from '../../src/engine/job-queue.js';
import type { JobRecord } from '../../src/engine/job-record.js';
import type { JobQueue } from '../../src/engine/job-queue.types.js';
import { manualProcessor } from '../helpers/processors.js';
import { makeQueue as makeTestQueue, rejection as rejectionOf, states, storeOf } from '../helpers/queue.js';
import type { JobStore } from '../../src/store/job-store.js';

const makeQueue = (processor: Parameters<typeof makeTestQueue>[0], workers = 2, queueSize = 3, store?: JobStore) =>
  makeTestQueue(processor, { workers, queueSize, jobRetention: 100 }, () => 0.5, store);

/** A new process over a store that holds `records`, after its recovery took them back. */
async function restarted(records: readonly JobRecord[], processor: Parameters<typeof makeTestQueue>[0], workers = 2, queueSize = 3) {
  const made = makeQueue(processor, workers, queueSize, storeOf(records));
  await made.queue.recover();
  await Promise.resolve(); // the claims recovery starts
  return made;
}
const rejection = (promise: Promise<unknown>) => rejectionOf<ServiceError>(promise);

const strip = ({ history: _history, ...rest }: JobRecord) => rest;

/** [workers busy, queue places used]: what a job gives back when it leaves. */
const usage = async (queue: JobQueue) => {
  const { workers, queue: places } = await queue.stats();
  return [workers.busy, places.used];
};

describe('job queue: restore, cancel and retry', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => sinon.restore());

  describe('restore (a restart)', () => {
    /** Runs a first "process" until a: running, b: backoff (retry at 160), c: queued; returns their records. */
    async function crashedRecords(): Promise<JobRecord[]> {
      const work = manualProcessor();
      const { queue } = makeQueue(work.processor, 1, 5);
      await queue.submit({ id: 'b', payload: 'b', max_retries: 3 });
      await queue.submit({ id: 'a', payload: 'a', max_retries: 0 });
      await queue.submit({ id: 'c', payload: 'c', max_retries: 0 });
      await clock.tickAsync(10);
      work.latest('b').reject(new Error('flaky')); // b: backoff 150 → next_retry_at 160; a gets the slot
      await clock.tickAsync(0);
      return Promise.all(['a', 'b', 'c'].map(async (id) => (await queue.get(id))!));
    }

    it('re-arms a backoff timer for its next_retry_at, interrupts running attempts, queues the queued', async () => {
      const before = await crashedRecords();
      expect(before.map((r) => [r.id, r.state, r.next_retry_at])).to.deep.equal([
        ['a', 'running', null], ['b', 'backoff', 160], ['c', 'queued', null],
      ]);
      await clock.tickAsync(90); // the restart happens at 100
      const work = manualProcessor();
      const { queue, transitions } = await restarted(before, work.processor, 1, 5);
      // a had max_retries 0: its interrupted attempt was its last. c waits in the store still, and takes the slot.
      expect((await queue.get('a'))).to.include({ state: 'failed', last_error: 'interrupted', attempts: 1, finished_at: 100 });
      expect((await queue.get('c'))).to.include({ state: 'running', attempts: 1 });
      expect((await queue.get('b'))).to.include({ state: 'backoff', next_retry_at: 160 });
      // In the store's order (a, b); c makes no move of its own until it is claimed.
      expect(transitions.map((t) => [t.id, t.from, t.to, t.event])).to.deep.equal([
        ['a', 'running', 'failed', 'RESTORED'],
        ['b', 'backoff', 'backoff', 'RESTORED'],
        ['c', 'queued', 'running', 'SLOT_GRANTED'],
      ]);
      expect((await queue.stats()).queue.used).to.equal(2);
      work.latest('c').resolve();
      await clock.tickAsync(59);
      expect((await queue.get('b'))!.state).to.equal('backoff');
      await clock.tickAsync(1); // 160: b's retry, not restart + delay
      expect((await queue.get('b'))).to.include({ state: 'running', attempts: 2, started_at: 160 });
      expect((await queue.get('a'))!.history.map((t) => t.event)).to.deep.equal(['SUBMIT', 'SLOT_GRANTED', 'RESTORED']);
    });

    it('fires a backoff whose next_retry_at has passed at once', async () => {
      const before = await crashedRecords();
      await clock.tickAsync(5000);
      const work = manualProcessor();
      const { queue } = await restarted(before.filter((r) => r.id === 'b'), work.processor, 2, 5);
      await clock.tickAsync(0);
      expect((await queue.get('b'))).to.include({ state: 'running', attempts: 2 });
    });

    it('restores a running job whose cancel was requested as cancelled, not retried, whatever retries it has left', async () => {
      const first = makeQueue(manualProcessor({ rejectOnAbort: false }).processor);
      await first.queue.submit({ id: 'r', payload: null, max_retries: 2 });
      await clock.tickAsync(10);
      const cancelling = first.queue.cancel('r', 0); // the attempt ignores its signal: still running
      await clock.tickAsync(0);
      expect(await cancelling).to.include({ state: 'running', cancel_requested: true });
      const record = (await first.queue.get('r'))!; // the process dies here
      await clock.tickAsync(90); // the restart happens at 100

      const work = manualProcessor();
      const { queue, transitions, unhandled } = await restarted([record], work.processor);
      expect(strip((await queue.get('r'))!)).to.deep.equal({
        id: 'r', type: 'simulated', state: 'cancelled', payload: null, max_retries: 2, priority: 0, next_run_at: null, attempts: 1, attempts_at_retry: 0,
        last_error: null, created_at: 0, updated_at: 100, started_at: 0, finished_at: 100, next_retry_at: null,
        last_delay_ms: null, last_delay_source: null, result: null, result_error: null, result_bytes: null,
        cancel_requested: false, progress: null,
      });
      expect(transitions.map((t) => [t.id, t.from, t.to, t.event, t.at])).to.deep.equal([
        ['r', 'running', 'cancelled', 'RESTORED', 100],
      ]);
      await clock.tickAsync(60_000);
      expect(work.calls).to.deep.equal([]);
      expect((await queue.stats())).to.deep.include({ workers: { busy: 0, total: 2 }, queue: { used: 0, capacity: 5 } });
      expect((await queue.stats()).totals).to.deep.equal({
        submitted: 0, done: 0, failed: 0, cancelled: 1, retries: 0, manual_retries: 0, rejected: 0,
      });
      expect(unhandled).to.deep.equal([]);
    });

    it('takes back more unfinished jobs than the new capacity: all run to their end, and admission waits until used < capacity', async () => {
      // The first process: WORKERS=1, QUEUE_SIZE=4; j1 running, j2…j5 queued when it dies.
      const first = makeQueue(manualProcessor().processor, 1, 4);
      await first.queue.submit({ id: 'j1', payload: null, max_retries: 1 });
      for (const id of ['j2', 'j3', 'j4', 'j5']) await first.queue.submit({ id, payload: null, max_retries: 0 });
      const records = await Promise.all(['j1', 'j2', 'j3', 'j4', 'j5'].map(async (id) => (await first.queue.get(id))!));

      // The restart: WORKERS=1, QUEUE_SIZE=1, so a capacity of 2 for 5 unfinished jobs.
      const work = manualProcessor();
      const { queue, unhandled } = makeQueue(work.processor, 1, 1, storeOf(records));
      const used: Promise<number>[] = [];
      queue.on('transition', () => used.push(queue.stats().then((stats) => stats.queue.used)));
      const refused = async (id: string) => {
        const error = await rejection(queue.submit({ id, payload: null, max_retries: 0 }));
        expect([error.code, error.details]).to.deep.equal(['queue_full', { capacity: 2, retry_after_seconds: 1 }]);
      };
      const finish = async (id: string) => {
        work.latest(id).resolve();
        await clock.tickAsync(0);
      };

      await queue.recover();
      await clock.tickAsync(0);
      // j1 lost its attempt (interrupted, retry at 150); j2 takes the slot.
      expect(await states(queue, ['j1', 'j2', 'j3', 'j4', 'j5'])).to.deep.equal(['backoff', 'running', 'queued', 'queued', 'queued']);
      expect(await usage(queue)).to.deep.equal([1, 5]);
      await refused('new1');
      await finish('j2');
      expect(await usage(queue)).to.deep.equal([1, 4]);
      await refused('new2');
      await clock.tickAsync(150); // j1's retry is due: it goes before j4 when j3 ends
      await finish('j3');
      expect((await queue.get('j1'))).to.include({ state: 'running', attempts: 2 });
      expect(await usage(queue)).to.deep.equal([1, 3]);
      await refused('new3');
      await finish('j1');
      expect(await usage(queue)).to.deep.equal([1, 2]);
      await refused('new4'); // used == capacity: still full
      await finish('j4');
      expect(await usage(queue)).to.deep.equal([1, 1]);
      expect(await queue.submit({ id: 'admitted', payload: null, max_retries: 0 })).to.include({ state: 'queued' });
      expect(await usage(queue)).to.deep.equal([1, 2]);
      await refused('new5');
      await finish('j5');
      expect(await usage(queue)).to.deep.equal([1, 1]);
      await finish('admitted');
      expect(await usage(queue)).to.deep.equal([0, 0]);

      expect(await states(queue, ['j1', 'j2', 'j3', 'j4', 'j5', 'admitted'])).to.deep.equal([
        'done', 'done', 'done', 'done', 'done', 'done',
      ]);
      expect(work.calls.map((call) => `${call.job.id}#${call.job.attempt}`)).to.deep.equal([
        'j2#1', 'j3#1', 'j1#2', 'j4#1', 'j5#1', 'admitted#1',
      ]);
      // queue.used read at every one of the 14 transitions in between, too: never below 0.
      expect(used).to.have.length(14);
      expect((await Promise.all(used)).filter((n) => n < 0)).to.deep.equal([]);
      expect((await queue.stats()).totals).to.deep.equal({
        submitted: 1, done: 6, failed: 0, cancelled: 0, retries: 1, manual_retries: 0, rejected: 5,
      });
      expect(unhandled).to.deep.equal([]);
    });

    it('gives an interrupted job with retries left a backoff', async () => {
      const work = manualProcessor();
      const first = makeQueue(work.processor);
      await first.queue.submit({ id: 'r', payload: null, max_retries: 2 });
      const record = (await first.queue.get('r'))!;
      const { queue } = await restarted([record], manualProcessor().processor);
      expect(strip((await queue.get('r'))!)).to.deep.equal({
        id: 'r', type: 'simulated', state: 'backoff', payload: null, max_retries: 2, priority: 0, next_run_at: null, attempts: 1, attempts_at_retry: 0,
        last_error: 'interrupted', created_at: 0, updated_at: 0, started_at: 0, finished_at: null,
        next_retry_at: 150, last_delay_ms: 150, last_delay_source: 'backoff', result: null, result_error: null,
        result_bytes: null, cancel_requested: false, progress: null,
      });
    });
  });

  describe('cancel', () => {
    it('cancels a queued job and frees its place', async () => {
      const { queue } = makeQueue(manualProcessor().processor, 1, 1);
      await queue.submit({ id: 'running', payload: null, max_retries: 0 });
      await queue.submit({ id: 'waiting', payload: null, max_retries: 0 });
      const record = await queue.cancel('waiting');
      expect(record).to.include({ state: 'cancelled', finished_at: 0 });
      expect((await queue.stats()).queue.used).to.equal(1);
      await queue.submit({ id: 'next', payload: null, max_retries: 0 });
    });

    it('gives back the queue place of a job cancelled while queued, and the slot goes to the next job, not to it', async () => {
      const work = manualProcessor();
      const { queue, transitions, unhandled } = makeQueue(work.processor, 1, 2);
      await queue.submit({ id: 'running', payload: null, max_retries: 0 });
      await queue.submit({ id: 'waiting', payload: null, max_retries: 0 });
      expect(await queue.cancel('waiting')).to.include({ state: 'cancelled', finished_at: 0 });
      expect(await usage(queue)).to.deep.equal([1, 1]);
      await queue.submit({ id: 'next', payload: null, max_retries: 0 });
      expect(await usage(queue)).to.deep.equal([1, 2]);

      work.latest('running').resolve();
      await clock.tickAsync(0);
      expect((await queue.get('next'))!.state).to.equal('running');
      expect(await usage(queue)).to.deep.equal([1, 1]);
      work.latest('next').resolve();
      await clock.tickAsync(0);
      expect(await usage(queue)).to.deep.equal([0, 0]);
      expect(work.calls.map((call) => call.job.id)).to.deep.equal(['running', 'next']);
      expect(transitions.filter((t) => t.id === 'waiting').map((t) => `${t.from}→${t.to}`)).to.deep.equal([
        'null→queued', 'queued→cancelled',
      ]);
      expect(unhandled).to.deep.equal([]);
    });

    it('gives back the queue place of a job cancelled while its retry is due but waits for a slot', async () => {
      const work = manualProcessor();
      const { queue, transitions, unhandled } = makeQueue(work.processor, 1, 2);
      await queue.submit({ id: 'retrying', payload: null, max_retries: 1 });
      await queue.submit({ id: 'holder', payload: null, max_retries: 0 });
      work.latest('retrying').reject(new Error('flaky')); // backoff 150 ms; holder takes the slot
      await clock.tickAsync(0);
      expect((await queue.get('retrying'))).to.include({ state: 'backoff', next_retry_at: 150 });
      await clock.tickAsync(200); // the retry is due at 150, but holder keeps the only worker
      expect((await queue.get('retrying'))!.state).to.equal('backoff');
      expect(await usage(queue)).to.deep.equal([1, 2]);

      expect(await queue.cancel('retrying')).to.include({ state: 'cancelled', finished_at: 200, attempts: 1 });
      expect(await usage(queue)).to.deep.equal([1, 1]);
      await queue.submit({ id: 'next', payload: null, max_retries: 0 });
      expect(await usage(queue)).to.deep.equal([1, 2]);

      work.latest('holder').resolve();
      await clock.tickAsync(0);
      expect((await queue.get('next'))!.state).to.equal('running');
      expect((await queue.get('retrying'))).to.include({ state: 'cancelled', attempts: 1 });
      expect(await usage(queue)).to.deep.equal([1, 1]);
      work.latest('next').resolve();
      await clock.tickAsync(0);
      expect(await usage(queue)).to.deep.equal([0, 0]);
      expect(work.calls.map((call) => call.job.id)).to.deep.equal(['retrying', 'holder', 'next']);
      expect(transitions.filter((t) => t.id === 'retrying').map((t) => `${t.from}→${t.to}`)).to.deep.equal([
        'null→queued', 'queued→running', 'running→backoff', 'backoff→cancelled',
      ]);
      expect(unhandled).to.deep.equal([]);
    });

    it('cancels a job waiting out its backoff delay without taking a waiting job out of the count', async () => {
      const work = manualProcessor();
      const { queue, unhandled } = makeQueue(work.processor, 1, 3);
      for (const id of ['retrying', 'holder', 'waiting']) await queue.submit({ id, payload: null, max_retries: 1 });
      work.latest('retrying').reject(new Error('flaky')); // backoff.waiting until 150; holder takes the slot
      await clock.tickAsync(10);
      expect(await queue.cancel('retrying')).to.include({ state: 'cancelled', attempts: 1 });
      expect(await usage(queue)).to.deep.equal([1, 2]);
      work.latest('holder').resolve();
      await clock.tickAsync(0);
      expect(await states(queue, ['retrying', 'holder', 'waiting'])).to.deep.equal(['cancelled', 'done', 'running']);
      expect(unhandled).to.deep.equal([]);
    });

    it('answers at once when the running attempt stops within the wait', async () => {
      const work = manualProcessor();
      const { queue } = makeQueue(work.processor);
      await queue.submit({ id: 'a', payload: null, max_retries: 0 });
      const record = await queue.cancel('a');
      expect(record).to.include({ state: 'cancelled', cancel_requested: false });
      expect(work.latest('a').signal.aborted).to.equal(true);
      expect((await queue.stats()).workers.busy).to.equal(0);
    });

    it('waits up to the given time, then reports the job still running with cancel_requested', async () => {
      const work = manualProcessor({ rejectOnAbort: false });
      const { queue } = makeQueue(work.processor);
      await queue.submit({ id: 'a', payload: null, max_retries: 0 });
      const cancelling = queue.cancel('a', 1000);
      await clock.tickAsync(1000);
      expect(await cancelling).to.include({ state: 'running', cancel_requested: true });
      expect((await queue.stats()).workers.busy).to.equal(1);
      work.latest('a').reject(new Error('finally stopped'));
      await clock.tickAsync(0);
      expect((await queue.get('a'))).to.include({ state: 'cancelled' });
      expect((await queue.stats()).workers.busy).to.equal(0);
    });

    it('waits CANCEL_WAIT_MS (1 s) by default for the attempt to stop', async () => {
      const work = manualProcessor({ rejectOnAbort: false });
      const { queue } = makeQueue(work.processor);
      await queue.submit({ id: 'a', payload: null, max_retries: 0 });
      let answered = false;
      const cancelling = queue.cancel('a').then((record) => {
        answered = true;
        return record;
      });
      await clock.tickAsync(CANCEL_WAIT_MS - 1);
      expect(answered).to.equal(false);
      await clock.tickAsync(1);
      expect(await cancelling).to.include({ state: 'running', cancel_requested: true });
      expect(CANCEL_WAIT_MS).to.equal(1000);
    });

    it('refuses a finished job with not_cancellable, and an unknown one with not_found', async () => {
      const work = manualProcessor();
      const { queue } = makeQueue(work.processor);
      await queue.submit({ id: 'a', payload: null, max_retries: 0 });
      work.latest('a').resolve();
      await clock.tickAsync(0);
      const error = await rejection(queue.cancel('a'));
      expect([error.status, error.code, error.details]).to.deep.equal([409, 'not_cancellable', { state: 'done' }]);
      expect((await rejection(queue.cancel('nope'))).code).to.equal('not_found');
    });
  });

  describe('retry', () => {
    it('queues a failed job again, keeping its history and attempts, counted as a manual retry', async () => {
      const work = manualProcessor();
      const { queue } = makeQueue(work.processor);
      await queue.submit({ id: 'a', payload: null, max_retries: 0 });
      work.latest('a').reject(new Error('boom'));
      await clock.tickAsync(0);
      const record = await queue.retry('a');
      expect(record).to.include({ state: 'running', attempts: 2, attempts_at_retry: 1, finished_at: null });
      expect(record.history.map((t) => `${t.from}→${t.to} ${t.event}`)).to.deep.equal([
        'null→queued SUBMIT', 'queued→running SLOT_GRANTED', 'running→failed ATTEMPT_FAILED',
        'failed→queued RETRY', 'queued→running SLOT_GRANTED',
      ]);
      expect((await queue.stats()).totals).to.include({ submitted: 1, manual_retries: 1, failed: 1, retries: 1 });
    });

    it('refuses other states with not_retryable, and a full queue with queue_full', async () => {
      const work = manualProcessor();
      const { queue } = makeQueue(work.processor, 1, 0);
      await queue.submit({ id: 'a', payload: null, max_retries: 0 });
      const notRetryable = await rejection(queue.retry('a'));
      expect([notRetryable.code, notRetryable.details]).to.deep.equal(['not_retryable', { state: 'running' }]);
      await queue.cancel('a');
      await queue.submit({ id: 'b', payload: null, max_retries: 0 });
      expect((await rejection(queue.retry('a'))).code).to.equal('queue_full');
    });
  });
});
