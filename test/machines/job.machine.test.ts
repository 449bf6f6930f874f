import { expect } from 'chai';
import sinon from 'sinon';
import { createActor } from 'xstate';
import { createJobMachine, publicState, type JobMachineDeps } from '../../machines/job.machine.js';
import { PermanentError } from '../../src/errors.js';
import type { Processor } from '../../src/processors/processor.js';
import { manualProcessor, scriptedProcessor } from '../helpers/processors.js';

/**
 * A job actor on its own: the supervisor's part is played by `announceReady`, which grants the slot at once
 * (or, with `grantSlots: false`, lets the test grant it by hand).
 */
function startJob(processor: Processor, overrides: Partial<JobMachineDeps> & { max_retries?: number; grantSlots?: boolean } = {}) {
  const { max_retries = 3, grantSlots = true, ...deps } = overrides;
  const machine = createJobMachine({
    processor,
    now: () => Date.now(),
    random: () => 0.5,
    backoff: { baseMs: 100, maxMs: 30_000, jitterMs: 100 },
    attemptTimeoutMs: 0,
    ...deps,
  }).provide({
    actions: { announceReady: ({ self }) => { if (grantSlots) self.send({ type: 'SLOT_GRANTED' }); } },
  });
  const errors: unknown[] = [];
  const actor = createActor(machine, { input: { id: 'job-1', payload: { n: 1 }, max_retries } });
  actor.subscribe({ error: (error) => errors.push(error) });
  actor.start();
  return { actor, errors };
}

describe('job machine', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => sinon.restore());

  describe('queued', () => {
    it('starts in queued with a fresh context and waits for a slot', () => {
      const { actor } = startJob(manualProcessor().processor, { grantSlots: false });
      expect(actor.getSnapshot().value).to.equal('queued');
      expect(actor.getSnapshot().context).to.deep.equal({
        id: 'job-1', payload: { n: 1 }, max_retries: 3, attempts: 0, last_error: null, created_at: 0,
        updated_at: 0, started_at: null, finished_at: null, next_retry_at: null, last_delay_ms: null,
      });
    });

    it('moves to running on SLOT_GRANTED and starts attempt 1', async () => {
      const work = manualProcessor();
      const { actor } = startJob(work.processor, { grantSlots: false });
      await clock.tickAsync(7);
      actor.send({ type: 'SLOT_GRANTED' });
      expect(actor.getSnapshot().value).to.equal('running');
      expect(actor.getSnapshot().context).to.include({ attempts: 1, started_at: 7 });
      expect(work.calls.map((call) => call.job)).to.deep.equal([{ id: 'job-1', payload: { n: 1 }, attempt: 1 }]);
    });
  });

  describe('running', () => {
    it('moves to done when the attempt resolves', async () => {
      const work = manualProcessor();
      const { actor } = startJob(work.processor);
      await clock.tickAsync(30);
      work.latest('job-1').resolve('ok');
      await clock.tickAsync(0);
      expect(actor.getSnapshot().value).to.equal('done');
      expect(actor.getSnapshot().status).to.equal('done');
      expect(actor.getSnapshot().context).to.include({ attempts: 1, finished_at: 30, last_error: null });
    });

    it('moves to backoff with the chosen delay when an attempt fails with retries left', async () => {
      const work = manualProcessor();
      const { actor } = startJob(work.processor);
      await clock.tickAsync(10);
      work.latest('job-1').reject(new Error('boom'));
      await clock.tickAsync(0);
      expect(actor.getSnapshot().value).to.deep.equal({ backoff: 'waiting' });
      // retry 1: 100·2⁰ + round(0.5·100) = 150 ms
      expect(actor.getSnapshot().context).to.include({
        attempts: 1, last_error: 'boom', last_delay_ms: 150, next_retry_at: 160,
      });
    });

    it('fails at once on a PermanentError, whatever retries are left', async () => {
      const work = manualProcessor();
      const { actor } = startJob(work.processor, { max_retries: 5 });
      work.latest('job-1').reject(new PermanentError('bad payload'));
      await clock.tickAsync(0);
      expect(actor.getSnapshot().value).to.equal('failed');
      expect(actor.getSnapshot().context).to.include({ attempts: 1, last_error: 'bad payload', next_retry_at: null });
    });

    it('fails after one failure with max_retries 0', async () => {
      const work = manualProcessor();
      const { actor } = startJob(work.processor, { max_retries: 0 });
      work.latest('job-1').reject(new Error('once'));
      await clock.tickAsync(0);
      expect(actor.getSnapshot().value).to.equal('failed');
      expect(actor.getSnapshot().context).to.include({ attempts: 1, last_error: 'once', finished_at: 0 });
    });

    it('counts an attempt outliving attemptTimeoutMs as failed with "timeout", and aborts it', async () => {
      const work = manualProcessor();
      const { actor } = startJob(work.processor, { attemptTimeoutMs: 50 });
      await clock.tickAsync(49);
      expect(actor.getSnapshot().value).to.equal('running');
      await clock.tickAsync(1);
      expect(actor.getSnapshot().value).to.deep.equal({ backoff: 'waiting' });
      expect(actor.getSnapshot().context).to.include({ last_error: 'timeout', next_retry_at: 200 });
      expect(work.latest('job-1').signal.aborted).to.equal(true);
    });

    it('aborts the processor signal when the actor stops', () => {
      const work = manualProcessor();
      const { actor } = startJob(work.processor);
      const { signal } = work.latest('job-1');
      expect(signal.aborted).to.equal(false);
      actor.stop();
      expect(signal.aborted).to.equal(true);
    });

    it('records a non-Error rejection as its JSON text', async () => {
      const work = manualProcessor();
      const { actor } = startJob(work.processor, { max_retries: 0 });
      work.latest('job-1').reject({ reason: 'quota' });
      await clock.tickAsync(0);
      expect(actor.getSnapshot().context.last_error).to.equal('{"reason":"quota"}');
    });
  });

  describe('backoff', () => {
    it('becomes ready at next_retry_at and runs again only once a slot is granted', async () => {
      const work = manualProcessor();
      const { actor } = startJob(work.processor, { grantSlots: false });
      actor.send({ type: 'SLOT_GRANTED' });
      work.latest('job-1').reject(new Error('boom'));
      await clock.tickAsync(149);
      expect(actor.getSnapshot().value).to.deep.equal({ backoff: 'waiting' });
      await clock.tickAsync(1);
      expect(actor.getSnapshot().value).to.deep.equal({ backoff: 'ready' });
      await clock.tickAsync(1000);
      expect(publicState(actor.getSnapshot())).to.equal('backoff');
      actor.send({ type: 'SLOT_GRANTED' });
      expect(actor.getSnapshot().value).to.equal('running');
      expect(actor.getSnapshot().context).to.include({ attempts: 2, started_at: 1150, next_retry_at: null });
    });

    it('ignores SLOT_GRANTED while the delay is still running', async () => {
      const work = manualProcessor();
      const { actor } = startJob(work.processor);
      work.latest('job-1').reject(new Error('boom'));
      await clock.tickAsync(10);
      actor.send({ type: 'SLOT_GRANTED' });
      expect(actor.getSnapshot().value).to.deep.equal({ backoff: 'waiting' });
    });

    it('starts each attempt at the exact time for a job that fails twice and then succeeds', async () => {
      const started: number[] = [];
      const processor = scriptedProcessor(10, (job) => {
        started.push(Date.now() - 10);
        return job.attempt <= 2 ? new Error(`fail ${job.attempt}`) : undefined;
      });
      const { actor } = startJob(processor);
      await clock.tickAsync(10_000);
      // attempt 1 at 0, fails at 10; retry 1 waits 100 + 50 → 160; fails at 170; retry 2 waits 200 + 50 → 420.
      expect(started).to.deep.equal([0, 160, 420]);
      expect(actor.getSnapshot().value).to.equal('done');
      expect(actor.getSnapshot().context).to.deep.equal({
        id: 'job-1', payload: { n: 1 }, max_retries: 3, attempts: 3, last_error: 'fail 2', created_at: 0,
        updated_at: 430, started_at: 420, finished_at: 430, next_retry_at: null, last_delay_ms: 250,
      });
    });

    it('fails after 1 + max_retries attempts', async () => {
      const started: number[] = [];
      const processor = scriptedProcessor(5, (job) => {
        started.push(Date.now() - 5);
        return new Error(`fail ${job.attempt}`);
      });
      const { actor } = startJob(processor, { max_retries: 2 });
      await clock.tickAsync(10_000);
      expect(started).to.deep.equal([0, 155, 410]);
      expect(actor.getSnapshot().value).to.equal('failed');
      expect(actor.getSnapshot().context).to.include({ attempts: 3, last_error: 'fail 3', finished_at: 415 });
    });
  });
});
