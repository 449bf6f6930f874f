/**
 * The supervisor machine: one actor per queue. It owns the two limits, and the lifecycle.
 *
 *   accepting ──DRAIN──► draining ──(nothing unfinished)──► stopped
 *       │                    └──────DEADLINE_PASSED───────────┤
 *       └──PAUSE──► pausing ──(nothing running)───────────────┤
 *                      └──────DEADLINE_PASSED─────────────────┘
 *
 * States:
 * - `accepting`  admits jobs while fewer than `capacity` (WORKERS + QUEUE_SIZE) are unfinished.
 *                Slots go to ready jobs up to WORKERS in all, and up to each type's `concurrency`: the ready
 *                queue skips a type at its limit rather than wait on it.
 * - `draining`   admits nothing; queued and backoff jobs still get slots and run to an end.
 * - `pausing`    admits nothing and grants no slots: only the running attempts go on. Jobs that become ready
 *                still join the ready queue, and wait there (a durable store's shutdown: they wait on disk).
 * - `stopped`    final: every job ended, or the drain deadline passed.
 *
 * Events:
 * - `ADMIT`           a submission (or an operator's retry) takes a place; only handled in `accepting`, and
 *                     only under `hasCapacity`. A new job comes with it and joins the ready queue in the same
 *                     step, which saves every submission a separate JOB_READY.
 * - `READMIT`         a job restored at start takes its place back, capacity or not: an admitted job is never
 *                     dropped, even when the queue was made smaller between two runs.
 * - `JOB_READY`       a job queued again (a RETRY, a restart) or at the end of its backoff wants a slot. It
 *                     joins the ready queue: a due retry (`retry`) in the lane that goes first, any other job
 *                     behind the jobs that became ready before it (src/engine/ready-queue.ts).
 * - `JOB_WITHDRAWN`   a job left the ready queue without a slot (cancelled while waiting).
 * - `SLOT_FREED`      a job left `running`; `finished` when it went to `done`, `failed` or `cancelled`, which
 *                     frees its place in the capacity too (one event where two were needed).
 * - `JOB_FINISHED`    a job that held no slot reached `failed` or `cancelled`; its place is free.
 * - `DRAIN`, `PAUSE`, `DEADLINE_PASSED`  the lifecycle.
 * Guards: `hasCapacity`, `nothingUnfinished`, `nothingRunning`.
 *
 * Only counters live in the context, so each event copies a few numbers, never the queue. The ready queue is
 * a mutable FIFO passed in as input and touched only by the side effects `enqueueReady`,
 * `withdrawReady` and `grantSlots`: copying a queue of up to a million jobs on every event would make each event O(n).
 */
import { assign, setup, type ActorRefFrom } from 'xstate';

/** What the supervisor needs of a job actor: a way to grant it a slot. */
export interface SlotHolder {
  send(event: { type: 'SLOT_GRANTED' }): void;
}

/** The ready jobs and the per-type concurrency limits (src/engine/ready-queue.ts). */
export interface ReadyQueue<T> {
  /** `retry`: a retry whose backoff has ended, which goes before the jobs that have not started yet. */
  push(item: T, type: string, retry?: boolean): void;
  delete(item: T, type: string): void;
  /** How many ready jobs could start if `free` slots were given out, each type within its limit. */
  startable(free: number): number;
  /** Takes the next job to start, and counts it against its type's limit. */
  take(): T | undefined;
  /** A job of `type` gave its slot back. */
  release(type: string): void;
  readonly length: number;
}

export interface SupervisorInput {
  /** At most this many jobs run at once (WORKERS). */
  workers: number;
  /** At most this many jobs are unfinished at once (WORKERS + QUEUE_SIZE). */
  capacity: number;
  ready: ReadyQueue<SlotHolder>;
}

export interface SupervisorContext extends SupervisorInput {
  /** Jobs in `running`. */
  busy: number;
  /** Jobs admitted and not yet done or failed. */
  unfinished: number;
  /** Slots the latest event granted, for its `grantSlots` to hand out. */
  granting: number;
}

export type SupervisorEvent =
  | { type: 'ADMIT'; job?: SlotHolder; jobType: string }
  | { type: 'READMIT' }
  | { type: 'JOB_READY'; job: SlotHolder; jobType: string; retry?: boolean }
  | { type: 'JOB_WITHDRAWN'; job: SlotHolder; jobType: string }
  | { type: 'SLOT_FREED'; finished: boolean; jobType: string }
  | { type: 'JOB_FINISHED' }
  | { type: 'DRAIN' }
  | { type: 'PAUSE' }
  | { type: 'DEADLINE_PASSED' };

/** Free slots to hand out now: as many as there are ready jobs that may start, up to the concurrency. */
function slotsToGrant(context: SupervisorContext, busy: number): number {
  return busy >= context.workers ? 0 : context.ready.startable(context.workers - busy);
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
  // Each event makes one assign, which counts the slots it grants (`granting`) for `grantSlots` to hand out:
  // every assign copies the whole snapshot, and a second one per event was a measurable share of the
  // engine's cost per job (docs/performance.md).
  actions: {
    enqueueReady: ({ context, event }) => {
      if (event.type === 'JOB_READY') context.ready.push(event.job, event.jobType, event.retry);
      else if (event.type === 'ADMIT' && event.job) context.ready.push(event.job, event.jobType);
    },
    withdrawReady: ({ context, event }) => {
      if (event.type === 'JOB_WITHDRAWN') context.ready.delete(event.job, event.jobType);
    },
    /** The freed slot's type may start another job (runs before `freeSlot` counts what it can grant). */
    releaseTypeSlot: ({ context, event }) => {
      if (event.type === 'SLOT_FREED') context.ready.release(event.jobType);
    },
    /** Takes a place, and grants the free slots to the oldest ready jobs. */
    admitAndDispatch: assign(({ context }) => {
      const granting = slotsToGrant(context, context.busy);
      return { unfinished: context.unfinished + 1, busy: context.busy + granting, granting };
    }),
    readmit: assign(({ context }) => ({ unfinished: context.unfinished + 1, granting: 0 })),
    /** Grants the free slots to the oldest ready jobs. */
    dispatch: assign(({ context }) => {
      const granting = slotsToGrant(context, context.busy);
      return { busy: context.busy + granting, granting };
    }),
    /** Takes a slot back, and the place when the job finished; `dispatch`: hands free slots on (not while pausing). */
    freeSlot: assign(({ context, event }, { dispatch }: { dispatch: boolean }) => {
      const unfinished = event.type === 'SLOT_FREED' && event.finished ? context.unfinished - 1 : context.unfinished;
      const granting = dispatch ? slotsToGrant(context, context.busy - 1) : 0;
      return { busy: context.busy - 1 + granting, unfinished, granting };
    }),
    releasePlace: assign(({ context }) => ({ unfinished: context.unfinished - 1, granting: 0 })),
    /** Hands the slots the step's assign counted to the oldest ready jobs. */
    grantSlots: ({ context }) => {
      // The queue is taken from only when the actions run, never while the transition is computed.
      for (let i = 0; i < context.granting; i++) context.ready.take()!.send({ type: 'SLOT_GRANTED' });
    },
  },
}).createMachine({
  id: 'supervisor',
  description: 'Admits jobs up to the capacity and grants worker slots up to the concurrency.',
  context: ({ input }) => ({ ...input, busy: 0, unfinished: 0, granting: 0 }),
  initial: 'accepting',
  on: {
    JOB_READY: { actions: ['enqueueReady', 'dispatch', 'grantSlots'] },
    JOB_WITHDRAWN: { actions: 'withdrawReady' },
    SLOT_FREED: { actions: ['releaseTypeSlot', { type: 'freeSlot', params: { dispatch: true } }, 'grantSlots'] },
    JOB_FINISHED: { actions: 'releasePlace' },
  },
  states: {
    accepting: {
      description: 'Admits submissions while unfinished jobs are fewer than the capacity.',
      on: {
        ADMIT: { guard: 'hasCapacity', actions: ['enqueueReady', 'admitAndDispatch', 'grantSlots'] },
        READMIT: { actions: 'readmit' },
        DRAIN: 'draining',
        PAUSE: 'pausing',
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
        JOB_READY: { actions: 'enqueueReady' },
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
