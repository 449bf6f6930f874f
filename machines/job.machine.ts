/**
 * The job machine: one actor per job.
 *
 *   scheduled ──(runs now) or DUE──► queued;  scheduled ──CANCEL──► cancelled
 *
 *   queued ──SLOT_GRANTED──► running ──ATTEMPT_SUCCEEDED──► done
 *                              │ ▲
 *      ATTEMPT_FAILED,         │ │ SLOT_GRANTED
 *      retries left            ▼ │
 *                            backoff (waiting ──retryDelay──► ready)
 *
 *   running ──ATTEMPT_FAILED with a PermanentError, or no retries left──► failed
 *   queued, backoff ──CANCEL──► cancelled;  running ──CANCEL──► running.cancelling ──attempt stops──► cancelled
 *   failed, cancelled ──RETRY──► queued
 *
 * States (the top-level ones are the public job states):
 * - `scheduled`  submitted with a later `run_at` or `delay_ms`: waits in the store, as its row, until
 *                `next_run_at`, with no actor and no timer of its own. The engine keeps one timer for the
 *                earliest due time and restores each due job's actor for DUE. It holds no place in the capacity
 *                (SCHEDULED_LIMIT bounds these instead): DUE takes one (`admitDue`), over the capacity if need
 *                be, since an admitted job is never dropped. A job submitted to run now (`runsNow`) passes
 *                through to `queued` at once; its admission records it there.
 * - `queued`     admitted; waits in the store's ready lane for a worker slot, as its stored record: the actor
 *                is released, and restored from the record when the job is claimed. A new job is counted as
 *                waiting by its admission; one that comes back (RETRY, RESTORED) announces itself
 *                (`announceReady`).
 * - `running`    holds a worker slot and runs one attempt (the `runAttempt` side effect, which answers with
 *                ATTEMPT_SUCCEEDED or ATTEMPT_FAILED). `attempting` is the normal case; `cancelling` has
 *                aborted the attempt's signal and waits for it to stop, still holding the slot.
 * - `backoff`    a failed attempt with retries left. `waiting` sits out `retryDelay`, i.e. until
 *                `next_retry_at`, as a live actor; `ready` waits for a slot in the store's retry lane, ahead
 *                of the jobs that have not started yet (`announceRetryDue`), as its stored record.
 * - `done`       an attempt succeeded. The only final state.
 * - `failed`     a permanent error, or the last allowed attempt failed. Rests until an operator's RETRY.
 * - `cancelled`  an operator's CANCEL. Rests until an operator's RETRY.
 *
 * Events: DUE (the engine's due timer); SLOT_GRANTED (supervisor); ATTEMPT_SUCCEEDED, ATTEMPT_FAILED (the attempt); CANCEL, RETRY
 * (operator); RESTORED (a restart found the job in its store: a queued job queues again, a backoff re-arms
 * its timer for what is left until `next_retry_at`, and a running one lost its attempt to the restart).
 * Guards: `runsNow` (no `next_run_at`), `isPermanentError` (skips retries), `hasRetriesLeft` (retries since the last RETRY ≤ max_retries).
 * Delays: `retryDelay`, the time left until the absolute `next_retry_at`, so a restart re-arms it right. The
 * delay itself is chosen on entering `backoff` (`scheduleRetry`): the one a `RetryLaterError` asks for (an HTTP
 * target's `Retry-After`), else the backoff formula with the options of the job's type.
 * Context: a job's `type` picks its processor, backoff and concurrency; `done` keeps the attempt's value as its
 * `result` (`keepResult`: within RESULT_MAX_BYTES, or `result_error` says why not).
 *
 * The slot is given back (`releaseSlot`, or `leaveQueue` with the place) by the state an attempt's outcome
 * leads to, after that state has recorded its entry: no observer ever sees a newly dispatched job running
 * while the one it replaces is still recorded as running. A restored `running` job holds no slot in the new
 * process, so only an attempt's own outcome releases one.
 *
 * Side effects are named here and carried out by injected dependencies: `recordTransition` (store and
 * events), `announceReady`, `announceRetryDue`, `withdrawReady`, `releaseSlot` and `leaveQueue` (the
 * supervisor's slot hooks), `runAttempt` and `abortAttempt` (the attempt runner).
 */
import { assign, setup, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import { backoffDelay, type BackoffOptions } from '../src/engine/backoff.js';
import { PermanentError } from '../src/errors.js';
import { initialJobFields, type DelaySource, type JobFields, type JobInput, type JobState, type ResultError } from '../src/engine/job-fields.js';
import type { AttemptOutcome, AttemptRunner } from '../src/engine/attempt-runner.js';

/** The machine's context is the job's fields (src/engine/job-fields.ts), defined there once. */
export type JobContext = JobFields;
export type { DelaySource, JobInput, ResultError };

export type JobEvent =
  | { type: 'DUE' }
  | { type: 'SLOT_GRANTED' }
  | AttemptOutcome
  | { type: 'CANCEL' }
  | { type: 'RETRY' }
  | { type: 'RESTORED' };

/** The supervisor's side of a job: its place among the waiting jobs, and its worker slot. */
export interface SlotHooks {
  /**
   * Waits for a slot (a new job is counted as waiting by its admission instead); `retry` for a retry whose
   * backoff ended, which goes before the jobs that have not started yet.
   */
  announceReady(id: string, type: string, retry?: boolean): void;
  /** Stops waiting for a slot (a cancel while waiting). */
  withdrawReady(id: string, type: string): void;
  /** Gives the worker slot of a job of `type` back; `finished` frees the job's place in the capacity too. */
  releaseSlot(finished: boolean, type: string): void;
  /** Frees the place of a job that finished without holding a slot. */
  releasePlace(): void;
  /**
   * A scheduled job came due: it takes a place in the capacity (over it if need be: an admitted job is never
   * dropped) and waits for a slot in the retry lane, ahead of new jobs.
   */
  admitDue(id: string, type: string): void;
}

export interface JobMachineDeps {
  /** Only starting and aborting: releasing an attempt is the facade's, when it stops an actor. */
  attempts: Pick<AttemptRunner, 'start' | 'abort'>;
  slots: SlotHooks;
  /** Called on entering each public state, after the context is updated: the store and the event stream. */
  recordTransition(context: JobContext, eventType: string, to: JobState): void;
  /** Epoch ms; Date.now in production. */
  now: () => number;
  /** Uniform in [0, 1); Math.random in production. */
  random: () => number;
  /** The backoff of a job type (its own options over the service's). */
  backoffFor(type: string): BackoffOptions;
  /** A successful attempt's value as it is kept: within RESULT_MAX_BYTES, or why not. */
  keepResult(output: unknown): { result: unknown; result_error: ResultError | null; result_bytes: number | null };
}

/**
 * The delay a failed attempt asked for (`RetryLaterError`, by name too, like `isPermanent`), ms; else undefined.
 */
function retryAfterMs(error: unknown): number | undefined {
  if (!(error instanceof Error) || error.name !== 'RetryLaterError') return undefined;
  const ms = (error as Error & { retryAfterMs?: unknown }).retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? Math.min(Math.round(ms), MAX_DELAY_MS) : undefined;
}

/** The longest delay a timer can wait (2^31 − 1 ms, about 24.8 days): Node fires a longer one after 1 ms. */
export const MAX_DELAY_MS = 2_147_483_647;

// The name check also recognises a PermanentError from another copy of this package.
const isPermanent = (error: unknown) =>
  error instanceof PermanentError || (error instanceof Error && error.name === 'PermanentError');

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error));
}

/** Attempts since the latest operator RETRY, the first of them included: the retry budget counts these. */
const retriesUsed = (context: JobContext) => context.attempts - context.attempts_at_retry;

/** Scheduled for later: it takes no place in the capacity until DUE, which clears `next_run_at`. */
const scheduledLater = (context: JobContext) => context.next_run_at !== null;

const isAttemptOutcome = (event: { type: string }) =>
  event.type === 'ATTEMPT_SUCCEEDED' || event.type === 'ATTEMPT_FAILED';

const record = (to: JobState) => ({ type: 'recordTransition', params: { to } }) as const;

export function createJobMachine(deps: JobMachineDeps) {
  return setup({
    types: {
      context: {} as JobContext,
      events: {} as JobEvent,
      input: {} as JobInput,
    },
    delays: {
      retryDelay: ({ context }) => Math.max(0, (context.next_retry_at ?? 0) - deps.now()),
    },
    guards: {
      runsNow: ({ context }) => !scheduledLater(context),
      isPermanentError: ({ event }) => event.type === 'ATTEMPT_FAILED' && isPermanent(event.error),
      hasRetriesLeft: ({ context }) => retriesUsed(context) <= context.max_retries,
    },
    actions: {
      /** Stores the record and emits the transition; `to` is the public state entered. */
      recordTransition: ({ context, event }, { to }: { to: JobState }) => deps.recordTransition(context, event.type, to),
      /** Puts the job at the end of the lane of new jobs. */
      announceReady: ({ context }) => deps.slots.announceReady(context.id, context.type),
      /** Puts the job in the retry lane, ahead of the jobs that have not started yet. */
      announceRetryDue: ({ context }) => deps.slots.announceReady(context.id, context.type, true),
      /** Takes the job out of its lane (a cancel while waiting there). */
      withdrawReady: ({ context }) => deps.slots.withdrawReady(context.id, context.type),
      /** Gives the worker slot back, when an attempt's outcome is what moved the job (see the header). */
      releaseSlot: ({ context, event }) => {
        if (isAttemptOutcome(event)) deps.slots.releaseSlot(false, context.type);
      },
      /** On finishing: gives back the slot and the place, or only the place when no attempt was running. */
      leaveQueue: ({ context, event }) => {
        if (isAttemptOutcome(event)) deps.slots.releaseSlot(true, context.type);
        else if (!scheduledLater(context)) deps.slots.releasePlace();
      },
      /** A scheduled job came due: it takes its place and waits in the retry lane, ahead of new jobs. */
      admitDue: ({ context }) => deps.slots.admitDue(context.id, context.type),
      becomeDue: assign(() => ({ next_run_at: null, updated_at: deps.now() })),
      runAttempt: ({ context, self }) =>
        deps.attempts.start(
          {
            id: context.id,
            type: context.type,
            payload: context.payload,
            attempt: context.attempts,
            max_retries: context.max_retries,
          },
          self as JobActor,
        ),
      abortAttempt: ({ context }) => deps.attempts.abort(context.id, new Error('cancelled')),
      startAttempt: assign(({ context }) => {
        const now = deps.now();
        return { attempts: context.attempts + 1, started_at: now, updated_at: now, next_retry_at: null };
      }),
      // Only ATTEMPT_SUCCEEDED takes it; the narrowing is for the event's type.
      keepResult: assign(({ event }) => deps.keepResult(event.type === 'ATTEMPT_SUCCEEDED' ? event.output : undefined)),
      recordError: assign(({ event }) => ({
        last_error: event.type === 'ATTEMPT_FAILED' ? errorMessage(event.error) : 'interrupted',
        updated_at: deps.now(),
      })),
      scheduleRetry: assign(({ context, event }) => {
        const asked = event.type === 'ATTEMPT_FAILED' ? retryAfterMs(event.error) : undefined;
        // The retry about to be scheduled is number `retriesUsed` (attempt 1 failed → retry 1).
        const delay = asked ?? backoffDelay(retriesUsed(context), deps.backoffFor(context.type), deps.random);
        const now = deps.now();
        return {
          last_delay_ms: delay,
          last_delay_source: asked === undefined ? ('backoff' as const) : ('retry_after' as const),
          next_retry_at: now + delay,
          updated_at: now,
        };
      }),
      requestCancel: assign(() => ({ cancel_requested: true, updated_at: deps.now() })),
      finish: assign(() => {
        const now = deps.now();
        return { finished_at: now, updated_at: now, next_retry_at: null, cancel_requested: false };
      }),
      reopen: assign(({ context }) => ({
        attempts_at_retry: context.attempts,
        // A job cancelled while scheduled runs now when retried.
        next_run_at: null,
        finished_at: null,
        updated_at: deps.now(),
      })),
      touch: assign(() => ({ updated_at: deps.now() })),
    },
  }).createMachine({
    id: 'job',
    description: 'One background job, from admission to its outcome.',
    context: ({ input }) => initialJobFields(input, deps.now()),
    initial: 'scheduled',
    states: {
      scheduled: {
        description: 'Submitted to run later; waits in the store until next_run_at, when it is queued.',
        // Recorded by the admission (no actor lives in this state but for the one event that moves it on).
        always: { guard: 'runsNow', target: 'queued' },
        on: {
          DUE: { target: 'queued', actions: ['becomeDue', 'admitDue'] },
          CANCEL: 'cancelled',
        },
      },
      queued: {
        description: 'Admitted; waits in the ready lane for a worker slot.',
        // A new job is counted as waiting by its admission; a retried or restored one announces itself.
        entry: record('queued'),
        on: {
          SLOT_GRANTED: 'running',
          CANCEL: { target: 'cancelled', actions: 'withdrawReady' },
          RESTORED: { target: 'queued', reenter: true, actions: ['touch', 'announceReady'] },
        },
      },
      running: {
        description: 'Holds a worker slot and runs one attempt of the processor.',
        entry: ['startAttempt', record('running'), 'runAttempt'],
        initial: 'attempting',
        states: {
          attempting: {
            description: 'The attempt runs.',
            on: {
              ATTEMPT_SUCCEEDED: { target: '#job.done', actions: 'keepResult' },
              ATTEMPT_FAILED: [
                { guard: 'isPermanentError', target: '#job.failed', actions: 'recordError' },
                { guard: 'hasRetriesLeft', target: '#job.backoff', actions: ['recordError', 'scheduleRetry'] },
                { target: '#job.failed', actions: 'recordError' },
              ],
              CANCEL: { target: 'cancelling', actions: ['requestCancel', 'abortAttempt'] },
              RESTORED: [
                { guard: 'hasRetriesLeft', target: '#job.backoff', actions: ['recordError', 'scheduleRetry'] },
                { target: '#job.failed', actions: 'recordError' },
              ],
            },
          },
          cancelling: {
            description: "Cancel requested: the attempt's signal is aborted; the slot is held until it stops.",
            // Recorded although the public state stays `running`, so the record shows cancel_requested.
            entry: record('running'),
            on: {
              ATTEMPT_SUCCEEDED: '#job.cancelled',
              ATTEMPT_FAILED: '#job.cancelled',
              RESTORED: '#job.cancelled',
            },
          },
        },
      },
      backoff: {
        description: 'The attempt failed and retries are left: waits until next_retry_at, then for a worker slot.',
        entry: [record('backoff'), 'releaseSlot'],
        initial: 'waiting',
        on: { CANCEL: { target: 'cancelled', actions: 'withdrawReady' } },
        states: {
          waiting: {
            description: 'Sits out the backoff delay chosen for this retry.',
            after: { retryDelay: 'ready' },
            on: { RESTORED: { target: 'waiting', reenter: true, actions: ['touch', record('backoff')] } },
          },
          ready: {
            description: 'The delay has elapsed; waits in the retry lane for a worker slot.',
            entry: 'announceRetryDue',
            on: { SLOT_GRANTED: '#job.running' },
          },
        },
      },
      done: {
        description: 'An attempt succeeded.',
        type: 'final',
        entry: ['finish', record('done'), 'leaveQueue'],
      },
      failed: {
        description: 'A permanent error, or the last allowed attempt failed. Rests until an operator retries it.',
        entry: ['finish', record('failed'), 'leaveQueue'],
        on: { RETRY: { target: 'queued', actions: ['reopen', 'announceReady'] } },
      },
      cancelled: {
        description: 'Cancelled by an operator. Rests until an operator retries it.',
        entry: ['finish', record('cancelled'), 'leaveQueue'],
        on: { RETRY: { target: 'queued', actions: ['reopen', 'announceReady'] } },
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

/**
 * The chart state of a job claimed from a ready lane: a queued job, or a backoff job whose delay has passed
 * (only those wait in a lane).
 */
export function waitingStateValue(state: JobState) {
  return state === 'backoff' ? { backoff: 'ready' } : state;
}

/** The chart state a job is restored into from its stored public state at a restart. */
export function restoredStateValue(state: JobState, cancelRequested: boolean) {
  if (state === 'running') return { running: cancelRequested ? 'cancelling' : 'attempting' };
  if (state === 'backoff') return { backoff: 'waiting' };
  return state;
}
