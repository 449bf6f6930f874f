/**
 * The schedule machine: one actor per cron schedule.
 *
 *   active ──PAUSE──► paused ──RESUME──► active
 *   active ──untilNextFire, fire time reached──► active (fires, then plans the next)
 *
 * States:
 * - `active`  plans its next fire time on entry (`planNext`: the first after both now and the last fire) and
 *             waits for it with one XState delay (`untilNextFire`). When it passes, `isFireTime` decides: the
 *             fire is recorded (`markFired`) and its job submitted (`submitFire`), and `active` is entered again.
 *             A fire time further off than a timer can wait is reached in steps (the guard fails, and the
 *             state plans again).
 * - `paused`  waits for RESUME; no timer. Fire times that pass meanwhile are skipped.
 *
 * Events: PAUSE, RESUME (operator); FIRED (the fire's job was submitted: its id, or null when none was).
 * Guards: `isFireTime` (now is at or past `next_fire_at`).
 * Delays: `untilNextFire`, the time left until `next_fire_at`, capped at the longest timer.
 * Side effects, injected: `submitFire` (submits the fire's job through the queue, then answers FIRED),
 * `recordSchedule` (persists a pause or a resume, on the transition itself: entering `active` again after a
 * fire, or after a step towards a far fire time, changes nothing to persist) and `recordFire` (persists a fire
 * once, at its FIRED, with its job: only the last fire and job, so that it never undoes a pause written
 * meanwhile by another instance).
 */
import { assign, setup, type ActorRefFrom } from 'xstate';
import { MAX_DELAY_MS } from './job.machine.js';
import type { ScheduleContext } from '../src/engine/schedule-fields.js';

export type { ScheduleContext };

export type ScheduleEvent = { type: 'PAUSE' } | { type: 'RESUME' } | { type: 'FIRED'; job_id: string | null };

export interface ScheduleMachineDeps {
  /** Epoch ms. */
  now(): number;
  /** The schedule's first fire time strictly after `after`, or null when it has none. */
  nextFireAfter(context: ScheduleContext, after: number): number | null;
  /** Submits the job of the fire at `fireAt`; answers the actor with FIRED. */
  submitFire(context: ScheduleContext, fireAt: number): void;
  /** Persists the schedule as it now is: paused or resumed. */
  recordSchedule(context: ScheduleContext, state: 'active' | 'paused'): void;
  /** Persists the schedule's last fire and last job, and nothing else. */
  recordFire(context: ScheduleContext): void;
}

export function createScheduleMachine(deps: ScheduleMachineDeps) {
  return setup({
    types: { context: {} as ScheduleContext, events: {} as ScheduleEvent, input: {} as ScheduleContext },
    delays: {
      untilNextFire: ({ context }) =>
        context.next_fire_at === null ? MAX_DELAY_MS : Math.min(Math.max(0, context.next_fire_at - deps.now()), MAX_DELAY_MS),
    },
    guards: {
      isFireTime: ({ context }) => context.next_fire_at !== null && deps.now() >= context.next_fire_at,
    },
    actions: {
      planNext: assign(({ context }) => ({
        next_fire_at: deps.nextFireAfter(context, Math.max(deps.now(), context.last_fire_at ?? -Infinity)),
      })),
      clearNext: assign({ next_fire_at: null }),
      markFired: assign(({ context }) => ({ last_fire_at: context.next_fire_at })),
      submitFire: ({ context }) => deps.submitFire(context, context.last_fire_at!),
      keepJobId: assign(({ event }) => (event.type === 'FIRED' && event.job_id !== null ? { last_job_id: event.job_id } : {})),
      recordActive: ({ context }) => deps.recordSchedule(context, 'active'),
      recordPaused: ({ context }) => deps.recordSchedule(context, 'paused'),
      recordFire: ({ context }) => deps.recordFire(context),
    },
  }).createMachine({
    id: 'schedule',
    description: 'One cron schedule: submits a job at each fire time.',
    context: ({ input }) => input,
    initial: 'active',
    on: { FIRED: { actions: ['keepJobId', 'recordFire'] } },
    states: {
      active: {
        description: 'Waits until the next fire time, then submits its job.',
        entry: 'planNext',
        after: {
          untilNextFire: [
            { guard: 'isFireTime', target: 'active', reenter: true, actions: ['markFired', 'submitFire'] },
            { target: 'active', reenter: true },
          ],
        },
        on: { PAUSE: { target: 'paused', actions: 'recordPaused' } },
      },
      paused: {
        description: 'Paused by an operator: fires nothing until resumed.',
        entry: 'clearNext',
        on: { RESUME: { target: 'active', actions: 'recordActive' } },
      },
    },
  });
}

export type ScheduleMachine = ReturnType<typeof createScheduleMachine>;
export type ScheduleActor = ActorRefFrom<ScheduleMachine>;
