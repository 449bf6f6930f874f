import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import sinon from 'sinon';
import { createAttemptRunner, WRITE_RETRY_MS, type AttemptOutcome } from '../../src/engine/attempt-runner.js';

/** A stand-in job actor that records what the runner sends it. */
function owner() {
  const received: AttemptOutcome[] = [];
  return { received, send: (event: AttemptOutcome) => received.push(event) };
}

describe('attempt runner', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => sinon.restore());

  it('waits for failed writes to succeed before running the processor, and never reports them as the outcome', async () => {
    let writes = 0;
    const write = async () => {
      if (++writes <= 2) throw new Error('disk full');
    };
    const started: number[] = [];
    const runner = createAttemptRunner(async () => {
      started.push(Date.now());
      return 'ok';
    }, 0, write);
    const job = owner();
    runner.start({ id: 'a', type: 'simulated', payload: null, attempt: 1, max_retries: 0 }, job);
    await clock.tickAsync(2 * WRITE_RETRY_MS - 1);
    expect([started, job.received]).to.deep.equal([[], []]);
    await clock.tickAsync(1);
    expect(started).to.deep.equal([2 * WRITE_RETRY_MS]);
    expect(job.received).to.deep.equal([{ type: 'ATTEMPT_SUCCEEDED', output: 'ok' }]);
  });

  it('leaves no abort listener behind from the waits of a long outage', async () => {
    let writes = 0;
    const listeners: number[] = [];
    const runner = createAttemptRunner(async (_, context) => {
      listeners.push(getEventListeners(context.signal, 'abort').length);
      return 'ok';
    }, 0, async () => {
      if (++writes <= 40) throw new Error('disk full');
    });
    runner.start({ id: 'a', type: 'simulated', payload: null, attempt: 1, max_retries: 0 }, owner());
    await clock.tickAsync(40 * WRITE_RETRY_MS);
    expect([writes, listeners]).to.deep.equal([41, [0]]);
  });

  it('stops waiting for the writes when the attempt is aborted', async () => {
    const runner = createAttemptRunner(async () => 'never', 0, () => Promise.reject(new Error('disk full')));
    const job = owner();
    runner.start({ id: 'a', type: 'simulated', payload: null, attempt: 1, max_retries: 0 }, job);
    await clock.tickAsync(1000);
    runner.abort('a', new Error('cancelled'));
    await clock.tickAsync(0);
    expect(job.received).to.deep.equal([{ type: 'ATTEMPT_FAILED', error: new Error('cancelled') }]);
  });

  it('counts as processorsRunning only the attempts whose processor was called, until they end', async () => {
    let writes = 0;
    const pending = new Map<string, () => void>();
    const runner = createAttemptRunner(
      (job) => new Promise((resolve) => pending.set(job.id, () => resolve(null))),
      0,
      async () => {
        if (++writes <= 2) throw new Error('disk full');
      },
    );
    runner.start({ id: 'a', type: 'simulated', payload: null, attempt: 1, max_retries: 0 }, owner());
    runner.start({ id: 'b', type: 'simulated', payload: null, attempt: 1, max_retries: 0 }, owner());
    await clock.tickAsync(0);
    // Both wait for the writes before them.
    expect([[...pending.keys()], runner.processorsRunning()]).to.deep.equal([[], 0]);
    await clock.tickAsync(WRITE_RETRY_MS);
    expect([[...pending.keys()], runner.processorsRunning()]).to.deep.equal([['a', 'b'], 2]);
    pending.get('a')!();
    await clock.tickAsync(0);
    expect(runner.processorsRunning()).to.equal(1);
    runner.release('b', new Error('stopped'));
    expect(runner.processorsRunning()).to.equal(0);
  });

  it('aborts the signal and reports nothing when its actor is released', async () => {
    let signal: AbortSignal | undefined;
    const runner = createAttemptRunner((_, context) => {
      signal = context.signal;
      return new Promise((_resolve, reject) => context.signal.addEventListener('abort', () => reject(context.signal.reason)));
    }, 0);
    const job = owner();
    runner.start({ id: 'a', type: 'simulated', payload: null, attempt: 1, max_retries: 0 }, job);
    runner.release('a', new Error('stopped'));
    await clock.tickAsync(0);
    expect([signal!.aborted, job.received]).to.deep.equal([true, []]);
  });
});

describe('attempt runner signal', () => {
  it('shows an abort that came before the processor read it', async () => {
    const contexts: { signal: AbortSignal }[] = [];
    const runner = createAttemptRunner((_, context) => {
      contexts.push(context);
      return new Promise(() => {});
    }, 0);
    runner.start({ id: 'a', type: 'simulated', payload: null, attempt: 1, max_retries: 0 }, owner());
    runner.abort('a', new Error('cancelled'));
    const { signal } = contexts[0]!;
    expect([signal.aborted, (signal.reason as Error).message]).to.deep.equal([true, 'cancelled']);
  });
});
