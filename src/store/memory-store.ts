import { errors } from '../errors.js';
import { Fifo } from '../fifo.js';
import { finishedCount, isFinished, JOB_STATES, type JobRecord, type JobState } from '../job-record.js';
import type { JobStore, StoreListQuery, StorePage } from './job-store.js';

export interface MemoryStoreOptions {
  /** Finished records kept; beyond it the oldest finished is evicted. Unfinished records are never evicted. */
  retention: number;
}

/**
 * Records in memory; nothing survives the process.
 *
 * Each record gets a sequence number at submission. `records` holds them in that order, beside `seqs`, their
 * sequence numbers; an evicted record leaves a hole until both arrays are compacted. A page of the
 * newest-first list finds its cursor by binary search and walks back from there, instead of sorting
 * everything; compaction keeps the walk from crossing long runs of holes, wherever they are.
 */
export function createMemoryStore(options: MemoryStoreOptions): JobStore {
  const seqById = new Map<string, number>();
  let records: (JobRecord | undefined)[] = [];
  let seqs: number[] = [];
  let nextSeq = 1;
  let holes = 0;
  const counts = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
  /** Ids in the order they finished: the eviction order. A job retried and finished again is in it twice. */
  const finishedOrder = new Fifo<string>();
  /** How many times each id is in `finishedOrder`: only its last entry there is its place in the order. */
  const entriesInOrder = new Map<string, number>();

  /** The index of the last record whose sequence number is below `seq` (−1 if none). */
  function indexBelow(seq: number): number {
    let low = 0;
    let high = seqs.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (seqs[middle]! < seq) low = middle + 1;
      else high = middle;
    }
    return low - 1;
  }

  const indexOf = (seq: number) => indexBelow(seq + 1);

  function evictBeyondRetention() {
    while (finishedCount(counts) > options.retention && finishedOrder.length > 0) {
      const id = finishedOrder.shift()!;
      const entries = entriesInOrder.get(id)!;
      if (entries > 1) {
        entriesInOrder.set(id, entries - 1); // an earlier finish; the job finished again since
        continue;
      }
      entriesInOrder.delete(id);
      const seq = seqById.get(id);
      if (seq === undefined) continue;
      const index = indexOf(seq);
      const record = records[index];
      if (!record || !isFinished(record.state)) continue; // retried since it finished
      counts[record.state]--;
      seqById.delete(id);
      records[index] = undefined;
      holes++;
    }
    if (holes > 1024 && holes * 2 > records.length) compact();
  }

  function compact() {
    const keptRecords: JobRecord[] = [];
    const keptSeqs: number[] = [];
    records.forEach((record, index) => {
      if (record === undefined) return;
      keptRecords.push(record);
      keptSeqs.push(seqs[index]!);
    });
    records = keptRecords;
    seqs = keptSeqs;
    holes = 0;
  }

  return {
    durable: false,

    // `from` is trusted rather than read from the stored record, because the engine updates its records in place.
    save(record, from) {
      const seq = seqById.get(record.id);
      if (seq === undefined) {
        seqById.set(record.id, nextSeq);
        seqs.push(nextSeq++);
        records.push(record);
      } else {
        records[indexOf(seq)] = record;
      }
      if (from !== null) counts[from]--;
      counts[record.state]++;
      if (isFinished(record.state) && (from === null || !isFinished(from))) {
        finishedOrder.push(record.id);
        entriesInOrder.set(record.id, (entriesInOrder.get(record.id) ?? 0) + 1);
        evictBeyondRetention();
      }
    },

    get(id) {
      const seq = seqById.get(id);
      return seq === undefined ? undefined : records[indexOf(seq)];
    },

    list({ state, limit, cursor }: StoreListQuery): StorePage {
      let index = records.length - 1;
      if (cursor !== undefined) {
        if (!/^\d{1,15}$/.test(cursor)) throw errors.validationFailed({ cursor: ['Not a cursor this server issued.'] });
        index = indexBelow(Number(cursor));
      }
      const jobs: JobRecord[] = [];
      for (; index >= 0; index--) {
        const record = records[index];
        if (!record || (state && record.state !== state)) continue;
        if (jobs.length === limit) return { jobs, next_cursor: String(seqs[index]! + 1) };
        jobs.push(record);
      }
      return { jobs, next_cursor: null };
    },

    counts() {
      return { ...counts };
    },

    unfinished() {
      return records.filter((record): record is JobRecord => record !== undefined && !isFinished(record.state));
    },

    flush: () => Promise.resolve(),

    close: () => Promise.resolve(),
  };
}
