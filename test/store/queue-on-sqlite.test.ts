/**
 * The job queue over the SQLite store: a restart from the file (backoff resumed at its next_retry_at, on fake
 * timers), the pause of a durable shutdown, and a submission whose write fails. The store's commits run on
 * setImmediate, which the fake clock leaves real.
 */
import { expect } from 'chai';
import sinon from 'sinon';
import { ServiceError } from '../../src/errors.js';
import { createJobQueue } from '../../src/engine/job-queue.js';
import type { Transition } from '../../src/engine/job-record.js';
import type { Processor } from '../../src/processors/processor.js';
import type { SqliteStore } from '../../src/store/sqlite-store.js';
import { manualProcessor } from '../helpers/processors.js';
import { fillDisk, nextTick, settle, tempFiles } from './support.js';

function makeQueue(store: SqliteStore, processor: Processor, workers = 1, queueSize = 5) {
  const unhandled: unknown[] = [];
  const queue = createJobQueue(
    { workers, queueSize, backoff: { baseMs: 100, maxMs: 30_000, jitterMs: 100 }, jobTimeoutMs: 0, jobRetention: 100 },
    { processor, store, now: () => Date.now(), random: () => 0.5, onError: (error) => unhandled.push(error) },
  );
  const transitions: Transition[] = [];
  queue.on('transition', (t) => transitions.push(t));
  return { queue, transitions, unhandled };
}

describe('job queue on the sqlite store', () => {
  const files = tempFiles();
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(async () => {
    sinon.restore();
    await files.cleanup();
  });

  describe('restart from the file', () => {
    it('fires the scheduled jobs that came due while it was down in due order, at once, and the rest on time', async () => {
      const path = files.path();
      const first = files.open({ path });
      const { queue } = makeQueue(first, manualProcessor().processor);
      await queue.submit({ id: 'late', payload: null, delay_ms: 300, priority: 2 });
      await queue.submit({ id: 'future', payload: null, delay_ms: 5000 });
      await queue.submit({ id: 'early', payload: null, delay_ms: 200 });
      queue.pause();
      await first.close();

      await clock.tickAsync(1000); // the restart happens at 1000
      const second = files.open({ path });
      const rework = manualProcessor();
      const { queue: restarted, transitions, unhandled } = makeQueue(second, rework.processor);
      expect(await restarted.recover()).to.equal(0);
      await settle(clock);
      expect(transitions.map((t) => [t.id, t.from, t.to, t.event, t.at])).to.deep.equal([
        ['early', 'scheduled', 'queued', 'DUE', 1000],
        ['late', 'scheduled', 'queued', 'DUE', 1000],
        ['late', 'queued', 'running', 'SLOT_GRANTED', 1000], // the higher priority goes first
      ]);
      expect(await restarted.get('future')).to.include({ state: 'scheduled', next_run_at: 5000, priority: 0 });
      await clock.tickAsync(3999);
      expect((await restarted.get('future'))!.state).to.equal('scheduled');
      await clock.tickAsync(1);
      expect((await restarted.get('future'))!.state).to.equal('queued');
      expect(unhandled).to.deep.equal([]);
    });

    it('re-arms a backoff for its next_retry_at (not restart + delay), interrupts the running, queues the queued', async () => {
      const path = files.path();
      // The first process: b fails once (backoff 150 ms → next_retry_at 160), a takes the slot, c waits.
      const first = files.open({ path });
      const work = manualProcessor();
      const { queue } = makeQueue(first, work.processor);
      await queue.submit({ id: 'b', payload: 'b', max_retries: 3 });
      await queue.submit({ id: 'a', payload: 'a', max_retries: 0 });
      await queue.submit({ id: 'c', payload: 'c', max_retries: 0 });
      await clock.tickAsync(10);
      work.latest('b').reject(new Error('flaky'));
      await settle(clock);
      expect(work.calls.map((call) => call.job.id)).to.deep.equal(['b', 'a']);
      // The process dies: what is on disk is what the store committed. Nothing is dispatched any more.
      queue.pause();
      await first.close();

      await clock.tickAsync(90); // the restart happens at 100
      const second = files.open({ path });
      const unfinished = await second.unfinished();
      expect(unfinished.map((r) => [r.id, r.state, r.next_retry_at])).to.deep.equal([
        ['b', 'backoff', 160], ['a', 'running', null], ['c', 'queued', null],
      ]);
      const rework = manualProcessor();
      const { queue: restarted, transitions, unhandled } = makeQueue(second, rework.processor);
      expect(await restarted.recover()).to.equal(3);
      await clock.tickAsync(0); // the claim the recovery starts
      expect(await restarted.get('a')).to.include({ state: 'failed', last_error: 'interrupted', attempts: 1, finished_at: 100 });
      expect(await restarted.get('b')).to.include({ state: 'backoff', next_retry_at: 160 });
      expect(await restarted.get('c')).to.include({ state: 'running', attempts: 1 });
      // In the file's order (b, a); c waits in its lane on disk already, and makes no move until it is claimed.
      expect(transitions.map((t) => [t.id, t.from, t.to, t.event])).to.deep.equal([
        ['b', 'backoff', 'backoff', 'RESTORED'],
        ['a', 'running', 'failed', 'RESTORED'],
        ['c', 'queued', 'running', 'SLOT_GRANTED'],
      ]);
      await settle(clock);
      rework.latest('c').resolve();
      await settle(clock);
      await clock.tickAsync(59);
      expect((await restarted.get('b'))!.state).to.equal('backoff');
      await clock.tickAsync(1); // 160: b's retry
      expect(await restarted.get('b')).to.include({ state: 'running', attempts: 2, started_at: 160 });
      await settle(clock);
      expect(rework.calls.map((call) => [call.job.id, call.job.attempt])).to.deep.equal([['c', 1], ['b', 2]]);
      expect(unhandled).to.deep.equal([]);

      // The restart is on the jobs' paths, on disk too.
      await second.flush();
      expect((await second.get('a'))!.history.map((t) => t.event)).to.deep.equal(['SUBMIT', 'SLOT_GRANTED', 'RESTORED']);
      expect((await second.get('b'))!.history.map((t) => t.event)).to.deep.equal([
        'SUBMIT', 'SLOT_GRANTED', 'ATTEMPT_FAILED', 'RESTORED', 'SLOT_GRANTED',
      ]);
      restarted.pause();
    });

    it('fires a backoff whose next_retry_at has passed at once', async () => {
      const path = files.path();
      const first = files.open({ path });
      const work = manualProcessor();
      const { queue } = makeQueue(first, work.processor);
      await queue.submit({ id: 'b', payload: null, max_retries: 1 });
      work.latest('b').reject(new Error('flaky'));
      await settle(clock);
      queue.pause();
      await first.close();

      await clock.tickAsync(5000);
      const second = files.open({ path });
      const rework = manualProcessor();
      const { queue: restarted } = makeQueue(second, rework.processor);
      expect(await restarted.recover()).to.equal(1);
      await clock.tickAsync(0);
      expect(await restarted.get('b')).to.include({ state: 'running', attempts: 2, started_at: 5000 });
      restarted.pause();
    });
  });

  describe('retention after an operator retry', () => {
    it('never deletes a retried job while it is unfinished, and a restart finds it', async () => {
      const path = files.path();
      const store = files.open({ path, retention: 1 });
      const work = manualProcessor();
      const { queue, unhandled } = makeQueue(store, work.processor);
      const onDisk = async () => (await store.list({ limit: 10 })).jobs.map((r) => [r.id, r.state]);
      const finish = async (id: string) => {
        work.latest(id).resolve();
        await settle(clock);
        await nextTick(); // the retention tick that follows the commit
      };

      await queue.submit({ id: 'f', payload: null, max_retries: 0 });
      await settle(clock);
      work.latest('f').reject(new Error('boom'));
      await settle(clock);
      for (const id of ['d1', 'd2', 'd3']) await queue.submit({ id, payload: null, max_retries: 0 });
      expect(await queue.retry('f')).to.include({ state: 'queued', attempts: 1, attempts_at_retry: 1 });
      await settle(clock);
      expect(await onDisk()).to.deep.equal([['d3', 'queued'], ['d2', 'queued'], ['d1', 'running'], ['f', 'queued']]);

      await finish('d1'); // one finished job: within the retention
      expect(await onDisk()).to.deep.equal([['d3', 'queued'], ['d2', 'running'], ['d1', 'done'], ['f', 'queued']]);
      await finish('d2'); // two: the oldest finished one goes, and f, finished before both, is no longer finished
      expect(await onDisk()).to.deep.equal([['d3', 'running'], ['d2', 'done'], ['f', 'queued']]);
      expect(await store.counts()).to.deep.equal({ scheduled: 0, queued: 1, running: 1, backoff: 0, done: 1, failed: 0, cancelled: 0 });

      // The process stops; the next one takes f back from the file.
      queue.pause();
      await store.close();
      const reopened = files.open({ path, retention: 1 });
      const unfinished = await reopened.unfinished();
      expect(unfinished.map((r) => [r.id, r.state, r.attempts])).to.deep.equal([['f', 'queued', 1], ['d3', 'running', 1]]);
      const rework = manualProcessor();
      const { queue: restarted, unhandled: restartErrors } = makeQueue(reopened, rework.processor);
      expect(await restarted.recover()).to.equal(2);
      await settle(clock);
      rework.latest('f').resolve();
      await settle(clock);
      expect(await restarted.get('f')).to.include({ state: 'done', attempts: 2, attempts_at_retry: 1 });
      // f waited in its lane on disk across the restart: it makes no move until it is claimed.
      expect((await restarted.get('f'))!.history.map((t) => `${t.from}→${t.to} ${t.event}`)).to.deep.equal([
        'null→queued SUBMIT', 'queued→running SLOT_GRANTED', 'running→failed ATTEMPT_FAILED', 'failed→queued RETRY',
        'queued→running SLOT_GRANTED', 'running→done ATTEMPT_SUCCEEDED',
      ]);
      expect([unhandled, restartErrors]).to.deep.equal([[], []]);
    });
  });

  describe('pause (the shutdown of a durable store)', () => {
    it('stops dispatching: the running attempts end, the queued jobs wait, and drain reports them', async () => {
      const store = files.open({ path: files.path() });
      const work = manualProcessor();
      const { queue } = makeQueue(store, work.processor, 2);
      for (const id of ['r1', 'r2', 'q1', 'q2']) await queue.submit({ id, payload: null, max_retries: 1 });
      queue.pause();
      expect(queue.lifecycle()).to.equal('pausing');
      const refused = await queue.submit({ id: 'late', payload: null, max_retries: 0 }).catch((error: ServiceError) => error);
      expect(refused).to.have.property('code', 'shutting_down');
      const drained = queue.drain(10_000);
      work.latest('r1').resolve();
      work.latest('r2').reject(new Error('flaky')); // to backoff; its retry is not dispatched either
      await settle(clock);
      expect(queue.lifecycle()).to.equal('stopped');
      expect(await drained).to.deep.equal({
        unfinished: [{ id: 'r2', state: 'backoff' }, { id: 'q1', state: 'queued' }, { id: 'q2', state: 'queued' }],
      });
      await clock.tickAsync(1000);
      expect(work.calls.map((call) => call.job.id)).to.deep.equal(['r1', 'r2']);
      await store.flush();
      expect((await store.unfinished()).map((r) => [r.id, r.state])).to.deep.equal([
        ['r2', 'backoff'], ['q1', 'queued'], ['q2', 'queued'],
      ]);
    });

    it('past the deadline aborts the running attempts, which stay running on disk', async () => {
      const store = files.open({ path: files.path() });
      const work = manualProcessor();
      const { queue } = makeQueue(store, work.processor, 1);
      await queue.submit({ id: 'slow', payload: null, max_retries: 0 });
      await queue.submit({ id: 'waiting', payload: null, max_retries: 0 });
      queue.pause();
      const drained = queue.drain(200);
      await clock.tickAsync(200);
      expect(await drained).to.deep.equal({
        unfinished: [{ id: 'slow', state: 'running' }, { id: 'waiting', state: 'queued' }],
      });
      expect(work.latest('slow').signal.aborted).to.equal(true);
      await store.flush();
      expect((await store.unfinished()).map((r) => [r.id, r.state])).to.deep.equal([['slow', 'running'], ['waiting', 'queued']]);
    });
  });

  describe('a submission whose write fails', () => {
    it('is refused with storage_unavailable and leaves no job behind; the next one succeeds once writes do', async () => {
      const store = files.open({ path: files.path() });
      const work = manualProcessor();
      const { queue, unhandled } = makeQueue(store, work.processor, 1, 1);
      fillDisk(store);
      const payload = 'x'.repeat(20_000);

      const error = await queue.submit({ id: 'lost', payload, max_retries: 3 }).catch((e: ServiceError) => e);
      expect(error).to.be.instanceOf(ServiceError).and.include({ code: 'storage_unavailable', status: 503 });
      expect(await queue.get('lost')).to.equal(undefined);
      expect(await queue.stats()).to.deep.include({
        states: { scheduled: 0, queued: 0, running: 0, backoff: 0, done: 0, failed: 0, cancelled: 0 },
        workers: { busy: 0, total: 1 },
        queue: { used: 0, capacity: 2 },
      });
      expect((await queue.stats()).totals).to.include({ submitted: 0, cancelled: 0 });
      expect(work.calls).to.deep.equal([]); // its attempt never ran

      store.db.pragma('max_page_count = 1073741823');
      const admitted = await queue.submit({ id: 'lost', payload, max_retries: 3 });
      expect(admitted).to.include({ id: 'lost' });
      await settle(clock);
      expect(work.calls.map((call) => call.job.id)).to.deep.equal(['lost']);
      expect((await store.list({ limit: 10 })).jobs.map((r) => [r.id, r.state])).to.deep.equal([['lost', 'running']]);
      expect((await store.get('lost'))!.history.map((t) => t.event)).to.deep.equal(['SUBMIT', 'SLOT_GRANTED']);
      expect(unhandled).to.deep.equal([]);
      queue.pause();
    });
  });
});
