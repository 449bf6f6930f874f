import { expect } from 'chai';
import sinon from 'sinon';
import { DuplicateJobError, ServiceError } from '../../src/errors.js';
import type { Processor } from '../../src/processors/processor.js';
import { manualProcessor, scriptedProcessor, seededRandom } from '../helpers/processors.js';
import { makeQueue, rejection, states } from '../helpers/queue.js';

describe('supervisor (through the job queue)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => sinon.restore());

  describe('concurrency', () => {
    it('never has more than WORKERS running, at any transition of a seeded random run of 500 jobs', async () => {
      const random = seededRandom(42);
      const workers = 4;
      // Work time and outcome are drawn per attempt from the seeded source.
      const varied: Processor = (job, ctx) =>
        new Promise((resolve, reject) => {
          const fails = random() < 0.3;
          setTimeout(() => (fails ? reject(new Error(`attempt ${job.attempt} failed`)) : resolve(null)), Math.floor(random() * 50));
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
        });
      const { queue, transitions, unhandled } = makeQueue(varied, { workers, queueSize: 500 }, random);
      const running = new Set<string>();
      let peak = 0;
      const busyReadings: Promise<number>[] = [];
      queue.on('transition', (t) => {
        if (t.to === 'running') running.add(t.id);
        if (t.from === 'running') running.delete(t.id);
        peak = Math.max(peak, running.size);
        expect(running.size).to.be.at.most(workers);
        busyReadings.push(queue.stats().then((stats) => stats.workers.busy));
      });
      for (let i = 0; i < 500; i++) {
        await queue.submit({ id: `job-${i}`, payload: i, max_retries: Math.floor(random() * 4) });
        if (i % 7 === 0) await clock.tickAsync(Math.floor(random() * 20));
      }
      await clock.tickAsync(60_000);
      const stats = (await queue.stats());
      expect(peak).to.equal(workers);
      expect(Math.max(...(await Promise.all(busyReadings)))).to.equal(workers);
      expect(stats.states.done + stats.states.failed).to.equal(500);
      expect(stats.totals.done + stats.totals.failed).to.equal(500);
      expect(stats.queue.used).to.equal(0);
      expect(stats.workers.busy).to.equal(0);
      expect(transitions.filter((t) => t.to === 'running')).to.have.length(500 + stats.totals.retries);
      expect(unhandled).to.deep.equal([]);
    });
  });

  describe('capacity', () => {
    it('admits WORKERS + QUEUE_SIZE jobs and rejects the next with queue_full and a Retry-After', async () => {
      const { queue } = makeQueue(manualProcessor().processor, { workers: 2, queueSize: 3 });
      for (let i = 1; i <= 5; i++) await queue.submit({ id: `j${i}`, payload: null, max_retries: 0 });
      const error = (await rejection(queue.submit({ id: 'j6', payload: null, max_retries: 0 }))) as ServiceError;
      expect(error).to.be.instanceOf(ServiceError);
      expect(error.code).to.equal('queue_full');
      expect(error.status).to.equal(429);
      // Before any finish: expected work 1000 ms spread over 2 workers → 0.5 s, rounded up to 1.
      expect(error.headers).to.deep.equal({ 'Retry-After': '1' });
      expect((await queue.get('j6'))).to.equal(undefined);
      expect((await queue.stats())).to.deep.equal({
        states: { scheduled: 0, queued: 3, running: 2, backoff: 0, done: 0, failed: 0, cancelled: 0 },
        types: { simulated: { scheduled: 0, queued: 3, running: 2, backoff: 0, done: 0, failed: 0, cancelled: 0 } },
        workers: { busy: 2, total: 2 },
        waiting: [{ priority: 0, oldest_wait_ms: 0 }],
        queue: { used: 5, capacity: 5 },
        totals: { submitted: 5, done: 0, failed: 0, cancelled: 0, retries: 0, manual_retries: 0, rejected: 1 },
      });
    });

    it('estimates Retry-After from the observed finish rate', async () => {
      const work = manualProcessor();
      const { queue } = makeQueue(work.processor, { workers: 1, queueSize: 0 });
      for (let i = 1; i <= 3; i++) {
        await queue.submit({ id: `j${i}`, payload: null, max_retries: 0 });
        await clock.tickAsync(4000);
        work.latest(`j${i}`).resolve();
        await clock.tickAsync(0);
      }
      await queue.submit({ id: 'j4', payload: null, max_retries: 0 });
      const error = (await rejection(queue.submit({ id: 'j5', payload: null, max_retries: 0 }))) as ServiceError;
      expect(error.headers).to.deep.equal({ 'Retry-After': '4' });
    });

    it('frees a place when a job finishes', async () => {
      const work = manualProcessor();
      const { queue } = makeQueue(work.processor, { workers: 1, queueSize: 0 });
      await queue.submit({ id: 'a', payload: null, max_retries: 0 });
      await rejection(queue.submit({ id: 'b', payload: null, max_retries: 0 }));
      work.latest('a').resolve();
      await clock.tickAsync(0);
      expect(await queue.submit({ id: 'b', payload: null, max_retries: 0 })).to.include({ id: 'b', attempts_at_retry: 0 });
      await clock.tickAsync(0);
      expect(await queue.get('b')).to.include({ state: 'running', attempts: 1 });
    });

    it('never drops a retry when the queue is full: a job in backoff keeps its place', async () => {
      const work = manualProcessor();
      const { queue } = makeQueue(work.processor, { workers: 1, queueSize: 1 });
      await queue.submit({ id: 'a', payload: null, max_retries: 1 });
      await queue.submit({ id: 'b', payload: null, max_retries: 0 });
      work.latest('a').reject(new Error('flaky'));
      await clock.tickAsync(0);
      expect((await queue.get('a'))!.state).to.equal('backoff');
      // a's place is still taken while it backs off, so a third job is refused…
      const error = (await rejection(queue.submit({ id: 'c', payload: null, max_retries: 0 }))) as ServiceError;
      expect(error.code).to.equal('queue_full');
      // …and b, which got a's slot, holds the only worker past a's backoff: a waits ready, it is not lost.
      await clock.tickAsync(1000);
      expect((await queue.get('a'))!.state).to.equal('backoff');
      work.latest('b').resolve();
      await clock.tickAsync(0);
      expect((await queue.get('a'))!.state).to.equal('running');
      work.latest('a').resolve();
      await clock.tickAsync(0);
      expect((await queue.get('a'))).to.include({ state: 'done', attempts: 2 });
    });
  });

  describe('dispatch order', () => {
    it('fills every free worker when submissions arrive together, while a claim is under way', async () => {
      const work = manualProcessor();
      const { queue } = makeQueue(work.processor, { workers: 3, queueSize: 10 });
      const ids = ['a', 'b', 'c', 'd', 'e'];
      await Promise.all(ids.map((id) => queue.submit({ id, payload: null, max_retries: 0 })));
      await clock.tickAsync(0);
      expect(await states(queue, ids)).to.deep.equal(['running', 'running', 'running', 'queued', 'queued']);
      expect((await queue.stats()).workers).to.deep.equal({ busy: 3, total: 3 });
    });

    it('gives every slot freed at the same moment to a waiting job, also those freed while a claim is under way', async () => {
      const work = manualProcessor();
      const { queue } = makeQueue(work.processor, { workers: 3, queueSize: 10 });
      const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
      for (const id of ids) await queue.submit({ id, payload: null, max_retries: 0 });
      await clock.tickAsync(0);
      for (const id of ['a', 'b', 'c']) work.latest(id).resolve();
      await clock.tickAsync(0);
      expect(await states(queue, ids)).to.deep.equal(['done', 'done', 'done', 'running', 'running', 'running']);
      expect((await queue.stats()).workers).to.deep.equal({ busy: 3, total: 3 });
    });

    it('grants slots to due retries first, then first in, first out by the moment a job became ready', async () => {
      const work = manualProcessor();
      const { queue, transitions } = makeQueue(work.processor, { workers: 1, queueSize: 10 });
      await queue.submit({ id: 'retrying', payload: null, max_retries: 1 });
      await queue.submit({ id: 'first', payload: null, max_retries: 0 });
      work.latest('retrying').reject(new Error('flaky')); // backoff 150 ms, ready at 150
      await clock.tickAsync(0);
      await clock.tickAsync(100);
      await queue.submit({ id: 'second', payload: null, max_retries: 0 }); // ready at 100
      await clock.tickAsync(100);
      await queue.submit({ id: 'third', payload: null, max_retries: 0 }); // ready at 200, after the retry
      for (const id of ['first', 'retrying', 'second', 'third']) {
        work.latest(id).resolve();
        await clock.tickAsync(0);
      }
      const order = transitions.filter((t) => t.to === 'running').map((t) => t.id);
      // The retry, due at 150, goes before `second`, which has waited since 100 but has not started yet.
      expect(order).to.deep.equal(['retrying', 'first', 'retrying', 'second', 'third']);
    });
  });

  describe('duplicates', () => {
    it('refuses a known id with the existing record', async () => {
      const { queue } = makeQueue(manualProcessor().processor);
      await queue.submit({ id: 'same', payload: 1, max_retries: 0 });
      const error = (await rejection(queue.submit({ id: 'same', payload: 2, max_retries: 0 }))) as DuplicateJobError;
      expect(error).to.be.instanceOf(DuplicateJobError);
      expect(error.existing).to.include({ id: 'same', payload: 1, state: 'running' });
      expect((await queue.stats()).totals).to.deep.equal({
        submitted: 1, done: 0, failed: 0, cancelled: 0, retries: 0, manual_retries: 0, rejected: 0,
      });
    });

    it('generates a UUIDv7 when no id is given: the submission time first, so the ids sort in submission order', async () => {
      const { queue } = makeQueue(manualProcessor().processor, { queueSize: 10 });
      clock.setSystemTime(Date.UTC(2100, 0, 1)); // 0x03bb2cc3d800 ms
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await queue.submit({ payload: null, max_retries: 0 })).id);
      await clock.tickAsync(1);
      ids.push((await queue.submit({ payload: null, max_retries: 0 })).id);
      for (const id of ids) expect(id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(ids.slice(0, 5).map((id) => id.slice(0, 13))).to.deep.equal(Array(5).fill('03bb2cc3-d800'));
      expect(ids[5]!.slice(0, 13)).to.equal('03bb2cc3-d801');
      expect([...ids].sort()).to.deep.equal(ids);
      expect(new Set(ids).size).to.equal(6);
    });
  });

  describe('lifecycle', () => {
    it('drains: refuses new jobs, lets queued and backoff jobs run to an end, then stops', async () => {
      const processor = scriptedProcessor(10, (job) => (job.id === 'flaky' && job.attempt === 1 ? new Error('once') : undefined));
      const { queue } = makeQueue(processor, { workers: 1, queueSize: 5 });
      for (const id of ['flaky', 'b', 'c']) await queue.submit({ id, payload: null, max_retries: 2 });
      const drained = queue.drain(60_000);
      expect(queue.lifecycle()).to.equal('draining');
      const error = (await rejection(queue.submit({ id: 'late', payload: null, max_retries: 0 }))) as ServiceError;
      expect(error.code).to.equal('shutting_down');
      await clock.tickAsync(1000);
      expect(await drained).to.deep.equal({ unfinished: [] });
      expect(queue.lifecycle()).to.equal('stopped');
      expect(await states(queue, ['flaky', 'b', 'c'])).to.deep.equal(['done', 'done', 'done']);
      expect((await queue.get('flaky'))!.attempts).to.equal(2);
    });

    it('resolves at once when nothing is unfinished', async () => {
      const { queue } = makeQueue(manualProcessor().processor);
      expect(await queue.drain(5000)).to.deep.equal({ unfinished: [] });
      expect(queue.lifecycle()).to.equal('stopped');
    });

    it('at the deadline aborts running attempts and lists every unfinished job', async () => {
      const work = manualProcessor();
      const { queue } = makeQueue(work.processor, { workers: 1, queueSize: 5 });
      await queue.submit({ id: 'slow', payload: null, max_retries: 0 });
      await queue.submit({ id: 'waiting', payload: null, max_retries: 0 });
      const drained = queue.drain(500);
      await clock.tickAsync(499);
      expect(work.latest('slow').signal.aborted).to.equal(false);
      await clock.tickAsync(1);
      expect(await drained).to.deep.equal({
        unfinished: [
          { id: 'slow', state: 'running' },
          { id: 'waiting', state: 'queued' },
        ],
      });
      expect(work.latest('slow').signal.aborted).to.equal(true);
      expect(queue.lifecycle()).to.equal('stopped');
    });
  });
});
