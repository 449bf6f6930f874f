/**
 * The facade: the one entry point of the engine. It admits jobs through the supervisor, creates one job actor
 * per unfinished job, and turns every transition into a stored record and an event.
 *
 * Data flows one way: submit → supervisor (admission) → job actor → attempt runner → processor; each
 * transition → store and listeners. A job's actor lives only while the job has work pending; once it is done,
 * failed or cancelled the actor is released and its record is what remains. An operator's retry, and a
 * restart, rebuild the actor from the record.
 */
import { EventEmitter } from 'node:events';
import { createActor } from 'xstate';
import {
  createJobMachine,
  restoredStateValue,
  type JobActor,
  type JobContext,
  type JobEvent,
} from '../../machines/job.machine.js';
import { supervisorMachine } from '../../machines/supervisor.machine.js';
import type { BackoffOptions } from './backoff.js';
import { DuplicateJobError, errors } from '../errors.js';
import { Fifo } from './fifo.js';
import { jobIdGenerator } from './job-id.js';
import { createJobTypes, DEFAULT_MAX_RETRIES, type JobTypes } from '../job-types/registry.js';
import { simulatedType } from '../job-types/simulated-type.js';
import {
  HISTORY_LIMIT,
  isFinished,
  keepResult,
  newRecord,
  updateRecord,
  type JobRecord,
  type JobState,
  type Transition,
} from './job-record.js';
import type { DrainResult, JobQueue, JobQueueEventMap, Lifecycle, Stats, TypeTotals } from './job-queue.types.js';
import { createAttemptRunner } from './attempt-runner.js';
import type { Processor } from '../processors/processor.js';
import { ReadyQueue } from './ready-queue.js';
import { createMemoryStore } from '../store/memory-store.js';
import type { JobStore } from '../store/job-store.js';
import { zeroCounts } from '../store/state-counts.js';

export interface JobQueueOptions {
  /** Jobs running at once. Default 4. */
  workers: number;
  /** Jobs waiting beyond the running ones; capacity is workers + queueSize. Default 64. */
  queueSize: number;
  backoff: BackoffOptions;
  /** Attempt time limit in ms; 0 means none. */
  jobTimeoutMs: number;
  /** Finished records the default memory store keeps. */
  jobRetention: number;
  /** The mean work time in ms, used to estimate `Retry-After` before any job has finished. Default 1000. */
  expectedWorkMs?: number;
  /** The largest `result` kept, as JSON, in bytes (RESULT_MAX_BYTES). Default 65536. */
  resultMaxBytes?: number;
}

export interface JobQueueDeps {
  /**
   * The job types and their processors. Default: the one type `simulated`, run by `processor`, with the
   * queue's own timeout and backoff.
   */
  types?: JobTypes;
  /** The processor of the default single type, when `types` is not given. */
  processor?: Processor;
  /** Default: a memory store with `jobRetention`. */
  store?: JobStore;
  /** Epoch ms. Default Date.now. */
  now?: () => number;
  /** Uniform in [0, 1). Default Math.random. */
  random?: () => number;
  /** Called with errors the job actors did not handle (a bug, or a store that throws). */
  onError?: (error: unknown, jobId: string) => void;
}

/** How many recent finishes the Retry-After estimate looks at. */
const FINISH_RATE_WINDOW = 64;

/** A job's progress goes out on the event stream at most once per this many ms (10 a second). */
export const PROGRESS_INTERVAL_MS = 100;

/** How long `cancel` waits, by default, for a running attempt to stop, in ms (`POST /jobs/:id/cancel`: 1 s). */
export const CANCEL_WAIT_MS = 1000;

export function createJobQueue(options: JobQueueOptions, deps: JobQueueDeps): JobQueue {
  const now = deps.now ?? Date.now;
  const store = deps.store ?? createMemoryStore({ retention: options.jobRetention });
  const onError = deps.onError ?? ((error: unknown) => console.error(error));
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const capacity = options.workers + options.queueSize;
  /**
   * The totals of `stats()` per job type; the service's are their sums. `rejected` is kept for the service only:
   * a refused submission may name no real type.
   */
  const typeTotals = new Map<string, TypeTotals>();
  let rejected = 0;
  const totalsOf = (type: string) => {
    let found = typeTotals.get(type);
    if (!found) typeTotals.set(type, (found = Object.fromEntries(TOTAL_KEYS.map((key) => [key, 0])) as TypeTotals));
    return found;
  };
  /**
   * The jobs with work pending (queued, running, backoff): each one's actor and its latest record, so that a
   * transition never has to read the store back.
   */
  const live = new Map<string, { actor: JobActor; record: JobRecord }>();
  const recentFinishes = new Fifo<number>();
  const nextJobId = jobIdGenerator();
  const types = deps.types ?? singleType(options, deps.processor);
  const ready = new ReadyQueue<JobActor>(types.concurrencyLimits());
  const resultMaxBytes = options.resultMaxBytes ?? 65_536;

  const supervisor = createActor(supervisorMachine, {
    input: { workers: options.workers, capacity, ready },
  });
  supervisor.subscribe({ error: (error) => onError(error, '(supervisor)') });
  supervisor.start();

  // With a durable store, an attempt starts only once the writes before it (its admission, its `running`
  // record) are on disk.
  const attempts = createAttemptRunner(
    types,
    options.jobTimeoutMs,
    store.durable ? () => store.flush() : undefined,
    reportProgress,
  );
  const jobMachine = createJobMachine({
    attempts,
    slots: {
      announceReady: (job, jobType, retry) => supervisor.send({ type: 'JOB_READY', job, jobType, retry }),
      withdrawReady: (job, jobType) => supervisor.send({ type: 'JOB_WITHDRAWN', job, jobType }),
      releaseSlot: (finished, jobType) => supervisor.send({ type: 'SLOT_FREED', finished, jobType }),
      releasePlace: () => supervisor.send({ type: 'JOB_FINISHED' }),
    },
    recordTransition,
    now,
    random: deps.random ?? Math.random,
    backoffFor: (type) => types.backoffFor(type),
    keepResult: (output) => keepResult(output, resultMaxBytes),
  });

  /** The latest progress of each job whose stream event waits for its interval, and when the last one went out. */
  const progressSent = new Map<string, { at: number; timer?: ReturnType<typeof setTimeout> }>();

  /**
   * A running attempt's progress: kept in the job's record (and so in the store) at once, sent on the event
   * stream at most once per PROGRESS_INTERVAL_MS per job, the latest value last (a trailing send).
   */
  function reportProgress(id: string, value: unknown) {
    const entry = live.get(id);
    if (!entry?.record) return;
    const { record } = entry;
    record.progress = value;
    store.save(record, record.state);
    const sent = progressSent.get(id);
    const at = now();
    if (sent === undefined || at - sent.at >= PROGRESS_INTERVAL_MS) {
      if (sent?.timer !== undefined) clearTimeout(sent.timer);
      progressSent.set(id, { at });
      emitter.emit('progress', { id, type: record.type, progress: value, at });
    } else if (sent.timer === undefined) {
      sent.timer = setTimeout(() => {
        const latest = live.get(id)?.record;
        const sentAt = now();
        progressSent.set(id, { at: sentAt });
        if (latest) emitter.emit('progress', { id, type: latest.type, progress: latest.progress, at: sentAt });
      }, sent.at + PROGRESS_INTERVAL_MS - at);
    }
  }

  /**
   * Forgets a job's progress throttle once its attempt ended (or its actor stopped). A value still held back
   * goes out now, before the transition that ends the attempt, so the stream's last progress is the attempt's.
   */
  function forgetProgress(id: string, record?: JobRecord) {
    const sent = progressSent.get(id);
    if (sent === undefined) return;
    progressSent.delete(id);
    if (sent.timer === undefined) return;
    clearTimeout(sent.timer);
    if (record) emitter.emit('progress', { id, type: record.type, progress: record.progress, at: now() });
  }

  function recordTransition(context: JobContext, eventType: string, to: JobState) {
    const entry = live.get(context.id);
    const previous = entry?.record;
    const from = previous ? previous.state : null;
    const transition: Transition = {
      id: context.id,
      type: context.type,
      from,
      to,
      event: from === null ? 'SUBMIT' : eventType,
      at: context.updated_at,
      attempt: context.attempts,
      error: to === 'backoff' || to === 'failed' ? context.last_error : null,
      delay_ms: to === 'backoff' ? context.last_delay_ms : null,
      delay_source: to === 'backoff' ? context.last_delay_source : null,
    };
    // The live record is updated in place rather than copied: a copy per transition was a large share of the
    // engine's garbage-collection time.
    let record: JobRecord;
    if (previous) {
      record = previous;
      updateRecord(record, context, to);
      if (record.history.push(transition) > HISTORY_LIMIT) record.history.shift();
    } else {
      record = newRecord(context, to, [transition]);
      if (entry) entry.record = record;
    }
    store.save(record, from);
    if (to === 'running' && from !== 'running' && context.attempts > 1) totalsOf(context.type).retries++;
    // Progress belongs to the running attempt: a value still held back goes out before the move that ends it.
    if (from === 'running' && to !== 'running') forgetProgress(context.id, record);
    if (isFinished(to)) finishJob(context.id, context.type, to as 'done' | 'failed' | 'cancelled');
    emitter.emit('transition', transition);
  }

  /** The service's totals: the types' summed, read when asked for rather than kept twice on every transition. */
  function sumOfTotals(): Stats['totals'] {
    const sum = { submitted: 0, done: 0, failed: 0, cancelled: 0, retries: 0, manual_retries: 0, rejected };
    for (const ofType of typeTotals.values()) {
      for (const key of TOTAL_KEYS) sum[key] += ofType[key];
    }
    return sum;
  }

  function finishJob(id: string, type: string, state: 'done' | 'failed' | 'cancelled') {
    totalsOf(type)[state]++;
    // Released, not stopped: the actor is inside its own transition here, and with nothing pending (no
    // attempt, no timer) nothing else holds it once it leaves this map.
    live.delete(id);
    recentFinishes.push(now());
    if (recentFinishes.length > FINISH_RATE_WINDOW) recentFinishes.shift();
  }

  /** Seconds until a place is likely to free up: from the recent finish rate, else from the expected work time. */
  function retryAfterSeconds(): number {
    const oldest = recentFinishes.peek();
    let secondsPerFinish: number;
    if (oldest !== undefined && recentFinishes.length >= 2 && now() > oldest) {
      secondsPerFinish = (now() - oldest) / 1000 / (recentFinishes.length - 1);
    } else {
      secondsPerFinish = (options.expectedWorkMs ?? 1000) / 1000 / options.workers;
    }
    return Math.max(1, Math.ceil(secondsPerFinish));
  }

  function lifecycle(): Lifecycle {
    return supervisor.getSnapshot().value as Lifecycle;
  }

  /**
   * Takes a place, or throws queue_full. A new job, not started yet, joins the ready queue with its admission;
   * a slot granted at once waits in its mailbox until it starts.
   */
  function admit(jobType: string, job?: JobActor) {
    const before = supervisor.getSnapshot().context.unfinished;
    supervisor.send({ type: 'ADMIT', job, jobType });
    if (supervisor.getSnapshot().context.unfinished === before) {
      rejected++;
      throw errors.queueFull(capacity, retryAfterSeconds());
    }
  }

  /** Starts a job's actor; `record` is its stored record when the actor is rebuilt from one. */
  function startActor(actor: JobActor, id: string, record?: JobRecord, event?: JobEvent) {
    live.set(id, { actor, record: record! });
    actor.subscribe({ error: (error) => onError(error, id) });
    actor.start();
    if (event) actor.send(event);
  }

  /** An actor rebuilt from a stored record, in the chart state the record's public state stands for. */
  function actorFromRecord(record: JobRecord): JobActor {
    const { state, history: _history, progress: _progress, ...context } = record;
    const snapshot = jobMachine.resolveState({ value: restoredStateValue(state, context.cancel_requested), context });
    // The input is required by the types but unused: the snapshot carries the context.
    return createActor(jobMachine, { snapshot, input: context });
  }

  function requireJob(id: string): JobRecord {
    const record = store.get(id);
    if (!record) throw errors.jobNotFound(id);
    return record;
  }

  /** Resolves when the job leaves `state`, or after `ms`, whichever comes first. */
  function whileInState(id: string, state: JobState, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        emitter.off('transition', onTransition);
        resolve();
      };
      const onTransition = (t: Transition) => {
        if (t.id === id && t.to !== state) done();
      };
      const timer = setTimeout(done, ms);
      emitter.on('transition', onTransition);
    });
  }

  return {
    async submit(input) {
      const type = input.type ?? types.defaultType;
      if (!types.has(type)) throw errors.unknownJobType(type, types.names());
      if (lifecycle() !== 'accepting') throw errors.shuttingDown();
      const max_retries = input.max_retries ?? types.info(type).options.max_retries;
      const id = input.id ?? nextJobId(now());
      // A generated id is new; only a client's id can be a known one.
      const existing = input.id === undefined ? undefined : store.get(id);
      if (existing) throw new DuplicateJobError(existing, { type, payload: input.payload, max_retries });
      const actor = createActor(jobMachine, { input: { id, type, payload: input.payload, max_retries } });
      admit(type, actor);
      totalsOf(type).submitted++;
      startActor(actor, id);
      const admitted = live.get(id)?.record ?? store.get(id)!;
      if (!store.durable) return admitted;
      try {
        await store.flush();
      } catch (error) {
        await abandon(id);
        throw error;
      }
      return admitted;
    },

    async cancel(id, waitMs = CANCEL_WAIT_MS) {
      const record = requireJob(id);
      const entry = live.get(id);
      if (!entry || isFinished(record.state)) throw errors.notCancellable(id, record.state);
      entry.actor.send({ type: 'CANCEL' });
      if (store.get(id)!.state === 'running') await whileInState(id, 'running', waitMs);
      return store.get(id)!;
    },

    async retry(id) {
      const record = requireJob(id);
      if (record.state !== 'failed' && record.state !== 'cancelled') throw errors.notRetryable(id, record.state);
      if (lifecycle() !== 'accepting') throw errors.shuttingDown();
      admit(record.type);
      totalsOf(record.type).manual_retries++;
      startActor(actorFromRecord(record), id, record, { type: 'RETRY' });
      // The retry is in effect whether or not this write succeeds: a failed write stays buffered and is written
      // once the store recovers, and the attempt waits for it. So it is acknowledged either way.
      await store.flush().catch(() => {});
      return live.get(id)?.record ?? store.get(id)!;
    },

    restore(records) {
      for (const record of records) {
        if (isFinished(record.state) || live.has(record.id)) continue;
        supervisor.send({ type: 'READMIT' });
        startActor(actorFromRecord(record), record.id, record, { type: 'RESTORED' });
      }
    },

    get: (id) => live.get(id)?.record ?? store.get(id),

    list: (query) => store.list(query),

    defaultType: types.defaultType,

    typeTotals() {
      return Object.fromEntries([...typeTotals].map(([type, counts]) => [type, { ...counts }]));
    },

    types() {
      const counts = store.countsByType();
      return types.names().map((name) => ({ ...types.info(name), counts: counts[name] ?? zeroCounts() }));
    },

    stats(): Stats {
      const { busy, unfinished } = supervisor.getSnapshot().context;
      return {
        states: store.counts(),
        types: store.countsByType(),
        workers: { busy, total: options.workers },
        queue: { used: unfinished, capacity },
        totals: sumOfTotals(),
      };
    },

    lifecycle,

    processorsRunning: () => attempts.processorsRunning(),

    pause() {
      if (lifecycle() === 'accepting') supervisor.send({ type: 'PAUSE' });
    },

    on<K extends keyof JobQueueEventMap>(event: K, listener: (payload: JobQueueEventMap[K]) => void) {
      emitter.on(event, listener);
      return () => emitter.off(event, listener);
    },

    drain(deadlineMs) {
      if (lifecycle() === 'accepting') supervisor.send({ type: 'DRAIN' });
      return new Promise<DrainResult>((resolve) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const subscription = supervisor.subscribe((snapshot) => {
          if (snapshot.value === 'stopped') settle();
        });
        const settle = () => {
          clearTimeout(timer);
          subscription.unsubscribe();
          resolve(abortUnfinished());
        };
        if (lifecycle() === 'stopped') settle();
        else timer = setTimeout(settle, deadlineMs);
      });
    },
  };

  /**
   * Undoes a submission whose record could not be written (the flush failed, so the client hears 503): the
   * job is cancelled, which frees its place and any slot, and the store forgets it, so that it never
   * existed. If its attempt had started (it waits on the same failed flush) it stops first.
   */
  async function abandon(id: string) {
    live.get(id)?.actor.send({ type: 'CANCEL' });
    if (live.has(id)) await whileInState(id, 'running', CANCEL_WAIT_MS);
    const stored = store.get(id);
    const state = stored?.state;
    const ofType = totalsOf(stored?.type ?? types.defaultType);
    ofType.submitted--;
    if (state === 'done' || state === 'failed' || state === 'cancelled') ofType[state]--;
    store.discard?.(id);
  }

  /** Lists the jobs still unfinished, aborts their attempts' signals, and stops their actors. */
  function abortUnfinished(): DrainResult {
    const unfinished = [...live.values()].map(({ record }) => ({ id: record.id, state: record.state }));
    if (lifecycle() !== 'stopped') supervisor.send({ type: 'DEADLINE_PASSED' });
    for (const [id, { actor }] of live) {
      attempts.release(id, new Error('stopped'));
      actor.stop();
      forgetProgress(id);
    }
    live.clear();
    return { unfinished };
  }
}

const TOTAL_KEYS = ['submitted', 'done', 'failed', 'cancelled', 'retries', 'manual_retries'] as const satisfies readonly (keyof TypeTotals)[];

/** The one type `simulated`, run by `processor`, with the queue's own settings: a queue built without types. */
function singleType(options: JobQueueOptions, processor: Processor | undefined): JobTypes {
  if (!processor) throw new TypeError('createJobQueue needs deps.types or deps.processor');
  return createJobTypes([simulatedType(processor)], {
    defaultType: 'simulated',
    maxRetries: DEFAULT_MAX_RETRIES,
    // The routes cap what a submission asks for; a queue built without types sets no type default to cap.
    maxRetriesLimit: DEFAULT_MAX_RETRIES,
    timeoutMs: options.jobTimeoutMs,
    backoff: options.backoff,
  });
}
