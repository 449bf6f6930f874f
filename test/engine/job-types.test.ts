/**
 * Job types at the facade: which processor runs, the options a type sets, results, progress and the delays a
 * processor asks for. All on fake timers.
 */
import { expect } from 'chai';
import sinon from 'sinon';
import { DuplicateJobError, RetryLaterError, ServiceError } from '../../src/errors.js';
import { createJobQueue, PROGRESS_INTERVAL_MS } from '../../src/engine/job-queue.js';
import type { ProgressEvent } from '../../src/engine/job-queue.types.js';
import type { Transition } from '../../src/engine/job-record.js';
import type { JobTypeDefinition } from '../../src/job-types/job-type.js';
import { createJobTypes } from '../../src/job-types/registry.js';
import type { Processor, ProcessorContext } from '../../src/processors/processor.js';
import { manualProcessor } from '../helpers/processors.js';
import { rejection } from '../helpers/queue.js';

const backoff = { baseMs: 100, maxMs: 30_000, jitterMs: 100 };

function queueOf(
  definitions: Array<Pick<JobTypeDefinition, 'name' | 'processor'> & Partial<JobTypeDefinition>>,
  { resultMaxBytes = 65_536, workers = 2 } = {},
) {
  const types = createJobTypes(
    definitions.map((d) => ({ kind: 'module' as const, source: `${d.name}.ts`, options: {}, ...d })),
    { defaultType: definitions[0]!.name, maxRetries: 3, maxRetriesLimit: 20, timeoutMs: 0, backoff },
  );
  const unhandled: unknown[] = [];
  const queue = createJobQueue(
    { workers, queueSize: 10, backoff, jobTimeoutMs: 0, jobRetention: 100, resultMaxBytes },
    { types, now: () => Date.now(), random: () => 0.5, onError: (error) => unhandled.push(error) },
  );
  const transitions: Transition[] = [];
  const progress: ProgressEvent[] = [];
  queue.on('transition', (t) => transitions.push(t));
  queue.on('progress', (p) => progress.push(p));
  return { queue, transitions, progress, unhandled };
}

describe('job types', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => sinon.restore());

  describe('submission', () => {
    it('runs each job with the processor of its type; a job without a type gets the default', async () => {
      const first = manualProcessor();
      const second = manualProcessor();
      const { queue } = queueOf([
        { name: 'first', processor: first.processor },
        { name: 'second', processor: second.processor },
      ]);
      await queue.submit({ id: 'a', payload: 1 });
      await queue.submit({ id: 'b', type: 'second', payload: 2 });
      await clock.tickAsync(0);

      expect(first.calls.map((c) => c.job)).to.deep.equal([{ id: 'a', type: 'first', payload: 1, attempt: 1, max_retries: 3 }]);
      expect(second.calls.map((c) => c.job)).to.deep.equal([{ id: 'b', type: 'second', payload: 2, attempt: 1, max_retries: 3 }]);
      expect((await queue.get('a'))!.type).to.equal('first');
    });

    it('refuses an unknown type with unknown_job_type, naming it and listing the known ones, before admission', async () => {
      const { queue } = queueOf([{ name: 'b-type', processor: manualProcessor().processor }, { name: 'a-type', processor: manualProcessor().processor }]);
      const error = await rejection<ServiceError>(queue.submit({ type: 'nope', payload: null }));

      expect([error.code, error.status, error.message, error.details]).to.deep.equal([
        'unknown_job_type',
        400,
        'No job type "nope"; known types: a-type, b-type.',
        { type: 'nope', known_types: ['a-type', 'b-type'] },
      ]);
      expect((await queue.stats()).queue.used).to.equal(0);
    });

    it("gives a job its type's max_retries unless it sets its own", async () => {
      const { queue } = queueOf([{ name: 'five', processor: manualProcessor().processor, options: { max_retries: 5 } }]);
      await queue.submit({ id: 'default', payload: null });
      await queue.submit({ id: 'own', payload: null, max_retries: 1 });
      expect([(await queue.get('default'))!.max_retries, (await queue.get('own'))!.max_retries]).to.deep.equal([5, 1]);
    });

    it('compares the type on an idempotent resubmit', async () => {
      const { queue } = queueOf([
        { name: 'one', processor: manualProcessor().processor },
        { name: 'two', processor: manualProcessor().processor },
      ]);
      await queue.submit({ id: 'x', type: 'one', payload: null });
      const error = await rejection<DuplicateJobError>(queue.submit({ id: 'x', type: 'two', payload: null }));
      expect(error).to.be.instanceOf(DuplicateJobError);
      expect(error.submitted).to.deep.equal({ type: 'two', payload: null, max_retries: 3, priority: 0 });
      expect(error.existing.type).to.equal('one');
    });
  });

  describe('per-type options', () => {
    it("fails an attempt at the type's timeout_ms, aborting its signal", async () => {
      const work = manualProcessor();
      const { queue } = queueOf([{ name: 'quick', processor: work.processor, options: { timeout_ms: 250, max_retries: 0 } }]);
      await queue.submit({ id: 'j', payload: null });
      await clock.tickAsync(249);
      expect((await queue.get('j'))!.state).to.equal('running');
      await clock.tickAsync(1);
      expect(work.latest('j').signal.aborted).to.equal(true);
      expect([(await queue.get('j'))!.state, (await queue.get('j'))!.last_error]).to.deep.equal(['failed', 'timeout']);
    });

    it("waits the type's own backoff before a retry", async () => {
      const work = manualProcessor();
      const { queue, transitions } = queueOf([
        { name: 'slow-retry', processor: work.processor, options: { backoff: { base_ms: 5000, jitter_ms: 0 } } },
      ]);
      await queue.submit({ id: 'j', payload: null });
      await clock.tickAsync(10);
      work.latest('j').reject(new Error('flaky'));
      await clock.tickAsync(0);
      const entered = transitions.find((t) => t.to === 'backoff')!;
      expect([entered.delay_ms, entered.delay_source, (await queue.get('j'))!.next_retry_at]).to.deep.equal([5000, 'backoff', 5010]);
      await clock.tickAsync(4999);
      expect(work.calls).to.have.length(1);
      await clock.tickAsync(1);
      expect(work.calls).to.have.length(2);
    });
  });

  describe('results', () => {
    it('keeps the value an attempt resolved with as the result, with its size', async () => {
      const work = manualProcessor();
      const { queue } = queueOf([{ name: 't', processor: work.processor }]);
      await queue.submit({ id: 'j', payload: null });
      await clock.tickAsync(0);
      work.latest('j').resolve({ size: 12, when: new Date(5) });
      await clock.tickAsync(0);
      const record = (await queue.get('j'))!;
      expect([record.state, record.result, record.result_error, record.result_bytes]).to.deep.equal([
        'done', { size: 12, when: '1970-01-01T00:00:00.005Z' }, null, 45,
      ]);
    });

    it('drops a result over RESULT_MAX_BYTES without failing the job, saying why and how large it was', async () => {
      const work = manualProcessor();
      const { queue } = queueOf([{ name: 't', processor: work.processor }], { resultMaxBytes: 10 });
      await queue.submit({ id: 'fits', payload: null });
      await queue.submit({ id: 'big', payload: null });
      await clock.tickAsync(0);
      work.latest('fits').resolve('12345678'); // "12345678" is 10 bytes as JSON
      work.latest('big').resolve('123456789');
      await clock.tickAsync(0);
      const view = async (id: string) => {
        const r = (await queue.get(id))!;
        return [r.state, r.result, r.result_error, r.result_bytes];
      };
      expect(await view('fits')).to.deep.equal(['done', '12345678', null, 10]);
      expect(await view('big')).to.deep.equal(['done', null, 'too_large', 11]);
    });

    it('keeps a result JSON cannot hold as null with not_json', async () => {
      const work = manualProcessor();
      const { queue } = queueOf([{ name: 't', processor: work.processor }]);
      await queue.submit({ id: 'j', payload: null });
      await clock.tickAsync(0);
      work.latest('j').resolve(10n);
      await clock.tickAsync(0);
      const r = (await queue.get('j'))!;
      expect([r.state, r.result, r.result_error, r.result_bytes]).to.deep.equal(['done', null, 'not_json', null]);
    });
  });

  describe('Retry-After', () => {
    it('waits the delay a RetryLaterError asks for instead of the backoff, and the history says so', async () => {
      const work = manualProcessor();
      const { queue, transitions } = queueOf([{ name: 't', processor: work.processor }]);
      await queue.submit({ id: 'j', payload: null });
      await clock.tickAsync(0);
      work.latest('j').reject(new RetryLaterError('HTTP 429', 7000));
      await clock.tickAsync(0);
      expect(transitions.find((t) => t.to === 'backoff')).to.deep.include({ delay_ms: 7000, delay_source: 'retry_after', error: 'HTTP 429' });
      await clock.tickAsync(6999);
      expect(work.calls).to.have.length(1);
      await clock.tickAsync(1);
      expect(work.calls).to.have.length(2);
      // The next failure without one goes back to the formula: retry 2 is 200 ms + 50 ms of jitter.
      work.latest('j').reject(new Error('flaky'));
      await clock.tickAsync(0);
      expect(transitions.filter((t) => t.to === 'backoff').map((t) => [t.delay_ms, t.delay_source])).to.deep.equal([
        [7000, 'retry_after'],
        [250, 'backoff'],
      ]);
    });

    it('caps a delay asked for at the longest a timer can wait (about 24.8 days), rather than firing after 1 ms', async () => {
      const work = manualProcessor();
      const { queue, transitions } = queueOf([{ name: 't', processor: work.processor }]);
      await queue.submit({ id: 'j', payload: null });
      await clock.tickAsync(0);
      work.latest('j').reject(new RetryLaterError('come back next month', 30 * 86_400_000));
      await clock.tickAsync(0);
      expect(transitions.find((t) => t.to === 'backoff')!.delay_ms).to.equal(2_147_483_647);
      await clock.tickAsync(86_400_000);
      expect([(await queue.get('j'))!.state, work.calls.length]).to.deep.equal(['backoff', 1]);
    });

    it('recognises PermanentError and RetryLaterError by name, as another copy of the package throws them', async () => {
      const work = manualProcessor();
      const { queue, transitions } = queueOf([{ name: 't', processor: work.processor }]);
      await queue.submit({ id: 'later', payload: null });
      await queue.submit({ id: 'never', payload: null });
      await clock.tickAsync(0);
      work.latest('later').reject(Object.assign(new Error('busy'), { name: 'RetryLaterError', retryAfterMs: 1234 }));
      work.latest('never').reject(Object.assign(new Error('no such account'), { name: 'PermanentError' }));
      await clock.tickAsync(0);
      expect(transitions.find((t) => t.id === 'later' && t.to === 'backoff')).to.deep.include({ delay_ms: 1234, delay_source: 'retry_after' });
      expect([(await queue.get('never'))!.state, (await queue.get('never'))!.attempts]).to.deep.equal(['failed', 1]);
    });

    it('still counts a Retry-After failure against max_retries', async () => {
      const work = manualProcessor();
      const { queue } = queueOf([{ name: 't', processor: work.processor }]);
      await queue.submit({ id: 'j', payload: null, max_retries: 0 });
      await clock.tickAsync(0);
      work.latest('j').reject(new RetryLaterError('HTTP 503', 1000));
      await clock.tickAsync(0);
      expect([(await queue.get('j'))!.state, (await queue.get('j'))!.last_error]).to.deep.equal(['failed', 'HTTP 503']);
    });
  });

  describe('progress', () => {
    function reporting() {
      let context: ProcessorContext | undefined;
      let finish: (value: unknown) => void = () => {};
      let fail: (error: unknown) => void = () => {};
      const processor: Processor = (_job, ctx) => {
        context = ctx;
        return new Promise((resolve, reject) => {
          finish = resolve;
          fail = reject;
        });
      };
      return { processor, ctx: () => context!, finish: (value?: unknown) => finish(value), fail: (error: unknown) => fail(error) };
    }

    /**
     * A job of a type run by `work`, whose attempt reports progress 1 at t=0 and 2 at t=30 (held back until
     * t=100), then stands at t=50; returns the log of its progress and transitions, in the order they go out.
     */
    async function reportTwiceWithin100Ms(work: ReturnType<typeof reporting>) {
      const { queue } = queueOf([{ name: 't', processor: work.processor }]);
      const seen: string[] = [];
      queue.on('progress', (p) => seen.push(`progress ${JSON.stringify(p.progress)} at ${p.at}`));
      queue.on('transition', (t) => seen.push(`${t.to} at ${t.at}`));
      await queue.submit({ id: 'j', payload: null });
      await clock.tickAsync(0);
      work.ctx().progress(1);
      await clock.tickAsync(30);
      work.ctx().progress(2);
      await clock.tickAsync(20);
      return seen;
    }

    it('stores every value at once, and sends at most one per 100 ms per job, the latest last', async () => {
      const work = reporting();
      const { queue, progress } = queueOf([{ name: 't', processor: work.processor }]);
      await queue.submit({ id: 'j', payload: null });
      await clock.tickAsync(0);

      work.ctx().progress({ pct: 1 }); // t=0: sent at once
      await clock.tickAsync(30);
      work.ctx().progress({ pct: 2 }); // t=30: held
      expect((await queue.get('j'))!.progress).to.deep.equal({ pct: 2 });
      await clock.tickAsync(30);
      work.ctx().progress({ pct: 3 }); // t=60: replaces the held value
      await clock.tickAsync(PROGRESS_INTERVAL_MS - 60 - 1);
      expect(progress.map((p) => [p.progress, p.at])).to.deep.equal([[{ pct: 1 }, 0]]);
      await clock.tickAsync(1); // t=100: the latest goes out
      await clock.tickAsync(150);
      work.ctx().progress({ pct: 4 }); // t=250: more than 100 ms since the last, sent at once
      expect(progress).to.deep.equal([
        { id: 'j', type: 't', progress: { pct: 1 }, at: 0 },
        { id: 'j', type: 't', progress: { pct: 3 }, at: 100 },
        { id: 'j', type: 't', progress: { pct: 4 }, at: 250 },
      ]);
    });

    it('sends a value still held back when the job finishes, before the transition that ends it', async () => {
      const work = reporting();
      const seen = await reportTwiceWithin100Ms(work);
      work.finish('ok');
      await clock.tickAsync(200);
      expect(seen).to.deep.equal(['queued at 0', 'running at 0', 'progress 1 at 0', 'progress 2 at 50', 'done at 50']);
    });

    it('sends a value still held back when the attempt fails, before the job enters backoff', async () => {
      const work = reporting();
      const seen = await reportTwiceWithin100Ms(work);
      work.fail(new Error('flaky'));
      await clock.tickAsync(120);
      expect(seen.slice(0, 5)).to.deep.equal(['queued at 0', 'running at 0', 'progress 1 at 0', 'progress 2 at 50', 'backoff at 50']);
      expect(seen.filter((line) => line.startsWith('progress'))).to.have.length(2);
    });

    it('can be destructured from the context', async () => {
      const processor: Processor = async (_job, { progress }) => {
        progress('half');
        return 'whole';
      };
      const { queue, progress } = queueOf([{ name: 't', processor }]);
      await queue.submit({ id: 'j', payload: null });
      await clock.tickAsync(0);
      expect([(await queue.get('j'))!.state, (await queue.get('j'))!.progress, progress.map((p) => p.progress)]).to.deep.equal([
        'done', 'half', ['half'],
      ]);
    });

    it('refuses a value over 1 KiB of JSON, or not JSON, and ignores progress after the attempt ended', async () => {
      const work = reporting();
      const { queue, progress } = queueOf([{ name: 't', processor: work.processor }]);
      await queue.submit({ id: 'j', payload: null });
      await clock.tickAsync(0);
      const ctx = work.ctx();
      expect(() => ctx.progress('x'.repeat(1023))).to.throw(TypeError, 'progress is 1025 bytes as JSON; the limit is 1024');
      expect(() => ctx.progress(() => 1)).to.throw(TypeError, 'progress must be a JSON value');
      ctx.progress('x'.repeat(1022));
      work.finish('ok');
      await clock.tickAsync(0);
      ctx.progress('late');
      await clock.tickAsync(1000);
      expect((await queue.get('j'))!.progress).to.equal('x'.repeat(1022));
      expect(progress.map((p) => p.progress)).to.deep.equal(['x'.repeat(1022)]);
    });
  });

  describe('GET /types data', () => {
    it("lists each type with its kind, source, effective options and live counts", async () => {
      const work = manualProcessor();
      const { queue } = queueOf([
        { name: 'mailer', processor: work.processor, options: { concurrency: 2, timeout_ms: 5000, backoff: { base_ms: 1000 } } },
        { name: 'hook', kind: 'http', source: 'job-types.json', processor: work.processor },
      ]);
      await queue.submit({ id: 'm', payload: null });
      await clock.tickAsync(0);
      expect((await queue.types())).to.deep.equal([
        {
          name: 'hook', kind: 'http', source: 'job-types.json',
          options: { max_retries: 3, timeout_ms: 0, backoff: { base_ms: 100, max_ms: 30_000, jitter_ms: 100 }, concurrency: null, isolation: 'none' },
          counts: { scheduled: 0, queued: 0, running: 0, backoff: 0, done: 0, failed: 0, cancelled: 0 },
        },
        {
          name: 'mailer', kind: 'module', source: 'mailer.ts',
          options: { max_retries: 3, timeout_ms: 5000, backoff: { base_ms: 1000, max_ms: 30_000, jitter_ms: 100 }, concurrency: 2, isolation: 'none' },
          counts: { scheduled: 0, queued: 0, running: 1, backoff: 0, done: 0, failed: 0, cancelled: 0 },
        },
      ]);
      expect((await queue.stats()).types).to.deep.equal({ mailer: { scheduled: 0, queued: 0, running: 1, backoff: 0, done: 0, failed: 0, cancelled: 0 } });
    });
  });
});
