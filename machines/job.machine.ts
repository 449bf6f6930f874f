/**
 * The job machine: one actor per job.
 *
 *   queued ──SLOT_GRANTED──► running ──attempt resolves──► done
 *                              │ ▲
 *          attempt rejects,    │ │ SLOT_GRANTED
 *          retries left        ▼ │
 *                            backoff (waiting ──retryDelay──► ready)
 *
 *   running ──attempt rejects with a PermanentError, or no retries left──► failed
 *
 * States (the top-level ones are the public job states):
 * - `queued`   admitted, waiting for the supervisor to grant a worker slot. Entering it announces the job
 *              as ready.
 * - `running`  holds a worker slot and runs one attempt (the `runAttempt` actor). The states it leads to give
 *              the slot back (`releaseSlot`) after recording their entry, so that no observer ever sees a
 *              freshly dispatched job running while the one it replaced is still recorded as running.
 * - `backoff`  a failed attempt with retries left. `waiting` sits out the `retryDelay` delay, i.e. until
 *              `next_retry_at`; `ready` announces the job to the supervisor and waits for a slot.
 * - `done`     an attempt succeeded (final).
 * - `failed`   a permanent error, or the last allowed attempt failed (final).
 *
 * Events: `SLOT_GRANTED` (from the supervisor); the `runAttempt` actor's done and error events.
 * Guards: `isPermanentError` (skips retries), `hasRetriesLeft` (attempts ≤ max_retries).
 * Delays: `retryDelay`, the time left until `next_retry_at`; computing it from the absolute time, rather
 * than keeping the relative delay, is what lets a restart re-arm the timer.
 *
 * Side effects are named here and implemented by whoever creates the machine (`createJobMachine`):
 * `recordTransition` (store and events), `announceReady` and `releaseSlot` (supervisor).
 */
import { assign, setup, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import { backoffDelay, type BackoffOptions } from '../src/backoff.js';
import { PermanentError } from '../src/errors.js';
import type { JobState } from '../src/job-record.js';
import { createAttemptLogic } from '../src/processors/attempt.js';
import type { Processor } from '../src/processors/processor.js';

export interface JobInput {
  id: string;
  payload: unknown;
  max_retries: number;
}

export interface JobContext extends JobInput {
  /** Attempts started, the first included. */
  attempts: number;
  last_error: string | null;
  /** Epoch ms, as every time below. */
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
  next_retry_at: number | null;
  last_delay_ms: number | null;
}

export type JobEvent = { type: 'SLOT_GRANTED' };

export interface JobMachineDeps {
  processor: Processor;
  /** Epoch ms; Date.now in production. */
  now: () => number;
  /** Uniform in [0, 1); Math.random in production. */
  random: () => number;
  backoff: BackoffOptions;
  /** An attempt running longer fails with `timeout`; 0 means no limit. */
  attemptTimeoutMs: number;
}

export const noop = () => {};

/** The rejection carried by the attempt actor's error event. */
const errorOf = (event: unknown): unknown => (event as { error?: unknown }).error;

// The name check also recognises a PermanentError from another copy of this package.
const isPermanent = (error: unknown) =>
  error instanceof PermanentError || (error instanceof Error && error.name === 'PermanentError');

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);
}

export function createJobMachine(deps: JobMachineDeps) {
  return setup({
    types: {
      context: {} as JobContext,
      events: {} as JobEvent,
      input: {} as JobInput,
    },
    actors: {
      runAttempt: createAttemptLogic(deps.processor, deps.attemptTimeoutMs),
    },
    delays: {
      retryDelay: ({ context }) => Math.max(0, (context.next_retry_at ?? 0) - deps.now()),
    },
    guards: {
      isPermanentError: ({ event }) => isPermanent(errorOf(event)),
      hasRetriesLeft: ({ context }) => context.attempts <= context.max_retries,
    },
    actions: {
      /** Stores the record and emits the transition; `to` is the public state entered. */
      recordTransition: (_, _params: { to: JobState }) => {},
      /** Puts the job in the supervisor's ready queue. */
      announceReady: noop,
      /** Gives the worker slot back to the supervisor. */
      releaseSlot: noop,
      startAttempt: assign(({ context }) => {
        const now = deps.now();
        return { attempts: context.attempts + 1, started_at: now, updated_at: now, next_retry_at: null };
      }),
      recordError: assign(({ event }) => ({
        last_error: errorMessage(errorOf(event)),
        updated_at: deps.now(),
      })),
      scheduleRetry: assign(({ context }) => {
        // The retry about to be scheduled is retry number `attempts` (attempt 1 failed → retry 1).
        const delay = backoffDelay(context.attempts, deps.backoff, deps.random);
        const now = deps.now();
        return { last_delay_ms: delay, next_retry_at: now + delay, updated_at: now };
      }),
      finish: assign(() => {
        const now = deps.now();
        return { finished_at: now, updated_at: now };
      }),
    },
  }).createMachine({
    id: 'job',
    description: 'One background job, from admission to its outcome.',
    context: ({ input }) => {
      const now = deps.now();
      return {
        id: input.id,
        payload: input.payload,
        max_retries: input.max_retries,
        attempts: 0,
        last_error: null,
        created_at: now,
        updated_at: now,
        started_at: null,
        finished_at: null,
        next_retry_at: null,
        last_delay_ms: null,
      };
    },
    initial: 'queued',
    states: {
      queued: {
        description: 'Admitted; waits in the ready queue for a worker slot.',
        entry: [{ type: 'recordTransition', params: { to: 'queued' } }, 'announceReady'],
        on: { SLOT_GRANTED: 'running' },
      },
      running: {
        description: 'Holds a worker slot and runs one attempt of the processor.',
        entry: ['startAttempt', { type: 'recordTransition', params: { to: 'running' } }],
        invoke: {
          id: 'attempt',
          src: 'runAttempt',
          input: ({ context }) => ({ id: context.id, payload: context.payload, attempt: context.attempts }),
          onDone: 'done',
          onError: [
            { guard: 'isPermanentError', target: 'failed', actions: 'recordError' },
            { guard: 'hasRetriesLeft', target: 'backoff', actions: ['recordError', 'scheduleRetry'] },
            { target: 'failed', actions: 'recordError' },
          ],
        },
      },
      backoff: {
        description: 'The attempt failed and retries are left: waits until next_retry_at, then for a worker slot.',
        entry: [{ type: 'recordTransition', params: { to: 'backoff' } }, 'releaseSlot'],
        initial: 'waiting',
        states: {
          waiting: {
            description: 'Sits out the backoff delay chosen for this retry.',
            after: { retryDelay: 'ready' },
          },
          ready: {
            description: 'The delay has elapsed; waits in the ready queue for a worker slot.',
            entry: 'announceReady',
            on: { SLOT_GRANTED: '#job.running' },
          },
        },
      },
      done: {
        description: 'An attempt succeeded.',
        type: 'final',
        entry: ['finish', { type: 'recordTransition', params: { to: 'done' } }, 'releaseSlot'],
      },
      failed: {
        description: 'A permanent error, or the last allowed attempt failed.',
        type: 'final',
        entry: ['finish', { type: 'recordTransition', params: { to: 'failed' } }, 'releaseSlot'],
      },
    },
  });
}

export type JobMachine = ReturnType<typeof createJobMachine>;
export type JobActor = ActorRefFrom<JobMachine>;
export type JobSnapshot = SnapshotFrom<JobMachine>;

/** The public state of a snapshot: its top-level state. */
export function publicState(snapshot: JobSnapshot): JobState {
  return (typeof snapshot.value === 'string' ? snapshot.value : Object.keys(snapshot.value)[0]) as JobState;
}
