/** The service's three charts, for drawing: built with inert dependencies, since drawing never runs a job. */
import { createJobMachine } from '../../machines/job.machine.js';
import { supervisorMachine } from '../../machines/supervisor.machine.js';
import { createScheduleMachine } from '../../machines/schedule.machine.js';

const inert = () => {};

export const jobChart = createJobMachine({
  attempts: { start: inert, abort: inert },
  slots: { announceReady: inert, withdrawReady: inert, releaseSlot: inert, releasePlace: inert, admitDue: inert },
  recordTransition: inert,
  now: () => 0,
  random: () => 0,
  backoffFor: () => ({ baseMs: 0, maxMs: 0, jitterMs: 0 }),
  keepResult: () => ({ result: null, result_error: null, result_bytes: null }),
});

export const supervisorChart = supervisorMachine;

export const scheduleChart = createScheduleMachine({
  now: () => 0,
  nextFireAfter: () => null,
  submitFire: inert,
  recordSchedule: inert,
  recordFire: inert,
});
