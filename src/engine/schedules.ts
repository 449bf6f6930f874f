/**
 * The cron schedules: one schedule actor each (`machines/schedule.machine.ts`), kept in the store so they
 * survive a restart. A fire submits its job through the queue's normal submission path, with an id derived
 * from the schedule and the fire time (`fireJobId`): submitting the same fire twice (a restart, a second
 * instance) finds the job there already, so each fire time makes one job at most.
 *
 * At start (`restore`), the fires missed while the service was down are caught up by each schedule's
 * `catch_up` before its actor starts: `none` skips them, `latest` submits the last, `all` each of the last
 * CATCH_UP_LIMIT (whatever `overlap` says: they were asked for one by one).
 */
import { createActor } from 'xstate';
import { createScheduleMachine, type ScheduleActor } from '../../machines/schedule.machine.js';
import { DuplicateJobError, errors } from '../errors.js';
import { parseCron, type CronSchedule } from './cron.js';
import { isFinished } from './job-record.js';
import { jsonEqual } from '../json-equal.js';
import { serially } from './serially.js';
import type { JobQueue } from './job-queue.types.js';
import type { JobStore } from '../store/job-store.js';
import { CATCH_UP_LIMIT, fireJobId, type ScheduleContext, type ScheduleRow, type ScheduleSpec } from './schedule-fields.js';

/** How many coming fire times a schedule's view lists. */
export const NEXT_FIRES_SHOWN = 5;

/** A schedule as the API shows it, times in epoch ms. */
export interface ScheduleState extends ScheduleRow {
  state: 'active' | 'paused';
  /** The coming fire times, soonest first (none while paused). */
  next_fire_times: number[];
}

export interface SchedulesDeps {
  queue: Pick<JobQueue, 'submit' | 'get' | 'typeNames'>;
  store: Pick<JobStore, 'saveSchedule' | 'saveScheduleFire' | 'saveSchedulePaused' | 'deleteSchedule' | 'schedules'>;
  /** Epoch ms. Default Date.now. */
  now?: () => number;
  /** A fire, a write or a catch-up that failed. */
  onError?: (error: unknown, schedule: string) => void;
  /** A fire submitted its job (the `jobsvc_jobs_schedule_fires_total` metric). */
  onFire?: (schedule: string) => void;
}

export interface Schedules {
  /** Creates or replaces a schedule; `created` is false for a replacement. Throws `validation_failed`, `unknown_job_type`. */
  put(name: string, spec: ScheduleSpec): Promise<{ schedule: ScheduleState; created: boolean }>;
  /** Throws `not_found`. */
  get(name: string): ScheduleState;
  list(): ScheduleState[];
  pause(name: string): ScheduleState;
  resume(name: string): ScheduleState;
  /** Throws `not_found`. */
  delete(name: string): Promise<void>;
  /** Loads the stored schedules, catches up their missed fires, and starts them. */
  restore(): Promise<void>;
  /**
   * Brings the running schedules in line with the stored ones, which another instance of a shared store
   * changed: a new or replaced schedule starts (keeping the later of the two last fires, so no fire time is
   * fired again), a paused or resumed one follows, a deleted one stops. Another instance's fires change
   * nothing here: this one fires the same schedules.
   */
  sync(): Promise<void>;
  /** Stops every schedule's timer (a shutdown); the stored schedules are kept. */
  stop(): void;
}

interface Running {
  actor: ScheduleActor;
  cron: CronSchedule;
}

export function createSchedules(deps: SchedulesDeps): Schedules {
  const now = deps.now ?? Date.now;
  const onError = deps.onError ?? ((error: unknown) => console.error(error));
  const running = new Map<string, Running>();
  /** Each schedule's parsed expression, set before its actor is created (its initial state plans a fire). */
  const crons = new Map<string, CronSchedule>();
  /** This instance's schedule writes not yet answered: a sync reads the table only after them. */
  const writing = new Set<Promise<void>>();
  /** This instance's schedule writes so far: a sync that sees one start while it read reads again. */
  let writesStarted = 0;
  const tracked = (write: Promise<void>) => {
    writesStarted++;
    writing.add(write);
    const done = () => void writing.delete(write);
    write.then(done, done);
    return write;
  };
  /** Syncs one at a time: each reads the table and then acts on what it read. */
  const oneSyncAtATime = serially();
  /**
   * A schedule whose change is stored already (a paused one started, or one a sync follows): its pause or
   * resume writes nothing meanwhile. Written again, it could overwrite a newer change another instance made
   * since.
   */
  let unwritten: string | null = null;
  /** Runs `change` to the schedule `name` without writing it. */
  const withoutWriting = (name: string, change: () => void) => {
    unwritten = name;
    try {
      change();
    } finally {
      unwritten = null;
    }
  };

  const machine = createScheduleMachine({
    now,
    nextFireAfter: (context, after) => crons.get(context.name)!.nextAfter(after),
    submitFire: (context, fireAt) => {
      const actor = running.get(context.name)?.actor;
      // FIRED always answers, a failed fire too: it records the fire time reached.
      const answer = (jobId: string | null) => actor?.send({ type: 'FIRED', job_id: jobId });
      fire(context, fireAt, context.spec.overlap).then(answer, (error: unknown) => {
        onError(error, context.name);
        answer(null);
      });
    },
    recordSchedule: (context, state) => {
      if (context.name === unwritten) return;
      tracked(deps.store.saveSchedulePaused(context.name, state === 'paused')).catch((error: unknown) => onError(error, context.name));
    },
    recordFire: (context) => recordFire(context.name, context.last_fire_at!, context.last_job_id),
  });

  /**
   * Stores the schedule's last fire, and nothing else (see `JobStore.saveScheduleFire`). Not `tracked`: what a
   * sync reads never undoes it, and a sync that waited for it would follow a pause, and stop firing, later.
   */
  function recordFire(name: string, lastFireAt: number, lastJobId: string | null) {
    deps.store.saveScheduleFire({ name, last_fire_at: lastFireAt, last_job_id: lastJobId }).catch((error: unknown) => onError(error, name));
  }

  /** Submits the fire's job; resolves with its id, or null when none was submitted (skipped, or refused). */
  async function fire(context: ScheduleContext, fireAt: number, overlap: ScheduleSpec['overlap']): Promise<string | null> {
    const { name, spec } = context;
    if (overlap === 'skip' && context.last_job_id !== null) {
      const previous = await deps.queue.get(context.last_job_id);
      if (previous && !isFinished(previous.state)) return null;
    }
    const id = fireJobId(name, fireAt);
    try {
      await deps.queue.submit({ id, type: spec.type, payload: spec.payload, max_retries: spec.max_retries, priority: spec.priority });
    } catch (error) {
      if (error instanceof DuplicateJobError) return id; // fired already: by an earlier run, or another instance
      onError(error, name);
      return null;
    }
    deps.onFire?.(name);
    return id;
  }

  /** Creates and starts the schedule's actor, writing nothing: every row started is stored already. */
  function start(row: ScheduleRow, cron: CronSchedule) {
    crons.set(row.name, cron);
    const actor = createActor(machine, {
      input: { name: row.name, spec: row.spec, next_fire_at: null, last_fire_at: row.last_fire_at, last_job_id: row.last_job_id },
    });
    running.set(row.name, { actor, cron });
    actor.subscribe({ error: (error) => onError(error, row.name) });
    withoutWriting(row.name, () => {
      actor.start();
      if (row.paused) actor.send({ type: 'PAUSE' });
    });
  }

  function require(name: string): Running {
    const found = running.get(name);
    if (!found) throw errors.scheduleNotFound(name);
    return found;
  }

  function stateOf({ actor, cron }: Running): ScheduleState {
    const snapshot = actor.getSnapshot();
    const paused = snapshot.value === 'paused';
    const times: number[] = [];
    for (let at = snapshot.context.next_fire_at; at !== null && !paused && times.length < NEXT_FIRES_SHOWN; at = cron.nextAfter(at)) {
      times.push(at);
    }
    return { ...rowOf(snapshot.context, paused), state: paused ? 'paused' : 'active', next_fire_times: times };
  }

  /** The fire times missed since the last one, up to now, that `catch_up` asks for. */
  function missedFires(row: ScheduleRow, cron: CronSchedule): { wanted: number[]; latest: number | null } {
    const missed: number[] = [];
    let latest: number | null = null;
    if (row.last_fire_at === null || row.paused) return { wanted: [], latest };
    for (let at = cron.nextAfter(row.last_fire_at); at !== null && at <= now(); at = cron.nextAfter(at)) {
      latest = at;
      missed.push(at);
      if (missed.length > CATCH_UP_LIMIT) missed.shift();
    }
    const wanted = row.spec.catch_up === 'all' ? missed : row.spec.catch_up === 'latest' && latest !== null ? [latest] : [];
    return { wanted, latest };
  }

  return {
    async put(name, spec) {
      const cron = parseCron(spec.cron, spec.timezone);
      if (spec.type !== undefined && !deps.queue.typeNames().includes(spec.type)) {
        throw errors.unknownJobType(spec.type, deps.queue.typeNames());
      }
      const previous = running.get(name);
      const before = previous?.actor.getSnapshot().context;
      previous?.actor.stop();
      // A replacement keeps the last fire, so the fire times already reached are not fired again.
      const row: ScheduleRow = { name, spec, paused: false, last_fire_at: before?.last_fire_at ?? null, last_job_id: before?.last_job_id ?? null };
      await tracked(deps.store.saveSchedule(row));
      start(row, cron);
      return { schedule: stateOf(running.get(name)!), created: previous === undefined };
    },

    get: (name) => stateOf(require(name)),

    list: () => [...running.keys()].sort().map((name) => stateOf(running.get(name)!)),

    pause(name) {
      const found = require(name);
      found.actor.send({ type: 'PAUSE' });
      return stateOf(found);
    },

    resume(name) {
      const found = require(name);
      found.actor.send({ type: 'RESUME' });
      return stateOf(found);
    },

    async delete(name) {
      require(name).actor.stop();
      running.delete(name);
      crons.delete(name);
      await tracked(deps.store.deleteSchedule(name));
    },

    async restore() {
      for (const row of await deps.store.schedules()) {
        let cron: CronSchedule;
        try {
          cron = parseCron(row.spec.cron, row.spec.timezone);
        } catch (error) {
          onError(error, row.name); // a time zone this runtime no longer knows: left stored, not started
          continue;
        }
        const { wanted, latest } = missedFires(row, cron);
        const context = { name: row.name, spec: row.spec, next_fire_at: null, last_fire_at: row.last_fire_at, last_job_id: row.last_job_id };
        for (const at of wanted) {
          const jobId = await fire(context, at, 'allow');
          if (jobId !== null) context.last_job_id = jobId;
        }
        start({ ...row, last_fire_at: latest ?? row.last_fire_at, last_job_id: context.last_job_id }, cron);
        if (latest !== null) recordFire(row.name, latest, context.last_job_id); // the fire times caught up, or skipped
      }
    },

    sync: () => oneSyncAtATime(async () => {
      // After this instance's own writes: what it reads then is its latest change, or a later one. A change made
      // here while it read (a delete, a pause) would be undone by what it read: it reads again.
      let stored = new Map<string, ScheduleRow>();
      for (let seen = -1; seen !== writesStarted; ) {
        seen = writesStarted;
        await Promise.allSettled([...writing]);
        stored = new Map((await deps.store.schedules()).map((row) => [row.name, row]));
      }
      for (const [name, { actor }] of running) {
        if (stored.has(name)) continue;
        actor.stop();
        running.delete(name);
        crons.delete(name);
      }
      for (const row of stored.values()) {
        const current = running.get(row.name)?.actor;
        const snapshot = current?.getSnapshot();
        if (snapshot && jsonEqual(snapshot.context.spec, row.spec)) {
          if ((snapshot.value === 'paused') !== row.paused) {
            withoutWriting(row.name, () => current!.send({ type: row.paused ? 'PAUSE' : 'RESUME' }));
          }
          continue;
        }
        let cron: CronSchedule;
        try {
          cron = parseCron(row.spec.cron, row.spec.timezone);
        } catch (error) {
          onError(error, row.name);
          continue;
        }
        current?.stop();
        const local = snapshot?.context.last_fire_at ?? null;
        const newer = local !== null && (row.last_fire_at === null || local > row.last_fire_at);
        start(newer ? { ...row, last_fire_at: local, last_job_id: snapshot!.context.last_job_id } : row, cron);
      }
    }),

    stop() {
      for (const { actor } of running.values()) actor.stop();
    },
  };
}

function rowOf(context: ScheduleContext, paused: boolean): ScheduleRow {
  return { name: context.name, spec: context.spec, paused, last_fire_at: context.last_fire_at, last_job_id: context.last_job_id };
}
