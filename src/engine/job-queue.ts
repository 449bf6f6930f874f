/**
 * The facade: the one entry point of the engine. It admits jobs through the supervisor, claims waiting jobs
 * from the store when the supervisor has slots for them, and turns every transition into a stored record and
 * an event.
 *
 * Data flows one way: submit → supervisor (admission) → store (a waiting job) → claim → job actor → attempt
 * runner → processor; each transition → store and listeners.
 *
 * Where a job lives:
 * - queued, and backoff.ready (waiting for a slot): its record in the store's ready lane, and nothing here;
 * - running, and backoff.waiting (its retry delay): its live actor, restored from the record by the claim
 *   (`createActor(machine, { snapshot })`), with the record it updates in place;
 * - done, failed, cancelled: its record in the store.
 * A cancel of a waiting job, and an operator's retry, restore the actor from the record for that one event,
 * so the chart still decides. A restart takes back the queued jobs as counts (they wait in the store
 * already) and restores one actor per running and backoff job (`recover`).
 *
 * Scheduled jobs (`run_at`, `delay_ms`) are rows in the store only; the one due timer (`due-timer.ts`) moves
 * them to `queued` when they come due (`moveDue`), and `recover` arms it for what came due meanwhile.
 */
import { EventEmitter } from 'node:events';
import { createActor, type Snapshot, type StateValue } from 'xstate';
import {
  createJobMachine,
  restoredStateValue,
  waitingStateValue,
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
  contextOf,
  HISTORY_LIMIT,
  isFinished,
  keepResult,
  newRecord,
  updateRecord,
  type JobRecord,
  type JobState,
  type Transition,
} from './job-record.js';
import type {
  DrainResult,
  JobQueue,
  JobQueueEventMap,
  Lifecycle,
  Stats,
  SubmitInput,
  TypeTotals,
} from './job-queue.types.js';
import { createAttemptRunner } from './attempt-runner.js';
import type { Processor } from '../processors/processor.js';
import { ReadyCounts } from './ready-counts.js';
import { initialJobFields, INPUT_DEFAULTS } from './job-fields.js';
import { createMemoryStore } from '../store/memory-store.js';
import { TAKEN, type ClusterListener, type JobStore, type ReadyLane, type SharedStore } from '../store/job-store.js';
import { zeroCounts } from '../store/state-counts.js';
import { createDueTimer } from './due-timer.js';
import { createTurnBudget, nextTurn } from './turn-budget.js';
import { DEFAULT_MAX_DELAY_MS, DEFAULT_SCHEDULED_LIMIT, dueTimeOf } from './due-time.js';
import { serially } from './serially.js';

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
  /** The most jobs scheduled for later at once (SCHEDULED_LIMIT). Default 1,000,000. */
  scheduledLimit?: number;
  /** The longest delay a submission may ask for, in ms (MAX_DELAY_MS). Default 365 days. */
  maxDelayMs?: number;
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

/** How often a cancel of a job another instance runs looks whether it has stopped, in ms. */
const REMOTE_CANCEL_POLL_MS = 25;

/**
 * The most jobs claims start in one turn of the event loop (without per-type limits, and on a store of this
 * process); the slots granted beyond wait for the next turn. Freed slots are granted again at once, so with
 * WORKERS=64 and short jobs a turn started 64 jobs (and ended as many): under row 3's load that made turns of
 * 5-10 ms, and a due timer fired that late (docs/performance.md, row 6b).
 */
export const STARTS_PER_TURN = 16;

/** After a claim the store could not answer (a database out of reach), the wait before the next try, in ms. */
export const CLAIM_RETRY_MS = 250;

/**
 * A restart restores the running and backoff jobs' actors this many at a time, and lets the store write their
 * records between two batches, so that no single write grows with the backlog.
 */
export const RESTORE_BATCH = 500;

const ignore = () => {};

export function createJobQueue(options: JobQueueOptions, deps: JobQueueDeps): JobQueue {
  const now = deps.now ?? Date.now;
  const store = deps.store ?? createMemoryStore({ retention: options.jobRetention });
  const onError = deps.onError ?? ((error: unknown) => console.error(error));
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const capacity = options.workers + options.queueSize;
  /**
   * A store that several instances share decides admission itself, across them all: at most QUEUE_SIZE jobs
   * wait (queued or backoff) in the whole cluster. The supervisor then bounds only this instance's workers.
   */
  const shared = store.shared;
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
   * The jobs with a live actor (running, backoff.waiting, and for the moment of one event a job restored to
   * be cancelled or retried): each one's actor and its latest record, so that a transition never has to read
   * the store back.
   */
  const live = new Map<string, LiveJob>();
  const recentFinishes = new Fifo<number>();
  const nextJobId = jobIdGenerator();
  const types = deps.types ?? singleType(options, deps.processor);
  const ready = new ReadyCounts(types.concurrencyLimits());
  const resultMaxBytes = options.resultMaxBytes ?? 65_536;

  /**
   * Claims, cancels of waiting jobs and operator retries run one at a time, in order: each reads the store
   * and then acts on what it read, and none may see another's half-done work (a job claimed and not yet
   * live, say).
   */
  const exclusive = serially();
  /**
   * Admissions run one at a time, in the order of the calls: a submission's checks read the store (a client's
   * id may be known), and a later submission must neither overtake it to a place in the capacity nor miss it
   * as a duplicate.
   */
  const inAdmissionOrder = serially();

  /** Slots granted with no per-type limits in force, that the next claim asks jobs for. */
  let slotsToClaim = 0;
  /** Whether a claim for `slotsToClaim` waits its turn (in `exclusive`, or for the event loop's next turn). */
  let claimQueued = false;
  // None with a shared store: there each claim is a round trip to the database, which ends the turn anyway, and
  // splitting one claim into several cost a fifth of one instance's throughput (docs/performance.md, row 8).
  const startsThisTurn = shared ? undefined : createTurnBudget(STARTS_PER_TURN);
  const queueClaim = () => {
    claimQueued = true;
    void exclusive(claimGrantedSlots);
  };

  /**
   * Claims jobs for the slots granted so far, as many as this turn of the event loop may still start; the
   * others are claimed at the next turn, after the timers due meanwhile (a scheduled job's, a retry's) fired.
   */
  async function claimGrantedSlots() {
    claimQueued = false;
    const slots = startsThisTurn?.take(slotsToClaim) ?? slotsToClaim;
    slotsToClaim -= slots;
    if (slotsToClaim > 0) {
      claimQueued = true;
      nextTurn(queueClaim);
    }
    if (slots > 0) await claimAndStart(slots, undefined);
  }

  const supervisor = createActor(supervisorMachine, {
    input: {
      workers: options.workers,
      capacity: shared ? Number.MAX_SAFE_INTEGER : capacity,
      ready,
      // Later, not now: the supervisor is inside a transition, and the store may not have the job it counted
      // yet (a submission saves its record right after the admission's check).
      claim: (slots, allowances) => {
        // With per-type limits the supervisor has one claim in flight at a time, with its own allowances.
        if (allowances) return void exclusive(() => claimAndStart(slots, allowances));
        // Without, the slots granted while a claim waits its turn join it: one query for them all, rather than
        // one per freed slot (a store across the network answers each in a round trip).
        slotsToClaim += slots;
        if (!claimQueued) queueClaim();
      },
    },
  });
  supervisor.subscribe({ error: (error) => onError(error, '(supervisor)') });
  supervisor.start();

  // With a durable store of this process, an attempt starts only once the writes before it (its admission, its
  // `running` record) are on disk. A shared store committed the admission before it was answered, and the claim
  // before the job was handed out: the job is this instance's under its lease, and no other instance runs it,
  // so the attempt starts while its `running` record is written (a round trip less between a claim and the
  // start). The claim counted the attempt already: if the instance dies before that write, the instance that
  // takes the job over counts it as interrupted (docs/cluster.md).
  const attempts = createAttemptRunner(
    types,
    options.jobTimeoutMs,
    store.durable && !shared ? () => store.flush() : undefined,
    reportProgress,
  );
  const jobMachine = createJobMachine({
    attempts,
    slots: {
      announceReady: (id, jobType, retry) => {
        if (retry) waitInStore(id, 'retry');
        supervisor.send({ type: 'JOB_READY', jobType });
      },
      // Only a job restored from its lane was counted as waiting: a cancel in backoff.waiting withdraws nothing.
      withdrawReady: (id, jobType) => {
        if (live.get(id)?.fromLane) supervisor.send({ type: 'JOB_WITHDRAWN', jobType });
      },
      releaseSlot: (finished, jobType) => supervisor.send({ type: 'SLOT_FREED', finished, jobType }),
      releasePlace: () => supervisor.send({ type: 'JOB_FINISHED' }),
      admitDue: (_id, jobType) => supervisor.send({ type: 'READMIT', count: 1, jobType }),
    },
    recordTransition,
    now,
    random: deps.random ?? Math.random,
    backoffFor: (type) => types.backoffFor(type),
    keepResult: (output) => keepResult(output, resultMaxBytes),
  });

  const dueTimer = createDueTimer({
    nextDueAt: () => store.nextDueAt(),
    moveDue: (at, limit) => exclusive(() => moveDue(at, limit)),
    now,
    onError: (error) => onError(error, '(due timer)'),
  });

  /**
   * Moves up to `limit` scheduled jobs due by `at` to `queued`: each one's actor is restored for DUE, which
   * takes its place and saves it into the retry lane, ahead of new jobs. Nothing moves once the queue stops
   * accepting: the jobs wait in the store.
   */
  async function moveDue(at: number, limit: number): Promise<number> {
    if (lifecycle() !== 'accepting') return 0;
    const due = await store.takeDue(at, limit);
    for (const record of due) startActor(record, 'scheduled', { type: 'DUE' });
    return due.length;
  }

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
    const entry = live.get(context.id)!;
    const record = entry.record;
    const from = record.state;
    const transition = transitionOf(context, from, to, eventType);
    // The live record is updated in place rather than copied: a copy per transition was a large share of the
    // engine's garbage-collection time.
    updateRecord(record, context, to);
    if (record.history.push(transition) > HISTORY_LIMIT) record.history.shift();
    if (to === 'queued') {
      // Queued again (an operator's retry, or come due): the job waits in the store, and its actor is let go. A
      // job come due waits in the retry lane, ahead of the backlog: like a retry's backoff, its only intended
      // wait was until its time.
      void store.save(record, from, from === 'scheduled' ? 'retry' : 'new');
      live.delete(context.id);
    } else {
      void store.save(record, from);
    }
    if (to === 'running' && from !== 'running' && context.attempts > 1) totalsOf(context.type).retries++;
    // Progress belongs to the running attempt: a value still held back goes out before the move that ends it.
    if (from === 'running' && to !== 'running') forgetProgress(context.id, record);
    if (isFinished(to)) countFinish(context.type, to as 'done' | 'failed' | 'cancelled');
    emitter.emit('transition', transition);
    // Released after the event, so that listeners can still `peek` at the record. Released, not stopped: the
    // actor is inside its own transition here, and with nothing pending (no attempt, no timer) nothing else
    // holds it once it leaves this map.
    if (isFinished(to)) live.delete(context.id);
  }

  /**
   * A job in backoff whose delay has passed: it waits for a slot in the store's retry lane, as its record, and
   * its actor is let go (a claim restores it).
   */
  function waitInStore(id: string, lane: ReadyLane) {
    const entry = live.get(id);
    if (!entry) return;
    void store.save(entry.record, entry.record.state, lane);
    live.delete(id);
  }

  /** The service's totals: the types' summed, read when asked for rather than kept twice on every transition. */
  function sumOfTotals(): Stats['totals'] {
    const sum = { submitted: 0, done: 0, failed: 0, cancelled: 0, retries: 0, manual_retries: 0, rejected };
    for (const ofType of typeTotals.values()) {
      for (const key of TOTAL_KEYS) sum[key] += ofType[key];
    }
    return sum;
  }

  function countFinish(type: string, state: 'done' | 'failed' | 'cancelled') {
    totalsOf(type)[state]++;
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

  /** A refusal for a full queue (`limit` jobs), counted. */
  function queueFull(limit: number) {
    rejected++;
    return errors.queueFull(limit, retryAfterSeconds());
  }

  /** Throws queue_full unless the supervisor would admit one more job now. */
  function checkCapacity() {
    if (!supervisor.getSnapshot().can({ type: 'ADMIT' })) throw queueFull(capacity);
  }

  /**
   * QUEUE_SIZE across the cluster of a shared store, for an operator's retry (the supervisor of one instance
   * does not know the others' jobs). Read before the retry is written, not in one transaction with it as an
   * admission is: retries racing for the last places may pass it by as many.
   */
  async function checkClusterCapacity() {
    const { queued, backoff } = await store.counts();
    if (queued + backoff >= options.queueSize) throw queueFull(options.queueSize);
  }

  /**
   * Starts an actor for a job, in the chart state `value`, from its stored record; sends `event` if given. The
   * record is turned into the persisted snapshot XState restores an actor from (what `getPersistedSnapshot`
   * gives): the actor is created in that state, without running its entry actions again.
   */
  function startActor(record: JobRecord, value: StateValue, event?: JobEvent): JobActor {
    const context = contextOf(record);
    const snapshot = {
      status: 'active',
      output: undefined,
      error: undefined,
      value,
      context,
      children: {},
      historyValue: {},
    } as Snapshot<unknown>;
    // The input is required by the types but unused: the snapshot carries the context.
    const actor = createActor(jobMachine, { snapshot, input: context });
    live.set(record.id, { actor, record });
    actor.subscribe({ error: (error) => onError(error, record.id) });
    actor.start();
    if (event) actor.send(event);
    return actor;
  }

  /**
   * Claims up to `slots` waiting jobs and starts them: each one's actor is restored from its record, in the
   * state it waited in, and granted its slot. The supervisor hears first which types were claimed (and gets
   * the unused slots back).
   */
  async function claimAndStart(slots: number, allowances: Map<string, number> | undefined) {
    let claimed: JobRecord[];
    const announcedBefore = ready.announced;
    try {
      claimed = await store.claim({ limit: slots, allowances });
    } catch {
      // The store could not answer: the jobs wait in their lanes, and are asked for again.
      supervisor.send({ type: 'CLAIMED', requested: slots, jobTypes: [], failed: true });
      setTimeout(() => supervisor.send({ type: 'DISPATCH' }), CLAIM_RETRY_MS);
      return;
    }
    if (lifecycle() === 'stopped') {
      // The shutdown's deadline passed while the claim was under way: the jobs wait where they were.
      for (const record of claimed) void store.save(record, record.state, laneOf(record.state));
      return;
    }
    // Without per-type limits the supervisor counted the slots off already: it hears only of a short claim.
    if (ready.limited || claimed.length < slots) {
      supervisor.send({ type: 'CLAIMED', requested: slots, jobTypes: claimed.map((record) => record.type) });
      // Jobs became ready while this claim was on its way (admitted here, announced by another instance), perhaps
      // written after it looked: a short claim looks again for them. (The supervisor, told only that the claim
      // fell short, would otherwise wait for the next event, with a shared store the next poll.)
      if (claimed.length < slots && ready.announced !== announcedBefore) supervisor.send({ type: 'DISPATCH' });
    }
    for (const record of claimed) startActor(record, waitingStateValue(record.state), { type: 'SLOT_GRANTED' });
  }

  /**
   * The live actor of a job, restoring it from the store when the job waits in a lane; undefined when the job
   * is unknown or has no work pending. Runs inside `exclusive`, so no claim takes the job meanwhile.
   */
  async function actorOf(id: string): Promise<LiveJob | undefined> {
    const entry = live.get(id);
    if (entry) return entry;
    const record = await store.get(id);
    if (!record || (record.state !== 'queued' && record.state !== 'backoff' && record.state !== 'scheduled')) {
      return undefined;
    }
    startActor(record, waitingStateValue(record.state));
    const restored = live.get(id)!;
    restored.fromLane = true;
    return restored;
  }

  /** The job's latest record: the live one, else the stored one. Throws not_found. */
  async function requireJob(id: string): Promise<JobRecord> {
    const record = live.get(id)?.record ?? (await store.get(id));
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

  /**
   * Sends CANCEL to the job, restoring its actor first when it waits in the store. Resolves with the record as
   * the cancel left it, or undefined when the job has no work pending (finished, or unknown).
   */
  function sendCancel(id: string): Promise<JobRecord | undefined> {
    return exclusive(async () => {
      const entry = await actorOf(id);
      if (!entry) return undefined;
      entry.actor.send({ type: 'CANCEL' });
      return entry.record;
    });
  }

  /** Checks a submission (a known id, the capacity) and admits it: its record waits in the store. */
  async function admitNew(input: SubmitInput, type: string, id: string): Promise<JobRecord> {
    // A generated id is new; only a client's id can be a known one.
    const existing = input.id === undefined ? undefined : (live.get(id)?.record ?? (await store.get(id)));
    // Checked again after the read: a shutdown may have begun meanwhile.
    if (lifecycle() !== 'accepting') throw errors.shuttingDown();
    const submission = newSubmission(input, type, id);
    if (existing) throw new DuplicateJobError(existing, submission.fields);
    const { record } = submission;
    // A job for later takes no place in the capacity until it comes due; SCHEDULED_LIMIT bounds those instead.
    if (record.next_run_at === null) checkCapacity();
    else await checkScheduledRoom();
    void store.save(record, null, record.next_run_at === null ? 'new' : undefined);
    announceAdmission(submission);
    return record;
  }

  /**
   * Admits a submission through a shared store, which checks the id and the cluster's capacity and writes the
   * record in one atomic step; several of these run at once (the store batches them).
   */
  async function admitShared(cluster: SharedStore, input: SubmitInput, type: string, id: string): Promise<JobRecord> {
    const submission = newSubmission(input, type, id);
    const scheduled = submission.record.next_run_at !== null;
    // SCHEDULED_LIMIT is checked before the atomic admission, not in it: across instances it may be passed by
    // the submissions that race for its last places. QUEUE_SIZE is exact.
    if (scheduled) await checkScheduledRoom();
    const admission = await cluster.admit(submission.record, scheduled ? Number.POSITIVE_INFINITY : options.queueSize);
    if (admission.outcome === 'duplicate') throw new DuplicateJobError(admission.existing, submission.fields);
    if (admission.outcome === 'full') throw queueFull(options.queueSize);
    announceAdmission(submission);
    return submission.record;
  }

  /** A submission's record, as it is admitted (queued, or scheduled for later), with its SUBMIT transition. */
  function newSubmission(input: SubmitInput, type: string, id: string) {
    const max_retries = input.max_retries ?? types.info(type).options.max_retries;
    const priority = input.priority ?? INPUT_DEFAULTS.priority;
    const fields = { type, payload: input.payload, max_retries, priority };
    const next_run_at = dueTimeOf(input, now(), options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS);
    const context = initialJobFields({ id, ...fields, next_run_at }, now());
    const state = next_run_at === null ? 'queued' : 'scheduled';
    const transition = transitionOf(context, null, state, 'SUBMIT');
    return { fields, transition, record: newRecord(context, state, [transition]) };
  }

  function announceAdmission({ fields, transition, record }: ReturnType<typeof newSubmission>) {
    totalsOf(fields.type).submitted++;
    emitter.emit('transition', transition);
    if (record.next_run_at === null) supervisor.send({ type: 'ADMIT', jobType: fields.type });
    else dueTimer.arm(record.next_run_at);
  }

  /** A running or backoff job found without its process (a restart, a dead instance): its actor, restored. */
  function restore(record: JobRecord) {
    supervisor.send({ type: 'READMIT', count: 1 });
    startActor(record, restoredStateValue(record.state, record.cancel_requested), { type: 'RESTORED' });
  }

  /** What the other instances of a shared store tell this one. */
  const clusterListener: ClusterListener = {
    ready(byType) {
      for (const [jobType, count] of Object.entries(byType)) supervisor.send({ type: 'JOB_READY', jobType, count });
    },
    takenOver(records) {
      // During a shutdown the jobs stay where they are: closing the store releases them to the others again.
      if (lifecycle() !== 'accepting') return;
      for (const record of records) if (!live.has(record.id)) restore(record);
    },
    cancelRequested: (id) => live.get(id)?.actor.send({ type: 'CANCEL' }),
    dispatchChanged: (paused) => supervisor.send({ type: paused ? 'PAUSE_DISPATCH' : 'RESUME_DISPATCH' }),
    poll() {
      // Jobs scheduled through other instances: this instance's due timer learns of them here (their own
      // instance's timer fires on time; this one is the cover when that instance is gone).
      dueTimer.arm(now());
      const { busy } = supervisor.getSnapshot().context;
      if (busy >= options.workers) return;
      // Idle workers and no job known to wait: look in the store anyway, in case a notification was lost. A
      // claim that finds fewer jobs hands the slots back.
      if (ready.waiting === 0) supervisor.send({ type: 'JOB_READY', jobType: '', count: options.workers - busy });
      // Jobs wait that a claim left (their type ran at its limit on other instances): ask again.
      else supervisor.send({ type: 'DISPATCH' });
    },
  };

  /** An operator's hold on dispatch (or its end): this instance's at once, the cluster's through a shared store. */
  async function holdDispatch(paused: boolean) {
    if (paused && lifecycle() !== 'accepting') throw errors.shuttingDown();
    supervisor.send({ type: paused ? 'PAUSE_DISPATCH' : 'RESUME_DISPATCH' });
    await shared?.setDispatchPaused(paused);
  }

  /** Resolves once the job, run by another instance, is finished, or after `ms`. */
  async function untilFinishedElsewhere(id: string, ms: number): Promise<void> {
    const deadline = now() + ms;
    while (now() < deadline && !isFinished((await store.get(id))?.state ?? 'done')) {
      await new Promise((resolve) => setTimeout(resolve, REMOTE_CANCEL_POLL_MS));
    }
  }

  /** Throws scheduled_full when SCHEDULED_LIMIT jobs are scheduled already. */
  async function checkScheduledRoom() {
    const limit = options.scheduledLimit ?? DEFAULT_SCHEDULED_LIMIT;
    if ((await store.counts()).scheduled >= limit) {
      rejected++;
      // Room comes when the next scheduled job comes due.
      const nextDue = (await store.nextDueAt()) ?? now();
      throw errors.scheduledFull(limit, Math.max(1, Math.ceil((nextDue - now()) / 1000)));
    }
  }

  return {
    async submit(input) {
      const type = input.type ?? types.defaultType;
      if (!types.has(type)) throw errors.unknownJobType(type, types.names());
      if (lifecycle() !== 'accepting') throw errors.shuttingDown();
      const id = input.id ?? nextJobId(now());
      if (shared) return admitShared(shared, input, type, id);
      const record = await inAdmissionOrder(() => admitNew(input, type, id));
      if (!store.durable) return record;
      try {
        await store.flush();
      } catch (error) {
        await abandon(id, type);
        throw error;
      }
      return record;
    },

    async cancel(id, waitMs = CANCEL_WAIT_MS) {
      const record = await requireJob(id);
      if (isFinished(record.state)) throw errors.notCancellable(id, record.state);
      // Claimed, running, or in its backoff delay on another instance: that one cancels it, told through the store.
      if (shared && !live.has(id) && (await shared.requestCancel(id))) {
        await untilFinishedElsewhere(id, waitMs);
        return requireJob(id);
      }
      const cancelled = await sendCancel(id);
      if (!cancelled) {
        const now = await requireJob(id);
        throw errors.notCancellable(id, now.state);
      }
      if (cancelled.state === 'running') await whileInState(id, 'running', waitMs);
      return requireJob(id);
    },

    async retry(id) {
      const record = await exclusive(async () => {
        const found = await requireJob(id);
        if (found.state !== 'failed' && found.state !== 'cancelled') throw errors.notRetryable(id, found.state);
        if (lifecycle() !== 'accepting') throw errors.shuttingDown();
        if (shared) await checkClusterCapacity();
        else checkCapacity();
        supervisor.send({ type: 'ADMIT' });
        totalsOf(found.type).manual_retries++;
        // RETRY records the job as queued in the store's lane, and lets the actor go again.
        startActor(found, found.state, { type: 'RETRY' });
        return found;
      });
      // The retry is in effect whether or not this write succeeds: a failed write stays buffered and is written
      // once the store recovers, and the attempt waits for it. So it is acknowledged either way.
      await store.flush().catch(ignore);
      // A claim its JOB_READY started (a free worker) has run by now: the answer shows the job running, unless
      // this turn's starts were spent (STARTS_PER_TURN): then it starts at the next turn.
      await exclusive(() => TAKEN);
      return live.get(id)?.record ?? record;
    },

    async recover() {
      // A shared store hands over only the jobs no live instance owns (their owner's lease ran out, or it released
      // them at its shutdown).
      const [byType, active, held] = await Promise.all([
        store.countsByType(),
        shared ? shared.takeOver() : store.unfinished(['running', 'backoff']),
        shared?.dispatchPaused() ?? false,
      ]);
      // An operator holds the cluster's dispatch: this instance starts held, before any job is offered to it.
      if (held) supervisor.send({ type: 'PAUSE_DISPATCH' });
      // Running jobs lost their attempt, and backoff jobs re-arm their delay: an actor each, as in steady state.
      // Their number is bounded by the capacity, and each keeps its own XState delay, so retries stay
      // delay-driven by the chart.
      let restored = 0;
      for (const record of active) {
        if (live.has(record.id)) continue;
        restore(record);
        if (++restored % RESTORE_BATCH === 0) await store.flush().catch(ignore);
      }
      // Queued jobs wait in the store's lanes already: they take back their places as counts, no actor each.
      let queued = 0;
      for (const [jobType, counts] of Object.entries(byType)) {
        queued += counts.queued;
        if (counts.queued === 0) continue;
        // In a shared store they are the cluster's: ready to claim, but no place of this instance's to take.
        supervisor.send(shared ? { type: 'JOB_READY', count: counts.queued, jobType } : { type: 'READMIT', count: counts.queued, jobType });
      }
      await shared?.watch(clusterListener);
      // What came due while the service was down fires now, in due order; then the earliest still to come.
      dueTimer.arm(now());
      return restored + queued;
    },

    get: async (id) => live.get(id)?.record ?? (await store.get(id)),

    peek: (id) => live.get(id)?.record,

    list: (query) => store.list(query),

    defaultType: types.defaultType,

    typeNames: () => types.names(),

    typeTotals() {
      return Object.fromEntries([...typeTotals].map(([type, counts]) => [type, { ...counts }]));
    },

    async types() {
      const counts = await store.countsByType();
      return types.names().map((name) => ({ ...types.info(name), counts: counts[name] ?? zeroCounts() }));
    },

    async stats(): Promise<Stats> {
      const [states, byType, oldest] = await Promise.all([store.counts(), store.countsByType(), store.oldestWaiting()]);
      const { busy, unfinished } = supervisor.getSnapshot().context;
      const at = now();
      return {
        states,
        types: byType,
        waiting: oldest.map(({ priority, since }) => ({ priority, oldest_wait_ms: Math.max(0, at - since) })),
        workers: { busy, total: options.workers },
        // A shared store's capacity is the cluster's: QUEUE_SIZE jobs waiting, across every instance.
        queue: shared ? { used: states.queued + states.backoff, capacity: options.queueSize } : { used: unfinished, capacity },
        totals: sumOfTotals(),
      };
    },

    async levels() {
      const { queued } = await store.counts();
      return { queued, busy: supervisor.getSnapshot().context.busy };
    },

    lifecycle,

    processorsRunning: () => attempts.processorsRunning(),

    pause() {
      dueTimer.stop();
      if (lifecycle() === 'accepting') supervisor.send({ type: 'PAUSE' });
    },

    // The operator's hold on dispatch: a flag of the supervisor's, which grants no slot while it is set.
    pauseDispatch: () => holdDispatch(true),
    resumeDispatch: () => holdDispatch(false),
    dispatchPaused: () => supervisor.getSnapshot().context.dispatchPaused,

    on<K extends keyof JobQueueEventMap>(event: K, listener: (payload: JobQueueEventMap[K]) => void) {
      emitter.on(event, listener);
      return () => emitter.off(event, listener);
    },

    drain(deadlineMs) {
      dueTimer.stop();
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
  async function abandon(id: string, type: string) {
    const cancelled = await sendCancel(id);
    if (cancelled?.state === 'running') await whileInState(id, 'running', CANCEL_WAIT_MS);
    const state = (await store.get(id))?.state;
    const ofType = totalsOf(type);
    ofType.submitted--;
    if (state === 'done' || state === 'failed' || state === 'cancelled') ofType[state]--;
    await store.discard?.(id);
  }

  /** Stops the live actors, aborting their attempts' signals, and lists the jobs still unfinished. */
  async function abortUnfinished(): Promise<DrainResult> {
    if (lifecycle() !== 'stopped') supervisor.send({ type: 'DEADLINE_PASSED' });
    for (const [id, { actor }] of live) {
      attempts.release(id, new Error('stopped'));
      actor.stop();
      forgetProgress(id);
    }
    live.clear();
    const unfinished = await store.unfinished();
    return { unfinished: unfinished.map(({ id, state }) => ({ id, state })) };
  }
}

/** A job with a live actor, and its latest record. */
interface LiveJob {
  actor: JobActor;
  record: JobRecord;
  /** Restored from a ready lane (to be cancelled there): counted among the waiting jobs until then. */
  fromLane?: boolean;
}

/** The lane a job claimed in `state` waits in again. */
const laneOf = (state: JobState): ReadyLane => (state === 'backoff' ? 'retry' : 'new');

/** The transition a job's move from `from` to `to` makes, as the event stream and the history carry it. */
function transitionOf(context: JobContext, from: JobState | null, to: JobState, eventType: string): Transition {
  return {
    id: context.id,
    type: context.type,
    from,
    to,
    event: eventType,
    at: context.updated_at,
    attempt: context.attempts,
    error: to === 'backoff' || to === 'failed' ? context.last_error : null,
    delay_ms: to === 'backoff' ? context.last_delay_ms : null,
    delay_source: to === 'backoff' ? context.last_delay_source : null,
  };
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
