import { expect } from 'chai';
import sinon from 'sinon';
import { createActor } from 'xstate';
import { createJobMachine, publicState } from '../../machines/job.machine.js';
import { PermanentError } from '../../src/errors.js';
import { createAttemptRunner } from '../../src/engine/attempt-runner.js';
import type { Processor } from '../../src/processors/processor.js';
import { manualProcessor, scriptedProcessor } from '../helpers/processors.js';

/**
 * A job actor on its own. The supervisor's part: a new job is granted its slot as soon as it starts, as its
 * admission would, and `announceReady` grants one at once (with `grantSlots: false` the test grants by hand).
 */
function startJob(
  processor: Processor,
  { max_retries = 3, grantSlots = true, attemptTimeoutMs = 0 } = {},
) {
  const slots = { released: 0, finished: 0, placesOnly: 0, withdrawn: 0, admittedDue: 0 };
  const machine = createJobMachine({
    attempts: createAttemptRunner(processor, attemptTimeoutMs),
    slots: {
      // Later, once the actor exists: announceReady runs inside its transition.
      announceReady: () => grantSlots && queueMicrotask(() => actor.send({ type: 'SLOT_GRANTED' })),
      withdrawReady: () => slots.withdrawn++,
      releaseSlot: (finished) => {
        slots.released++;
        if (finished) slots.finished++;
      },
      releasePlace: () => slots.placesOnly++,
      admitDue: () => slots.admittedDue++,
    },
    recordTransition: () => {},
    now: () => Date.now(),
    random: () => 0.5,
    backoffFor: () => ({ baseMs: 100, maxMs: 30_000, jitterMs: 100 }),
    keepResult: (output) => ({ result: output ?? null, result_error: null, result_bytes: null }),
  });
  const errors: unknown[] = [];
  const actor = createActor(machine, { input: { id: 'job-1', type: 'simulated', payload: { n: 1 }, max_retries } });
  actor.subscribe({ error: (error) => errors.push(error) });
  actor.start();
  if (grantSlots) actor.send({ type: 'SLOT_GRANTED' });
  return { actor, errors, slots };
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
        id: 'job-1', type: 'simulated', payload: { n: 1 }, max_retries: 3, priority: 0, next_run_at: null, attempts: 0, attempts_at_retry: 0,
        last_error: null, created_at: 0, updated_at: 0, started_at: null, finished_at: null, next_retry_at: null,
        last_delay_ms: null, last_delay_source: null, result: null, result_error: null, result_bytes: null,
        cancel_requested: false,
      });
    });

    it('moves to running on SLOT_GRANTED and starts attempt 1', async () => {
      const work = manualProcessor();
      const { actor } = startJob(work.processor, { grantSlots: false });
      await clock.tickAsync(7);
      actor.send({ type: 'SLOT_GRANTED' });
      expect(actor.getSnapshot().value).to.deep.equal({ running: 'attempting' });
      expect(actor.getSnapshot().context).to.include({ attempts: 1, started_at: 7 });
      expect(work.calls.map((call) => call.job)).to.deep.equal([
        { id: 'job-1', type: 'simulated', payload: { n: 1 }, attempt: 1, max_retries: 3 },
      ]);
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
      expect(actor.getSnapshot().value).to.deep.equal({ running: 'attempting' });
      await clock.tickAsync(1);
      expect(actor.getSnapshot().value).to.deep.equal({ backoff: 'waiting' });
      expect(actor.getSnapshot().context).to.include({ last_error: 'timeout', next_retry_at: 200 });
      expect(work.latest('job-1').signal.aborted).to.equal(true);
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
      expect(actor.getSnapshot().value).to.deep.equal({ running: 'attempting' });
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
        id: 'job-1', type: 'simulated', payload: { n: 1 }, max_retries: 3, priority: 0, next_run_at: null, attempts: 3, attempts_at_retry: 0,
        last_error: 'fail 2', created_at: 0, updated_at: 430, started_at: 420, finished_at: 430, next_retry_at: null,
        last_delay_ms: 250, last_delay_source: 'backoff', result: null, result_error: null, result_bytes: null,
        cancel_requested: false,
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

  describe('slots', () => {
    it('gives the slot back once per attempt, after the attempt ends', async () => {
      const processor = scriptedProcessor(10, (job) => (job.attempt === 1 ? new Error('once') : undefined));
      const { actor, slots } = startJob(processor);
      await clock.tickAsync(5);
      expect(slots.released).to.equal(0);
      await clock.tickAsync(10_000);
      expect(actor.getSnapshot().value).to.equal('done');
      expect(slots).to.deep.equal({ released: 2, finished: 1, placesOnly: 0, withdrawn: 0, admittedDue: 0 });
    });
  });

  describe('cancel', () => {
    it('cancels a queued job at once and takes it out of the ready queue', () => {
      const { actor, slots } = startJob(manualProcessor().processor, { grantSlots: false });
      actor.send({ type: 'CANCEL' });
      expect(actor.getSnapshot().value).to.equal('cancelled');
      expect(actor.getSnapshot().context).to.include({ finished_at: 0, attempts: 0 });
      expect(slots).to.deep.equal({ released: 0, finished: 0, placesOnly: 1, withdrawn: 1, admittedDue: 0 });
    });

    it('cancels a job in backoff at once and clears its timer', async () => {
      const started: number[] = [];
      const processor = scriptedProcessor(10, () => {
        started.push(Date.now());
        return new Error('boom');
      });
      const { actor } = startJob(processor);
      await clock.tickAsync(50);
      expect(actor.getSnapshot().value).to.deep.equal({ backoff: 'waiting' });
      actor.send({ type: 'CANCEL' });
      expect(actor.getSnapshot().value).to.equal('cancelled');
      await clock.tickAsync(10_000);
      expect(started).to.deep.equal([10]);
      expect(actor.getSnapshot().context).to.include({ next_retry_at: null, finished_at: 50 });
    });

    it("aborts a running attempt's signal and keeps the slot until the attempt stops", async () => {
      const work = manualProcessor();
      const { actor, slots } = startJob(work.processor);
      actor.send({ type: 'CANCEL' });
      expect(actor.getSnapshot().value).to.deep.equal({ running: 'cancelling' });
      expect(actor.getSnapshot().context.cancel_requested).to.equal(true);
      expect(work.latest('job-1').signal.aborted).to.equal(true);
      // The manual processor rejects on abort, so the attempt stops at the next tick.
      expect(slots.released).to.equal(0);
      await clock.tickAsync(0);
      expect(actor.getSnapshot().value).to.equal('cancelled');
      expect(actor.getSnapshot().context).to.include({ cancel_requested: false, last_error: null });
      expect(slots.released).to.equal(1);
    });

    it('cancels a running job whose processor ignores the signal after JOB_TIMEOUT_MS', async () => {
      const stubborn: Processor = () => new Promise(() => {});
      const { actor, slots } = startJob(stubborn, { attemptTimeoutMs: 300 });
      await clock.tickAsync(100);
      actor.send({ type: 'CANCEL' });
      await clock.tickAsync(199);
      expect(actor.getSnapshot().value).to.deep.equal({ running: 'cancelling' });
      await clock.tickAsync(1);
      expect(actor.getSnapshot().value).to.equal('cancelled');
      expect(slots.released).to.equal(1);
    });
  });

  describe('failed and cancelled (operator retry)', () => {
    it('retries a failed job with a fresh retry budget, attempts still counting', async () => {
      const started: number[] = [];
      const processor = scriptedProcessor(10, (job) => {
        started.push(Date.now() - 10);
        return job.attempt <= 2 ? new Error(`fail ${job.attempt}`) : undefined;
      });
      const { actor } = startJob(processor, { max_retries: 0 });
      await clock.tickAsync(100);
      expect(actor.getSnapshot().value).to.equal('failed');
      actor.send({ type: 'RETRY' });
      // attempt 2 at 100 fails at 110; max_retries 0 counts from the retry, so: failed again.
      await clock.tickAsync(100);
      expect(actor.getSnapshot().value).to.equal('failed');
      expect(actor.getSnapshot().context).to.include({ attempts: 2, attempts_at_retry: 1, finished_at: 110 });
      actor.send({ type: 'RETRY' });
      await clock.tickAsync(100);
      expect(started).to.deep.equal([0, 100, 200]);
      expect(actor.getSnapshot().value).to.equal('done');
      expect(actor.getSnapshot().context).to.include({ attempts: 3, attempts_at_retry: 2, finished_at: 210 });
    });

    it('retries with backoff from retry 1 again after an operator retry', async () => {
      const processor = scriptedProcessor(10, (job) => (job.attempt <= 2 ? new Error(`fail ${job.attempt}`) : undefined));
      const { actor } = startJob(processor, { max_retries: 1 });
      await clock.tickAsync(10);
      // attempt 1 failed at 10: retry 1 waits 150
      expect(actor.getSnapshot().context).to.include({ last_delay_ms: 150 });
      actor.send({ type: 'CANCEL' });
      actor.send({ type: 'RETRY' });
      expect(actor.getSnapshot().value).to.equal('queued');
      await Promise.resolve(); // the slot its announceReady asked for
      expect(actor.getSnapshot().value).to.deep.equal({ running: 'attempting' });
      await clock.tickAsync(10);
      expect(actor.getSnapshot().context).to.include({ attempts: 2, last_delay_ms: 150, next_retry_at: 170 });
    });

    it('ignores RETRY outside failed and cancelled', () => {
      const { actor } = startJob(manualProcessor().processor);
      actor.send({ type: 'RETRY' });
      expect(actor.getSnapshot().value).to.deep.equal({ running: 'attempting' });
    });
  });
});
