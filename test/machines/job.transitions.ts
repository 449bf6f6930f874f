/**
 * The job chart's transitions, written out by hand, independently of machines/job.machine.ts:
 * job.transitions.test.ts checks that the machine has exactly these, so a changed target, guard or guard order
 * fails there and this table is changed knowingly, together with the chart.
 *
 * One row per leaf state, event and outcome of the guards that event's transitions use: `when` gives each
 * guard's outcome (left out when no guard decides), `to` the leaf state the job ends up in (a compound target
 * entered through its initial state). A transition declared on a parent state (backoff's CANCEL) is listed for
 * each of its leaves. `reenter` marks a transition back into the same state that exits and enters it again
 * (its entry actions run once more). `after retryDelay` is the delayed transition; `always` the eventless one,
 * taken on entering the state when its guard holds (`(not taken)`: the job stays).
 */
export interface TransitionRow {
  from: string;
  event: string;
  when?: Readonly<Record<string, boolean>>;
  to: string;
  reenter?: true;
}

export const JOB_INITIAL_STATE = 'scheduled';

/** Every leaf state of the chart, and whether it is final. */
export const JOB_LEAF_STATES: Readonly<Record<string, 'atomic' | 'final'>> = {
  scheduled: 'atomic',
  queued: 'atomic',
  'running.attempting': 'atomic',
  'running.cancelling': 'atomic',
  'backoff.waiting': 'atomic',
  'backoff.ready': 'atomic',
  done: 'final',
  failed: 'atomic',
  cancelled: 'atomic',
};

export const JOB_TRANSITIONS: readonly TransitionRow[] = [
  { from: 'scheduled', event: 'always', when: { runsNow: true }, to: 'queued' },
  { from: 'scheduled', event: 'always', when: { runsNow: false }, to: '(not taken)' },
  { from: 'scheduled', event: 'DUE', to: 'queued' },
  { from: 'scheduled', event: 'CANCEL', to: 'cancelled' },

  { from: 'queued', event: 'SLOT_GRANTED', to: 'running.attempting' },
  { from: 'queued', event: 'CANCEL', to: 'cancelled' },
  { from: 'queued', event: 'RESTORED', to: 'queued', reenter: true },

  { from: 'running.attempting', event: 'ATTEMPT_SUCCEEDED', to: 'done' },
  { from: 'running.attempting', event: 'ATTEMPT_FAILED', when: { isPermanentError: true, hasRetriesLeft: true }, to: 'failed' },
  { from: 'running.attempting', event: 'ATTEMPT_FAILED', when: { isPermanentError: true, hasRetriesLeft: false }, to: 'failed' },
  { from: 'running.attempting', event: 'ATTEMPT_FAILED', when: { isPermanentError: false, hasRetriesLeft: true }, to: 'backoff.waiting' },
  { from: 'running.attempting', event: 'ATTEMPT_FAILED', when: { isPermanentError: false, hasRetriesLeft: false }, to: 'failed' },
  { from: 'running.attempting', event: 'CANCEL', to: 'running.cancelling' },
  { from: 'running.attempting', event: 'RESTORED', when: { hasRetriesLeft: true }, to: 'backoff.waiting' },
  { from: 'running.attempting', event: 'RESTORED', when: { hasRetriesLeft: false }, to: 'failed' },

  { from: 'running.cancelling', event: 'ATTEMPT_SUCCEEDED', to: 'cancelled' },
  { from: 'running.cancelling', event: 'ATTEMPT_FAILED', to: 'cancelled' },
  { from: 'running.cancelling', event: 'RESTORED', to: 'cancelled' },

  { from: 'backoff.waiting', event: 'after retryDelay', to: 'backoff.ready' },
  { from: 'backoff.waiting', event: 'RESTORED', to: 'backoff.waiting', reenter: true },
  { from: 'backoff.waiting', event: 'CANCEL', to: 'cancelled' },

  { from: 'backoff.ready', event: 'SLOT_GRANTED', to: 'running.attempting' },
  { from: 'backoff.ready', event: 'CANCEL', to: 'cancelled' },

  { from: 'failed', event: 'RETRY', to: 'queued' },

  { from: 'cancelled', event: 'RETRY', to: 'queued' },
];
