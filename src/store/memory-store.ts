import { errors } from '../errors.js';
import { Fifo } from '../engine/fifo.js';
import { INPUT_DEFAULTS, NOT_STARTED } from '../engine/job-fields.js';
import { MinHeap } from '../engine/min-heap.js';
import type { ScheduleRow } from '../engine/schedule-fields.js';
import { finishedCount, isFinished, type JobRecord, type JobState, type Transition } from '../engine/job-record.js';
import { readySince, spendAllowance, TAKEN, UNFINISHED_STATES, type ClaimRequest, type OldestWaiting, type JobStore, type ReadyLane, type StoreListQuery, type StorePage } from './job-store.js';
import { StateCounts } from './state-counts.js';

export interface MemoryStoreOptions {
  /** Finished records kept; beyond it the oldest finished is evicted. Unfinished records are never evicted. */
  retention: number;
}

/**
 * A retained record of the commonest kind, in a fraction of the memory: a job done at its first attempt, with
 * nothing else in its record or history. Everything else the record holds follows from these fields, and is
 * rebuilt on read by `expand`. Two times are kept as offsets from `created_at`: small integers take no box.
 */
class DoneAtFirstAttempt {
  constructor(
    readonly id: string,
    readonly type: string,
    readonly payload: unknown,
    readonly max_retries: number,
    readonly created_at: number,
    readonly startedAfter: number,
    readonly finishedAfter: number,
  ) {}
}

/**
 * The same, for a job that returned a result or reported progress. Most return nothing (a no-op processor, the
 * simulation), so the three fields live here rather than in every compact record.
 */
class DoneWithOutput extends DoneAtFirstAttempt {
  constructor(
    base: DoneAtFirstAttempt,
    readonly result: unknown,
    readonly result_bytes: number | null,
    readonly progress: unknown,
  ) {
    super(base.id, base.type, base.payload, base.max_retries, base.created_at, base.startedAfter, base.finishedAfter);
  }
}

/**
 * A job submitted and waiting for its first attempt, in a fraction of the memory: the commonest record of a
 * backlog. Everything else follows from these fields (`expand`).
 */
class NewlyQueued {
  constructor(
    readonly id: string,
    readonly type: string,
    readonly payload: unknown,
    readonly max_retries: number,
    readonly created_at: number,
  ) {}
}

type Stored = JobRecord | DoneAtFirstAttempt | NewlyQueued;

/** The record, in its compact form if it has one. */
function compact(record: JobRecord): Stored {
  const { history } = record;
  if (
    record.state !== 'done' ||
    !hasInputDefaults(record) ||
    record.attempts !== 1 ||
    record.attempts_at_retry !== 0 ||
    record.last_error !== null ||
    record.next_retry_at !== null ||
    record.last_delay_ms !== null ||
    record.last_delay_source !== null ||
    record.result_error !== null ||
    record.cancel_requested ||
    record.started_at === null ||
    record.finished_at === null ||
    record.updated_at !== record.finished_at ||
    history.length !== 3
  ) {
    return record;
  }
  const [submitted, started, done] = history as [Transition, Transition, Transition];
  const isStep = (step: Transition, from: JobState | null, to: JobState, event: string, at: number, attempt: number) =>
    step.id === record.id && step.type === record.type && step.from === from && step.to === to &&
    step.event === event && step.at === at && step.attempt === attempt && step.error === null &&
    step.delay_ms === null && step.delay_source === null;
  // Only if the history is exactly the one `expand` rebuilds.
  if (
    !isStep(submitted, null, 'queued', 'SUBMIT', record.created_at, 0) ||
    !isStep(started, 'queued', 'running', 'SLOT_GRANTED', record.started_at, 1) ||
    !isStep(done, 'running', 'done', 'ATTEMPT_SUCCEEDED', record.finished_at, 1)
  ) {
    return record;
  }
  const compacted = new DoneAtFirstAttempt(
    record.id,
    record.type,
    record.payload,
    record.max_retries,
    record.created_at,
    record.started_at - record.created_at,
    record.finished_at - record.created_at,
  );
  if (record.result === null && record.result_bytes === null && record.progress === null) return compacted;
  return new DoneWithOutput(compacted, record.result, record.result_bytes, record.progress);
}

function compactQueued(record: JobRecord): JobRecord | NewlyQueued {
  const step = record.history[0];
  if (
    record.updated_at !== record.created_at ||
    record.progress !== null ||
    record.history.length !== 1 ||
    !hasInputDefaults(record) ||
    step === undefined ||
    !isSubmission(step, record) ||
    !NOT_STARTED_FIELDS.every((field) => record[field] === NOT_STARTED[field])
  ) {
    return record;
  }
  return new NewlyQueued(record.id, record.type, record.payload, record.max_retries, record.created_at);
}

const NOT_STARTED_FIELDS = Object.keys(NOT_STARTED) as (keyof typeof NOT_STARTED)[];

/** Whether the input fields a compact record leaves out have their defaults (priority 0, not scheduled). */
const hasInputDefaults = (record: JobRecord) =>
  record.priority === INPUT_DEFAULTS.priority && record.next_run_at === INPUT_DEFAULTS.next_run_at;

const isSubmission = (step: Transition, record: JobRecord) =>
  step.id === record.id && step.type === record.type && step.from === null && step.to === 'queued' &&
  step.event === 'SUBMIT' && step.at === record.created_at && step.attempt === 0 && step.error === null &&
  step.delay_ms === null && step.delay_source === null;

const stateOf = (stored: Stored): JobState =>
  stored instanceof DoneAtFirstAttempt ? 'done' : stored instanceof NewlyQueued ? 'queued' : stored.state;

function expand(stored: Stored): JobRecord {
  if (stored instanceof NewlyQueued) return expandQueued(stored);
  if (!(stored instanceof DoneAtFirstAttempt)) return stored;
  const output = stored instanceof DoneWithOutput ? stored : undefined;
  const { id, type, created_at: created } = stored;
  const started = created + stored.startedAfter;
  const finished = created + stored.finishedAfter;
  const step = (from: JobState | null, to: JobState, event: string, at: number, attempt: number): Transition => ({
    id, type, from, to, event, at, attempt, error: null, delay_ms: null, delay_source: null,
  });
  return {
    id,
    type,
    payload: stored.payload,
    max_retries: stored.max_retries,
    ...INPUT_DEFAULTS,
    attempts: 1,
    attempts_at_retry: 0,
    last_error: null,
    created_at: created,
    updated_at: finished,
    started_at: started,
    finished_at: finished,
    next_retry_at: null,
    last_delay_ms: null,
    last_delay_source: null,
    result: output?.result ?? null,
    result_error: null,
    result_bytes: output?.result_bytes ?? null,
    cancel_requested: false,
    state: 'done',
    progress: output?.progress ?? null,
    history: [
      step(null, 'queued', 'SUBMIT', created, 0),
      step('queued', 'running', 'SLOT_GRANTED', started, 1),
      step('running', 'done', 'ATTEMPT_SUCCEEDED', finished, 1),
    ],
  };
}

function expandQueued({ id, type, payload, max_retries, created_at }: NewlyQueued): JobRecord {
  return {
    id,
    type,
    payload,
    max_retries,
    ...INPUT_DEFAULTS,
    created_at,
    updated_at: created_at,
    ...NOT_STARTED,
    state: 'queued',
    progress: null,
    history: [
      { id, type, from: null, to: 'queued', event: 'SUBMIT', at: created_at, attempt: 0, error: null, delay_ms: null, delay_source: null },
    ],
  };
}

/** Queued jobs beyond this many are kept in their compact form (`NewlyQueued`). */
export const COMPACT_QUEUED_BEYOND = 1024;

/** A record's place in the submission order. */
interface Slot {
  seq: number;
  /** Undefined once evicted: a hole in `order` until the next compaction. */
  record: Stored | undefined;
  /** How many times the slot is in `finishedOrder`: only its last entry there is its place in that order. */
  finishes: number;
  /** The ready lane the job waits in, if it waits for a claim, and its arrival number there. */
  lane: ReadyLane | undefined;
  arrival: number;
  /** The mark of the slot's entry in the scheduled heap while the job is `scheduled` (0: none). */
  dueMark: number;
}

/** A scheduled job in the due heap; stale once its slot's `dueMark` is another. */
interface DueEntry {
  slot: Slot;
  dueAt: number;
  mark: number;
}

/**
 * A ready lane of one job type: its slots first in, first out, each with the arrival number it entered with
 * (which orders the heads of different types' lanes). A job that leaves the lane unclaimed (a cancel, or a
 * save into another lane) is not searched for: its entry goes stale (the slot's lane or arrival no longer
 * match) and is dropped when it reaches the head. (A Map in insertion order did the same with O(1) deletes,
 * but V8 leaves a deleted entry as a hole that every later iteration from the start steps over, and a FIFO
 * deletes at its start all the time.)
 */
class Lane {
  private readonly slots = new Fifo<Slot>();
  private readonly arrivals = new Fifo<number>();

  constructor(private readonly name: ReadyLane) {}

  push(slot: Slot, arrival: number): void {
    this.slots.push(slot);
    this.arrivals.push(arrival);
  }

  /** The slot waiting longest, and its arrival; stale entries in front of it are dropped. */
  head(): Slot | undefined {
    for (;;) {
      const slot = this.slots.peek();
      if (slot === undefined) return undefined;
      if (slot.lane === this.name && slot.arrival === this.arrivals.peek()) return slot;
      this.slots.shift();
      this.arrivals.shift();
    }
  }
}

interface Lanes {
  retry: Lane;
  new: Lane;
}

/** The ready lanes of one priority, per job type. */
type Level = Map<string, Lanes>;

/**
 * Records in memory; nothing survives the process.
 *
 * Each record gets a sequence number at submission, and a slot in `order`, the submission order. A page of the
 * newest-first list finds its cursor by binary search and walks back from there, instead of sorting
 * everything; compaction keeps the walk from crossing long runs of evicted holes, wherever they are. A save
 * or a get finds the slot by id, in O(1).
 */
export function createMemoryStore(options: MemoryStoreOptions): JobStore {
  const slotById = new Map<string, Slot>();
  let order: Slot[] = [];
  let nextSeq = 1;
  let holes = 0;
  const counts = new StateCounts();
  /** Slots in the order their jobs finished: the eviction order. A job retried and finished again is in it twice. */
  const finishedOrder = new Fifo<Slot>();
  /** The ready lanes of each priority and job type that has had a ready job. */
  const levels = new Map<number, Level>();
  /** The priorities of `levels`, highest first: the claim order across them. */
  const priorities: number[] = [];
  let arrivals = 0;
  /** The scheduled jobs by due time, then submission order; stale entries are dropped when they surface. */
  const dueHeap = new MinHeap<DueEntry>((a, b) => a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.slot.seq < b.slot.seq));
  let dueMarks = 0;
  const scheduleRows = new Map<string, ScheduleRow>();

  function lanesOf(priority: number, type: string): Lanes {
    let level = levels.get(priority);
    if (!level) {
      levels.set(priority, (level = new Map()));
      priorities.push(priority);
      priorities.sort((a, b) => b - a);
    }
    let lanes = level.get(type);
    if (!lanes) level.set(type, (lanes = { retry: new Lane('retry'), new: new Lane('new') }));
    return lanes;
  }

  /** The earliest scheduled job still scheduled, with the stale entries above it dropped. */
  function earliestDue(): DueEntry | undefined {
    for (;;) {
      const entry = dueHeap.peek();
      if (entry === undefined || entry.mark === entry.slot.dueMark) return entry;
      dueHeap.pop();
    }
  }

  /** The job leaves its lane: its entry there goes stale. */
  function leaveLane(slot: Slot) {
    slot.lane = undefined;
  }

  /**
   * The slot whose job arrived first in `lane` among the types with an allowance left; O(number of types).
   */
  function oldestIn(
    level: Level,
    lane: ReadyLane,
    allowances: ReadonlyMap<string, number> | undefined,
  ): [string, Slot] | undefined {
    let best: [string, Slot] | undefined;
    let bestArrival = Infinity;
    for (const [type, lanes] of level) {
      if (allowances !== undefined && (allowances.get(type) ?? 1) <= 0) continue;
      const head = lanes[lane].head();
      if (head === undefined || head.arrival >= bestArrival) continue;
      bestArrival = head.arrival;
      best = [type, head];
    }
    return best;
  }

  /** The index of the last slot whose sequence number is below `seq` (−1 if none). */
  function indexBelow(seq: number): number {
    let low = 0;
    let high = order.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (order[middle]!.seq < seq) low = middle + 1;
      else high = middle;
    }
    return low - 1;
  }

  function evictBeyondRetention() {
    while (finishedCount(counts.total) > options.retention && finishedOrder.length > 0) {
      const slot = finishedOrder.shift()!;
      if (--slot.finishes > 0) continue; // an earlier finish; the job finished again since
      const stored = slot.record;
      if (!stored || !isFinished(stateOf(stored))) continue; // retried since it finished
      counts.add(stored.type, stateOf(stored), -1);
      slotById.delete(stored.id);
      slot.record = undefined;
      holes++;
    }
    if (holes > 1024 && holes * 2 > order.length) {
      order = order.filter((slot) => slot.record !== undefined);
      holes = 0;
    }
  }

  return {
    durable: false,

    // `from` is trusted rather than read from the stored record, because the engine updates its records in place.
    save(record, from, ready) {
      let slot = slotById.get(record.id);
      if (slot === undefined) {
        slot = { seq: nextSeq++, record, finishes: 0, lane: undefined, arrival: 0, dueMark: 0 };
        slotById.set(record.id, slot);
        order.push(slot);
      } else {
        slot.record = record;
        leaveLane(slot);
      }
      counts.move(record.type, from, record.state);
      slot.dueMark = 0;
      if (record.state === 'scheduled') {
        slot.dueMark = ++dueMarks;
        dueHeap.push({ slot, dueAt: record.next_run_at ?? 0, mark: slot.dueMark });
      }
      if (ready !== undefined) {
        // The engine lets go of a waiting job's record, so the compact form is all that stays in memory, once
        // a backlog builds up. A short queue keeps the record as it is: its jobs are claimed within a moment,
        // and compacting each one only to rebuild it at its claim was a large share of the collector's work.
        if (record.state === 'queued' && counts.total.queued > COMPACT_QUEUED_BEYOND) slot.record = compactQueued(record);
        slot.lane = ready;
        slot.arrival = arrivals++;
        lanesOf(record.priority, record.type)[ready].push(slot, slot.arrival);
      }
      if (isFinished(record.state) && (from === null || !isFinished(from))) {
        // Kept compact from here on; the engine is done with the record it passed (a retry reads it back).
        slot.record = compact(record);
        slot.finishes++;
        finishedOrder.push(slot);
        evictBeyondRetention();
      }
      return TAKEN;
    },

    claim({ limit, allowances }: ClaimRequest) {
      const claimed: JobRecord[] = [];
      const left = allowances && new Map(allowances);
      for (let p = 0; p < priorities.length && claimed.length < limit; ) {
        const level = levels.get(priorities[p]!)!;
        const oldest = oldestIn(level, 'retry', left) ?? oldestIn(level, 'new', left);
        if (oldest === undefined) {
          p++; // nothing claimable left at this priority
          continue;
        }
        const [type, slot] = oldest;
        leaveLane(slot);
        // (oldestIn passed over the types whose allowance is spent.)
        if (left) spendAllowance(left, type);
        const record = expand(slot.record!);
        // The claimer holds the record from here on, and updates it in place.
        slot.record = record;
        claimed.push(record);
      }
      return Promise.resolve(claimed);
    },

    oldestWaiting() {
      const oldest: OldestWaiting[] = [];
      for (const priority of priorities) {
        let since = Infinity;
        for (const lanes of levels.get(priority)!.values()) {
          for (const head of [lanes.retry.head(), lanes.new.head()]) {
            if (head !== undefined) since = Math.min(since, readySince(expand(head.record!)));
          }
        }
        if (since !== Infinity) oldest.push({ priority, since });
      }
      return Promise.resolve(oldest);
    },

    saveSchedule(row) {
      scheduleRows.set(row.name, structuredClone(row));
      return TAKEN;
    },

    saveScheduleFire(fire) {
      const row = scheduleRows.get(fire.name);
      if (row && (row.last_fire_at === null || row.last_fire_at < fire.last_fire_at)) {
        Object.assign(row, { last_fire_at: fire.last_fire_at, last_job_id: fire.last_job_id });
      }
      return TAKEN;
    },

    saveSchedulePaused(name, paused) {
      const row = scheduleRows.get(name);
      if (row) row.paused = paused;
      return TAKEN;
    },

    deleteSchedule(name) {
      scheduleRows.delete(name);
      return TAKEN;
    },

    schedules: () =>
      Promise.resolve([...scheduleRows.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((row) => structuredClone(row))),

    nextDueAt: () => Promise.resolve(earliestDue()?.dueAt ?? null),

    takeDue(now, limit) {
      const due: JobRecord[] = [];
      for (let entry = earliestDue(); entry !== undefined && entry.dueAt <= now && due.length < limit; entry = earliestDue()) {
        dueHeap.pop();
        entry.slot.dueMark = 0;
        const record = expand(entry.slot.record!);
        entry.slot.record = record;
        due.push(record);
      }
      return Promise.resolve(due);
    },

    get(id) {
      const stored = slotById.get(id)?.record;
      return Promise.resolve(stored && expand(stored));
    },

    async list({ state, type, limit, cursor }: StoreListQuery): Promise<StorePage> {
      let index = order.length - 1;
      if (cursor !== undefined) {
        if (!/^\d{1,15}$/.test(cursor)) throw errors.validationFailed({ cursor: ['Not a cursor this server issued.'] });
        index = indexBelow(Number(cursor));
      }
      const jobs: JobRecord[] = [];
      for (; index >= 0; index--) {
        const { record: stored, seq } = order[index]!;
        if (!stored || (state && stateOf(stored) !== state) || (type && stored.type !== type)) continue;
        if (jobs.length === limit) return { jobs, next_cursor: String(seq + 1) };
        jobs.push(expand(stored));
      }
      return { jobs, next_cursor: null };
    },

    counts: () => Promise.resolve(counts.totals()),

    countsByType: () => Promise.resolve(counts.perType()),

    unfinished(states = UNFINISHED_STATES) {
      return Promise.resolve(
        order.flatMap(({ record }) => (record && states.includes(stateOf(record)) ? [expand(record)] : [])),
      );
    },

    flush: () => Promise.resolve(),

    close: () => Promise.resolve(),
  };
}

