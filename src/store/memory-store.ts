import { errors } from '../errors.js';
import { Fifo } from '../engine/fifo.js';
import { finishedCount, isFinished, type JobRecord, type JobState, type Transition } from '../engine/job-record.js';
import type { JobStore, StoreListQuery, StorePage } from './job-store.js';
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

/** The record, in its compact form if it has one. */
function compact(record: JobRecord): JobRecord | DoneAtFirstAttempt {
  const { history } = record;
  if (
    record.state !== 'done' ||
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

const stateOf = (stored: JobRecord | DoneAtFirstAttempt): JobState =>
  stored instanceof DoneAtFirstAttempt ? 'done' : stored.state;

function expand(stored: JobRecord | DoneAtFirstAttempt): JobRecord {
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

/** A record's place in the submission order. */
interface Slot {
  seq: number;
  /** Undefined once evicted: a hole in `order` until the next compaction. */
  record: JobRecord | DoneAtFirstAttempt | undefined;
  /** How many times the slot is in `finishedOrder`: only its last entry there is its place in that order. */
  finishes: number;
}

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
    save(record, from) {
      let slot = slotById.get(record.id);
      if (slot === undefined) {
        slot = { seq: nextSeq++, record, finishes: 0 };
        slotById.set(record.id, slot);
        order.push(slot);
      } else {
        slot.record = record;
      }
      counts.move(record.type, from, record.state);
      if (isFinished(record.state) && (from === null || !isFinished(from))) {
        // Kept compact from here on; the engine is done with the record it passed (a retry reads it back).
        slot.record = compact(record);
        slot.finishes++;
        finishedOrder.push(slot);
        evictBeyondRetention();
      }
    },

    get(id) {
      const stored = slotById.get(id)?.record;
      return stored && expand(stored);
    },

    list({ state, type, limit, cursor }: StoreListQuery): StorePage {
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

    counts: () => counts.totals(),

    countsByType: () => counts.perType(),

    unfinished() {
      return order.flatMap(({ record }) => (record && !isFinished(stateOf(record)) ? [expand(record)] : []));
    },

    flush: () => Promise.resolve(),

    close: () => Promise.resolve(),
  };
}

