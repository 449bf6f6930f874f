import { expect } from 'chai';
import sinon from 'sinon';
import { createActor, type AnyEventObject } from 'xstate';
import { getSimplePaths } from 'xstate/graph';
import { createJobMachine, type JobMachineDeps } from '../../machines/job.machine.js';
import { PermanentError } from '../../src/errors.js';
import { JOB_STATES } from '../../src/job-record.js';
import { manualProcessor } from '../helpers/processors.js';

/**
 * Every simple path of the job chart, generated from the machine by xstate/graph, replayed against a real
 * actor under fake timers. Changing the chart changes the paths; a path the real actor cannot follow fails.
 */
describe('job machine: every simple path of the chart', () => {
  const deps = (processor: JobMachineDeps['processor']): JobMachineDeps => ({
    processor,
    now: () => Date.now(),
    random: () => 0,
    backoff: { baseMs: 100, maxMs: 1000, jitterMs: 0 },
    attemptTimeoutMs: 0,
  });
  const input = { id: 'path', payload: null, max_retries: 1 };
  const events: AnyEventObject[] = [
    { type: 'SLOT_GRANTED' },
    { type: 'xstate.done.actor.attempt', output: null },
    { type: 'xstate.error.actor.attempt', error: new Error('transient') },
    { type: 'xstate.error.actor.attempt', error: new PermanentError('permanent') },
    { type: 'xstate.after.retryDelay.job.backoff.waiting' },
  ];
  const paths = getSimplePaths(createJobMachine(deps(async () => {})), { input, events: events as never });

  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => sinon.restore());

  it('reaches every public state', () => {
    const reached = new Set(paths.map((path) => JSON.stringify(path.state.value).replace(/^\{"(\w+)".*$|"/g, '$1')));
    expect([...reached].sort()).to.deep.equal([...JOB_STATES].sort());
  });

  for (const path of paths) {
    const description = path.steps.map((step) => step.event.type).join(' → ');
    it(description, async () => {
      const work = manualProcessor();
      const actor = createActor(createJobMachine(deps(work.processor)), { input });
      const actorErrors: unknown[] = [];
      actor.subscribe({ error: (error) => actorErrors.push(error) });
      actor.start();
      for (const step of path.steps) {
        const event = step.event as AnyEventObject;
        if (event.type === 'xstate.init') {
          // the actor's start
        } else if (event.type === 'SLOT_GRANTED') {
          actor.send({ type: 'SLOT_GRANTED' });
        } else if (event.type === 'xstate.done.actor.attempt') {
          work.latest('path').resolve(event.output);
        } else if (event.type === 'xstate.error.actor.attempt') {
          work.latest('path').reject(event.error);
        } else if (event.type.startsWith('xstate.after.retryDelay')) {
          await clock.tickAsync(actor.getSnapshot().context.next_retry_at! - Date.now());
        } else {
          expect.fail(`no way to drive ${event.type} in this replay: teach the test the new event`);
        }
        await clock.tickAsync(0);
        expect(actor.getSnapshot().value, `after ${event.type}`).to.deep.equal(step.state.value);
      }
      expect(actorErrors).to.deep.equal([]);
    });
  }
});
