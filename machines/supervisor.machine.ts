/**
 * The supervisor machine: one actor per queue. It owns the two limits, and the lifecycle.
 *
 *   accepting ──DRAIN──► draining ──(nothing unfinished)──► stopped
 *       │                    └──────DEADLINE_PASSED───────────┤
 *       └──PAUSE──► pausing ──(nothing running)───────────────┤
 *                      └──────DEADLINE_PASSED─────────────────┘
 *
 * Beside the lifecycle, an operator may hold dispatch (`POST /admin/pause`): while `dispatchPaused` is set the
 * supervisor grants no slots, in any state, but `accepting` still admits; the running attempts go on.
 * `RESUME_DISPATCH` (`POST /admin/resume`) grants the free slots again. A DRAIN resumes dispatch, since a
 * drain runs the waiting jobs to an end. It is a flag and not a state, so that the lifecycle stays one value.
 *
 * States:
 * - `accepting`  admits jobs while fewer than `capacity` (WORKERS + QUEUE_SIZE) are unfinished.
 *                Slots go to waiting jobs up to WORKERS in all, and up to each type's `concurrency`: a claim
 *                skips a type at its limit rather than wait on it.
 * - `draining`   admits nothing; queued and backoff jobs still get slots and run to an end.
 * - `pausing`    admits nothing and grants no slots: only the running attempts go on. Jobs that become ready
 *                still wait in the store (a durable store's shutdown: they wait on disk).
 * - `stopped`    final: every job ended, or the drain deadline passed.
 *
 * The waiting jobs live in the store's ready lanes, not here: the supervisor keeps their counts
 * (`ReadyCounts`, per limited type), and when it has free slots for them it asks the facade to claim that
 * many from the store (`claim`). With no per-type limits, the granted slots are counted off the waiting jobs
 * at once, and claims run side by side. With limits, only the store knows which types a claim takes: one claim
 * is in flight at a time (`claiming`), and its answer, `CLAIMED`, says which types it took. Either way a claim
 * that comes back short hands back the slots it could not fill (`CLAIMED`).
 *
 * Events:
 * - `ADMIT`           a submission (or an operator's retry) takes a place; only handled in `accepting`, and
 *                     only under `hasCapacity`. A new job comes with its type and counts as waiting in the
 *                     same step, which saves every submission a separate JOB_READY; a retry announces itself.
 * - `READMIT`         jobs found unfinished at start take their places back, capacity or not: an admitted job
 *                     is never dropped, even when the queue was made smaller between two runs. Queued ones
 *                     come with their type, and wait.
 * - `JOB_READY`       a job queued again (an operator's RETRY) or at the end of its backoff waits for a slot;
 *                     with a shared store, `count` jobs another instance made ready (a guess that a claim
 *                     corrects: what it does not find comes back as a short claim).
 * - `JOB_WITHDRAWN`   a waiting job left its lane without a slot (cancelled while it waited).
 * - `CLAIMED`         a claim of `requested` slots took jobs of these types; the slots it did not fill come
 *                     back. Sent for every claim when types have limits, else only for a claim that fell short
 *                     (`failed`: the store could not answer; its jobs still wait).
 * - `DISPATCH`        look for waiting jobs again (after a claim the store could not answer).
 * - `SLOT_FREED`      a job left `running`; `finished` when it went to `done`, `failed` or `cancelled`, which
 *                     frees its place in the capacity too (one event where two were needed).
 * - `JOB_FINISHED`    a job that held no slot reached `failed` or `cancelled`; its place is free.
 * - `DRAIN`, `PAUSE`, `DEADLINE_PASSED`  the lifecycle.
 * - `PAUSE_DISPATCH`, `RESUME_DISPATCH`   an operator holds, or lets go of, dispatch (only in `accepting`).
 * Guards: `hasCapacity`, `nothingUnfinished`, `nothingRunning`.
 *
 * Only counters live in the context, so each event copies a few numbers. The ready counts are a mutable
 * object passed in as input and touched only by side effects (`countWaiting`, `countStarted`,
 * `releaseTypeSlot`): a waiting job costs the supervisor nothing but a count.
 */
import { assign, setup, type ActorRefFrom } from 'xstate';

/** The waiting jobs' counts and the per-type concurrency limits (src/engine/ready-counts.ts). */
export interface ReadyCounts {
  /** `n` more jobs of `type` wait for a slot (negative: fewer). */
  add(type: string, n?: number): void;
  /** Whether a type has a concurrency limit: then one claim at a time, counted when it answers. */
  readonly limited: boolean;
  /** With no limits: `n` granted slots are counted off the waiting jobs at once. */
  reserve(n: number): void;
  /** How many waiting jobs could start if `free` slots were given out, each type within its limit. */
  startable(free: number): number;
  /** How many more jobs of each limited type may start now; undefined with no limits. */
  allowances(): Map<string, number> | undefined;
  /** A claimed job of `type` holds a slot now. */
  started(type: string): void;
  /** A job of `type` gave its slot back. */
  release(type: string): void;
}

export interface SupervisorInput {
  /** At most this many jobs run at once (WORKERS). */
  workers: number;
  /** At most this many jobs are unfinished at once (WORKERS + QUEUE_SIZE). */
  capacity: number;
  ready: ReadyCounts;
  /**
   * Claims up to `slots` waiting jobs from the store, each type within its allowance, and answers with
   * CLAIMED. Called from an action: it must not send to the supervisor before it returns.
   */
  claim(slots: number, allowances: Map<string, number> | undefined): void;
}

export interface SupervisorContext extends SupervisorInput {
  /** Jobs in `running`, with the slots of the claim in flight. */
  busy: number;
  /** Jobs admitted and not yet done or failed. */
  unfinished: number;
  /** Slots the latest event granted, for its `grantSlots` to claim jobs for. */
  granting: number;
  /** Slots of the claim in flight (0: none); no other claim starts before its CLAIMED. */
  claiming: number;
  /** An operator holds dispatch: no slot is granted until RESUME_DISPATCH (or a DRAIN). */
  dispatchPaused: boolean;
}

export type SupervisorEvent =
  | { type: 'ADMIT'; jobType?: string }
  | { type: 'READMIT'; count: number; jobType?: string }
  | { type: 'JOB_READY'; jobType: string; count?: number }
  | { type: 'JOB_WITHDRAWN'; jobType: string }
  | { type: 'CLAIMED'; requested: number; jobTypes: readonly string[]; failed?: boolean }
  | { type: 'DISPATCH' }
  | { type: 'SLOT_FREED'; finished: boolean; jobType: string }
  | { type: 'JOB_FINISHED' }
  | { type: 'DRAIN' }
  | { type: 'PAUSE' }
  | { type: 'PAUSE_DISPATCH' }
  | { type: 'RESUME_DISPATCH' }
  | { type: 'DEADLINE_PASSED' };

/** Free slots to grant now: as many as there are waiting jobs that may start, up to the concurrency. */
function slotsToGrant(context: SupervisorContext, busy: number, claiming: number): number {
  if (context.dispatchPaused || claiming > 0 || busy >= context.workers) return 0;
  return context.ready.startable(context.workers - busy);
}

/** The counters after granting what can be granted, given `busy` and `claiming` as they are now. */
function granted(context: SupervisorContext, busy: number, claiming: number) {
  const granting = slotsToGrant(context, busy, claiming);
  return { busy: busy + granting, granting, claiming: context.ready.limited ? claiming + granting : 0 };
}

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    input: {} as SupervisorInput,
  },
  guards: {
    hasCapacity: ({ context }) => context.unfinished < context.capacity,
    nothingUnfinished: ({ context }) => context.unfinished === 0 && context.busy === 0,
    nothingRunning: ({ context }) => context.busy === 0,
  },
  // Each event makes one assign, which counts the slots it grants (`granting`) for `grantSlots` to claim
  // jobs for: every assign copies the whole snapshot, and a second one per event was a measurable share of
  // the engine's cost per job (docs/performance.md).
  actions: {
    countWaiting: ({ context, event }) => {
      if (event.type === 'JOB_READY') {
        context.ready.add(event.jobType, event.count ?? 1);
      } else if (event.type === 'ADMIT' && event.jobType !== undefined) {
        context.ready.add(event.jobType);
      } else if (event.type === 'READMIT' && event.jobType !== undefined) {
        context.ready.add(event.jobType, event.count);
      } else if (event.type === 'JOB_WITHDRAWN') {
        context.ready.add(event.jobType, -1);
      }
    },
    /** The claimed jobs hold their slots now (runs before `settleClaim` counts what it can grant). */
    countStarted: ({ context, event }) => {
      if (event.type !== 'CLAIMED') return;
      if (context.ready.limited) for (const type of event.jobTypes) context.ready.started(type);
      // The store could not answer: the jobs counted off for it still wait.
      else if (event.failed) context.ready.reserve(-event.requested);
    },
    /** The freed slot's type may start another job (runs before `freeSlot` counts what it can grant). */
    releaseTypeSlot: ({ context, event }) => {
      if (event.type === 'SLOT_FREED') context.ready.release(event.jobType);
    },
    /** Takes a place, and grants the free slots to waiting jobs. */
    admitAndDispatch: assign(({ context }) => ({
      unfinished: context.unfinished + 1,
      ...granted(context, context.busy, context.claiming),
    })),
    readmit: assign(({ context, event }) => ({
      unfinished: context.unfinished + (event.type === 'READMIT' ? event.count : 0),
      ...granted(context, context.busy, context.claiming),
    })),
    /** Grants the free slots to waiting jobs. */
    dispatch: assign(({ context }) => granted(context, context.busy, context.claiming)),
    /** Ends the claim in flight: the slots it did not fill come back; `dispatch`: grants what is free again. */
    settleClaim: assign(({ context, event }, { dispatch }: { dispatch: boolean }) => {
      const unused = event.type === 'CLAIMED' ? event.requested - event.jobTypes.length : 0;
      const busy = context.busy - unused;
      // A claim that came back short found fewer jobs than counted: asking again at once would loop.
      return dispatch && unused === 0 ? granted(context, busy, 0) : { busy, granting: 0, claiming: 0 };
    }),
    /** Takes a slot back, and the place when the job finished; `dispatch`: hands free slots on (not while pausing). */
    freeSlot: assign(({ context, event }, { dispatch }: { dispatch: boolean }) => {
      const unfinished = event.type === 'SLOT_FREED' && event.finished ? context.unfinished - 1 : context.unfinished;
      const counters = dispatch ? granted(context, context.busy - 1, context.claiming) : { busy: context.busy - 1, granting: 0 };
      return { ...counters, unfinished };
    }),
    /** An operator's hold on dispatch: nothing is granted from here on. */
    holdDispatch: assign({ dispatchPaused: true, granting: 0 }),
    /** Lets go of the hold, and grants the free slots to waiting jobs (`grantSlots` claims for them). */
    resumeDispatch: assign(({ context }) => ({
      dispatchPaused: false,
      ...granted({ ...context, dispatchPaused: false }, context.busy, context.claiming),
    })),
    releasePlace: assign(({ context }) => ({ unfinished: context.unfinished - 1, granting: 0 })),
    /** Asks for jobs for the slots the step's assign granted. */
    grantSlots: ({ context }) => {
      if (context.granting === 0) return;
      if (!context.ready.limited) context.ready.reserve(context.granting);
      context.claim(context.granting, context.ready.allowances());
    },
  },
}).createMachine({
  id: 'supervisor',
  description: 'Admits jobs up to the capacity and grants worker slots up to the concurrency.',
  context: ({ input }) => ({ ...input, busy: 0, unfinished: 0, granting: 0, claiming: 0, dispatchPaused: false }),
  initial: 'accepting',
  on: {
    JOB_READY: { actions: ['countWaiting', 'dispatch', 'grantSlots'] },
    JOB_WITHDRAWN: { actions: 'countWaiting' },
    CLAIMED: { actions: ['countStarted', { type: 'settleClaim', params: { dispatch: true } }, 'grantSlots'] },
    DISPATCH: { actions: ['dispatch', 'grantSlots'] },
    SLOT_FREED: { actions: ['releaseTypeSlot', { type: 'freeSlot', params: { dispatch: true } }, 'grantSlots'] },
    JOB_FINISHED: { actions: 'releasePlace' },
  },
  states: {
    accepting: {
      description: 'Admits submissions while unfinished jobs are fewer than the capacity.',
      on: {
        ADMIT: { guard: 'hasCapacity', actions: ['countWaiting', 'admitAndDispatch', 'grantSlots'] },
        READMIT: { actions: ['countWaiting', 'readmit', 'grantSlots'] },
        DRAIN: { target: 'draining', actions: ['resumeDispatch', 'grantSlots'] },
        PAUSE: 'pausing',
        PAUSE_DISPATCH: { actions: 'holdDispatch' },
        RESUME_DISPATCH: { actions: ['resumeDispatch', 'grantSlots'] },
      },
    },
    draining: {
      description: 'Admits nothing; the unfinished jobs run to an end.',
      always: { guard: 'nothingUnfinished', target: 'stopped' },
      on: { DEADLINE_PASSED: 'stopped' },
    },
    pausing: {
      description: 'Admits nothing and grants no slots; the running attempts run to an end, the rest wait.',
      always: { guard: 'nothingRunning', target: 'stopped' },
      on: {
        // Override the root handlers: a job that becomes ready, or a freed slot, dispatches nothing here.
        JOB_READY: { actions: 'countWaiting' },
        CLAIMED: { actions: ['countStarted', { type: 'settleClaim', params: { dispatch: false } }] },
        DISPATCH: {},
        SLOT_FREED: { actions: ['releaseTypeSlot', { type: 'freeSlot', params: { dispatch: false } }] },
        DEADLINE_PASSED: 'stopped',
      },
    },
    stopped: {
      description: 'Every job ended, or the drain deadline passed.',
      type: 'final',
    },
  },
});

export type SupervisorActor = ActorRefFrom<typeof supervisorMachine>;
