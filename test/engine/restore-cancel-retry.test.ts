import { expect } from 'chai';
import sinon from 'sinon';
import { ServiceError } from '../../src/errors.js';
import { CANCEL_WAIT_MS } from '../../src/engine/job-queue.js';
import type { JobRecord } from '../../src/engine/job-record.js';
import { manualProcessor } from '../helpers/processors.js';
import { makeQueue as makeTestQueue, rejection as rejectionOf } from '../helpers/queue.js';

const makeQueue = (processor: Parameters<typeof makeTestQueue>[0], workers = 2, queueSize = 3) =>
  makeTestQueue(processor, { workers, queueSize, jobRetention: 100 });
const rejection = (promise: Promise<unknown>) => rejectionOf<ServiceError>(promise);

const strip = ({ history: _history, ...rest }: JobRecord) => rest;

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
      return ['a', 'b', 'c'].map((id) => queue.get(id)!);
    }

    it('re-arms a backoff timer for its next_retry_at, interrupts running attempts, queues the queued', async () => {
      const before = await crashedRecords();
      expect(before.map((r) => [r.id, r.state, r.next_retry_at])).to.deep.equal([
        ['a', 'running', null], ['b', 'backoff', 160], ['c', 'queued', null],
      ]);
      await clock.tickAsync(90); // the restart happens at 100
      const work = manualProcessor();
      const { queue, transitions } = makeQueue(work.processor, 1, 5);
      queue.restore(before);
      // a had max_retries 0: its interrupted attempt was its last. c queues again and takes the slot.
      expect(queue.get('a')).to.include({ state: 'failed', last_error: 'interrupted', attempts: 1, finished_at: 100 });
      expect(queue.get('c')).to.include({ state: 'running', attempts: 1 });
      expect(queue.get('b')).to.include({ state: 'backoff', next_retry_at: 160 });
      expect(transitions.map((t) => [t.id, t.from, t.to, t.event])).to.deep.equal([
        ['a', 'running', 'failed', 'RESTORED'],
        ['b', 'backoff', 'backoff', 'RESTORED'],
        ['c', 'queued', 'queued', 'RESTORED'],
        ['c', 'queued', 'running', 'SLOT_GRANTED'],
      ]);
      expect(queue.stats().queue.used).to.equal(2);
      work.latest('c').resolve();
      await clock.tickAsync(59);
      expect(queue.get('b')!.state).to.equal('backoff');
      await clock.tickAsync(1); // 160: b's retry, not restart + delay
      expect(queue.get('b')).to.include({ state: 'running', attempts: 2, started_at: 160 });
      expect(queue.get('a')!.history.map((t) => t.event)).to.deep.equal(['SUBMIT', 'SLOT_GRANTED', 'RESTORED']);
    });

    it('fires a backoff whose next_retry_at has passed at once', async () => {
      const before = await crashedRecords();
      await clock.tickAsync(5000);
      const work = manualProcessor();
      const { queue } = makeQueue(work.processor, 2, 5);
      queue.restore(before.filter((r) => r.id === 'b'));
      await clock.tickAsync(0);
      expect(queue.get('b')).to.include({ state: 'running', attempts: 2 });
    });

    it('gives an interrupted job with retries left a backoff', async () => {
      const work = manualProcessor();
      const first = makeQueue(work.processor);
      await first.queue.submit({ id: 'r', payload: null, max_retries: 2 });
      const record = first.queue.get('r')!;
      const { queue } = makeQueue(manualProcessor().processor);
      queue.restore([record]);
      expect(strip(queue.get('r')!)).to.deep.equal({
        id: 'r', type: 'simulated', state: 'backoff', payload: null, max_retries: 2, attempts: 1, attempts_at_retry: 0,
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
      expect(queue.stats().queue.used).to.equal(1);
      await queue.submit({ id: 'next', payload: null, max_retries: 0 });
    });

    it('answers at once when the running attempt stops within the wait', async () => {
      const work = manualProcessor();
      const { queue } = makeQueue(work.processor);
      await queue.submit({ id: 'a', payload: null, max_retries: 0 });
      const record = await queue.cancel('a');
      expect(record).to.include({ state: 'cancelled', cancel_requested: false });
      expect(work.latest('a').signal.aborted).to.equal(true);
      expect(queue.stats().workers.busy).to.equal(0);
    });

    it('waits up to the given time, then reports the job still running with cancel_requested', async () => {
      const work = manualProcessor({ rejectOnAbort: false });
      const { queue } = makeQueue(work.processor);
      await queue.submit({ id: 'a', payload: null, max_retries: 0 });
      const cancelling = queue.cancel('a', 1000);
      await clock.tickAsync(1000);
      expect(await cancelling).to.include({ state: 'running', cancel_requested: true });
      expect(queue.stats().workers.busy).to.equal(1);
      work.latest('a').reject(new Error('finally stopped'));
      await clock.tickAsync(0);
      expect(queue.get('a')).to.include({ state: 'cancelled' });
      expect(queue.stats().workers.busy).to.equal(0);
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
      expect(queue.stats().totals).to.include({ submitted: 1, manual_retries: 1, failed: 1, retries: 1 });
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
