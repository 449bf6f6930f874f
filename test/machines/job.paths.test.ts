import { expect } from 'chai';
import sinon from 'sinon';
import { createActor, type AnyEventObject } from 'xstate';
import { getSimplePaths } from 'xstate/graph';
import { createJobMachine, type JobMachineDeps } from '../../machines/job.machine.js';
import { PermanentError } from '../../src/errors.js';
import { JOB_STATES } from '../../src/engine/job-record.js';
import { createAttemptRunner } from '../../src/engine/attempt-runner.js';
import { manualProcessor } from '../helpers/processors.js';

/**
 * Every simple path of the job chart, generated from the machine by xstate/graph, replayed against a real
 * actor under fake timers. Changing the chart changes the paths; a path the real actor cannot follow fails,
 * and an event this replay does not know how to cause fails too.
 */
describe('job machine: every simple path of the chart', () => {
  const inert = () => {};
  const deps = (attempts: JobMachineDeps['attempts']): JobMachineDeps => ({
    attempts,
    slots: { announceReady: inert, withdrawReady: inert, releaseSlot: inert, releasePlace: inert, admitDue: inert },
    recordTransition: inert,
    now: () => Date.now(),
    random: () => 0,
    backoffFor: () => ({ baseMs: 100, maxMs: 1000, jitterMs: 0 }),
    keepResult: (output) => ({ result: output ?? null, result_error: null, result_bytes: null }),
  });
  // A job to run now passes through `scheduled`; one for later waits there for DUE: the paths of both.
  const runsNow = { id: 'path', type: 'simulated', payload: null, max_retries: 1 };
  const inputs = { now: runsNow, later: { ...runsNow, next_run_at: 60_000 } };
  const events: AnyEventObject[] = [
    { type: 'DUE' },
    { type: 'SLOT_GRANTED' },
    { type: 'ATTEMPT_SUCCEEDED', output: null },
    { type: 'ATTEMPT_FAILED', error: new Error('transient') },
    { type: 'ATTEMPT_FAILED', error: new PermanentError('permanent') },
    { type: 'xstate.after.retryDelay.job.backoff.waiting' },
    { type: 'CANCEL' },
    { type: 'RETRY' },
    { type: 'RESTORED' },
  ];
  const machine = createJobMachine(deps({ start: inert, abort: inert }));
  // A state is its chart value plus what the guards read (the retries used since the last RETRY) and whether
  // an operator retried it yet: so the paths take the RETRY edges once, and do not lap around them forever.
  const paths = Object.entries(inputs).flatMap(([when, input]) =>
    getSimplePaths(machine, {
      input,
      events: events as never,
      serializeState: (snapshot) => {
        const { attempts, attempts_at_retry } = snapshot.context;
        return JSON.stringify([snapshot.value, attempts - attempts_at_retry, attempts_at_retry > 0]);
      },
    }).map((path) => ({ ...path, when, input })),
  );

  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => sinon.restore());

  it('is given every event the machine handles, and takes each at least once', () => {
    const given = [...new Set(events.map((event) => event.type))].sort();
    expect(given).to.deep.equal([...machine.root.events].sort());
    const taken = new Set(paths.flatMap((path) => path.steps.map((step) => step.event.type)));
    expect([...taken].sort()).to.deep.equal(['xstate.init', ...given].sort());
  });

  it('reaches every public state', () => {
    const reached = new Set(paths.map((path) => JSON.stringify(path.state.value).replace(/^\{"(\w+)".*$|"/g, '$1')));
    expect([...reached].sort()).to.deep.equal([...JOB_STATES].sort());
  });

  for (const path of paths) {
    const description = `(${path.when}) ${path.steps.map((step) => step.event.type).join(' → ')}`;
    const { input } = path;
    it(description, async () => {
      const work = manualProcessor({ rejectOnAbort: false });
      const actor = createActor(createJobMachine(deps(createAttemptRunner(work.processor, 0))), { input });
      const actorErrors: unknown[] = [];
      actor.subscribe({ error: (error) => actorErrors.push(error) });
      actor.start();
      for (const step of path.steps) {
        const event = step.event as AnyEventObject;
        // In the real actor the attempt's outcome comes from the processor; other events are sent as they are.
        if (event.type === 'xstate.init') {
          // the actor's start
        } else if (event.type === 'ATTEMPT_SUCCEEDED') {
          work.latest('path').resolve(event.output);
        } else if (event.type === 'ATTEMPT_FAILED') {
          work.latest('path').reject(event.error);
        } else if (event.type.startsWith('xstate.after.retryDelay')) {
          await clock.tickAsync(actor.getSnapshot().context.next_retry_at! - Date.now());
        } else if (['DUE', 'SLOT_GRANTED', 'CANCEL', 'RETRY', 'RESTORED'].includes(event.type)) {
          actor.send(event as never);
        } else {
          expect.fail(`no way to cause ${event.type} in this replay: teach the test the new event`);
        }
        await clock.tickAsync(0);
        expect(actor.getSnapshot().value, `after ${event.type}`).to.deep.equal(step.state.value);
      }
      expect(actorErrors).to.deep.equal([]);
    });
  }
});
