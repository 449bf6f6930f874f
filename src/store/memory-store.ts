import { errors } from '../errors.js';
import { Fifo } from '../fifo.js';
import { finishedCount, isFinished, JOB_STATES, type JobRecord, type JobState } from '../job-record.js';
import type { JobStore, StoreListQuery, StorePage } from './job-store.js';

export interface MemoryStoreOptions {
  /** Finished records kept; beyond it the oldest finished is evicted. Unfinished records are never evicted. */
  retention: number;
}

/** A record's place in the submission order. */
interface Slot {
  seq: number;
  /** Undefined once evicted: a hole in `order` until the next compaction. */
  record: JobRecord | undefined;
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
  const counts = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
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
    while (finishedCount(counts) > options.retention && finishedOrder.length > 0) {
      const slot = finishedOrder.shift()!;
      if (--slot.finishes > 0) continue; // an earlier finish; the job finished again since
      const record = slot.record;
      if (!record || !isFinished(record.state)) continue; // retried since it finished
      counts[record.state]--;
      slotById.delete(record.id);
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
      if (from !== null) counts[from]--;
      counts[record.state]++;
      if (isFinished(record.state) && (from === null || !isFinished(from))) {
        slot.finishes++;
        finishedOrder.push(slot);
        evictBeyondRetention();
      }
    },

    get: (id) => slotById.get(id)?.record,

    list({ state, limit, cursor }: StoreListQuery): StorePage {
      let index = order.length - 1;
      if (cursor !== undefined) {
        if (!/^\d{1,15}$/.test(cursor)) throw errors.validationFailed({ cursor: ['Not a cursor this server issued.'] });
        index = indexBelow(Number(cursor));
      }
      const jobs: JobRecord[] = [];
      for (; index >= 0; index--) {
        const { record, seq } = order[index]!;
        if (!record || (state && record.state !== state)) continue;
        if (jobs.length === limit) return { jobs, next_cursor: String(seq + 1) };
        jobs.push(record);
      }
      return { jobs, next_cursor: null };
    },

    counts() {
      return { ...counts };
    },

    unfinished() {
      return order.flatMap(({ record }) => (record && !isFinished(record.state) ? [record] : []));
    },

    flush: () => Promise.resolve(),

    close: () => Promise.resolve(),
  };
}
